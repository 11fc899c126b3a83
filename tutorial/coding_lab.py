"""Notebook 15's machinery: a test run the notebook holds open, and the coding agent's history read back.

The kill demo must land inside a test run on any machine and any model, never by a timing race. A
*gated* project (:func:`gated_task`) is the recipe's sample project plus ``test_gate.py``, whose
``setUpModule`` records that a test run has started (``started-<pid>`` in the gate directory) and
then waits until the notebook opens the gate. The notebook waits for that record, kills the worker,
and opens the gate when it chooses: the test run in flight is a fact on disk, not a guess.

The rest reads what the run did from its history: the sandbox operations, one row each, with what
each read, ran or wrote (:func:`sandbox_rows`), the project as given and as written back
(:func:`project_files`, :func:`files_written`).
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recipes.coding_agent.project import SAMPLE_FILES, CodingTask
from recipes.core.errors import TutorialError
from tutorial.proof import RunEndedFirst
from tutorial.history import Step, activity_steps
from tutorial.processes import ManagedProcess, pid_alive

GATE_ENV = "CODING_LAB_GATE"
#: The longest a gated test run waits for the gate (then it fails): nothing waits forever.
GATE_LIMIT_S = 300

TEST_GATE = f'''\
import os
import pathlib
import time
import unittest

GATE = pathlib.Path(os.environ["{GATE_ENV}"])


def setUpModule():
    # The notebook's hold on this test run: it is running (a record with its pid), then it waits.
    (GATE / f"started-{{os.getpid()}}").touch()
    deadline = time.monotonic() + {GATE_LIMIT_S}
    while not (GATE / "open").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("the gate never opened")
        time.sleep(0.05)


class GateTest(unittest.TestCase):
    def test_the_gate_opened(self):
        self.assertTrue((GATE / "open").exists())
'''


@dataclass
class Gate:
    """A directory the gated tests wait on: who started, and whether it is open."""

    path: Path

    @classmethod
    def closed(cls, path: Path) -> Gate:
        shutil.rmtree(path, ignore_errors=True)
        path.mkdir(parents=True)
        return cls(path)

    def started(self) -> list[int]:
        """The pids of the test runs that reached the gate, oldest first."""
        records = sorted(self.path.glob("started-*"), key=lambda p: p.stat().st_mtime_ns)
        return [int(p.name.removeprefix("started-")) for p in records]

    def open(self) -> None:
        (self.path / "open").touch()

    @property
    def is_open(self) -> bool:
        return (self.path / "open").exists()


def gated_task(gate: Gate, *, test_run_seconds: float, question: str | None = None, max_turns: int = 10) -> CodingTask:
    """The sample project with a test that waits at ``gate``: the recipe's task, only slower to test."""
    task = CodingTask(files={**SAMPLE_FILES, "test_gate.py": TEST_GATE}, test_run_seconds=test_run_seconds,
                      environment={GATE_ENV: str(gate.path)}, max_turns=max_turns)  # fmt: skip
    if question:
        task.question = question
    return task


def workspaces(tmpdir: Path) -> list[str]:
    """What the worker's sandboxes left in its ``TMPDIR`` (every run's workspace is made there)."""
    return sorted(p.name for p in tmpdir.iterdir()) if tmpdir.exists() else []


