"""The agent whose tools come from an MCP server (recipes/mcp), durably: every MCP operation an
activity in the history; a worker SIGKILLed mid-``call_tool`` resumes without repeating a
finished call; the server going down mid-run is a tool error the model reads; a server that
cannot start fails the run with one sentence, after bounded retries; a tool added to the server
is seen by the next run; stateful sessions live and die with one worker's connection."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from recipes.core.models import choose_model
from recipes.core.scripts import root_cause
from recipes.core.worker import agents_plugin
from recipes.mcp.connect import mcp_server_factory
from recipes.mcp.workflows import MCP_SERVER, MODEL_PARAMS, McpAgentWorkflow
from tutorial.history import activity_steps
from tutorial.mcp_lab import McpHttpServer, calls_around, listed_tools, mcp_calls, read_call_log
from tutorial.processes import python_module

LIST_TOOLS = f"temporalio.mcp.{MCP_SERVER}.list-tools"
CALL_TOOL = f"temporalio.mcp.{MCP_SERVER}.call-tool"


@pytest.fixture
def mcp_env(weather, monkeypatch, tmp_path):
    """Offline model, the NWS stand-in, the stdio server by default, a call log per test."""
    for name in ("AGENT_MODEL_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LITELLM_MODEL",
                 "MCP_SERVER_URL", "MCP_SERVER_COMMAND", "MCP_SLOW_TOOL_SECONDS", "MCP_EXTRA_TOOLS"):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AGENT_MODEL_BACKEND", "offline")
    log = tmp_path / "mcp-calls.jsonl"
    monkeypatch.setenv("MCP_CALL_LOG", str(log))
    return log


async def _run(address: str, question: str, *, queue: str | None = None, worker: bool = True):
    """Run the workflow (with a worker in this process unless ``worker=False``); the answer or
    the failure, and the history's activity steps."""
    plugin, _ = agents_plugin(MODEL_PARAMS, mcp_servers={MCP_SERVER: mcp_server_factory()})
    client = await Client.connect(address, plugins=[plugin])
    queue = queue or f"test-mcp-{uuid.uuid4().hex[:8]}"

    async def ask():
        handle = await client.start_workflow(McpAgentWorkflow.run, question, id=f"mcp-{uuid.uuid4().hex[:8]}",
                                             task_queue=queue)  # fmt: skip
        try:
            result = await asyncio.wait_for(handle.result(), 120)
        except WorkflowFailureError as err:
            result = err
        history = await handle.fetch_history()
        return result, activity_steps(history), history

    if not worker:
        return await ask()
    async with Worker(client, task_queue=queue, workflows=[McpAgentWorkflow]):
        return await ask()


def test_every_mcp_operation_is_an_activity_in_the_history(temporal_server, mcp_env):
    answer, steps, _ = asyncio.run(_run(temporal_server.address, "Any weather alerts in California?"))
    assert isinstance(answer, str) and ("CA" in answer or "California" in answer), answer
    kinds = [s.activity_type for s in steps]
    assert kinds[0] == LIST_TOOLS and CALL_TOOL in kinds, kinds
    assert kinds.count(LIST_TOOLS) == 1, "the tool list is kept in workflow state for the run"
    call = next(s for s in steps if s.activity_type == CALL_TOOL)
    assert call.arguments[0]["name"] == "get_weather_alerts" and call.arguments[0]["arguments"] == {"state": "CA"}
    assert all(s.status == "completed" for s in steps), steps
    assert [c["tool"] for c in read_call_log(mcp_env)] == ["get_weather_alerts"], "the stdio server ran the call"


def test_a_tool_error_from_the_server_is_read_by_the_model(temporal_server, mcp_env):
    answer, steps, _ = asyncio.run(_run(temporal_server.address, "Any weather alerts for state code 'ZZ'?"))
    assert isinstance(answer, str), answer
    call = next(s for s in steps if s.activity_type == CALL_TOOL)
    assert call.status == "completed" and call.attempts == 1, "a tool error is an answer, not a failure to retry"
    assert "ZZ" in answer, answer


