"""Workshop exercises: the attendee's code, run for real, and what is still wrong in one sentence.

Each exercise notebook (``notebooks/exercises/NN_*.ipynb``) has a cell the attendee completes;
it writes their code to a file (``%%writefile``), because a workflow must live in a module the
worker can import. The checker cell imports that file fresh, runs its workflow on a worker in
the notebook's kernel, reads the history, and either says what it proved or raises
:class:`NotYet`: one sentence saying what is still wrong, and a hint. ``hints.next()`` gives
stronger hints, one at a time, ending with where the solution is.

    hints = Hints(HINTS, solution="solutions/01_tool_as_activity.ipynb")
    hints.next()                                   # a stronger hint each time
    await check(answer_file, nb)                   # NotYet("...", hint="...") or a summary
"""

from __future__ import annotations

import asyncio
import importlib
import sys
import traceback
import uuid
from collections.abc import Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle, WorkflowHistory
from temporalio.openai_agents import ModelActivityParameters
from temporalio.service import RPCError
from temporalio.worker import Worker

from recipes.core.agent_failures import AgentsPlugin
from recipes.core.errors import TutorialError
from recipes.core.settings import connect
from tutorial.notebook import NotebookSetup

__all__ = ["Hints", "NotYet", "Outcome", "load_answer", "run_once", "running_worker", "task_failure", "terminate", "watch"]


class NotYet(TutorialError):
    """The exercise is not solved yet: what is still wrong (one sentence), and a hint."""

    def __init__(self, problem: str, *, hint: str) -> None:
        super().__init__(f"{problem} Hint: {hint}")
        self.problem, self.hint = problem, hint

    def _render_traceback_(self) -> list[str]:
        # IPython shows these lines instead of a traceback: the checker's words, not its internals.
        return [f"Not yet: {self.problem}", f"Hint: {self.hint}", "(Run hints.next() for a stronger hint.)"]


class Hints:
    """Progressively stronger hints, one per call to :meth:`next`, then where the solution is."""

    def __init__(self, hints: Sequence[str], *, solution: str) -> None:
        self.hints, self.solution, self.shown = list(hints), solution, 0

    def next(self) -> str:
        if self.shown < len(self.hints):
            self.shown += 1
            text = f"Hint {self.shown} of {len(self.hints)}: {self.hints[self.shown - 1]}"
        else:
            text = f"No more hints: the solution is in {self.solution}."
        print(text)
        return text


def load_answer(path: str | Path) -> ModuleType:
    """Import the attendee's file as a module named after it, fresh each time (their latest
    edit), from a folder put on ``sys.path`` so the worker's sandbox can import it too."""
    path = Path(path).resolve()
    if not path.exists():
        raise NotYet(f"There is no {path.name} yet.", hint="run the cell above that starts with %%writefile first.")
    folder = str(path.parent)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    sys.modules.pop(path.stem, None)
    importlib.invalidate_caches()
    try:
        return importlib.import_module(path.stem)
    except Exception as error:  # the attendee's code: any error is theirs to see, in one line
        if isinstance(error, SyntaxError):
            line, what = error.lineno, f"SyntaxError: {error.msg}"
        else:  # the deepest frame in their file: where their code raised
            frames = [f for f in traceback.extract_tb(error.__traceback__) if Path(f.filename) == path]
            line, what = (frames[-1].lineno if frames else None), f"{type(error).__name__}: {error}"
        raise NotYet(f"{path.name} does not import: {what}" + (f" (line {line} of the file)." if line else "."),
                     hint="fix that line in the cell above, run it again, then this one.") from None  # fmt: skip


@asynccontextmanager
async def running_worker(nb: NotebookSetup, model_params: ModelActivityParameters, *, workflows: Sequence[type],
                         activities: Sequence[object]):  # fmt: skip
    """A worker in this kernel on a task queue of its own, with this notebook's model; yields
    ``(client, task_queue)`` and stops the worker when the block ends."""
    plugin = AgentsPlugin(model_params=model_params, model_provider=nb.model.provider())
    client = await connect(nb.temporal, plugins=[plugin])
    task_queue = f"exercise-{uuid.uuid4().hex[:8]}"
    try:
        worker = Worker(client, task_queue=task_queue, workflows=list(workflows), activities=list(activities))
    except (TypeError, ValueError) as error:  # e.g. an activity without @activity.defn
        raise NotYet(f"The worker refused what it was given: {error}",
                     hint="ACTIVITIES lists activity functions (decorated with @activity.defn), not tools.") from None  # fmt: skip
    async with worker:
        yield client, task_queue


@dataclass
class Outcome:
    """How a run the checker started went: its result, or why it is stuck."""

    result: object | None = None
    finished: bool = False
    task_failure: str = ""
    """The workflow's own code failed (a failed workflow task); the server retries it forever."""
    retrying: dict[str, str] = field(default_factory=dict)
    """Activities on their second attempt or later: type -> why the last attempt failed."""


async def watch(handle: WorkflowHandle, timeout_s: float, *, retries_expected: bool = False, poll_s: float = 0.3) -> Outcome:
    """Wait for the run, but give up early once it is plainly stuck: its workflow code failed,
    or (unless ``retries_expected``) an activity is being retried. A run still open when this
    returns is the caller's to stop (:func:`terminate`)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    result = asyncio.ensure_future(handle.result())
    try:
        while True:
            done, _ = await asyncio.wait({result}, timeout=poll_s)
            if done:
                return Outcome(result.result(), finished=True)
            failure = task_failure(await handle.fetch_history())
            if failure:
                return Outcome(task_failure=failure)
            pending = (await handle.describe()).raw_description.pending_activities
            retrying = {p.activity_type.name: p.last_failure.message for p in pending if p.attempt >= 2}
            if (retrying and not retries_expected) or loop.time() > deadline:
                return Outcome(retrying=retrying)
    finally:
        result.cancel()


def task_failure(history) -> str:
    """Why the workflow's own code last failed (a failed workflow task), or ``""``."""
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    return failed[-1].workflow_task_failed_event_attributes.failure.message if failed else ""


async def run_once(client: Client, run, arg: object, *, workflow_id: str, task_queue: str, timeout_s: float,
                   retries_expected: bool = False) -> tuple[Outcome, WorkflowHistory, WorkflowHandle]:  # fmt: skip
    """Start ``run(arg)``, :func:`watch` it, stop it if it is still open, and read its history."""
    handle = await client.start_workflow(run, arg, id=workflow_id, task_queue=task_queue)
    outcome = await watch(handle, timeout_s, retries_expected=retries_expected)
    if not outcome.finished:
        await terminate(handle, "the exercise checker stopped it")
    return outcome, await handle.fetch_history(), handle


async def terminate(handle: WorkflowHandle, reason: str) -> None:
    """Stop a run the checker gave up on (it is already closed if it finished meanwhile)."""
    try:
        await handle.terminate(reason=reason)
    except RPCError:
        pass
