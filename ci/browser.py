"""The Chromium the browser tests drive: found, or installed, by `make test` itself.

Looked for in this order, the first that runs wins:
1. ``CHROMIUM_PATH`` (any Chromium or Chrome binary; nothing else is tried when it is set);
2. a Chromium or Chrome on the PATH (Debian's ``/usr/bin/chromium``, ``google-chrome``, ...);
3. the build Playwright downloaded earlier (``python -m playwright install chromium``).

When none is there, ``python ci/browser.py`` installs one: Debian's ``chromium`` package when it runs
as root on a machine with apt-get, else Playwright's own download (where the network allows it). It
prints one line for the step, with its time, as `make install` does for its steps, and on failure one
line saying what to do. The tests (``tests/test_streaming_web.py``) call ``find_chromium``.

    python ci/browser.py           # find, else install; prints the path found
    python ci/browser.py --find    # find only (exit 1 when there is none)
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

CHROMIUM_ENV = "CHROMIUM_PATH"
ON_PATH = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
MAC_APPS = ("/Applications/Chromium.app/Contents/MacOS/Chromium",
            "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome")  # fmt: skip
INSTALL_TIMEOUT_S = 600


class NoBrowser(Exception):
    """No Chromium could be found or installed; the message is one sentence saying what to do."""


def runs(path: str) -> bool:
    """The binary starts and names itself (``--version``): a snap shim or a broken install does not."""
    if not path or not os.access(path, os.X_OK):
        return False
    try:
        done = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return done.returncode == 0 and any(word in done.stdout for word in ("Chromium", "Chrome"))


def _playwright_build() -> str | None:
    """The Chromium Playwright downloaded (its own cache), if any. Playwright's driver answers this."""
    try:
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            path = playwright.chromium.executable_path
    except Exception:  # no driver, or Playwright cannot tell: there is no build of its own to use
        return None
    return path if Path(path).exists() else None


def find_chromium() -> str | None:
    """The first Chromium or Chrome that runs, in the order the module's docstring gives.

    Raises NoBrowser when ``CHROMIUM_PATH`` is set to something that does not run: a path someone chose
    is never silently replaced by another."""
    given = os.environ.get(CHROMIUM_ENV, "").strip()
    if given:
        if not runs(given):
            raise NoBrowser(f"{CHROMIUM_ENV}={given!r} does not run as a browser ('{given} --version' failed); "
                            f"point it at a Chromium or Chrome binary, or unset it.")  # fmt: skip
        return given
    candidates = [shutil.which(name) for name in ON_PATH] + list(MAC_APPS)
    found = next((path for path in candidates if path and runs(path)), None)
    if found is None:
        found = _playwright_build()
        found = found if found and runs(found) else None
    return found


def _step(command: list[str], env: dict[str, str] | None = None) -> str:
    """Run one install command; what went wrong in one line, or "" when it worked."""
    shown = " ".join(command[2:] if command[0] == sys.executable else command)
    try:
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=INSTALL_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return f"'{shown}' took over {INSTALL_TIMEOUT_S} s"
    if done.returncode != 0:
        last = (done.stderr.strip() or done.stdout.strip()).splitlines()[-1:] or ["no output"]
        return f"'{shown}' failed: {last[0]}"
    return ""


def _install_with_apt() -> str:
    """Debian's package: needs root and apt-get. Returns what went wrong, or "" when it worked."""
    if not shutil.which("apt-get"):
        return "no apt-get on this machine"
    if os.geteuid() != 0:
        return "apt-get needs root (sudo apt-get install chromium)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    return (_step(["apt-get", "update", "-qq"], env)
            or _step(["apt-get", "install", "-y", "-qq", "--no-install-recommends", "chromium"], env))  # fmt: skip


def _install_with_playwright() -> str:
    """Playwright's own Chromium build, downloaded into its cache. Returns what went wrong, or ""."""
    return _step([sys.executable, "-m", "playwright", "install", "chromium"])


def find_or_install() -> tuple[str, str]:
    """A Chromium that runs, and how it was had ("found", or the way it was installed). Raises NoBrowser."""
    found = find_chromium()
    if found:
        return found, "found"
    problems = []
    for trying, way, install in (
            ("installing Debian's chromium package with apt-get", "installed Debian's chromium", _install_with_apt),
            ("downloading Playwright's Chromium", "downloaded Playwright's Chromium", _install_with_playwright)):
        print(f"  no Chromium or Chrome found; {trying} ...", flush=True)
        problem = install()
        found = None if problem else find_chromium()
        if found:
            return found, way
        problems.append(problem or f"{way}, but it does not run")
    raise NoBrowser("no Chromium or Chrome for the browser tests, and none could be installed ("
                    + "; ".join(problems) + f"). Install Chromium or Chrome, set {CHROMIUM_ENV} to its binary, "
                    "and re-run make test.")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    started = time.monotonic()
    try:
        if args == ["--find"]:
            found = find_chromium()
            if not found:
                raise NoBrowser(f"no Chromium or Chrome found; set {CHROMIUM_ENV}, or run python ci/browser.py")
            how = "found"
        else:
            found, how = find_or_install()
    except NoBrowser as err:
        print(f"make test: {err}", file=sys.stderr)
        return 1
    print(f"Browser for the browser tests: {how} {found} in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