@pytest.mark.parametrize(
    ("command", "says", "attempts"),
    [
        ("no-such-mcp-server --stdio", "MCP server command 'no-such-mcp-server' was not found on this worker", 1),
        (f"{sys.executable} -c 'raise SystemExit(3)'", "exited or did not answer the MCP handshake", 5),
    ],
    ids=["missing", "exits-at-once"],
)
def test_a_server_that_cannot_start_fails_the_run_with_one_sentence(temporal_server, mcp_env, monkeypatch,
                                                                    command, says, attempts):  # fmt: skip
    monkeypatch.setenv("MCP_SERVER_COMMAND", command)
    failure, steps, _ = asyncio.run(_run(temporal_server.address, "Any weather alerts in Texas?"))
    assert isinstance(failure, WorkflowFailureError), failure
    assert failure.cause.message.startswith("The MCP server 'weather' is not available: "), failure.cause
    assert says in failure.cause.message and says in root_cause(failure), root_cause(failure)
    assert [s.activity_type for s in steps] == [LIST_TOOLS] and steps[0].attempts == attempts, steps


def test_the_server_going_down_mid_call_is_a_tool_error_and_the_run_completes(temporal_server, mcp_env, tmp_path,
                                                                              monkeypatch):  # fmt: skip
    server = McpHttpServer.start(call_log=mcp_env, slow_tool_seconds=3)
    try:
        monkeypatch.setenv("MCP_SERVER_URL", server.url)

        async def run_and_stop_the_server():
            task = asyncio.create_task(_run(temporal_server.address, "Any weather alerts in California?"))
            deadline = time.monotonic() + 60
            while not read_call_log(mcp_env) and time.monotonic() < deadline:
                await asyncio.sleep(0.1)
            server.stop()  # mid-call: the tool has started and not answered
            return await task

        answer, steps, _ = asyncio.run(run_and_stop_the_server())
    finally:
        server.stop()
    assert isinstance(answer, str), answer
    call = next(s for s in steps if s.activity_type == CALL_TOOL)
    assert call.status == "failed" and call.attempts == 5, call  # retried, then given up
    # The model read the activity's failure as the tool's result (mcp_tool_error), and said so.
    assert "Failed to connect to MCP server 'weather (http)'" in answer, answer


def test_a_worker_killed_mid_call_tool_resumes_without_repeating_a_finished_call(temporal_server, mcp_env, tmp_path,
                                                                                  model_double, record_property):  # fmt: skip
    """On the Claude path (the double makes one tool call per response, so California's call has finished
    when Texas's starts): SIGKILL the worker while Texas's call is in flight."""
    server = McpHttpServer.start(call_log=mcp_env, slow_tool_seconds=2)
    queue = f"test-mcp-kill-{uuid.uuid4().hex[:8]}"
    env = {"MCP_SERVER_URL": server.url, "MCP_AGENT_TASK_QUEUE": queue, "AGENT_MODEL_BACKEND": "litellm",
           **model_double.env(provider="anthropic")}  # fmt: skip
    worker = python_module(f"test-mcp-worker-{queue}", "recipes.mcp.worker", env=env, ready_text="Worker ready")
    try:
        worker.start(timeout=60)

        async def kill_mid_second_call():
            task = asyncio.create_task(
                _run(temporal_server.address, "Any weather alerts in California and Texas?", queue=queue, worker=False))
            # Texas's call in flight: the second start. A busy machine (LiteLLM's import in a new worker) may take
            # long to get there; waiting past a deadline and killing anyway would prove nothing, so that fails.
            deadline = time.monotonic() + 300
            while len(starts := [c for c in read_call_log(mcp_env) if c["event"] == "start"]) < 2:
                if time.monotonic() > deadline or task.done():
                    task.cancel()
                    pytest.fail(f"Texas's call never started: the MCP server saw {starts} (run done: {task.done()})")
                await asyncio.sleep(0.05)
            killed_at, started = time.time(), time.monotonic()
            worker.kill()
            worker.start(timeout=60)
            answer, steps, _ = await task
            return answer, steps, killed_at, time.monotonic() - started

        answer, steps, killed_at, recovery_s = asyncio.run(kill_mid_second_call())
    finally:
        worker.stop()
        server.stop()
    record_property("figures", f"mcp: worker SIGKILLed mid call_tool -> run finished {recovery_s:.1f}s later")
    assert isinstance(answer, str), answer
    around = calls_around(read_call_log(mcp_env), killed_at)
    assert around == {"finished": ['{"state": "CA"}'], "in_flight": ['{"state": "TX"}'],
                      "started_after": ['{"state": "TX"}']}, around  # fmt: skip
    calls = [s for s in steps if s.activity_type == CALL_TOOL]
    assert [c.arguments[0]["arguments"]["state"] for c in calls] == ["CA", "TX"], calls
    assert [c.attempts for c in calls] == [1, 2] and len({c.identity for c in calls}) == 2, calls
    assert all(s.attempts == 1 for s in steps if s.activity_type != CALL_TOOL), "nothing else was done twice"


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
def test_a_tool_added_to_the_server_is_seen_by_the_next_run(temporal_server, mcp_env, monkeypatch, stateless):
    server = McpHttpServer.start(call_log=mcp_env, stateless=stateless)
    try:
        monkeypatch.setenv("MCP_SERVER_URL", server.url)

        async def two_runs():
            plugin, _ = agents_plugin(MODEL_PARAMS, mcp_servers={MCP_SERVER: mcp_server_factory()})
            client = await Client.connect(temporal_server.address, plugins=[plugin])
            queue = f"test-mcp-new-tool-{uuid.uuid4().hex[:8]}"
            async with Worker(client, task_queue=queue, workflows=[McpAgentWorkflow]):  # one worker, one pool
                first = await _run(temporal_server.address, "Any weather alerts in Texas?", queue=queue, worker=False)
                server.restart(extra_tools=True)  # a new version of the server, same URL
                second = await _run(temporal_server.address, "Any weather alerts in Texas?", queue=queue, worker=False)
            return first, second

        (answer1, _, history1), (answer2, _, history2) = asyncio.run(two_runs())
    finally:
        server.stop()
    assert isinstance(answer1, str) and isinstance(answer2, str), (answer1, answer2)
    assert listed_tools(history1) == [["get_weather_alerts", "explain_severity"]], listed_tools(history1)
    assert listed_tools(history2) == [["get_weather_alerts", "explain_severity", "count_alerts"]], listed_tools(history2)
    sessions = [c["session"] for c in read_call_log(mcp_env)]
    if stateless:
        assert sessions and not any(sessions), sessions
    else:  # the Agents SDK's client speaks the handshake protocol: a connection, so a session, per MCP activity
        assert all(sessions) and len(set(sessions)) == len(sessions), sessions


