"""Exercise 03 -- a retry policy and timeouts for a flaky tool: the checker.

The attendee's file sets ``START_TO_CLOSE`` (one attempt's limit) and ``RETRY_POLICY`` for the
``get_weather_alerts`` activity tool of ``ExerciseFlakyWeather``. The checker runs it three times
against the weather stand-in, each time with a fault injected:

1. **flaky**: the next two calls fail with 503 -- the run must still get the alerts (attempt 3);
2. **hung**: the next call takes 20 s to answer -- the attempt must be cut short and retried, so
   the run ends well before the reply would have come;
3. **down for good**: every call fails -- the tool must give up within ``OUTAGE_BUDGET_S`` and the
   agent still answer (the failure reaches it as text), instead of retrying while a person waits.

A bad state code is not the caller's to bound: the activity raises it as non-retryable, so it
fails on the first attempt whatever the policy says.
"""

from __future__ import annotations

import os
import time
from contextlib import contextmanager
from pathlib import Path

from recipes.tools.weather_alerts import ENV_TIMEOUT
from tutorial.exercises import NotYet, load_answer, run_once, running_worker
from tutorial.history import activity_steps
from tutorial.notebook import NotebookSetup
from tutorial.nws_service import WeatherService
from recipes.weather.workflows import MODEL_PARAMS

QUESTION = "Any weather alerts in California?"
TOOL = "get_weather_alerts"
HANG_S = 20.0
"""How long the hung call takes to answer; a run that waited for it took at least this long."""
OUTAGE_BUDGET_S = 20.0

HINTS = [
    "Two different limits: start_to_close_timeout ends one attempt that takes too long; the retry policy "
    "decides how many attempts there are, and how long to wait between them.",
    "A normal reply takes well under a second here: an attempt limit of a few seconds cuts a hang short. "
    "RetryPolicy(initial_interval=..., backoff_coefficient=..., maximum_attempts=...): the default "
    "maximum_attempts=0 means retry forever; 1 means never retry.",
    "START_TO_CLOSE = timedelta(seconds=3) and RETRY_POLICY = RetryPolicy(initial_interval=timedelta(seconds=1), "
    "backoff_coefficient=2.0, maximum_attempts=4): 1 + 2 + 4 s of backoff, a little over 15 s at worst.",
]


@contextmanager
def _activity_http_timeout(seconds: float):
    """The tool's own HTTP timeout (default 10 s) raised, so that the attempt limit is what ends a hang."""
    before = os.environ.get(ENV_TIMEOUT)
    os.environ[ENV_TIMEOUT] = str(seconds)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(ENV_TIMEOUT, None)
        else:
            os.environ[ENV_TIMEOUT] = before


async def _run(client, task_queue: str, workflow_class, name: str, timeout_s: float):
    started = time.monotonic()
    outcome, history, handle = await run_once(client, workflow_class.run, QUESTION, task_queue=task_queue, timeout_s=timeout_s,
                                              workflow_id=f"exercise-03-{name}-{task_queue}", retries_expected=True)  # fmt: skip
    if outcome.task_failure:
        raise NotYet(f"The workflow's own code failed: {outcome.task_failure}",
                     hint="keep the workflow as it was given; change only START_TO_CLOSE and RETRY_POLICY.")  # fmt: skip
    calls = [s for s in activity_steps(history) if s.activity_type == TOOL]
    return outcome, calls, time.monotonic() - started, handle


async def check(answer_file: str | Path, nb: NotebookSetup, weather: WeatherService) -> str:
    """The three faults, in turn; raise :class:`NotYet` at the first one the answer does not survive."""
    answer = load_answer(answer_file)
    for name in ("START_TO_CLOSE", "RETRY_POLICY", "ExerciseFlakyWeather", "ACTIVITIES"):
        if not hasattr(answer, name):
            raise NotYet(f"{Path(answer_file).name} has no {name}.", hint="start again from the cell as it was given.")
    proved = []
    with _activity_http_timeout(HANG_S + 10):
        async with running_worker(nb, MODEL_PARAMS, workflows=[answer.ExerciseFlakyWeather],
                                  activities=answer.ACTIVITIES) as (client, queue):  # fmt: skip
            weather.reset()
            weather.fail_next(2, 503)
            outcome, calls, took, _ = await _run(client, queue, answer.ExerciseFlakyWeather, "flaky", 60)
            if not any(s.status == "completed" for s in calls):
                attempts = max((s.attempts for s in calls), default=0)
                raise NotYet(f"The weather service failed twice (503) and the tool gave up after {attempts} attempt(s), "
                             "so the agent answered without the alerts.",
                             hint="allow more attempts in RETRY_POLICY: maximum_attempts=1 means never retry.")  # fmt: skip
            proved.append(f"flaky: alerts on attempt {max(s.attempts for s in calls)} ({took:.1f} s)")

            weather.reset()
            weather.slow_next(1, HANG_S)
            outcome, calls, took, _ = await _run(client, queue, answer.ExerciseFlakyWeather, "hung", HANG_S + 30)
            if took >= HANG_S:
                raise NotYet(f"A call that hung for {HANG_S:.0f} s held the run for {took:.0f} s: nothing cut the attempt short.",
                             hint="set START_TO_CLOSE to a few seconds: longer than a normal reply, far shorter than a hang.")  # fmt: skip
            if not any(s.status == "completed" for s in calls):
                raise NotYet("The hung call was cut short, but no attempt after it got the alerts.",
                             hint="the retry policy must allow another attempt after a timeout.")
            proved.append(f"hung: cut short and retried, answered in {took:.1f} s instead of {HANG_S:.0f}")

            weather.reset()
            weather.fail_next(1000, 503)
            outcome, calls, took, handle = await _run(client, queue, answer.ExerciseFlakyWeather, "outage", OUTAGE_BUDGET_S)
            weather.reset()
            if not outcome.finished:
                raise NotYet(f"With the service down for good, the tool was still retrying after {OUTAGE_BUDGET_S:.0f} s, "
                             "and the person asking was still waiting.",
                             hint="bound the retries: maximum_attempts, or a short enough backoff to fit the budget.")  # fmt: skip
            proved.append(f"down for good: gave up after {max(s.attempts for s in calls)} attempts in {took:.1f} s "
                          "and the agent still answered")  # fmt: skip
    return "Solved: " + "; ".join(proved) + f". Web UI: {nb.temporal.web_ui_url(handle.id)}"
