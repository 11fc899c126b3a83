"""Every notebook in notebooks/ is a test: papermill runs it top to bottom in a
fresh kernel; its last cell asserts the lesson it teaches. A new notebook is
picked up with no edit here. Executed copies are kept in build/notebooks/."""

from __future__ import annotations

import os
import signal
import sys
import time
import uuid
from pathlib import Path

import pytest

from ci.run_notebooks import notebook_paths, run_notebook

RUN_TAG_ENV = "TUTORIAL_NOTEBOOK_RUN"


def processes_tagged(tag: str) -> set[int]:
    """Processes whose environment carries this run's tag: the kernel and
    everything it started (children inherit the environment)."""
    marker = f"{RUN_TAG_ENV}={tag}\0".encode()
    found = set()
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            if marker in (entry / "environ").read_bytes():
                found.add(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.notebook
@pytest.mark.parametrize("path", notebook_paths(), ids=lambda p: p.stem)
def test_notebook_runs_and_proves_its_lesson(path, temporal_server, monkeypatch):
    tag = uuid.uuid4().hex
    monkeypatch.setenv(RUN_TAG_ENV, tag)
    run_notebook(path)
    if sys.platform != "linux":
        return
    # The kernel is gone now; whatever it started (workers, services, servers) must be gone too.
    deadline = time.monotonic() + 5
    while (left := processes_tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{path.name} left processes running: {sorted(left)}"
