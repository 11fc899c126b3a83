"""The OpenAI wire-format test double, driven by the Agents SDK's real OpenAI models.

Every agent the notebooks run is rebuilt here from the recipe's own factory
(``Agent.clone``) with local tool stand-ins of the same names, docstrings and
signatures (no Temporal, no network), and run through ``OpenAIChatCompletionsModel``
and ``OpenAIResponsesModel`` against an in-thread double. Process tests start
the double as a subprocess. No Temporal server is needed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest
from agents import Agent, FunctionTool, ModelSettings, RunConfig, Runner, function_tool
from agents.models.openai_provider import OpenAIProvider
from openai import AsyncOpenAI
from temporalio.exceptions import ApplicationError

from recipes.core.tool_errors import tool_error_text
from recipes.dynamic_tools.extra_tools import get_state_capital
from recipes.dynamic_tools.registry import ToolRegistry
from recipes.dynamic_tools.specs import ToolSpec
from recipes.dynamic_tools.tools import convert_temperature
from recipes.dynamic_tools.workflows import AGENT_NAME as TOOL_AGENT_NAME
from recipes.dynamic_tools.workflows import INSTRUCTIONS as TOOL_AGENT_INSTRUCTIONS
from recipes.agent_session import team as session
from recipes.chaining import team as chaining
from recipes.parallel_agents import team as parallel
from recipes.tools.forecast import get_forecast
from recipes.tools.sample_alerts import load_sample_alerts
from recipes.tools.weather_alerts import normalize_state, summarize_alerts
from tutorial.model_double import ModelDouble, SmallModel, serving
from tutorial.model_double.policy import decide
from tutorial.model_double.conversation import Message, ModelRequest, Tool
from recipes.tools.alerts_tool import explain_severity

APIS = ["chat", "responses"]
PACE_S = 0.001

# --------------------------------------------------------------------------- tool stand-ins

ALERTS = load_sample_alerts()["alerts"]
CALLS: list[tuple[str, dict[str, Any]]] = []
"""Every stand-in invocation (tool, arguments), so tests see what really ran."""


def _alerts_text(state: str) -> str:
    code = normalize_state(state)  # raises the real InvalidState ApplicationError
    return summarize_alerts(code, {"features": ALERTS.get(code, [])})


def _reporting(name: str, fn: Any, *args: Any) -> str:
    """What ``errors_as_tool_results`` makes of a failing tool: the error as the result text."""
    try:
        return fn(*args)
    except ApplicationError as err:
        return tool_error_text(name, err)


@function_tool
async def get_weather_alerts(state: str) -> str:
    """Get active weather alerts (warnings, watches, advisories) for a US state from the National Weather Service.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    CALLS.append(("get_weather_alerts", {"state": state}))
    return _reporting("get_weather_alerts", _alerts_text, state)


@function_tool
async def get_storm_report(state: str) -> str:
    """Get the storm report for one US state: its active weather alerts (warnings, watches, advisories).

    Args:
        state: Two-letter US state code, e.g. CA, TX or FL.
    """
    CALLS.append(("get_storm_report", {"state": state}))
    return _reporting("get_storm_report", _alerts_text, state)


@function_tool(name_override="get_forecast")
async def forecast_tool(state: str) -> str:
    """Get the weather forecast (sky, temperature high and low, chance of rain, wind) for the next two days in a US state.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    CALLS.append(("get_forecast", {"state": state}))
    return await get_forecast(state)  # deterministic, no I/O: the recipe's own function


@function_tool(needs_approval=True)
async def broadcast_public_notice(state: str, message: str) -> str:
    """Broadcast a public notice (a text message) to every subscriber in a US state. A person must approve each broadcast first.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
        message: The text to broadcast.
    """
    CALLS.append(("broadcast_public_notice", {"state": state, "message": message}))
    return f"Broadcast notice #1 to subscribers in {normalize_state(state)}: {message}"


async def _recheck(state: str, hours: float) -> str:
    CALLS.append(("recheck_in_hours", {"state": state, "hours": hours}))
    return f"Scheduled check-1: I will look at the weather alerts for {state} again in {hours:g} hours."


async def dyn_get_weather_alerts(state: str) -> str:
    """Get active weather alerts (warnings, watches, advisories) for a US state from the National Weather Service.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    CALLS.append(("get_weather_alerts", {"state": state}))
    return _alerts_text(state)


def dynamic_tools(registry: ToolRegistry, extra: list[ToolSpec] = ()) -> list[FunctionTool]:
    """The dynamic-tools recipe's FunctionTools, invoking the registry locally instead of an activity."""

    def build(spec: ToolSpec) -> FunctionTool:
        async def invoke(_ctx: Any, args_json: str) -> str:
            CALLS.append((spec.name, json.loads(args_json or "{}")))
            try:
                return await registry.call(spec.name, json.loads(args_json or "{}"))
            except ApplicationError as err:
                return tool_error_text(spec.name, err)

        return FunctionTool(spec.name, spec.description, spec.parameters, invoke, strict_json_schema=spec.strict)

    return [build(spec) for spec in [*registry.specs(), *extra]]


BOOK_FLIGHT = ToolSpec(  # notebook 04's tool that no worker implements
    name="book_flight",
    description="Book a flight to a destination city.",
    parameters={"type": "object", "properties": {"destination": {"type": "string", "description": "Destination city"}},
                "required": ["destination"], "additionalProperties": False},
)  # fmt: skip

# --------------------------------------------------------------------------- the recipes' agents, local tools