@pytest.mark.parametrize(
    ("arguments", "says"),
    [('{"state": 5}', "Input should be a valid string"), ("{}", "Field required")],
    ids=["wrong-type", "missing"],
)
def test_arguments_the_tool_schema_rejects_are_a_tool_error_and_the_run_completes(temporal_server, mcp_env,
                                                                                   arguments, says):  # fmt: skip
    """A model that sends bad arguments (scripted here: the doubles always send good ones) gets the
    server's schema check back as a tool error naming the field; the run completes."""
    from temporalio.openai_agents import OpenAIAgentsPlugin
    from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider

    model = TestModel.returning_responses([ResponseBuilders.tool_call(arguments, "get_weather_alerts"),
                                           ResponseBuilders.output_message("Told the user.")])  # fmt: skip

    async def run():
        plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=TestModelProvider(model),
                                    mcp_servers={MCP_SERVER: mcp_server_factory()})  # fmt: skip
        client = await Client.connect(temporal_server.address, plugins=[plugin])
        queue = f"test-mcp-args-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[McpAgentWorkflow]):
            handle = await client.start_workflow(McpAgentWorkflow.run, "Any weather alerts in California?",
                                                 id=f"mcp-args-{uuid.uuid4().hex[:8]}", task_queue=queue)  # fmt: skip
            return await asyncio.wait_for(handle.result(), 60), activity_steps(await handle.fetch_history()), \
                await handle.fetch_history()

    answer, steps, history = asyncio.run(run())
    assert answer == "Told the user.", "the run completed"
    call = next(s for s in steps if s.activity_type == CALL_TOOL)
    assert call.attempts == 1, ("the same arguments would be refused again: not retried", call.last_failure)
    if call.status == "completed":  # refused by the server's schema check: a tool error naming the field
        text = mcp_calls(history)[0]
        assert text["is_error"] and "state" in text["text"] and says in text["text"], text
    else:  # refused by the Agents SDK's own check on the worker, for good
        assert call.failure_type == "McpToolCallRefused" and call.non_retryable and "state" in call.failure, call
    assert read_call_log(mcp_env) == [], "a call its schema rejects never reaches the tool"
