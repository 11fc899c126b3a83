"""The activity: the place for anything that can fail (network, disk, models).

``compose_greeting`` fails on purpose on its first attempts. Whether an
attempt fails is decided by ``activity.info().attempt`` -- the attempt number
the Temporal server hands to the worker -- not by a counter in this process.
So the behaviour is the same whichever worker process runs which attempt, and
a worker restart in between does not reset it.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import activity
from temporalio.exceptions import ApplicationError

#: ApplicationError type of the simulated failures (retryable).
FLAKY_ERROR_TYPE = "FlakyService"


@dataclass
class GreetingRequest:
    name: str
    failures: int = 2
    """How many attempts fail before one succeeds (2 -> attempt 3 succeeds)."""


@activity.defn
async def compose_greeting(request: GreetingRequest) -> str:
    """Greet ``request.name``; attempts 1..failures raise a retryable error."""
    info = activity.info()
    activity.logger.info("compose_greeting attempt %d", info.attempt)
    if info.attempt <= request.failures:
        raise ApplicationError(
            f"greeting service down on attempt {info.attempt} (simulated)",
            type=FLAKY_ERROR_TYPE,
        )
    return f"Hello, {request.name}! (succeeded on attempt {info.attempt})"


HELLO_ACTIVITIES = [compose_greeting]
