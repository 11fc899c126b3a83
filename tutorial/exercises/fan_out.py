"""Exercise 04 -- fan out two agents in parallel: the checker.

The attendee's workflow ``ExerciseTwoAgents`` asks one weather agent per state. As given it awaits
them one after the other; solved when they run at once (``asyncio.gather`` over the agents' runs,
deterministic in a workflow). The proof is the order of events, not a stopwatch: with a fan-out,
the second agent's first model call is scheduled before the first agent's first one has completed.
"""

from __future__ import annotations

from pathlib import Path

from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from tutorial.exercises import NotYet, load_answer, run_once, running_worker
from tutorial.history import activity_steps
from tutorial.notebook import NotebookSetup
from recipes.weather.workflows import MODEL_PARAMS

STATES = ["CA", "TX"]
TIMEOUT_S = 60

HINTS = [
    "Awaiting one agent's Runner.run before starting the next makes them take turns. In a workflow, as in any "
    "asyncio code, start them all, then wait for all of them.",
    "asyncio.gather(*coroutines) runs coroutines concurrently and returns their results in the order given; "
    "it is deterministic inside a workflow (replay schedules the same activities in the same order).",
    "return list(await asyncio.gather(*(ask(state) for state in states)))",
]


async def check(answer_file: str | Path, nb: NotebookSetup) -> str:
    answer = load_answer(answer_file)
    if not hasattr(answer, "ExerciseTwoAgents"):
        raise NotYet(f"{Path(answer_file).name} has no ExerciseTwoAgents.", hint="start again from the cell as it was given.")
    async with running_worker(nb, MODEL_PARAMS, workflows=[answer.ExerciseTwoAgents], activities=WEATHER_ACTIVITIES) as (
        client, queue,
    ):  # fmt: skip
        outcome, history, handle = await run_once(client, answer.ExerciseTwoAgents.run, STATES, task_queue=queue,
                                                  workflow_id=f"exercise-04-{queue}", timeout_s=TIMEOUT_S)  # fmt: skip
    if outcome.task_failure:
        raise NotYet(f"The workflow's own code failed: {outcome.task_failure}",
                     hint="asyncio.gather and plain awaits are allowed in a workflow; threads and asyncio.wait_for's clocks are not.")  # fmt: skip
    if not outcome.finished:
        raise NotYet(f"The run had not finished after {TIMEOUT_S} s.", hint="look at the run in the Web UI: its last events say what it waits for.")
    answers = outcome.result
    if not isinstance(answers, list) or len(answers) != len(STATES) or not all(str(a).strip() for a in answers):
        raise NotYet(f"The workflow returned {str(answers)[:100]!r}, not one answer per state ({len(STATES)}).",
                     hint="return a list with one answer per state, in the order of the states.")  # fmt: skip
    steps = activity_steps(history)
    model_calls = [s for s in steps if s.is_model_call]
    tool_calls = [s for s in steps if s.activity_type == "get_weather_alerts"]
    if sorted(str(s.arguments[0]) for s in tool_calls if s.arguments) != sorted(STATES):
        raise NotYet(f"The agents looked up {[s.arguments for s in tool_calls]}, not each of {STATES} once.",
                     hint="keep ask(state) as it was given: one agent per state.")  # fmt: skip
    first, second = model_calls[0], model_calls[1]
    if second.scheduled_at >= first.closed_at:
        waited = (second.scheduled_at - first.scheduled_at).total_seconds()
        raise NotYet(f"The agents took turns: the second model call was scheduled {waited:.2f} s after the first, "
                     "once it had completed.",
                     hint="start both agents' runs before awaiting either: asyncio.gather.")  # fmt: skip
    return (f"Solved: both agents' first model calls were scheduled together (events {first.scheduled_event_id} and "
            f"{second.scheduled_event_id}, before either completed); {len(tool_calls)} tool calls, one per state; "
            f"{len(answers)} answers. Web UI: {nb.temporal.web_ui_url(handle.id)}")
