"""Watch a running workflow's activity attempts as they happen.

The event history records an activity's retries only when the activity ends
(one ``ActivityTaskStarted`` event carrying the last attempt number). While
it is still retrying, the server's *pending activity* info shows the current
attempt and the previous attempt's failure; this polls it.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from temporalio.client import WorkflowExecutionStatus


async def watch_attempts(handle: Any, *, poll_s: float = 0.05, timeout_s: float = 30.0, echo: bool = True) -> list[dict]:
    """Poll ``handle.describe()`` until the workflow closes; report each new attempt.

    Returns one dict per attempt seen while pending: ``activity_type``,
    ``attempt``, ``seconds`` (since watching began) and ``last_failure`` (why the
    previous attempt failed).
    """
    seen: dict[tuple[str, int], dict] = {}
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        desc = await handle.describe()
        for pending in desc.raw_description.pending_activities:
            key = (pending.activity_id, pending.attempt)
            if key in seen:
                continue
            failure = pending.last_failure.message if pending.HasField("last_failure") else ""
            seen[key] = {
                "activity_type": pending.activity_type.name,
                "attempt": pending.attempt,
                "seconds": round(time.monotonic() - started, 2),
                "last_failure": failure,
            }
            if echo:
                why = f" -- previous attempt failed: {failure}" if failure else ""
                print(f"{seen[key]['seconds']:5.2f}s  {pending.activity_type.name} attempt {pending.attempt}{why}")
        if desc.status != WorkflowExecutionStatus.RUNNING:
            if echo:
                print(f"{time.monotonic() - started:5.2f}s  workflow {desc.status.name.lower()}")
            break
        await asyncio.sleep(poll_s)
    return list(seen.values())