def still_running(pids: list[int], *, wait_s: float = 10.0) -> list[int]:
    """Of ``pids``, those still alive after up to ``wait_s`` (a process that just got its gate may be exiting)."""
    deadline = time.monotonic() + wait_s
    while (alive := [p for p in pids if pid_alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive


# --------------------------------------------------------------------------- the history

#: The agent's sandbox operations, by the activity names the worker's two providers register.
SANDBOX_PREFIXES = ("coding-tests-sandbox_", "coding-sandbox_")


def is_sandbox_step(step: Step) -> bool:
    return step.activity_type.startswith(SANDBOX_PREFIXES)


def operation(step: Step) -> str:
    """``read``, ``exec``, ``write``, ``client_create`` ...: the operation, without the provider's name
    (empty for any other activity)."""
    return step.activity_type.split("sandbox_", 1)[1].removeprefix("session_") if is_sandbox_step(step) else ""


def is_test_run(step: Step) -> bool:
    return step.activity_type == "coding-tests-sandbox_session_exec"


def _argument(step: Step) -> dict[str, Any]:
    value = step.arguments[0] if step.arguments else {}
    return value if isinstance(value, dict) else {}


def _decoded(data: Any) -> str:
    return base64.b64decode(data).decode("utf-8", errors="replace") if isinstance(data, str) else ""


def _relative(path: str, step: Step) -> str:
    root = str(((_argument(step).get("state") or {}).get("manifest") or {}).get("root", ""))
    return os.path.relpath(path, root) if root and path.startswith(root) else path


def what(step: Step) -> str:
    """What the operation read, ran or wrote, in a few words."""
    arg = _argument(step)
    if "command" in arg:
        return " ".join(arg["command"])
    if "data" in arg:
        return f"{_relative(arg['path'], step)} ({len(base64.b64decode(arg['data']))} bytes)"
    if "path" in arg:
        return _relative(arg["path"], step)
    return ""


def sandbox_rows(steps: list[Step]) -> list[dict[str, Any]]:
    """One row per activity: model calls as such, sandbox operations with what they did."""
    rows = []
    for step in steps:
        rows.append({"activity_id": step.activity_id,
                     "activity": "model call" if step.is_model_call else step.activity_type,
                     "what": "" if step.is_model_call else what(step), "attempts": step.attempts,
                     "status": step.status, "worker": step.identity})  # fmt: skip
    return rows


def project_files(history: Any) -> dict[str, str]:
    """The project as the workflow was given it (its input, in the history's first event)."""
    start = history.events[0].workflow_execution_started_event_attributes
    task = json.loads(start.input.payloads[0].data)
    return dict(task["files"])


def files_written(steps: list[Step]) -> dict[str, str]:
    """Every file the agent wrote, as its last completed write left it."""
    written = {}
    for step in steps:
        if step.activity_type.endswith("sandbox_session_write") and step.status == "completed":
            arg = _argument(step)
            written[_relative(arg["path"], step)] = _decoded(arg["data"])
    return written


def session_state(steps: list[Step]) -> dict[str, Any]:
    """The sandbox session's state as the activities carry it: what a new worker resumes from."""
    for step in steps:
        if is_sandbox_step(step) and "state" in _argument(step):
            state = _argument(step)["state"]
            manifest = state.get("manifest") or {}
            return {"type": state.get("type"), "session_id": state.get("session_id"),
                    "workspace (manifest root)": manifest.get("root"),
                    "files in the manifest": sorted(manifest.get("entries") or {}),
                    "snapshot": (state.get("snapshot") or {}).get("type")}  # fmt: skip
    return {}


async def wait_for_test_runs(gate: Gate, handle: Any, count: int, *, timeout: float = 600.0,
                             worker: ManagedProcess | None = None) -> list[int]:
    """The pids of the first ``count`` test runs at ``gate``, once there are that many; one sentence if
    the run ends first (a model that never ran the tests), or at once if ``worker`` is not running (a cell
    run again after the worker was killed), instead of waiting out ``timeout`` for a run nobody takes."""
    from tutorial.notebook import wait_until
    from tutorial.proof import status

    async def reached() -> list[int] | None:
        if len(started := gate.started()) >= count:
            return started
        if worker is not None and not worker.running:
            raise TutorialError(f"{worker.name} is not running, so no test run can reach the gate: it was stopped or "
                                "killed already; run the cell that starts (or restarts) it first.")  # fmt: skip
        if (now := await status(handle)) != "RUNNING":
            why = ("this lesson needs a model that runs the tests" if count == 1 else
                   "a test run is run again only when its worker dies during it: run the kill cell above first")
            raise RunEndedFirst(f"The run ended ({now}) after {len(started)} test run(s) at the gate, not {count}: {why}.")
        return None

    return await wait_until(reached, timeout=timeout, what=f"{count} test run(s) waiting at the gate", poll_s=0.2)


async def file_after_a_restart(client_class: type, task: CodingTask, path: str, edited: str) -> str:
    """What a worker that replaced a dead one finds in ``path``: a workspace made from ``task`` and edited
    (as the agent's patch does), then resumed from its state by a fresh ``client_class`` and started (as the
    Agents SDK does on its next turn). The workspace is deleted afterwards."""
    import io

    first = client_class(inherit_host_environment=False)
    session = await first.create(manifest=task.manifest())
    try:
        await session.start()
        await session.write(Path(path), io.BytesIO(edited.encode()))
        resumed = await client_class(inherit_host_environment=False).resume(session.state)
        await resumed.start()
        return (await resumed.read(Path(path))).read().decode()
    finally:
        await first.delete(session)