def plain_weather_agent(parallel: bool = True) -> Agent:
    from recipes.plain_agent.weather_agent import build_weather_agent

    return build_weather_agent(parallel).clone(tools=[get_weather_alerts])


def plain_triage_agent() -> Agent:
    from recipes.plain_agent.weather_agent import build_triage_agent

    return build_triage_agent().clone(handoffs=[plain_weather_agent()])


def weather_recipe_agent() -> Agent:
    from recipes.weather.workflows import build_agent

    return build_agent().clone(tools=[get_weather_alerts, explain_severity])


def storm_briefing_agent() -> Agent:
    from recipes.durability.workflows import storm_agent

    return storm_agent().clone(tools=[get_storm_report])


def alerts_specialist() -> Agent:
    return chaining.alerts_specialist().clone(tools=[get_weather_alerts])


def forecast_specialist() -> Agent:
    return chaining.forecast_specialist().clone(tools=[forecast_tool])


def triage_router() -> Agent:
    return chaining.triage_router().clone(handoffs=[alerts_specialist(), forecast_specialist()])


def weather_desk() -> Agent:
    real = {t.name: t.description for t in chaining.orchestrator_with_agent_tools().tools}
    return chaining.orchestrator_with_agent_tools().clone(tools=[
        alerts_specialist().as_tool(tool_name="ask_alerts_specialist", tool_description=real["ask_alerts_specialist"]),
        forecast_specialist().as_tool(tool_name="ask_forecast_specialist",
                                      tool_description=real["ask_forecast_specialist"]),
    ])  # fmt: skip


def session_desk() -> Agent:
    return session.session_agent(_recheck).clone(
        tools=[get_weather_alerts, forecast_tool, broadcast_public_notice, session.recheck_tool(_recheck)]
    )


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serving(stream_pace_s=PACE_S) as srv:
        yield srv


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Fresh stand-in record and request log per test; the SDK must log no warning about our replies."""
    CALLS.clear()
    if "server" in request.fixturenames:
        request.getfixturevalue("server").state.reset(clear_log=True)
    caplog.set_level(logging.WARNING, logger="openai.agents")
    yield
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("openai") and r.levelno >= logging.WARNING]
    assert not warnings, warnings


def _client(url: str, api_key: str) -> AsyncOpenAI:
    # Strict validation: every response and stream event must fit the openai client's own types.
    return AsyncOpenAI(base_url=url, api_key=api_key, max_retries=0, _strict_response_validation=True)


def config(client: AsyncOpenAI, api: str) -> RunConfig:
    provider = OpenAIProvider(openai_client=client, use_responses=api == "responses")
    return RunConfig(model="double-1", model_provider=provider, tracing_disabled=True)


def run(agent: Agent, prompt: Any, url: str, api: str, api_key: str = "test", **kwargs: Any) -> Any:
    """``Runner.run`` through the SDK's OpenAI model for ``api``, with a client closed afterwards."""

    async def go() -> Any:
        async with _client(url, api_key) as client:
            return await Runner.run(agent, prompt, run_config=config(client, api), **kwargs)

    return asyncio.run(go())


def tool_calls(result: Any) -> list[tuple[str, dict[str, Any]]]:
    return [(i.raw_item.name, json.loads(i.raw_item.arguments)) for i in result.new_items if i.type == "tool_call_item"]


def assert_one_call_per_response(result: Any) -> None:
    for response in result.raw_responses:
        assert sum(1 for o in response.output if getattr(o, "type", "") == "function_call") <= 1


def streamed(agent: Agent, prompt: Any, url: str, api: str) -> tuple[Any, list[str]]:
    """Run streamed; the final output and every text delta event, in order."""

    async def go() -> tuple[Any, list[str]]:
        async with _client(url, "test") as client:
            result = Runner.run_streamed(agent, prompt, run_config=config(client, api))
            deltas = [
                e.data.delta
                async for e in result.stream_events()
                if e.type == "raw_response_event" and e.data.type == "response.output_text.delta"
            ]
        return result, deltas

    return asyncio.run(go())


# --------------------------------------------------------------------------- 1-2 greeter, plain weather agent


@pytest.mark.parametrize("api", APIS)
def test_greeter_says_hello_and_what_it_is(server: Any, api: str) -> None:
    greeter = Agent(name="Greeter", instructions="Greet the user in one sentence.")
    result = run(greeter, "Hello! What can you do?", server.url, api)
    assert "test double" in result.final_output and "not a language model" in result.final_output
    [entry] = server.state.requests()
    assert entry["decision"] == "text" and entry["api"] == api and entry["tools"] == []


TWO_STATES = "Are there any weather alerts in California and Texas?"


@pytest.mark.parametrize("api", APIS)
def test_two_states_two_responses_then_an_answer_with_both(server: Any, api: str) -> None:
    result = run(plain_weather_agent(), TWO_STATES, server.url, api)
    assert tool_calls(result) == [("get_weather_alerts", {"state": "CA"}), ("get_weather_alerts", {"state": "TX"})]
    assert len(result.raw_responses) == 3  # one call per response even though parallel calls are allowed
    assert_one_call_per_response(result)
    for fact in ("Red Flag Warning", "Frost Advisory", "Winter Storm Warning", "Cold Weather Advisory"):
        assert fact in result.final_output
    assert result.context_wrapper.usage.input_tokens > 0 and result.context_wrapper.usage.output_tokens > 0


