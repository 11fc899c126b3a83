"""The workflow on the recipe's own worker (``build_worker``): Temporal retries the failing activity until an
attempt succeeds, and fails the run once the retry policy's attempts run out."""

from __future__ import annotations

import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from recipes.hello_temporal.activities import FLAKY_ERROR_TYPE, GreetingRequest
from recipes.hello_temporal.worker import build_worker
from recipes.hello_temporal.workflows import GREETING_RETRY_POLICY, HelloWorkflow


async def greet(env, request: GreetingRequest):
    queue = f"hello-test-{uuid.uuid4().hex[:8]}"
    async with build_worker(env.client, queue):
        handle = await env.client.start_workflow(HelloWorkflow.run, request, id=queue, task_queue=queue)
        try:
            return handle, await handle.result()
        except WorkflowFailureError as failed:
            return handle, failed


@pytest.mark.asyncio
async def test_a_failed_attempt_is_retried_and_the_next_answers(env):
    handle, greeting = await greet(env, GreetingRequest("Ada", failures=1))
    assert greeting == "Hello, Ada! (succeeded on attempt 2)", greeting
    [started] = [e.activity_task_started_event_attributes for e in (await handle.fetch_history()).events
                 if e.HasField("activity_task_started_event_attributes")]  # fmt: skip
    assert started.attempt == 2 and FLAKY_ERROR_TYPE in started.last_failure.application_failure_info.type, started


@pytest.mark.asyncio
async def test_when_the_attempts_run_out_the_run_fails_naming_the_last_error(env):
    _, failed = await greet(env, GreetingRequest("Ada", failures=GREETING_RETRY_POLICY.maximum_attempts))
    assert isinstance(failed, WorkflowFailureError), failed
    activity_error, cause = failed.cause, failed.cause.cause
    assert isinstance(activity_error, ActivityError) and activity_error.retry_state == RetryState.MAXIMUM_ATTEMPTS_REACHED
    assert isinstance(cause, ApplicationError) and cause.message == "greeting service down on attempt 5 (simulated)"
