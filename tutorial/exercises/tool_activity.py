"""Exercise 01 -- make a tool an activity: the checker.

The attendee's file defines ``build_agent()`` (an ``Agent`` whose tools they choose), the
workflow ``ExerciseWeatherAgent`` that runs it, and ``ACTIVITIES``, what the worker registers.
Solved when a run answers with ``get_weather_alerts`` in its history as an activity that
completed: the tool call is then scheduled by the server, retried by it, and recorded.
"""

from __future__ import annotations

from pathlib import Path

from tutorial.exercises import NotYet, load_answer, run_once, running_worker
from tutorial.history import activity_steps
from tutorial.notebook import NotebookSetup
from recipes.weather.workflows import MODEL_PARAMS

QUESTION = "Any weather alerts in California?"
TOOL = "get_weather_alerts"
TIMEOUT_S = 30

HINTS = [
    "A tool that does I/O (here, an HTTP call to the weather service) must not run inside the workflow: it becomes "
    "an activity, which the server schedules, retries and records.",
    "temporalio.openai_agents.workflow.activity_as_tool(fn, ...) turns an @activity.defn function into an Agents "
    "SDK tool; it needs a start_to_close_timeout. The worker must also register the function itself.",
    "tools=[activity_as_tool(get_weather_alerts, start_to_close_timeout=timedelta(seconds=15))] and "
    "ACTIVITIES = [get_weather_alerts].",
]


async def check(answer_file: str | Path, nb: NotebookSetup) -> str:
    """Run the attendee's workflow once; raise :class:`NotYet` with what is missing, else say what was proved."""
    answer = load_answer(answer_file)
    for name in ("build_agent", "ExerciseWeatherAgent", "ACTIVITIES"):
        if not hasattr(answer, name):
            raise NotYet(f"{Path(answer_file).name} has no {name}.", hint="start again from the cell as it was given.")
    tools = answer.build_agent().tools
    if not tools:
        raise NotYet("The agent has no tools, so it cannot look anything up.",
                     hint=f"give build_agent() the {TOOL} activity as a tool, with activity_as_tool(...).")  # fmt: skip
    async with running_worker(nb, MODEL_PARAMS, workflows=[answer.ExerciseWeatherAgent], activities=answer.ACTIVITIES) as (
        client, task_queue,
    ):  # fmt: skip
        outcome, history, handle = await run_once(client, answer.ExerciseWeatherAgent.run, QUESTION, task_queue=task_queue,
                                                  workflow_id=f"exercise-01-{task_queue}", timeout_s=TIMEOUT_S)  # fmt: skip
    if outcome.task_failure:
        raise NotYet(f"The workflow's own code failed: {outcome.task_failure}",
                     hint="a tool that does I/O cannot run inside the workflow; make it an activity with activity_as_tool.")  # fmt: skip
    if "not registered" in outcome.retrying.get(TOOL, ""):
        raise NotYet(f"The agent asked for the {TOOL} activity, and this worker does not have it.",
                     hint=f"add {TOOL} to ACTIVITIES: the worker registers what is listed there.")  # fmt: skip
    if not outcome.finished:
        raise NotYet(f"The run had not finished after {TIMEOUT_S} s" + (f"; retrying: {outcome.retrying}." if outcome.retrying else "."),
                     hint="look at the run in the Web UI: its last events say what it waits for.")  # fmt: skip
    calls = [s for s in activity_steps(history) if s.activity_type == TOOL]
    if not calls:
        raise NotYet(f"The run answered, but no {TOOL} activity is in its history: the tool ran inside the workflow.",
                     hint=f"use activity_as_tool({TOOL}, ...) rather than calling the function from a @function_tool.")  # fmt: skip
    if not any(s.status == "completed" for s in calls):
        raise NotYet(f"The {TOOL} activity ran but did not complete: {calls[-1].failure}",
                     hint="read the failure: a timeout that is too short ends an attempt before the reply comes.")
    done = next(s for s in calls if s.status == "completed")
    return (f"Solved: {TOOL}({', '.join(map(str, done.arguments))}) ran as an activity on the worker "
            f"(attempt {done.attempts}, {done.duration_s:.2f} s), recorded in the history; the agent answered: "
            f"{str(outcome.result)[:120]!r}. Web UI: {nb.temporal.web_ui_url(handle.id)}")
