"""`make test`'s browser step (ci/browser.py): a browser it can use is found, one chosen by
CHROMIUM_PATH is never swapped for another, and when nothing can be found or installed the step
ends with one line that says what to do."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

import pytest

from ci import browser
from ci.browser import NoBrowser, find_chromium, find_or_install


def fake_binary(folder, name: str, prints: str):
    path = folder / name
    path.write_text(f"#!/bin/sh\necho '{prints}'\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.fixture
def bare_machine(tmp_path, monkeypatch):
    """No browser anywhere: an empty PATH, no CHROMIUM_PATH, no Playwright build, no macOS app."""
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("CHROMIUM_PATH", raising=False)
    monkeypatch.setattr(browser, "MAC_APPS", ())
    monkeypatch.setattr(browser, "_playwright_build", lambda: None)
    return tmp_path


def test_a_chromium_on_the_path_is_found(bare_machine):
    expected = fake_binary(bare_machine, "chromium", "Chromium 150.0.7871.100 built on Debian")
    assert find_chromium() == str(expected)


def test_a_binary_that_is_not_a_browser_is_passed_over(bare_machine):
    fake_binary(bare_machine, "chromium", "snap: command not found")  # a shim that does not run a browser
    chrome = fake_binary(bare_machine, "google-chrome", "Google Chrome 131.0")
    assert find_chromium() == str(chrome)


def test_chromium_path_that_does_not_run_is_one_sentence_not_another_browser(bare_machine, monkeypatch):
    fake_binary(bare_machine, "chromium", "Chromium 150")
    monkeypatch.setenv("CHROMIUM_PATH", "/no/such/chrome")
    with pytest.raises(NoBrowser, match=r"CHROMIUM_PATH='/no/such/chrome' does not run as a browser"):
        find_chromium()


def test_nothing_found_and_nothing_installable_says_what_to_do(bare_machine, monkeypatch):
    monkeypatch.setattr(browser, "_install_with_apt", lambda: "apt-get needs root (sudo apt-get install chromium)")
    monkeypatch.setattr(browser, "_install_with_playwright", lambda: "'playwright install chromium' failed: no network")
    with pytest.raises(NoBrowser) as raised:
        find_or_install()
    message = str(raised.value)
    assert "apt-get needs root" in message and "no network" in message and "set CHROMIUM_PATH" in message
    assert "\n" not in message


def test_an_install_that_worked_is_used(bare_machine, monkeypatch):
    def apt_install():
        fake_binary(bare_machine, "chromium", "Chromium 150")
        return ""

    monkeypatch.setattr(browser, "_install_with_apt", apt_install)
    found, how = find_or_install()
    assert found == str(bare_machine / "chromium") and how == "installed Debian's chromium"


def test_the_step_prints_one_line_and_fails_when_there_is_no_browser(tmp_path):
    env = {**os.environ, "CHROMIUM_PATH": str(tmp_path / "missing")}
    done = subprocess.run([sys.executable, "ci/browser.py"], capture_output=True, text=True, env=env,
                          cwd=browser.__file__.rsplit("/ci/", 1)[0])  # fmt: skip
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.count("\n") == 1 and done.stderr.startswith("make test: CHROMIUM_PATH="), done.stderr