@pytest.mark.parametrize("api", APIS)
def test_streamed_two_states_text_grows_and_equals_the_output(server: Any, api: str) -> None:
    result, deltas = streamed(plain_weather_agent(), TWO_STATES, server.url, api)
    assert tool_calls(result) == [("get_weather_alerts", {"state": "CA"}), ("get_weather_alerts", {"state": "TX"})]
    assert len(deltas) > 10 and "".join(deltas) == result.final_output
    assert "Winter Storm Warning" in result.final_output
    assert [e["stream"] for e in server.state.requests()] == [True, True, True]


# --------------------------------------------------------------------------- 3 handoff


@pytest.mark.parametrize("api", APIS)
def test_triage_hands_off_then_the_specialist_calls_its_tool(server: Any, api: str) -> None:
    result = run(plain_triage_agent(), "Any weather alerts in Florida?", server.url, api)
    names = [e["tool"] for e in server.state.requests()]
    assert names == ["transfer_to_weather_assistant", "get_weather_alerts", None]
    assert result.last_agent.name == "Weather assistant"
    assert tool_calls(result) == [("get_weather_alerts", {"state": "FL"})]
    assert "Freeze Warning" in result.final_output and "Rip Current Statement" in result.final_output
    assert "transfer" not in result.final_output.lower()  # the handoff's own result is not reported

# --------------------------------------------------------------------------- 4 weather recipe: severity, bad code


@pytest.mark.parametrize("api", APIS)
def test_weather_recipe_picks_the_tool_that_fits(server: Any, api: str) -> None:
    agent = weather_recipe_agent()
    ca = run(agent, "Any weather alerts in California?", server.url, api)
    assert tool_calls(ca) == [("get_weather_alerts", {"state": "CA"})]
    severe = run(agent, "What does the severity level Severe mean?", server.url, api)
    assert tool_calls(severe) == [("explain_severity", {"level": "Severe"})]
    assert "Significant threat to life or property" in severe.final_output


@pytest.mark.parametrize("api", APIS)
def test_a_bad_state_code_is_passed_as_given_and_the_error_explained(server: Any, api: str) -> None:
    result = run(weather_recipe_agent(), "Any weather alerts for state code 'ZZ'?", server.url, api)
    assert tool_calls(result) == [("get_weather_alerts", {"state": "ZZ"})]
    answer = result.final_output
    assert "I could not get that: 'ZZ' is not a US state code" in answer
    for meant_for_the_model in ("tell the user", "InvalidState", "Tool get_weather_alerts failed"):
        assert meant_for_the_model not in answer


# --------------------------------------------------------------------------- 5 dynamic tools


@pytest.mark.parametrize("api", APIS)
def test_dynamic_tools_no_fitting_tool_then_a_new_tool_then_an_unknown_one(server: Any, api: str) -> None:
    registry = ToolRegistry([convert_temperature])
    registry.add(dyn_get_weather_alerts, name="get_weather_alerts")

    def agent(extra: list[ToolSpec] = ()) -> Agent:
        return Agent(name=TOOL_AGENT_NAME, instructions=TOOL_AGENT_INSTRUCTIONS, tools=dynamic_tools(registry, extra))

    capital = run(agent(), "What is the capital of Texas?", server.url, api)
    assert tool_calls(capital) == [] and "cannot look that up" in capital.final_output
    assert "Austin" not in capital.final_output  # nothing invented
    registry.add(get_state_capital)
    capital = run(agent(), "What is the capital of Texas?", server.url, api)
    assert tool_calls(capital) == [("get_state_capital", {"state": "TX"})] and "Austin" in capital.final_output
    flight = run(agent([BOOK_FLIGHT]), "Book a flight to Denver", server.url, api)
    assert tool_calls(flight) == [("book_flight", {"destination": "Denver"})]
    assert "book_flight" in flight.final_output and "I could not get that" in flight.final_output


# --------------------------------------------------------------------------- 6 storm briefing


STORM = "Storm briefing: get the storm reports for California, Texas and Florida."


@pytest.mark.parametrize("api", APIS)
def test_storm_briefing_one_state_per_response(server: Any, api: str) -> None:
    result = run(storm_briefing_agent(), STORM, server.url, api, max_turns=20)
    assert [a["state"] for _, a in tool_calls(result)] == ["CA", "TX", "FL"]
    assert [e["parallel_tool_calls"] for e in server.state.requests()] == [False] * 4
    for fact in ("Red Flag Warning", "Winter Storm Warning", "Freeze Warning"):
        assert fact in result.final_output


@pytest.mark.parametrize("api", APIS)
def test_storm_briefing_streamed(server: Any, api: str) -> None:
    result, deltas = streamed(storm_briefing_agent(), STORM, server.url, api)
    assert [a["state"] for _, a in tool_calls(result)] == ["CA", "TX", "FL"]
    assert len(deltas) > 10 and "".join(deltas) == result.final_output


# --------------------------------------------------------------------------- 7 chaining, handoffs, agents as tools

DRIVING = "Are there any weather alerts in Texas? We are driving there tonight."


@pytest.mark.parametrize("api", APIS)
def test_triage_extractor_returns_the_structured_question(server: Any, api: str) -> None:
    result = run(chaining.triage_extractor(), DRIVING, server.url, api)
    assert result.final_output == chaining.WeatherQuestion(state="TX", topic="alerts")
    assert server.state.requests()[0]["decision"] == "json"
    forecast = run(chaining.triage_extractor(), "Will it rain in Florida tomorrow?", server.url, api)
    assert forecast.final_output == chaining.WeatherQuestion(state="FL", topic="forecast")


