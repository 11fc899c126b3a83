"""The hello_temporal recipe: a flaky activity retried by Temporal, in-process and from two 'terminals'."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from recipes.hello_temporal.activities import FLAKY_ERROR_TYPE, GreetingRequest
from recipes.hello_temporal.watch import watch_attempts
from recipes.hello_temporal.worker import build_worker
from recipes.hello_temporal.workflows import HelloWorkflow
from tutorial.history import activity_steps


async def start_and_watch(address: str, request: GreetingRequest):
    client = await Client.connect(address)
    queue = f"test-hello-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, task_queue=queue):
        handle = await client.start_workflow(HelloWorkflow.run, request, id=f"hello-{uuid.uuid4().hex[:8]}", task_queue=queue)
        seen = await watch_attempts(handle, echo=False)
        try:
            result = await handle.result()
        except WorkflowFailureError as err:
            result = err
        return result, seen, activity_steps(await handle.fetch_history())


def test_fails_twice_then_succeeds_on_attempt_three(temporal_server):
    result, seen, [step] = asyncio.run(start_and_watch(temporal_server.address, GreetingRequest("Ada")))
    assert result == "Hello, Ada! (succeeded on attempt 3)"
    # The history is the record: one step, its third attempt completed, after attempt 2 failed.
    assert step.status == "completed" and step.attempts == 3 and "attempt 2" in step.last_failure
    # The watcher samples pending attempts; whatever it saw must agree with that record
    # (how many it caught depends on how fast the machine polls).
    assert {s["attempt"] for s in seen} <= {1, 2, 3}
    assert all(f"attempt {s['attempt'] - 1}" in s["last_failure"] for s in seen if s["attempt"] > 1)


def test_no_failures_means_one_attempt(temporal_server):
    result, _, [step] = asyncio.run(start_and_watch(temporal_server.address, GreetingRequest("Bo", failures=0)))
    assert step.attempts == 1 and not step.last_failure
    assert result == "Hello, Bo! (succeeded on attempt 1)"


def test_retry_policy_bounds_the_attempts(temporal_server):
    error, _, _ = asyncio.run(start_and_watch(temporal_server.address, GreetingRequest("Cy", failures=10)))
    assert isinstance(error, WorkflowFailureError)
    assert isinstance(error.cause, ActivityError)
    assert isinstance(error.cause.cause, ApplicationError) and error.cause.cause.type == FLAKY_ERROR_TYPE
    assert "attempt 5" in error.cause.cause.message  # maximum_attempts=5


@pytest.mark.integration
def test_worker_and_starter_entrypoints(temporal_server):
    """The two-terminal flow: `python -m ...worker` in one, `python -m ...starter` in the other."""
    from recipes.core.worker import READY_TEXT
    from tutorial.processes import python_module

    env = {"TEMPORAL_ADDRESS": temporal_server.address, "HELLO_TASK_QUEUE": f"test-hello-cli-{uuid.uuid4().hex[:6]}"}
    worker = python_module("test-hello-worker", "recipes.hello_temporal.worker", env=env, ready_text=READY_TEXT)
    starter = python_module("test-hello-starter", "recipes.hello_temporal.starter", "Dee", env=env)
    try:
        worker.start(timeout=30)
        starter.start()
        assert starter.wait(timeout=30) == 0, starter.log_tail()
        out = starter.log()
        assert "Hello, Dee! (succeeded on attempt 3)" in out
        assert "Web UI: http" in out
    finally:
        starter.stop()
        worker.stop()
