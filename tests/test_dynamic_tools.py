"""Dynamic tools: specs in the workflow, implementations on the worker, one dynamic activity."""

from __future__ import annotations

import ast
import asyncio
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.exceptions import ApplicationError
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import choose_model
from recipes.dynamic_tools.activities import ToolActivities
from recipes.dynamic_tools.extra_tools import get_state_capital
from recipes.dynamic_tools.registry import ToolRegistry
from recipes.dynamic_tools.specs import INVALID_TOOL_ARGUMENTS, UNKNOWN_TOOL, ToolSpec
from recipes.dynamic_tools.tools import BUILTIN_TOOLS
from recipes.dynamic_tools.workflows import MODEL_PARAMS, DynamicToolsWorkflow, ToolAgentRequest
from tutorial.history import activity_steps, fetch_history, model_and_tool_sequence

BOOK_FLIGHT = ToolSpec(
    "book_flight",
    "Book a flight to a destination city.",
    {
        "type": "object",
        "properties": {"destination": {"type": "string", "description": "Destination city"}},
        "required": ["destination"],
        "additionalProperties": False,
    },
)


def test_registry_specs_come_from_signatures_and_docstrings():
    registry = ToolRegistry(BUILTIN_TOOLS)
    assert registry.names() == ["convert_temperature", "get_weather_alerts"]
    spec = registry.specs()[0]
    assert spec.description == "Convert a temperature between Celsius and Fahrenheit."
    assert spec.parameters["properties"]["unit"]["enum"] == ["C", "F"]
    assert asyncio.run(registry.call("convert_temperature", {"value": 30, "unit": "C"})) == "30 °C = 86.0 °F"
    registry.add(get_state_capital)
    assert "get_state_capital" in registry
    with pytest.raises(ValueError):
        registry.add(get_state_capital, name="list_tools")


def test_registry_rejects_unknown_tools_and_bad_arguments_for_good():
    registry = ToolRegistry(BUILTIN_TOOLS)
    with pytest.raises(ApplicationError) as unknown:
        asyncio.run(registry.call("book_flight", {}))
    assert unknown.value.type == UNKNOWN_TOOL and unknown.value.non_retryable
    assert "convert_temperature" in unknown.value.message  # tells what exists
    with pytest.raises(ApplicationError) as bad:
        asyncio.run(registry.call("convert_temperature", {"value": "hot", "unit": "K"}))
    assert bad.value.type == INVALID_TOOL_ARGUMENTS and bad.value.non_retryable


def test_workflow_module_imports_no_tool_implementation():
    import recipes.dynamic_tools.workflows as workflows_module

    source = Path(workflows_module.__file__)
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert "recipes.dynamic_tools.specs" in imported
    assert not imported & {
        "recipes.dynamic_tools.tools",
        "recipes.dynamic_tools.extra_tools",
        "recipes.dynamic_tools.registry",
        "recipes.dynamic_tools.activities",
        "recipes.tools.weather_alerts",
    }


async def run_requests(address: str, registry: ToolRegistry, steps):
    """Run (request or callable) steps on one in-process worker; callables mutate the registry."""
    plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=choose_model("offline").provider())
    client = await Client.connect(address, plugins=[plugin])
    queue = f"test-dynamic-{uuid.uuid4().hex[:8]}"
    out = []
    async with Worker(
        client, task_queue=queue, workflows=[DynamicToolsWorkflow], activities=ToolActivities(registry).activities()
    ):
        for step in steps:
            if callable(step):
                step()
                continue
            handle = await client.start_workflow(
                DynamicToolsWorkflow.run, step, id=f"dynamic-{uuid.uuid4().hex[:8]}", task_queue=queue
            )
            answer = await asyncio.wait_for(handle.result(), timeout=60)
            offered = await handle.query(DynamicToolsWorkflow.tool_names)
            out.append((answer, await fetch_history(handle), offered))
    return out


def test_known_tools_run_on_the_dynamic_activity(temporal_server, weather):
    weather.reset()
    registry = ToolRegistry(BUILTIN_TOOLS)
    [(answer, history, offered)] = asyncio.run(
        run_requests(temporal_server.address, registry, [ToolAgentRequest("Any weather alerts in Florida?")])
    )
    assert offered == ["convert_temperature", "get_weather_alerts"]
    assert model_and_tool_sequence(history) == ["tool:list_tools", "model", "tool:get_weather_alerts", "model"]
    assert "2 active weather alerts for FL" in answer
    assert [r["area"] for r in weather.requests()] == ["FL"]


def test_a_tool_added_on_the_worker_is_offered_without_changing_the_workflow(temporal_server):
    registry = ToolRegistry(BUILTIN_TOOLS)
    question = ToolAgentRequest("What is the capital of Texas?")
    (before, h1, offered1), (after, h2, offered2) = asyncio.run(
        run_requests(temporal_server.address, registry, [question, lambda: registry.add(get_state_capital), question])
    )
    assert "get_state_capital" not in offered1 and model_and_tool_sequence(h1) == ["tool:list_tools", "model"]
    assert "get_state_capital" in offered2
    assert model_and_tool_sequence(h2) == ["tool:list_tools", "model", "tool:get_state_capital", "model"]
    assert "Austin" in after and "Austin" not in before


def test_unknown_tool_is_a_tool_error_not_a_stuck_workflow(temporal_server):
    registry = ToolRegistry(BUILTIN_TOOLS)
    request = ToolAgentRequest("Book a flight to Denver", tools=[*registry.specs(), BOOK_FLIGHT])
    [(answer, history, offered)] = asyncio.run(run_requests(temporal_server.address, registry, [request]))
    assert "book_flight" in offered
    assert model_and_tool_sequence(history) == ["model", "tool:book_flight", "model"]  # specs from input: no list_tools
    tool = activity_steps(history)[1]
    assert tool.status == "failed" and tool.attempts == 1 and tool.failure_type == UNKNOWN_TOOL
    assert "Unknown tool 'book_flight'" in answer


@pytest.mark.integration
def test_worker_entrypoint_loads_extra_tool_modules(temporal_server):
    """`DYNAMIC_TOOL_MODULES=... python -m recipes.dynamic_tools.worker`, then the starter."""
    from recipes.core.worker import READY_TEXT
    from tutorial.processes import python_module

    env = {
        "TEMPORAL_ADDRESS": temporal_server.address,
        "AGENT_MODEL_BACKEND": "offline",
        "DYNAMIC_TOOL_MODULES": "recipes.dynamic_tools.extra_tools",
        "DYNAMIC_TOOLS_TASK_QUEUE": f"test-dynamic-cli-{uuid.uuid4().hex[:6]}",  # a stray worker must not take it
    }
    worker = python_module("test-dynamic-worker", "recipes.dynamic_tools.worker", env=env, ready_text=READY_TEXT)
    starter = python_module("test-dynamic-starter", "recipes.dynamic_tools.starter", "What is the capital of Texas?", env=env)
    try:
        worker.start(timeout=60)
        assert "Tools: convert_temperature, get_state_capital, get_weather_alerts" in worker.log()
        starter.start()
        assert starter.wait(timeout=60) == 0, starter.log_tail()
        out = starter.log()
        assert "The capital of TX is Austin." in out and "get_state_capital" in out
    finally:
        starter.stop()
        worker.stop()