@pytest.mark.parametrize("api", APIS)
def test_triage_extractor_streamed_json(server: Any, api: str) -> None:
    result, deltas = streamed(chaining.triage_extractor(), DRIVING, server.url, api)
    assert len(deltas) > 3 and json.loads("".join(deltas)) == result.final_output.model_dump()


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("topic", "tool", "state"), [("alerts", "get_weather_alerts", "TX"), ("forecast", "get_forecast", "FL")]
)
def test_chaining_step_two_the_reporter_uses_the_topics_tool(server: Any, api: str, topic: str, tool: str, state: str) -> None:
    reporter = chaining.weather_reporter().clone(tools=[get_weather_alerts, forecast_tool])
    prompt = f"Write a short {chaining.TOPIC_LABEL[topic]} report for {state}."  # what ChainedAgentsWorkflow sends
    result = run(reporter, prompt, server.url, api)
    assert tool_calls(result) == [(tool, {"state": state})]


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(
    ("question", "specialist", "tool", "state"),
    [
        ("Are there any weather warnings in Texas?", "Alerts specialist", "get_weather_alerts", "TX"),
        ("Will it rain in Florida tomorrow? What is the forecast?", "Forecast specialist", "get_forecast", "FL"),
    ],
)
def test_router_hands_off_to_the_right_specialist(
    server: Any, api: str, question: str, specialist: str, tool: str, state: str
) -> None:
    result = run(triage_router(), question, server.url, api)
    assert result.last_agent.name == specialist
    assert tool_calls(result) == [(tool, {"state": state})]
    assert server.state.requests()[0]["tool"] == "transfer_to_" + specialist.lower().replace(" ", "_")


@pytest.mark.parametrize("api", APIS)
def test_desk_asks_both_specialists_then_combines(server: Any, api: str) -> None:
    result = run(weather_desk(), "Weather alerts and forecast for California", server.url, api)
    desk_calls = [name for name, _ in tool_calls(result)]
    assert desk_calls == ["ask_alerts_specialist", "ask_forecast_specialist"]
    assert_one_call_per_response(result)
    assert [c[0] for c in CALLS] == ["get_weather_alerts", "get_forecast"]  # each nested run used its tool
    assert all(args == {"state": "CA"} for _, args in CALLS)
    for fact in ("Red Flag Warning", "Wind Advisory", "Frost Advisory", "Forecast for CA", "Tomorrow"):
        assert fact in result.final_output


# --------------------------------------------------------------------------- 8 parallel: branch agent, briefing writer


@pytest.mark.parametrize("api", APIS)
def test_branch_agent_reads_the_quoted_state(server: Any, api: str) -> None:
    branch = parallel.branch_agent("CA").clone(tools=[get_weather_alerts])
    result = run(branch, 'Weather alerts for "CA"', server.url, api)
    assert tool_calls(result) == [("get_weather_alerts", {"state": "CA"})]


def briefing_items(missing: str) -> list[dict[str, str]]:
    """The input ``recipes.parallel_agents.workflows.write_briefing`` builds."""
    items = [{"role": "assistant", "content": f"Report for {s}: {_alerts_text(s)}"} for s in ("CA", "TX", "FL")]
    ask = f"Write the briefing from the 3 reports above. States with no report: {missing}."
    items.append({"role": "user", "content": ask})
    return items


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize(("missing", "expected"), [('"ZZ"', ["ZZ"]), ("ZZ", ["ZZ"]), ("none", [])])
def test_briefing_writer_lists_missing_branches_and_keeps_the_facts(
    server: Any, api: str, missing: str, expected: list[str]
) -> None:
    result = run(parallel.briefing_writer(), briefing_items(missing), server.url, api)
    briefing = result.final_output
    assert isinstance(briefing, parallel.Briefing) and briefing.missing_branches == expected
    for fact in ("Red Flag Warning", "Winter Storm Warning", "Freeze Warning"):
        assert fact in briefing.summary
    assert ("ZZ" in briefing.summary) == bool(expected)


# --------------------------------------------------------------------------- 9 session desk, approvals, recheck

BROADCAST = 'Broadcast a public notice for CA: "Flooding on Highway 1, avoid the coast road tonight"'
NOTICE = {"state": "CA", "message": "Flooding on Highway 1, avoid the coast road tonight"}


def _turn(agent: Agent, history: list[Any], text: str, url: str, api: str) -> Any:
    return run(agent, [*history, {"role": "user", "content": text}], url, api)


@pytest.mark.parametrize("api", APIS)
def test_session_turns_pick_their_tools(server: Any, api: str) -> None:
    desk = session_desk()
    history: list[Any] = []
    expected = [
        ("Any weather alerts for California?", ("get_weather_alerts", {"state": "CA"})),
        ("And the forecast for Texas?", ("get_forecast", {"state": "TX"})),
        ("Check the alerts for Texas again in 6 hours", ("recheck_in_hours", {"state": "TX", "hours": 6})),
    ]
    for text, call in expected:
        result = _turn(desk, history, text, server.url, api)
        assert tool_calls(result) == [call], text
        history = result.to_input_list()
    assert "again in 6 hours" in result.final_output


