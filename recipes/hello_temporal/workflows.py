"""The workflow: deterministic orchestration; Temporal records every step.

A workflow never does I/O itself. It asks for an activity to run and Temporal
stores the request and the result in the workflow's event history. If the
activity fails, the server retries it according to the ``RetryPolicy``
below -- the workflow code just sees the eventual result.

The retry intervals are deliberately short (0.2 s, doubling, capped at 1 s)
so notebook 02 finishes in a few seconds. Real policies usually start at 1 s
and cap at a minute or more; ``maximum_attempts`` bounds the damage when a
failure is not transient.
"""

from __future__ import annotations

import os
from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from recipes.hello_temporal.activities import GreetingRequest, compose_greeting

TASK_QUEUE = "hello-temporal"
TASK_QUEUE_ENV = "HELLO_TASK_QUEUE"


def default_task_queue() -> str:
    """``$HELLO_TASK_QUEUE`` or ``hello-temporal``. Notebooks and tests pick a queue of their own,
    so a worker someone left running cannot take their runs."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE

GREETING_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(milliseconds=200),  # wait before attempt 2
    backoff_coefficient=2.0,  # 0.2 s, 0.4 s, 0.8 s, ...
    maximum_interval=timedelta(seconds=1),  # never wait longer than this
    maximum_attempts=5,  # then the activity (and this workflow) fails
)


@workflow.defn
class HelloWorkflow:
    @workflow.run
    async def run(self, request: GreetingRequest) -> str:
        return await workflow.execute_activity(
            compose_greeting,
            request,
            start_to_close_timeout=timedelta(seconds=5),  # one attempt may take at most 5 s
            retry_policy=GREETING_RETRY_POLICY,
            summary=f"greet {request.name}",
        )


HELLO_WORKFLOWS = [HelloWorkflow]
