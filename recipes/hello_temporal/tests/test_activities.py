"""The flaky activity alone, with ``ActivityEnvironment`` (no server): whether an attempt fails is decided by the
attempt number Temporal hands the worker, so any process running attempt 3 succeeds."""

from __future__ import annotations

import dataclasses

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from recipes.hello_temporal.activities import FLAKY_ERROR_TYPE, GreetingRequest, compose_greeting


def attempt(number: int) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, attempt=number)
    return env


@pytest.mark.asyncio
async def test_the_first_attempts_fail_with_an_error_temporal_retries():
    with pytest.raises(ApplicationError) as failed:
        await attempt(2).run(compose_greeting, GreetingRequest("Ada", failures=2))
    assert failed.value.type == FLAKY_ERROR_TYPE and not failed.value.non_retryable, failed.value


@pytest.mark.asyncio
async def test_the_attempt_after_the_failures_succeeds_in_a_fresh_process():
    greeting = await attempt(3).run(compose_greeting, GreetingRequest("Ada", failures=2))
    assert greeting == "Hello, Ada! (succeeded on attempt 3)"