@pytest.mark.parametrize("api", APIS)
@pytest.mark.parametrize("approve", [True, False])
def test_broadcast_waits_for_a_person_then_reports_sent_or_not(server: Any, api: str, approve: bool) -> None:
    desk = session_desk()
    first = _turn(desk, [], "Any weather alerts for California?", server.url, api)
    paused = _turn(desk, first.to_input_list(), BROADCAST, server.url, api)
    [item] = paused.interruptions
    assert item.name == "broadcast_public_notice" and json.loads(item.arguments) == NOTICE
    assert ("broadcast_public_notice", NOTICE) not in CALLS  # not run before a decision
    state = paused.to_state()
    if approve:
        state.approve(item)
    else:
        state.reject(item, rejection_message="A person rejected this broadcast_public_notice call, so it was "
                                             "not run. Reason: wrong county")  # fmt: skip
    done = run(desk, state, server.url, api)
    if approve:
        assert CALLS[-1] == ("broadcast_public_notice", NOTICE)
        assert "Sent." in done.final_output and "Flooding on Highway 1" in done.final_output
        assert "not sent" not in done.final_output
    else:
        assert ("broadcast_public_notice", NOTICE) not in CALLS
        assert "not sent" in done.final_output and "wrong county" in done.final_output


@pytest.mark.parametrize("api", APIS)
def test_a_notice_without_its_text_is_asked_for_not_sent(server: Any, api: str) -> None:
    result = run(session_desk(), "Broadcast a public notice for CA", server.url, api)
    assert tool_calls(result) == [] and result.interruptions == []
    assert "message" in result.final_output and "Please tell me" in result.final_output


@pytest.mark.parametrize("api", APIS)
def test_scheduled_check(server: Any, api: str) -> None:
    agent = session.scheduled_check_agent().clone(tools=[get_weather_alerts])
    result = run(agent, "Weather alerts for TX", server.url, api)
    assert tool_calls(result) == [("get_weather_alerts", {"state": "TX"})]
    assert "Winter Storm Warning" in result.final_output


# --------------------------------------------------------------------------- policy rules on their own


def _request(text: str, tools: list[Tool], **kw: Any) -> ModelRequest:
    instructions = kw.pop("instructions", "")
    return ModelRequest(model="m", instructions=instructions, items=[Message("user", text)], tools=tools, **kw)


BROADCAST_TOOL = Tool("broadcast_public_notice", "Broadcast a public notice to every subscriber in a US state.", {
    "type": "object", "required": ["state", "message"],
    "properties": {"state": {"type": "string", "description": "Two-letter US state code"},
                   "message": {"type": "string", "description": "The text to broadcast."}},
})  # fmt: skip


def test_a_required_argument_it_cannot_fill_is_asked_for() -> None:
    decision = decide(_request("Broadcast a public notice for CA", [BROADCAST_TOOL]))
    assert decision.kind == "text" and "message" in decision.text and "Please tell me" in decision.text
    decision = decide(_request("Broadcast a public notice: 'Storm tonight'", [BROADCAST_TOOL]))
    assert decision.kind == "text" and "state" in decision.text


def test_forced_tool_choice_always_calls_the_named_tool() -> None:
    capital = Tool("get_state_capital", "Get the capital city of a US state.", {
        "type": "object", "required": ["state"], "properties": {"state": {"type": "string"}}})  # fmt: skip
    alerts = Tool("get_weather_alerts", "Get active weather alerts.", {
        "type": "object", "required": ["state"], "properties": {"state": {"type": "string"}}})  # fmt: skip
    decision = decide(_request("Hello there, Texas", [alerts, capital], tool_choice="get_state_capital"))
    assert (decision.kind, decision.tool, decision.arguments) == ("tool_call", "get_state_capital", {"state": "TX"})
    assert decide(_request("Hello there", [alerts], tool_choice="required")).kind == "tool_call"
    assert decide(_request("Any weather alerts in Texas?", [alerts], tool_choice="none")).kind == "text"


@pytest.mark.parametrize("api", APIS)
def test_forced_tool_choice_on_the_wire_and_reset(server: Any, api: str) -> None:
    agent = plain_weather_agent().clone(model_settings=ModelSettings(tool_choice="get_weather_alerts"))
    result = run(agent, "Any weather alerts in Texas?", server.url, api)
    assert tool_calls(result) == [("get_weather_alerts", {"state": "TX"})]
    choices = [e["tool_choice"] for e in server.state.requests()]
    assert choices[0] in ({"type": "function", "function": {"name": "get_weather_alerts"}},
                          {"type": "function", "name": "get_weather_alerts"})  # fmt: skip
    assert choices[1] is None  # reset_tool_choice: the SDK drops the forcing after the tool ran


def test_instructions_that_name_a_tool_pick_it() -> None:
    vague = {"type": "object", "properties": {}}
    tools = [Tool("lookup_one", "Look something up.", vague), Tool("lookup_two", "Look something up.", vague)]
    instructions = "Use lookup_one for floods and lookup_two for storms."
    assert decide(_request("Any storms near us?", tools, instructions=instructions)).tool == "lookup_two"
    assert decide(_request("Any floods near us?", tools, instructions=instructions)).tool == "lookup_one"
    assert decide(_request("Any storms near us?", tools)).kind == "text"  # without the instructions nothing fits


def test_a_pure_router_hands_off_even_without_a_matching_word() -> None:
    router = [Tool("transfer_to_desk", "Handoff to the Desk agent to handle the request.", {})]
    decision = decide(_request("One more thing?", router, instructions="Route every request to the Desk."))
    assert decision.tool == "transfer_to_desk"
    assert decide(_request("One more thing?", router, instructions="Answer briefly.")).kind == "text"


