"""Open runs replay on the code you are about to ship: a stored history, replayed with no server and no model.

A worker that picks up an open run runs the workflow code again from the start, checking each step it
takes against the history. ``histories/`` holds a real run of this workflow (the tool-call scenario of
``test_workflow.py``); a change that takes another step where that run took one fails here, before it
breaks runs in production. Record it again only on purpose, once the old runs are closed:
``RECORD_HISTORIES=1 python -m pytest recipes/weather/tests/test_replay.py``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.openai_agents.testing import ResponseBuilders, TestModel
from temporalio.worker import Replayer

from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow

from .nondeterministic_change import WaitsBeforeAnswering
from .test_workflow import ask, tool_call

HISTORY = Path(__file__).with_name("histories") / "WeatherAgentWorkflow-tool_call.json"


def replay(history: WorkflowHistory, workflow_class: type = WeatherAgentWorkflow):
    """Replay as the worker would: the same workflow, the same plugin (no model: answers come from the history)."""
    replayer = Replayer(workflows=[workflow_class], plugins=[OpenAIAgentsPlugin(model_params=MODEL_PARAMS)])
    return replayer.replay_workflow(history)


def stored() -> WorkflowHistory:
    return WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text(encoding="utf-8"))


@pytest.mark.asyncio
@pytest.mark.skipif(not os.environ.get("RECORD_HISTORIES"), reason="records only when RECORD_HISTORIES=1")
async def test_record_the_history(env):
    model = TestModel.returning_responses([tool_call("CA"), ResponseBuilders.output_message("A wind advisory.")])
    handle = await ask(env, model, "Any weather alerts in California?")
    HISTORY.write_text((await handle.fetch_history()).to_json(), encoding="utf-8")


@pytest.mark.asyncio
async def test_a_stored_run_replays_on_the_current_code():
    await replay(stored())


@pytest.mark.asyncio
async def test_replay_catches_a_step_added_before_the_agent():
    """The check above can fail: the same history, replayed on code that waits first, is not deterministic."""
    with pytest.raises(workflow.NondeterminismError, match="Timer"):
        await replay(stored(), WaitsBeforeAnswering)
