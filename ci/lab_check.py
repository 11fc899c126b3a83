"""Notebooks as a person runs them: JupyterLab in Chromium, Run All Cells from the menu, and the notebook's
widget buttons pressed at moments the notebook does not choose.

    python ci/lab_check.py notebooks/05_kill_the_worker.ipynb [more ...] [--presses 6] [--seed 1]
    make lab-check                       # the notebooks that show buttons

Each notebook is copied into a scratch folder, which is JupyterLab's root and so the kernel's working
directory (not the repo: the check runs from another directory too). A Temporal dev server and JupyterLab
start on free ports; Chromium opens the notebook, runs every cell from the Run menu, and while cells run
clicks an enabled widget button (Kill worker, Restart worker, Approve, Reject ...) every few seconds. When
the kernel has been idle a while, the notebook is saved and read back: every cell that ended in an error is
reported, and so is every process the kernel started and left running. Exit 1 if there is any.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ci.browser import find_chromium  # noqa: E402
from ci.run_notebooks import REPO_ROOT, RUN_TAG_ENV, processes_tagged, timeout_for  # noqa: E402

#: The notebooks that put buttons in front of a person.
WITH_BUTTONS = ("05_kill_the_worker.ipynb", "06_retries_and_idempotency.ipynb", "09_talking_to_a_running_agent.ipynb")
RUN_ALL = "Run All Cells"
KERNEL_STATUS = ".jp-Notebook-ExecutionIndicator:visible"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"lab-check: nothing answered at {url} within {timeout:g}s") from None
            time.sleep(0.5)


def stop_group(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM the process group (JupyterLab shuts its kernels down on it), SIGKILL what is left."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def shut_kernels_down(base: str, token: str, tag: str, lab_pid: int) -> set[int]:
    """Shut every kernel down as JupyterLab does (its sessions API), then the processes the notebook started
    and left running (killed, and returned)."""
    headers = {"Authorization": f"token {token}"}
    with urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions", headers=headers), timeout=10) as response:
        sessions = json.load(response)
    for session in sessions:
        urllib.request.urlopen(urllib.request.Request(f"{base}/api/sessions/{session['id']}", method="DELETE", headers=headers),
                               timeout=30).close()  # fmt: skip
    deadline = time.monotonic() + 10
    while (left := processes_tagged(tag) - {lab_pid}) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    return left


def errors_in(path: Path) -> list[str]:
    """One line per cell whose output is an error, as saved."""
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [f"cell {i}: {o.get('ename')}: {o.get('evalue', '')[:300]}" for i, cell in enumerate(cells)
            for o in cell.get("outputs", []) if o.get("output_type") == "error"]  # fmt: skip


def never_ran(path: Path) -> list[int]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [i for i, c in enumerate(cells) if c["cell_type"] == "code" and c["source"] and c.get("execution_count") is None]


def run_in_lab(page, url: str, notebook: Path, *, presses: int, rng: random.Random, budget_s: float,
               only: re.Pattern | None = None) -> list[str]:
    """Open, Run All, press buttons while it runs; the presses made, in order."""
    page.goto(url)
    page.locator(f'{KERNEL_STATUS}[data-status="idle"]').wait_for(timeout=120_000)
    ran = page.locator(".jp-InputPrompt:visible", has_text=re.compile(r"\[(\*|\d+)\]"))
    for _ in range(3):  # a notebook still loading can swallow the click: until a cell is queued or has run
        page.locator(".lm-MenuBar-item", has_text="Run").first.click()
        page.get_by_role("menuitem", name=RUN_ALL).first.click()
        try:
            ran.first.wait_for(timeout=30_000)
            break
        except Exception:
            page.keyboard.press("Escape")
    made, started, idle_since, next_press = [], time.monotonic(), None, time.monotonic() + rng.uniform(3, 10)
    while time.monotonic() - started < budget_s:
        busy = page.locator(KERNEL_STATUS).get_attribute("data-status") != "idle"
        pending = page.locator(".jp-InputPrompt:visible", has_text="[*]").count() > 0
        if busy or pending:
            idle_since = None
        elif idle_since is None:
            idle_since = time.monotonic()
        elif time.monotonic() - idle_since > 8:
            break
        if len(made) < presses and time.monotonic() >= next_press:
            buttons = page.locator("button.widget-button:not([disabled])")
            labels = [buttons.nth(i).inner_text().strip() or buttons.nth(i).get_attribute("title") or "?" for i in range(buttons.count())]
            choices = [i for i, label in enumerate(labels) if only is None or only.search(label)]
            if choices:
                button, label = buttons.nth(index := rng.choice(choices)), labels[index]
                try:
                    button.click(timeout=2_000)
                    made.append(f"{time.monotonic() - started:.0f}s {label}")
                except Exception as err:  # it went away or was disabled between the count and the click
                    made.append(f"{time.monotonic() - started:.0f}s {label} (not clicked: {type(err).__name__})")
            next_press = time.monotonic() + rng.uniform(3, 12)
        time.sleep(0.5)
    else:
        made.append(f"still running after {budget_s:g}s")
    before = notebook.stat().st_mtime_ns
    page.keyboard.press("Control+s")
    deadline = time.monotonic() + 30
    while notebook.stat().st_mtime_ns == before and time.monotonic() < deadline:
        time.sleep(0.2)
    if notebook.stat().st_mtime_ns == before:
        made.append("not saved within 30s")
    return made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, default=[REPO_ROOT / "notebooks" / n for n in WITH_BUTTONS])
    parser.add_argument("--presses", type=int, default=6, help="buttons pressed per notebook, at most (default 6)")
    parser.add_argument("--only", type=re.compile, default=None, help="press only buttons whose label matches this regex")
    parser.add_argument("--seed", type=int, default=None, help="the moments and buttons chosen (default: random)")
    args = parser.parse_args(argv)
    seed = args.seed if args.seed is not None else random.randrange(10_000)
    from playwright.sync_api import sync_playwright

    from tutorial.temporal_server import ensure_server

    scratch = Path(tempfile.mkdtemp(prefix="lab-check-"))
    server = ensure_server(f"127.0.0.1:{free_port()}", headless=True, db_file=scratch / "temporal.db", state=scratch)
    tag, token, port = secrets.token_hex(4), secrets.token_hex(16), free_port()
    env = {**os.environ, "TEMPORAL_ADDRESS": server.address, RUN_TAG_ENV: tag, "JUPYTER_PLATFORM_DIRS": "1"}
    for name in ("AGENT_MODEL_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LITELLM_MODEL"):
        env.pop(name, None)  # the offline stand-in, whatever this shell carries
    lab = subprocess.Popen([sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={scratch}",
                            *(["--allow-root"] if os.geteuid() == 0 else [])],
                           env=env, cwd=scratch, stdout=(scratch / "lab.log").open("w"), stderr=subprocess.STDOUT,
                           start_new_session=True)  # fmt: skip
    failures = 0
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/status?token={token}", 90)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=find_chromium())
            for source in args.notebooks:
                copy = scratch / source.name
                shutil.copy(source, copy)
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                t0 = time.monotonic()
                presses = run_in_lab(page, f"http://127.0.0.1:{port}/lab/workspaces/{copy.stem}/tree/{copy.name}?reset&token={token}", copy,
                                     presses=args.presses, rng=random.Random(f"{seed}-{source.name}"),
                                     budget_s=timeout_for(source) * 2, only=args.only)  # fmt: skip
                page.close()
                left = shut_kernels_down(f"http://127.0.0.1:{port}", token, tag, lab.pid)
                problems = errors_in(copy) + [f"cell {i} never ran" for i in never_ran(copy)]
                problems += [f"left running after its kernel shut down: {sorted(left)}"] if left else []
                failures += bool(problems)
                print(f"{source.name}: {'FAILED' if problems else 'passed'} in {time.monotonic() - t0:.0f}s; "
                      f"presses (seed {seed}): {', '.join(presses) or 'none'}")  # fmt: skip
                for line in problems:
                    print(f"  {line}")
            browser.close()
    finally:
        stop_group(lab)
        time.sleep(2)
        left = processes_tagged(tag)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        if left:
            failures += 1
            print(f"left running after JupyterLab stopped: {sorted(left)}")
        server.stop()
        print(f"notebooks as saved, and JupyterLab's log: {scratch}")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