def test_states_are_read_in_order_of_mention() -> None:
    from tutorial.model_double.extract import find_states

    found = [m.value for m in find_states("Alerts in New York, West Virginia and TX, not in Virginia or 'ZZ' in us")]
    assert found == ["NY", "WV", "TX", "VA", "ZZ"]
    assert [m.value for m in find_states("Any weather alerts for state code ZZ?")] == ["ZZ"]  # given explicitly
    assert [m.value for m in find_states("What is in or near the city?")] == []


def test_quoted_text_is_payload_not_a_reason_to_call_a_tool() -> None:
    from tutorial.model_double.conversation import ToolCall, ToolResult

    alerts = Tool("get_weather_alerts", "Get active weather alerts for a US state.", {
        "type": "object", "required": ["state"], "properties": {"state": {"type": "string"}}})  # fmt: skip
    text = 'Broadcast a public notice for CA: "New weather alerts tonight"'
    first = decide(_request(text, [alerts, BROADCAST_TOOL]))
    assert first.tool == "broadcast_public_notice"
    assert first.arguments == {"state": "CA", "message": "New weather alerts tonight"}
    items = [Message("user", text), ToolCall("c1", first.tool, first.arguments), ToolResult("c1", "Broadcast notice #1")]
    assert decide(ModelRequest(model="m", instructions="", items=items, tools=[alerts, BROADCAST_TOOL])).kind == "text"


def test_one_handoff_per_turn_at_most() -> None:
    from tutorial.model_double.conversation import ToolCall, ToolResult

    back = Tool("transfer_to_triage", "Handoff to the Triage agent to handle the request. Answers weather alerts.", {})
    items = [Message("user", "Any weather alerts in Texas?"), ToolCall("c1", "transfer_to_specialist", {}),
             ToolResult("c1", '{"assistant": "Specialist"}')]  # fmt: skip
    instructions = "Hand weather alert questions to the Triage agent."
    request = ModelRequest(model="m", instructions=instructions, items=items, tools=[back])
    assert decide(request).kind == "text"
    assert decide(ModelRequest(model="m", instructions="", items=items[:1], tools=[back])).tool == "transfer_to_triage"


def test_json_output_is_valid_for_the_sdks_strict_schema() -> None:
    import jsonschema
    from agents import AgentOutputSchema
    from pydantic import BaseModel, Field
    from typing import Literal

    from tutorial.model_double.answer import json_output
    from tutorial.model_double.conversation import Turn

    class Place(BaseModel):
        state: str = Field(description="Two-letter US state code")
        kind: Literal["city", "county"]

    class Report(BaseModel):
        place: Place
        hours: int
        temperature: float
        urgent: bool
        codes: list[int]
        note: str | None = None
        summary: str

    schema = AgentOutputSchema(Report).json_schema()
    assert schema.get("additionalProperties") is False
    ask = "An urgent report for the city of Austin, Texas in 3 hours at 71.5 degrees"
    text = json_output(schema, Turn.of([Message("user", ask)]))
    jsonschema.validate(json.loads(text), schema)
    report = Report.model_validate_json(text)
    assert (report.place.state, report.place.kind, report.hours, report.temperature) == ("TX", "city", 3, 71.5)
    assert report.urgent is True


def test_long_outputs_are_cut_at_word_boundaries() -> None:
    from tutorial.model_double.answer import result_sentence
    from tutorial.model_double.conversation import ToolCall

    output = "Report: " + " ".join(f"word{i}" for i in range(400))
    sentence = result_sentence(ToolCall("c1", "get_report", {}), output)
    assert len(sentence) < 1000 and sentence.endswith("…")
    assert all(w.startswith("word") or w in ("Report", "(", "Report:") for w in sentence[:-1].split()[1:])


# --------------------------------------------------------------------------- wire details


def test_identical_requests_get_different_ids(server: Any) -> None:
    body = {"model": "double-1", "messages": [{"role": "user", "content": "Hi"}]}
    first = httpx.post(f"{server.url}/chat/completions", json=body).json()
    second = httpx.post(f"{server.url}/chat/completions", json=body).json()
    assert first["id"] != second["id"] and first["choices"][0]["message"] == second["choices"][0]["message"]
    assert first["system_fingerprint"] == "fp_openai_double_not_an_llm"


def test_models_unknown_paths_and_bad_bodies(server: Any) -> None:
    models = httpx.get(f"{server.url}/models").json()
    assert models["object"] == "list" and [m["id"] for m in models["data"]] == ["double-1"]
    missing = httpx.post(f"{server.url}/embeddings", json={})
    assert missing.status_code == 404 and missing.json()["error"]["type"] == "invalid_request_error"
    bad = httpx.post(f"{server.url}/chat/completions", content=b"{not", headers={"Content-Type": "application/json"})
    assert bad.status_code == 400 and "error" in bad.json()
    no_messages = httpx.post(f"{server.url}/chat/completions", json={"model": "double-1"})
    assert no_messages.status_code == 400 and no_messages.json()["error"]["param"] == "messages"


def test_chat_stream_shape_with_usage_and_done(server: Any) -> None:
    body = {"model": "double-1", "stream": True, "stream_options": {"include_usage": True},
            "messages": [{"role": "user", "content": "Hello! What can you do?"}]}  # fmt: skip
    with httpx.stream("POST", f"{server.url}/chat/completions", json=body) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        data = [line[6:] for line in response.iter_lines() if line.startswith("data: ")]
    assert data[-1] == "[DONE]"
    chunks = [json.loads(d) for d in data[:-1]]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["completion_tokens"] > 0


