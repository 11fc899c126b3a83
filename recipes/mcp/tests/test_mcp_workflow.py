"""The MCP workflow with the model scripted, on a worker set up as ``worker.py`` does: the real server,
started over stdio by the recipe's factory. Every MCP operation is an activity; a tool error reaches the model
as the tool's answer; a server that cannot be started fails the run with one sentence.

This folder has no ``__init__.py`` (and so no ``conftest.py``: the ``env`` fixture is imported here), unlike the
other recipes' ``tests/``: in a copied project, where ``recipes/`` is not a package, pytest would name a test
package here ``mcp.tests`` and put ``recipes/`` first on ``sys.path``, so this folder would hide the ``mcp``
package the Agents SDK imports. Its modules' names are unique in the repository for the same reason.
"""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.client import WorkflowFailureError
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.core.testing import env, scheduled_activities  # noqa: F401 (env: the fixture)
from recipes.mcp.connect import SERVER_COMMAND_ENV, mcp_server_factory
from recipes.mcp.workflows import MCP_SERVER, MODEL_PARAMS, McpAgentWorkflow


async def ask(env, model: TestModel, question: str):
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS,
                                mcp_servers={MCP_SERVER: mcp_server_factory()}) as agents:  # fmt: skip
        client = agents.applied_on_client(env.client)
        queue = f"mcp-test-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[McpAgentWorkflow], workflow_failure_exception_types=[Exception]):
            handle = await client.start_workflow(McpAgentWorkflow.run, question, id=queue, task_queue=queue)
            return handle, await handle.result()


@pytest.mark.asyncio
async def test_the_agent_calls_the_servers_tools_each_call_an_activity(env):
    model = TestModel.returning_responses([
        ResponseBuilders.tool_call(json.dumps({"level": "Severe"}), "explain_severity", call_id="call-1"),
        ResponseBuilders.tool_call(json.dumps({"state": "ZZ"}), "get_weather_alerts", call_id="call-2"),
        ResponseBuilders.output_message("Severe is serious; ZZ is not a state."),
    ])  # fmt: skip
    handle, answer = await ask(env, model, "What does Severe mean, and any alerts in ZZ?")
    assert answer == "Severe is serious; ZZ is not a state."
    history = await handle.fetch_history()
    mcp_steps = [step for step in scheduled_activities(history) if step.startswith("temporalio.mcp")]
    assert mcp_steps == [f"temporalio.mcp.{MCP_SERVER}.list-tools"] + [f"temporalio.mcp.{MCP_SERVER}.call-tool"] * 2, (
        f"the tools listed once for the run, then one activity per call: {mcp_steps}")
    told = [e.activity_task_scheduled_event_attributes.input.payloads[0].data.decode() for e in history.events
            if e.activity_task_scheduled_event_attributes.activity_type.name == "invoke_model_activity"][-1]  # fmt: skip
    assert "Significant threat to life or property" in told and "'ZZ' is not a US state code" in told, told


@pytest.mark.asyncio
async def test_a_server_that_cannot_start_fails_the_run_in_one_sentence(env, monkeypatch):
    monkeypatch.setenv(SERVER_COMMAND_ENV, "no-such-mcp-server --stdio")
    with pytest.raises(WorkflowFailureError) as failed:
        await ask(env, TestModel.returning_responses([]), "Any alerts in Texas?")
    said = str(failed.value.cause)
    assert "The MCP server 'weather' is not available" in said and "'no-such-mcp-server' was not found" in said, said
