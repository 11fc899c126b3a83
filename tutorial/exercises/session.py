"""Exercise 05 -- an update with a validator, and a query, on a running agent session: the checker.

The attendee's file has ``ExerciseSession``: a workflow that stays open until the ``close``
signal, and an ``ask`` method that runs the weather agent and records the exchange. They make
``ask`` an update (the caller gets the answer back), give it a validator that refuses an empty
question *before* it is accepted (so it leaves no trace in the history), and add a query,
``exchanges``, that reads the recorded exchanges without changing anything.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError

from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from tutorial.exercises import NotYet, load_answer, running_worker, task_failure, terminate
from tutorial.notebook import NotebookSetup
from recipes.weather.workflows import MODEL_PARAMS

QUESTION = "Any weather alerts in California?"
EMPTY = "   "
STEP_TIMEOUT_S = 30

HINTS = [
    "A signal is fire-and-forget; an update is a call: the caller waits and gets the handler's return value. "
    "A validator runs before the update is accepted: when it raises, the caller gets the error and the "
    "history gets nothing. A query reads state and may not change it (and may not await).",
    "@workflow.update above async def ask(...); @ask.validator above a plain def with the same arguments "
    "that raises ValueError for an empty question; @workflow.query above a def that returns self.exchanges.",
    "@workflow.update / async def ask(self, question: str) -> str: ...;  @ask.validator / "
    "def _refuse_empty(self, question: str) -> None: if not question.strip(): raise ValueError(\"empty\");  "
    "@workflow.query / def exchanges(self) -> list[dict]: return self.exchanges",
]


def _accepted_updates(history) -> int:
    return sum(1 for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED)


async def check(answer_file: str | Path, nb: NotebookSetup) -> str:
    answer = load_answer(answer_file)
    for name in ("ExerciseSession", "build_agent"):
        if not hasattr(answer, name):
            raise NotYet(f"{Path(answer_file).name} has no {name}.", hint="start again from the cell as it was given.")
    async with running_worker(nb, MODEL_PARAMS, workflows=[answer.ExerciseSession], activities=WEATHER_ACTIVITIES) as (
        client, queue,
    ):  # fmt: skip
        handle = await client.start_workflow(answer.ExerciseSession.run, id=f"exercise-05-{queue}", task_queue=queue)
        try:
            return await _converse(handle, nb)
        finally:
            if (await handle.describe()).status.name == "RUNNING":
                await terminate(handle, "the exercise checker stopped it")


async def _converse(handle, nb: NotebookSetup) -> str:
    # 1. ask is an update: the caller gets the answer back.
    try:
        reply = await asyncio.wait_for(handle.execute_update("ask", QUESTION), STEP_TIMEOUT_S)
    except WorkflowUpdateFailedError as error:
        cause = str(error.cause)
        if "not found" in cause.lower() or "unknown update" in cause.lower():
            raise NotYet("ask is not an update yet: the session refused it as an unknown update.",
                         hint="put @workflow.update above async def ask.") from None  # fmt: skip
        raise NotYet(f"The update ask failed: {cause}", hint="read the failure; keep the body of ask as it was given.") from None
    except asyncio.TimeoutError:
        failure = task_failure(await handle.fetch_history())
        raise NotYet(f"ask got no answer within {STEP_TIMEOUT_S} s" + (f": the workflow's code failed: {failure}" if failure else "."),
                     hint="look at the session in the Web UI: its last events say what it waits for.") from None  # fmt: skip
    if not str(reply).strip():
        raise NotYet("ask returned an empty answer.", hint="return result.final_output from ask.")

    # 2. The validator refuses an empty question before it is accepted: no trace in the history.
    accepted_before = _accepted_updates(await handle.fetch_history())
    refused = None
    try:
        await asyncio.wait_for(handle.execute_update("ask", EMPTY), STEP_TIMEOUT_S)
    except WorkflowUpdateFailedError as error:
        refused = str(error.cause)
    except (asyncio.TimeoutError, RPCError):  # no reply, or the server: "Workflow Task in failed state"
        refused = "timeout"
    history = await handle.fetch_history()
    if refused is None:
        raise NotYet("An empty question was accepted, sent to the model and recorded.",
                     hint="give ask a validator (@ask.validator) that raises ValueError when the question is blank.")  # fmt: skip
    if refused == "timeout" or task_failure(history):
        raise NotYet("The empty question broke the session: the check ran inside ask, where an error fails the "
                     f"workflow's code ({task_failure(history) or 'no reply'}), not the update.",
                     hint="move the check into a validator: there, raising refuses the update cleanly.")  # fmt: skip
    if _accepted_updates(history) > accepted_before:
        raise NotYet("The empty question was refused, but only after it was accepted and written to the history.",
                     hint="check in a validator (@ask.validator): it runs before acceptance and leaves no trace.")  # fmt: skip

    # 3. exchanges is a query: it reads the session without changing it.
    try:
        exchanges = await handle.query("exchanges")
    except (WorkflowQueryFailedError, RPCError) as error:  # no such query on this workflow
        raise NotYet(f"There is no exchanges query yet ({str(error)[:80]}).",
                     hint="add @workflow.query def exchanges(self) -> list[dict]: return self.exchanges.") from None  # fmt: skip
    if not isinstance(exchanges, list) or len(exchanges) != 1 or QUESTION not in str(exchanges[0]):
        raise NotYet(f"The exchanges query returned {str(exchanges)[:100]!r}, not the one exchange recorded.",
                     hint="return self.exchanges as it is: a list of {question, answer}.")  # fmt: skip

    # 4. The session closes on its signal and reports what it recorded.
    await handle.signal("close")
    recorded = await asyncio.wait_for(handle.result(), STEP_TIMEOUT_S)
    if recorded != 1:
        raise NotYet(f"The session closed with {recorded} exchanges recorded, not 1.", hint="keep run and close as they were given.")
    return (f"Solved: ask answered {str(reply)[:60]!r}; the empty question was refused by the validator "
            f"({refused[:60]}) with no event in the history; the exchanges query read 1 exchange; the session "
            f"closed on its signal. Web UI: {nb.temporal.web_ui_url(handle.id)}")