def test_streaming_really_streams(server: Any) -> None:
    server.state.set(pace_s=0.02)
    body = {"model": "double-1", "stream": True, "input": "Hello! What can you do?"}
    arrivals = []
    with httpx.stream("POST", f"{server.url}/responses", json=body) as response:
        for line in response.iter_lines():
            if line.startswith("event: response.output_text.delta"):
                arrivals.append(time.monotonic())
    assert len(arrivals) > 10 and arrivals[-1] - arrivals[0] > 0.1  # pieces arrive over time, not at once


def test_max_tokens_cuts_the_text(server: Any) -> None:
    body = {"model": "double-1", "max_tokens": 5, "messages": [{"role": "user", "content": "Hello! What can you do?"}]}
    choice = httpx.post(f"{server.url}/chat/completions", json=body).json()["choices"][0]
    assert choice["finish_reason"] == "length" and len(choice["message"]["content"].split()) <= 5
    body = {"model": "double-1", "max_output_tokens": 5, "input": "Hello!"}
    response = httpx.post(f"{server.url}/responses", json=body).json()
    assert response["status"] == "incomplete" and response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["usage"]["output_tokens"] == 5


# --------------------------------------------------------------------------- faults, latency, log


@pytest.mark.parametrize("api", APIS)
def test_fail_next_answers_with_the_status(server: Any, api: str) -> None:
    server.state.add_faults(1, {"kind": "error", "status": 503, "retry_after_s": None})
    with pytest.raises(openai.APIStatusError) as failed:
        run(plain_weather_agent(), "Any weather alerts in Texas?", server.url, api)
    assert failed.value.status_code == 503
    result = run(plain_weather_agent(), "Any weather alerts in Texas?", server.url, api)  # the queue is empty again
    assert tool_calls(result) == [("get_weather_alerts", {"state": "TX"})]
    assert [e["status"] for e in server.state.requests()][:2] == [503, 200]


def test_rate_limit_carries_retry_after(server: Any) -> None:
    server.state.add_faults(1, {"kind": "error", "status": 429, "retry_after_s": 7})
    body = {"model": "m", "messages": [{"role": "user", "content": "x"}]}
    response = httpx.post(f"{server.url}/chat/completions", json=body)
    assert response.status_code == 429 and response.headers["retry-after"] == "7"
    assert response.json()["error"]["code"] == "rate_limit_exceeded"


def test_slow_next_and_latency(server: Any) -> None:
    body = {"model": "m", "messages": [{"role": "user", "content": "Hi"}]}
    server.state.add_faults(1, {"kind": "slow", "seconds": 0.3})
    started = time.monotonic()
    httpx.post(f"{server.url}/chat/completions", json=body)
    assert time.monotonic() - started >= 0.3
    httpx.post(f"{server.url}/chat/completions", json=body)  # the fault is spent: the log below says 0.0 for it
    server.state.set(latency_s=0.2)
    started = time.monotonic()
    httpx.post(f"{server.url}/chat/completions", json=body)
    assert time.monotonic() - started >= 0.2
    assert [e["latency_s"] for e in server.state.requests()] == [0.3, 0.0, 0.2]


def test_request_log_entries(server: Any) -> None:
    run(plain_weather_agent(), "Any weather alerts in Texas?", server.url, "chat")
    call, answer = server.state.requests()
    keys = ("seq", "time", "api", "stream", "model", "status", "auth", "tools", "decision", "tool", "arguments", "latency_s")
    assert set(keys) <= set(call)
    assert answer["seq"] == call["seq"] + 1
    assert (call["api"], call["stream"], call["model"], call["status"]) == ("chat", False, "double-1", 200)
    assert (call["auth"], call["tools"], call["decision"]) == ("not checked", ["get_weather_alerts"], "tool_call")
    assert (call["tool"], call["arguments"]) == ("get_weather_alerts", {"state": "TX"})
    assert (answer["decision"], answer["tool"], answer["usage"]["output_tokens"] > 0) == ("text", None, True)


