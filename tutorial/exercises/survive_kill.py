"""Exercise 02 -- make the agent survive a SIGKILL, and prove it from the history: the checker.

The attendee's file sets ``MODEL_PARAMS``, how the agent's model calls run as activities. The
checker runs the agent on a worker *process*, SIGKILLs it while the second model call is in
flight (the first has completed, and so has the tool call), and starts a fresh worker at once.
A killed process says nothing to the server: with only a start-to-close timeout of minutes, the
call sits there until that timeout ends it. Solved when the call is retried on the new worker
within ``RECOVERY_BUDGET_S`` -- a ``heartbeat_timeout``: the integration's model activity
heartbeats while it waits for the model, and when the heartbeats stop the server retries the call
-- and the history shows the completed calls were not made again.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowHandle
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

from recipes.core.settings import connect
from recipes.core.worker import READY_TEXT
from tutorial.exercises import NotYet, load_answer, terminate
from tutorial.history import activity_steps
from tutorial.notebook import NotebookSetup
from tutorial.offline_model.model import LATENCY_ENV_VAR
from tutorial.processes import ManagedProcess, child_argv
from tutorial.nws_service import WeatherService

QUESTION = "Any weather alerts in California?"
MODEL_CALL_S = 3.0
"""The offline model's latency per call here, so that a call is in flight long enough to be killed."""
RECOVERY_BUDGET_S = 20.0

HINTS = [
    "A SIGKILLed process cannot tell anyone it died. The server finds out only when an activity's timeout "
    "runs out -- so the question is which timeout, and how long it is.",
    "start_to_close_timeout must cover the slowest model reply (a minute or more), so it is a poor detector of "
    "a dead worker. ModelActivityParameters also takes heartbeat_timeout: the model activity heartbeats while "
    "it waits, and a silence longer than that timeout means the worker is gone.",
    "MODEL_PARAMS = ModelActivityParameters(start_to_close_timeout=timedelta(minutes=5), "
    "heartbeat_timeout=timedelta(seconds=2))",
]


def _worker(answer_file: Path, nb: NotebookSetup, weather: WeatherService, task_queue: str, n: int) -> ManagedProcess:
    env = {**nb.worker_env(), "NWS_API_URL": weather.url, LATENCY_ENV_VAR: str(MODEL_CALL_S)}
    return ManagedProcess(f"exercise-02-worker-{n}",
                          child_argv("tutorial.exercises.worker", str(answer_file), "--task-queue", task_queue),
                          env=env, ready_text=READY_TEXT)  # fmt: skip


async def _second_model_call_in_flight(handle: WorkflowHandle, timeout_s: float) -> None:
    """Return once a model call is running that is not the first: the history is read before the
    pending activities, so a first call that has just completed is not mistaken for a second."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        done = {s.activity_id for s in activity_steps(await handle.fetch_history()) if s.is_model_call and s.status == "completed"}
        pending = (await handle.describe()).raw_description.pending_activities
        if done and any(p.activity_type.name == "invoke_model_activity" and p.activity_id not in done
                        and p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED for p in pending):  # fmt: skip
            return
        await asyncio.sleep(0.1)
    raise NotYet(f"The agent's second model call had not started within {timeout_s:.0f} s.",
                 hint="keep the workflow as it was given; only MODEL_PARAMS changes.")  # fmt: skip


async def _killed_call_retried(handle: WorkflowHandle, killed_at: float) -> float | None:
    """Seconds from the kill until the server gave the killed model call a second attempt (the new
    worker's start-up does not count: the retry is scheduled whether or not a worker is ready),
    or None if it had not within ``RECOVERY_BUDGET_S``."""
    while (waited := time.monotonic() - killed_at) < RECOVERY_BUDGET_S:
        pending = (await handle.describe()).raw_description.pending_activities
        models = [p for p in pending if p.activity_type.name == "invoke_model_activity"]
        if not models or any(p.attempt >= 2 for p in models):
            return waited
        await asyncio.sleep(0.2)
    return None


async def check(answer_file: str | Path, nb: NotebookSetup, weather: WeatherService) -> str:
    answer_file = Path(answer_file).resolve()
    answer = load_answer(answer_file)
    for name in ("MODEL_PARAMS", "WORKFLOW"):
        if not hasattr(answer, name):
            raise NotYet(f"{answer_file.name} has no {name}.", hint="start again from the cell as it was given.")
    if not isinstance(answer.MODEL_PARAMS, ModelActivityParameters):
        raise NotYet("MODEL_PARAMS is not a ModelActivityParameters.", hint="keep MODEL_PARAMS = ModelActivityParameters(...).")
    task_queue = f"exercise-{uuid.uuid4().hex[:8]}"
    first, second = (_worker(answer_file, nb, weather, task_queue, n) for n in (1, 2))
    client = await connect(nb.temporal, plugins=[OpenAIAgentsPlugin()])  # the plugin: the agent types' data converter
    handle = None
    try:
        await asyncio.to_thread(first.start, 60)
        handle = await client.start_workflow(answer.WORKFLOW.run, QUESTION, id=f"exercise-02-{task_queue}", task_queue=task_queue)
        await _second_model_call_in_flight(handle, 60)
        first.kill(by="exercise check")
        killed_at = time.monotonic()
        await asyncio.to_thread(second.start, 60)
        retried_s = await _killed_call_retried(handle, killed_at)
        if retried_s is None:
            raise NotYet(f"{RECOVERY_BUDGET_S:.0f} s after the kill, the model call the dead worker was running had "
                         f"not been retried: the server waits for its start-to-close timeout "
                         f"({answer.MODEL_PARAMS.start_to_close_timeout}) to find out.",
                         hint="give MODEL_PARAMS a heartbeat_timeout of a few seconds.")  # fmt: skip
        await asyncio.wait_for(handle.result(), 120)
        recovered_s = time.monotonic() - killed_at
        history = await handle.fetch_history()
    finally:
        if handle is not None and (await handle.describe()).status.name == "RUNNING":
            await terminate(handle, "the exercise checker stopped it")
        for worker in (first, second):
            await asyncio.to_thread(worker.stop)
    model_calls = [s for s in activity_steps(history) if s.is_model_call]
    new_worker = f"{second.pids[-1]}@"
    killed = next((s for s in model_calls if s.attempts >= 2 and s.identity.startswith(new_worker)), None)
    if killed is None:
        raise NotYet("The run finished, but the history shows no model call retried on the new worker.",
                     hint="run the check again: the kill must land while a model call is in flight.")
    before = [s for s in model_calls if s.scheduled_at < killed.scheduled_at]
    return (f"Solved: the worker (pid {first.pids[-1]}) was SIGKILLed during the second model call; the call was "
            f"retried {retried_s:.1f} s after the kill, on the new worker (pid {second.pids[-1]}, attempt "
            f"{killed.attempts}), and the run answered {recovered_s:.1f} s after the kill. The model call before it ran "
            f"{'once' if all(s.attempts == 1 for s in before) else 'more than once'} "
            f"(attempts: {[s.attempts for s in before]}): completed calls are not made again. "
            f"Web UI: {nb.temporal.web_ui_url(handle.id)}")
