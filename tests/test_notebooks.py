"""Every notebook in notebooks/ is a test: papermill runs it top to bottom in a
fresh kernel; its last cell asserts the lesson it teaches. A new notebook is
picked up with no edit here. Executed copies are kept in build/notebooks/."""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pytest

from ci.run_notebooks import notebook_paths, run_notebook
from recipes.runtime.processes import PARENT_PID_ENV


def notebook_children() -> set[int]:
    """Processes started through recipes.runtime.processes (they carry PARENT_PID_ENV)."""
    found = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if f"{PARENT_PID_ENV}=".encode() in (entry / "environ").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found - {os.getpid()}


@pytest.mark.notebook
@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs_and_proves_its_lesson(path, temporal_server):
    before = notebook_children() if sys.platform == "linux" else set()
    run_notebook(path)
    if sys.platform != "linux":
        return
    # The kernel is gone now; anything it started must be gone too.
    deadline = time.monotonic() + 5
    while (left := notebook_children() - before) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{path.name} left processes running: {sorted(left)}"