@pytest.mark.parametrize("backend", ["openai", "openai-compatible"])
def test_the_tutorials_model_check_passes_and_a_wrong_key_fails_fast(
    server: Any, backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from recipes.core.models import ModelChoice
    from tutorial.model_check import ModelUnavailable, check_model

    monkeypatch.setenv("OPENAI_BASE_URL", server.url)
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    choice = ModelChoice(backend, "double-1", server.url)
    asyncio.run(check_model(choice))  # "Reply with OK." under max_tokens=16: answered, not cut
    [entry] = server.state.requests()
    assert entry["api"] == ("responses" if backend == "openai" else "chat")
    assert entry["reason"] == "asked to reply with given text"
    server.api_key = KEY
    try:
        with pytest.raises(ModelUnavailable, match="rejected the API key"):
            asyncio.run(check_model(choice))
    finally:
        server.api_key = None


# --------------------------------------------------------------------------- the process: CLI, handle, key

KEY = "sk-double-secret-4242"


def test_handle_key_faults_log_and_no_trace_of_the_key(tmp_path: Any) -> None:
    log = tmp_path / "double.log"
    with ModelDouble.start(api_key=KEY, log_path=log) as double:
        assert double.url.startswith("http://127.0.0.1:") and double.url.endswith("/v1")
        assert double.env()["OPENAI_API_KEY"] == KEY and double.env(api_key="other")["OPENAI_API_KEY"] == "other"
        with pytest.raises(openai.AuthenticationError) as wrong:
            run(plain_weather_agent(), "Any weather alerts in Texas?", double.url, "chat")  # key "test"
        assert wrong.value.status_code == 401 and wrong.value.body["code"] == "invalid_api_key"
        missing = httpx.post(f"{double.url}/responses", json={"model": "m", "input": "Hi"})
        assert missing.status_code == 401 and missing.json()["error"]["type"] == "invalid_request_error"
        good = run(plain_weather_agent(), "Any weather alerts in Texas?", double.url, "responses", api_key=KEY)
        assert tool_calls(good) == [("get_weather_alerts", {"state": "TX"})]
        double.fail_next(1, status=429, retry_after_s=3)
        limited = httpx.post(f"{double.url}/chat/completions", headers={"Authorization": f"Bearer {KEY}"},
                             json={"model": "m", "messages": [{"role": "user", "content": "x"}]})  # fmt: skip
        assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
        double.slow_next(1, 0.2)
        double.set_latency(0)
        double.set_stream_pace(0.001)
        assert double.state()["pending_faults"] == [{"kind": "slow", "seconds": 0.2}]
        entries = double.requests()
        assert [e["auth"] for e in entries] == ["wrong", "missing", "ok", "ok", "ok"]
        assert KEY not in json.dumps(entries) and KEY not in json.dumps(double.state())
        double.clear_requests()
        assert double.requests() == []
        double.reset()
        assert double.state()["pending_faults"] == []
        pid = double.pid
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            assert KEY.encode() not in f.read()  # the key went by environment, not argv
    assert not _alive(pid)
    double.stop()  # twice is fine
    assert KEY not in log.read_text()
    assert "POST /v1/chat/completions" in log.read_text()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as f:
        return f.read().split(")")[-1].split()[0] != "Z"


def test_cli_prints_the_url_first_and_exits_on_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutorial.model_double", "--port", "0", "--api-key", KEY, "--model", "double-x"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        models = httpx.get(f"{url}/models", headers={"Authorization": f"Bearer {KEY}"}).json()
        assert models["data"][0]["id"] == "double-x"
        assert httpx.get(f"{url}/models").status_code == 401
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
    assert proc.returncode == 0 and out == "" and "not an LLM" in err
    assert KEY not in err


def test_a_double_still_running_at_exit_is_stopped() -> None:
    code = "from tutorial.model_double import ModelDouble\nprint(ModelDouble.start().pid, flush=True)"
    parent = subprocess.run(
        [sys.executable, "-c", code], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30
    )
    child = int(parent.stdout.strip())
    try:
        assert not _alive(child)  # atexit stopped it before the interpreter finished (the watchdog needs 0.5 s)
    finally:
        if _alive(child):
            os.killpg(child, signal.SIGKILL)


def test_the_double_exits_when_its_parent_dies() -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", "from tutorial.model_double import ModelDouble\n"
         "d = ModelDouble.start(); print(d.pid, flush=True)\nimport time; time.sleep(60)"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip
    child = 0
    try:
        child = int(parent.stdout.readline())
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)  # no atexit: only the watchdog can stop the double
        parent.wait(5)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child)
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
            parent.wait(5)
        if child and _alive(child):
            os.killpg(child, signal.SIGKILL)
        parent.stdout.close()


# --------------------------------------------------------------------------- acting like a small, slow model


@pytest.mark.parametrize("api", APIS)
def test_a_one_tool_plan_fetches_one_state_of_two_and_answers_from_it(api):
    """``--plan one_tool``: what a 1.5B model did with "California and Texas": one call, then the answer."""
    with serving(stream_pace_s=PACE_S, small_model=SmallModel("one_tool")) as srv:
        result = run(plain_weather_agent(), "Any weather alerts in California and Texas?", srv.url, api)
        routed = run(plain_triage_agent(), "Any weather alerts in Florida?", srv.url, api)
    assert tool_calls(result) == [("get_weather_alerts", {"state": "CA"})], tool_calls(result)
    assert "(CA)" in result.final_output and "(TX)" not in result.final_output, result.final_output
    assert routed.last_agent.name == "Weather assistant", "a handoff is not the one tool: the specialist still gets it"
    assert tool_calls(routed) == [("get_weather_alerts", {"state": "FL"})], tool_calls(routed)


def test_a_slow_model_takes_its_first_token_and_its_tokens_per_second():
    """50 tokens/s after a 1 s first token: a response of N output tokens takes at least 1 + N/50 s
    (a lower bound: a busy machine only adds to it), streamed or not."""
    with serving(stream_pace_s=PACE_S, small_model=SmallModel(tokens_per_second=50, first_token_seconds=1)) as srv:
        for stream in (False, True):
            t0 = time.monotonic()
            if stream:
                streamed(plain_weather_agent(), "Any weather alerts in Texas?", srv.url, "chat")
            else:
                run(plain_weather_agent(), "Any weather alerts in Texas?", srv.url, "chat")
            took = time.monotonic() - t0
            entries = srv.state.requests()[-2:]
            least = sum(1 + e["usage"]["output_tokens"] / 50 for e in entries)
            assert [e["latency_s"] for e in entries] == [round(1 + e["usage"]["output_tokens"] / 50, 3) for e in entries]
            assert took >= least, f"two responses came in {took:.1f} s, under the {least:.1f} s the rate allows"  # lower bound


def test_a_small_model_profile_that_cannot_be_is_refused():
    with pytest.raises(ValueError, match="plan 'three_tools' is not one of rules, one_tool"):
        SmallModel("three_tools")
    with pytest.raises(ValueError, match="cannot be negative"):
        SmallModel(tokens_per_second=-5)
