"""The Temporal floor's step: an activity that does nothing, so what it costs is Temporal's alone."""

from __future__ import annotations

from temporalio import activity


@activity.defn
async def no_op_step(step: int) -> int:
    return step


COST_ACTIVITIES = [no_op_step]
