"""Tests for the offline stand-in model (recipes/tutorial/offline_model/) and its ledger.

Offline and fast: no API key, no network, no Temporal server (the Temporal model
activity is exercised with temporalio.testing.ActivityEnvironment).
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Literal, Optional

import jsonschema
import pytest
from pydantic import BaseModel, Field

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from agents import (  # noqa: E402
    Agent,
    AgentOutputSchema,
    ModelSettings,
    RunConfig,
    Runner,
    function_tool,
)
from agents.models.interface import ModelTracing  # noqa: E402
from agents.usage import Usage  # noqa: E402

from recipes.tutorial import offline_model as om  # noqa: E402
from recipes.core.ledger import Ledger, estimate_cost, summarize  # noqa: E402
from recipes.tutorial.offline_model import (  # noqa: E402
    DISCLAIMER,
    OFFLINE_MODEL_NAME,
    OfflineModel,
    OfflineModelProvider,
    decide,
)


@pytest.fixture(autouse=True)
def ledger_path(tmp_path, monkeypatch):
    """Every test writes to its own ledger file, never the repo's build/ dir."""
    path = tmp_path / "model_calls.jsonl"
    monkeypatch.setenv("OFFLINE_MODEL_LEDGER", str(path))
    monkeypatch.delenv("OFFLINE_MODEL_LATENCY", raising=False)
    return path


def run(coro):
    return asyncio.run(coro)


# ---------------------------------------------------------------------------
# Tools (as the SDK and the Temporal activity see them: name/description/schema)
# ---------------------------------------------------------------------------

ALERTS = {
    "name": "get_alerts",
    "description": "Get weather alerts for a US state.",
    "parameters": {
        "type": "object",
        "properties": {
            "state": {"type": "string", "description": "Two-letter US state code (e.g. CA, NY)"}
        },
        "required": ["state"],
        "additionalProperties": False,
    },
}
FORECAST = {
    "name": "get_forecast",
    "description": "Get weather forecast for a location.",
    "parameters": {
        "type": "object",
        "properties": {
            "latitude": {"type": "number", "minimum": -90, "maximum": 90},
            "longitude": {"type": "number", "minimum": -180, "maximum": 180},
        },
        "required": ["latitude", "longitude"],
        "additionalProperties": False,
    },
}
WEATHER_TOOLS = [ALERTS, FORECAST]

ALERTS_JSON = {
    "type": "FeatureCollection",
    "title": "Current watches, warnings, and advisories",
    "features": [
        {
            "properties": {
                "event": "Red Flag Warning",
                "headline": "Red Flag Warning issued for critical fire weather",
                "severity": "Severe",
                "areaDesc": "Santa Clara Hills",
            }
        },
        {
            "properties": {
                "event": "Wind Advisory",
                "headline": "Wind Advisory until 6 PM",
                "severity": "Moderate",
                "areaDesc": "Marin Coast",
            }
        },
    ],
}


def user(text: str) -> dict:
    return {"role": "user", "content": text}


def call_item(name: str, args: dict, call_id: str) -> dict:
    return {
        "type": "function_call",
        "name": name,
        "arguments": json.dumps(args),
        "call_id": call_id,
        "id": f"fc_{call_id}",
        "status": "completed",
    }


def output_item(call_id: str, output) -> dict:
    return {
        "type": "function_call_output",
        "call_id": call_id,
        "output": output if isinstance(output, str) else json.dumps(output),
    }


def calls_of(decision) -> list[tuple[str, dict]]:
    return [(c.name, c.arguments) for c in decision.calls]


def validate(instance, schema) -> None:
    jsonschema.Draft202012Validator(schema).validate(instance)


# ---------------------------------------------------------------------------
# Tool choice and argument filling
# ---------------------------------------------------------------------------


def test_state_name_picks_the_alerts_tool_with_the_state_code():
    d = decide("You are a weather assistant.", "Any weather alerts in California?", tools=WEATHER_TOOLS)
    assert d.kind == "tool_calls"
    assert calls_of(d) == [("get_alerts", {"state": "CA"})]


def test_two_states_give_two_calls_for_a_one_state_tool():
    d = decide(None, "Any alerts for CA and NY?", tools=WEATHER_TOOLS)
    assert calls_of(d) == [("get_alerts", {"state": "CA"}), ("get_alerts", {"state": "NY"})]
    d = decide(None, "weather alerts for California and Texas", tools=WEATHER_TOOLS)
    assert calls_of(d) == [("get_alerts", {"state": "CA"}), ("get_alerts", {"state": "TX"})]


def test_uppercase_words_that_are_not_state_codes_are_ignored():
    d = decide(None, "OK, any alerts in WA? US only", tools=WEATHER_TOOLS)
    assert calls_of(d) == [("get_alerts", {"state": "WA"})]


def test_two_matching_tools_are_both_called_with_numbers_in_order():
    d = decide(None, "Weather alerts in CA and the forecast for 37.77, -122.41", tools=WEATHER_TOOLS)
    assert calls_of(d) == [
        ("get_alerts", {"state": "CA"}),
        ("get_forecast", {"latitude": 37.77, "longitude": -122.41}),
    ]


def test_unrelated_tool_is_not_called():
    d = decide(None, "What is the forecast for 40.7, -74.0?", tools=WEATHER_TOOLS)
    assert calls_of(d) == [("get_forecast", {"latitude": 40.7, "longitude": -74.0})]


def test_enum_number_quoted_string_and_defaults_validate_against_sdk_schema():
    @function_tool
    def search_docs(
        query: str,
        category: Literal["guide", "api", "blog"],
        max_results: int = 5,
        include_archived: bool = False,
    ) -> str:
        """Search the documentation.

        Args:
            query: Text to search for.
            category: Which part of the docs to search.
            max_results: How many results to return.
            include_archived: Whether to include archived pages.
        """
        return ""

    d = decide(None, 'Search the docs for "durable execution" in the API category, 3 results', tools=[search_docs])
    assert d.kind == "tool_calls"
    [(name, args)] = calls_of(d)
    assert name == "search_docs"
    assert args == {
        "query": "durable execution",
        "category": "api",
        "max_results": 3,
        "include_archived": False,
    }
    validate(args, search_docs.params_json_schema)

    # No number, no enum mentioned: default and the first enum value.
    d = decide(None, "search the docs for retries", tools=[search_docs])
    [(_, args)] = calls_of(d)
    assert args["category"] == "guide" and args["max_results"] == 5
    assert args["query"] == "search the docs for retries"
    validate(args, search_docs.params_json_schema)


def test_arrays_nested_objects_bounds_and_optional_properties():
    schema = {
        "type": "object",
        "properties": {
            "cities": {"type": "array", "items": {"type": "string"}, "minItems": 1},
            "options": {
                "type": "object",
                "properties": {
                    "units": {"type": "string", "enum": ["metric", "imperial"]},
                    "days": {"type": "integer", "minimum": 1, "maximum": 7},
                    "detailed": {"type": "boolean", "default": True},
                },
                "required": ["units", "days", "detailed"],
                "additionalProperties": False,
            },
            "note": {"type": "string"},
        },
        "required": ["cities", "options"],
        "additionalProperties": False,
    }
    tool = {"name": "city_weather", "description": "Weather outlook for cities.", "parameters": schema}
    d = decide(None, "Weather outlook for Paris and Berlin in imperial units for 10 days", tools=[tool])
    [(_, args)] = calls_of(d)
    validate(args, schema)
    assert args == {
        "cities": ["Paris", "Berlin"],
        "options": {"units": "imperial", "days": 7, "detailed": True},
    }


class Address(BaseModel):
    city: str
    state: str
    zip_code: Optional[str] = None


def test_pydantic_parameters_with_refs_optionals_and_emails():
    @function_tool
    def book_hotel(
        guest_name: str,
        address: Address,
        nights: int,
        room: Literal["single", "double", "suite"] = "double",
        email: Optional[str] = None,
    ) -> str:
        """Book a hotel room."""
        return ""

    schema = book_hotel.params_json_schema
    assert "$defs" in json.dumps(schema) or "$ref" in json.dumps(schema) or "properties" in schema
    d = decide(
        None,
        'Book a hotel for "Ada Lovelace" in Austin, Texas for 3 nights, suite please, mail ada@example.com',
        tools=[book_hotel],
    )
    [(_, args)] = calls_of(d)
    validate(args, schema)
    assert args == {
        "guest_name": "Ada Lovelace",
        "address": {"city": "Austin", "state": "TX", "zip_code": None},
        "nights": 3,
        "room": "suite",
        "email": "ada@example.com",
    }
    # Nothing to go on: still valid, with defaults and a count-like 1.
    d = decide(None, "book a hotel", tools=[book_hotel])
    [(_, args)] = calls_of(d)
    validate(args, schema)
    assert args["nights"] == 1 and args["room"] == "double" and args["email"] is None


def test_city_and_topic_inference_and_several_cities():
    weather = {
        "name": "get_weather",
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
            "additionalProperties": False,
        },
    }
    d = decide(None, "What's the weather like in Paris and New York?", tools=[weather])
    assert calls_of(d) == [("get_weather", {"city": "Paris"}), ("get_weather", {"city": "New York"})]
    news = {
        "name": "get_news",
        "description": "Latest news headlines about a topic.",
        "parameters": {
            "type": "object",
            "properties": {"topic": {"type": "string"}},
            "required": ["topic"],
        },
    }
    d = decide(None, "Show me news headlines about renewable energy", tools=[news])
    assert calls_of(d) == [("get_news", {"topic": "renewable energy"})]


def test_tool_choice_none_and_forced_tool():
    d = decide(None, "Any alerts in CA?", tools=WEATHER_TOOLS, model_settings=ModelSettings(tool_choice="none"))
    assert d.kind == "final_text"
    d = decide(
        None, "Any alerts in CA?", tools=WEATHER_TOOLS, model_settings=ModelSettings(tool_choice="get_forecast")
    )
    assert [c.name for c in d.calls] == ["get_forecast"]


# ---------------------------------------------------------------------------
# The agentic loop: sequential mode, no repeats, final answers
# ---------------------------------------------------------------------------


def test_sequential_mode_makes_one_call_per_turn_until_the_plan_is_done():
    settings = ModelSettings(parallel_tool_calls=False)
    items: list[dict] = [user("Any alerts for CA and NY?")]
    seen = []
    for step in range(5):
        d = decide(None, items, tools=WEATHER_TOOLS, model_settings=settings)
        if d.kind != "tool_calls":
            break
        assert len(d.calls) == 1
        c = d.calls[0]
        seen.append((c.name, c.arguments))
        cid = f"c{step}"
        items += [call_item(c.name, c.arguments, cid), output_item(cid, {"features": []})]
    assert seen == [("get_alerts", {"state": "CA"}), ("get_alerts", {"state": "NY"})]
    assert d.kind == "final_text"
    assert "get_alerts(state=\"CA\")" in d.text and "get_alerts(state=\"NY\")" in d.text


def test_a_call_already_made_is_not_repeated_and_the_answer_quotes_its_output():
    items = [
        user("Any weather alerts in California?"),
        call_item("get_alerts", {"state": "CA"}, "c1"),
        output_item("c1", ALERTS_JSON),
    ]
    d = decide(None, items, tools=WEATHER_TOOLS)
    assert d.kind == "final_text"
    assert d.calls == ()
    assert "Red Flag Warning" in d.text and "Santa Clara Hills" in d.text
    assert "Wind Advisory" in d.text and "Marin Coast" in d.text
    assert "2 alerts" in d.text


def test_partial_plan_only_emits_the_missing_call():
    items = [
        user("Alerts for CA and NY"),
        call_item("get_alerts", {"state": "CA"}, "c1"),
        output_item("c1", ALERTS_JSON),
    ]
    d = decide(None, items, tools=WEATHER_TOOLS)
    assert calls_of(d) == [("get_alerts", {"state": "NY"})]


def test_a_new_user_message_starts_a_new_plan():
    items = [
        user("Alerts for CA"),
        call_item("get_alerts", {"state": "CA"}, "c1"),
        output_item("c1", ALERTS_JSON),
        {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done"}]},
        user("Alerts for CA again please"),
    ]
    d = decide(None, items, tools=WEATHER_TOOLS)
    assert calls_of(d) == [("get_alerts", {"state": "CA"})]


@pytest.mark.parametrize(
    "output, expected",
    [
        ({"type": "FeatureCollection", "features": []}, "there are no alerts"),
        ("No active alerts for this state.", '"No active alerts for this state."'),
        (
            "An error occurred while running the tool. Please try again. Error: upstream 503 from api.weather.gov",
            "the tool reported an error: upstream 503 from api.weather.gov",
        ),
        ({"error": "state not found: ZZ"}, "the tool reported an error: state not found: ZZ"),
        # A tool returning a dict reaches the model as str(dict), i.e. a Python literal.
        (str({"temperature": 71, "shortForecast": "Sunny"}), "shortForecast"),
    ],
)
def test_final_answer_relays_empty_results_strings_and_errors(output, expected):
    items = [user("Alerts for CA"), call_item("get_alerts", {"state": "CA"}, "c1"), output_item("c1", output)]
    d = decide(None, items, tools=WEATHER_TOOLS)
    assert d.kind == "final_text"
    assert expected in d.text


def test_no_matching_tool_gives_an_honest_reply():
    d = decide("You are a weather assistant.", "Tell me a joke", tools=WEATHER_TOOLS)
    assert d.kind == "final_text" and d.calls == ()
    assert "not an LLM" in d.text
    assert "get_alerts" in d.text  # says what it can do here


def test_pydantic_input_items_are_understood():
    from openai.types.responses import ResponseFunctionToolCall

    items = [
        user("Alerts for CA"),
        ResponseFunctionToolCall(
            type="function_call", name="get_alerts", arguments='{"state": "CA"}', call_id="c1", id="fc_1"
        ),
        output_item("c1", ALERTS_JSON),
    ]
    d = decide(None, items, tools=WEATHER_TOOLS)
    assert d.kind == "final_text" and "Red Flag Warning" in d.text


# ---------------------------------------------------------------------------
# Handoffs
# ---------------------------------------------------------------------------

WEATHER_HANDOFF = {
    "tool_name": "transfer_to_weather_agent",
    "tool_description": "Handoff to the Weather agent agent to handle the request. Answers weather alerts and forecasts.",
    "agent_name": "Weather agent",
    "input_json_schema": {},
}
BILLING_HANDOFF = {
    "tool_name": "transfer_to_billing_agent",
    "tool_description": "Handoff to the Billing agent agent to handle the request. Invoices and refunds.",
    "agent_name": "Billing agent",
    "input_json_schema": {},
}


def test_handoff_is_chosen_when_it_matches_best():
    d = decide("Route the user.", "I need a refund for my last invoice", handoffs=[WEATHER_HANDOFF, BILLING_HANDOFF])
    assert d.kind == "handoff"
    assert calls_of(d) == [("transfer_to_billing_agent", {})]
    d = decide("Route the user.", "Any weather alerts in Texas?", handoffs=[WEATHER_HANDOFF, BILLING_HANDOFF])
    assert calls_of(d) == [("transfer_to_weather_agent", {})]


def test_no_second_handoff_after_one_happened():
    items = [
        user("Any weather alerts in Texas?"),
        call_item("transfer_to_weather_agent", {}, "h1"),
        output_item("h1", {"assistant": "Weather agent"}),
    ]
    # The receiving agent also has a handoff that would match; it must answer instead.
    d = decide("You are the weather agent.", items, tools=WEATHER_TOOLS, handoffs=[WEATHER_HANDOFF])
    assert calls_of(d) == [("get_alerts", {"state": "TX"})]
    d = decide("You are the weather agent.", items, handoffs=[WEATHER_HANDOFF])
    assert d.kind == "final_text"
    assert "handed to me" in d.text


def test_a_better_matching_tool_beats_a_handoff():
    d = decide(None, "Any weather alerts in Texas?", tools=[ALERTS], handoffs=[WEATHER_HANDOFF])
    assert calls_of(d) == [("get_alerts", {"state": "TX"})]


# ---------------------------------------------------------------------------
# Output schemas
# ---------------------------------------------------------------------------


class AlertItem(BaseModel):
    event: str
    area: str
    severity: Literal["Minor", "Moderate", "Severe", "Unknown"]


class AlertReport(BaseModel):
    state: str
    count: int
    alerts: list[AlertItem]
    summary: str
    urgency: int = Field(ge=1, le=5)
    note: Optional[str] = None


def test_output_schema_json_validates_and_uses_tool_outputs():
    schema = AgentOutputSchema(AlertReport)
    items = [user("Alerts for California"), call_item("get_alerts", {"state": "CA"}, "c1"), output_item("c1", ALERTS_JSON)]
    d = decide(None, items, tools=WEATHER_TOOLS, output_schema=schema)
    assert d.kind == "final_json"
    report = schema.validate_json(d.text)
    assert report.state == "CA"
    assert report.count == 2
    assert [a.event for a in report.alerts] == ["Red Flag Warning", "Wind Advisory"]
    assert report.alerts[0].area == "Santa Clara Hills" and report.alerts[0].severity == "Severe"
    assert "Red Flag Warning" in report.summary
    assert 1 <= report.urgency <= 5


def test_output_schema_without_tools_and_wrapped_types():
    schema = AgentOutputSchema(AlertReport)
    d = decide(None, "Summarise the situation in Texas", output_schema=schema)
    assert d.kind == "final_json"
    assert schema.validate_json(d.text).state == "TX"

    wrapped = AgentOutputSchema(list[str])
    assert wrapped._is_wrapped  # the SDK wraps non-object types as {"response": ...}
    d = decide(None, 'Tags please: "alpha" and "beta"', output_schema=wrapped)
    assert json.loads(d.text) == {"response": ["alpha", "beta"]}
    assert wrapped.validate_json(d.text) == ["alpha", "beta"]


def test_output_schema_summary_draws_on_earlier_messages_when_no_tool_ran():
    # A summarizer agent gets other agents' reports as earlier messages, then the ask.
    schema = AgentOutputSchema(AlertReport)
    items = [
        user("Report for CA: Red Flag Warning over the Santa Clara Hills."),
        user("Report for TX: Winter Storm Warning for Dallas."),
        user("Write the briefing from the reports above."),
    ]
    summary = schema.validate_json(decide(None, items, output_schema=schema).text).summary
    assert "Red Flag Warning" in summary and "Winter Storm Warning" in summary
    assert "Write the briefing" not in summary


def test_output_schema_in_temporal_form_is_respected():
    from temporalio.openai_agents._invoke_model_activity import AgentOutputSchemaInput

    sdk = AgentOutputSchema(AlertReport)
    temporal_form = AgentOutputSchemaInput(
        output_type_name=sdk.name(), is_wrapped=False, output_schema=sdk.json_schema(), strict_json_schema=True
    )
    d = decide(None, "Report for NY", output_schema=temporal_form)
    assert sdk.validate_json(d.text).state == "NY"
    plain = AgentOutputSchemaInput(output_type_name="str", is_wrapped=False, output_schema=None, strict_json_schema=True)
    assert decide(None, "Report for NY", output_schema=plain).kind == "final_text"


# ---------------------------------------------------------------------------
# The Model: statelessness, usage, latency
# ---------------------------------------------------------------------------


def _call_model(model: OfflineModel, input, tools=(), handoffs=(), settings=None, output_schema=None):
    return run(
        model.get_response(
            "You are a weather assistant.",
            input,
            settings or ModelSettings(),
            list(tools),
            output_schema,
            list(handoffs),
            ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )
    )


def _sdk_tools():
    from agents import FunctionTool

    async def noop(ctx, args):
        return ""

    return [
        FunctionTool(name=t["name"], description=t["description"], params_json_schema=t["parameters"], on_invoke_tool=noop)
        for t in WEATHER_TOOLS
    ]


def test_same_input_same_output_across_fresh_instances():
    inputs = [
        [user("Alerts for CA and NY")],
        [user("Alerts for CA"), call_item("get_alerts", {"state": "CA"}, "c1"), output_item("c1", ALERTS_JSON)],
    ]
    for inp in inputs:
        first = _call_model(OfflineModel(ledger=False), inp, tools=_sdk_tools())
        # Other calls in between must not change anything (no counters, no queues).
        other = OfflineModel(ledger=False)
        _call_model(other, [user("forecast for 1, 2")], tools=_sdk_tools())
        second = _call_model(other, inp, tools=_sdk_tools())
        assert [i.model_dump() for i in first.output] == [i.model_dump() for i in second.output]
        assert first.response_id == second.response_id
        assert first.usage == second.usage
    # Tool call ids are non-empty and distinct within a turn.
    resp = _call_model(OfflineModel(ledger=False), inputs[0], tools=_sdk_tools())
    ids = [i.call_id for i in resp.output]
    assert len(ids) == 2 and all(ids) and len(set(ids)) == 2


def test_usage_is_an_estimate_of_four_chars_per_token():
    resp = _call_model(OfflineModel(ledger=False), [user("Alerts for CA")], tools=_sdk_tools())
    u = resp.usage
    assert isinstance(u, Usage)
    assert u.requests == 1
    assert u.total_tokens == u.input_tokens + u.output_tokens
    schema_chars = sum(len(json.dumps(t["parameters"])) for t in WEATHER_TOOLS)
    assert u.input_tokens >= schema_chars // 4 * 0.8
    assert 0 < u.output_tokens < 20


def test_simulated_latency(monkeypatch):
    monkeypatch.setenv("OFFLINE_MODEL_LATENCY", "0.2")
    model = OfflineModel(ledger=False)
    assert model.latency_s == 0.2
    t0 = time.perf_counter()
    _call_model(model, [user("hello")])
    assert time.perf_counter() - t0 >= 0.19
    assert OfflineModel(latency_s=0, ledger=False).latency_s == 0

    async def cancelled():
        task = asyncio.ensure_future(
            OfflineModel(latency_s=30, ledger=False).get_response(
                None, "hi", ModelSettings(), [], None, [], ModelTracing.DISABLED,
                previous_response_id=None, conversation_id=None, prompt=None,
            )
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    run(cancelled())


def test_provider_returns_the_offline_model_for_any_name():
    provider = OfflineModelProvider(latency_s=0)
    assert isinstance(provider.get_model(None), OfflineModel)
    assert provider.get_model(None).model_name == OFFLINE_MODEL_NAME
    assert provider.get_model("gpt-4o").model_name == "gpt-4o"


def test_honesty_strings():
    assert "not a real LLM" in DISCLAIMER
    assert "rule-based" in om.__doc__ and "cannot do" in om.__doc__
    assert OFFLINE_MODEL_NAME == "offline-rules"


def test_decide_is_fast():
    tools = _sdk_tools()
    items = [user("Any weather alerts in California and Texas?")]
    decide(None, items, tools=tools)
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        decide(None, items, tools=tools)
    assert (time.perf_counter() - t0) / n < 0.005


# ---------------------------------------------------------------------------
# End to end with the Agents SDK Runner
# ---------------------------------------------------------------------------


def _weather_agent(ran: list):
    @function_tool
    def get_alerts(state: str) -> str:
        """Get weather alerts for a US state.

        Args:
            state: Two-letter US state code (e.g. CA, NY).
        """
        ran.append(state)
        return json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    {"properties": {"event": f"Dust Storm Warning {state}-42", "areaDesc": f"{state} desert", "severity": "Severe"}}
                ],
            }
        )

    return Agent(
        name="Weather agent",
        instructions="You are a weather assistant.",
        tools=[get_alerts],
        handoff_description="Answers weather alerts questions.",
    )


def test_runner_calls_the_real_tool_and_answers_with_its_result(ledger_path):
    ran: list[str] = []
    agent = _weather_agent(ran)
    result = run(
        Runner.run(agent, "Any weather alerts in California?", run_config=RunConfig(model_provider=OfflineModelProvider()))
    )
    assert ran == ["CA"]
    assert "Dust Storm Warning CA-42" in result.final_output
    assert len(result.raw_responses) == 2  # model -> tool -> model

    entries = Ledger(ledger_path).entries()
    assert [e["kind"] for e in entries] == ["tool_calls", "final_text"]
    for e in entries:
        assert e["agent"] == "Weather agent" and e["agent_source"] == "trace"
        assert e["input_tokens"] > 0 and e["output_tokens"] > 0
        assert len(e["fingerprint"]) == 16
        assert e["workflow_id"] is None and e["pid"] == os.getpid()
    assert entries[0]["tool_calls"] == [{"name": "get_alerts", "arguments": {"state": "CA"}}]
    assert entries[0]["fingerprint"] != entries[1]["fingerprint"]


def test_runner_sequential_loop_with_agent_model():
    ran: list[str] = []
    agent = _weather_agent(ran).clone(
        model=OfflineModel(), model_settings=ModelSettings(parallel_tool_calls=False)
    )
    result = run(Runner.run(agent, "Alerts for Texas and Oregon"))
    assert ran == ["TX", "OR"]
    assert len(result.raw_responses) == 3  # model -> tool -> model -> tool -> model
    assert "TX-42" in result.final_output and "OR-42" in result.final_output


def test_runner_handoff_then_tool():
    ran: list[str] = []
    weather = _weather_agent(ran).clone(model=OfflineModel())
    triage = Agent(name="Triage", instructions="Route the user.", handoffs=[weather], model=OfflineModel())
    result = run(Runner.run(triage, "Any weather alerts in Nevada?"))
    assert result.last_agent.name == "Weather agent"
    assert ran == ["NV"]
    assert "NV-42" in result.final_output


def test_runner_output_type():
    ran: list[str] = []
    agent = _weather_agent(ran).clone(model=OfflineModel(), output_type=AlertReport)
    result = run(Runner.run(agent, "Alerts for Utah"))
    assert isinstance(result.final_output, AlertReport)
    assert result.final_output.state == "UT"
    assert result.final_output.alerts[0].event == "Dust Storm Warning UT-42"


def test_run_streamed_gives_the_same_final_output(ledger_path):
    ran: list[str] = []
    agent = _weather_agent(ran)
    config = RunConfig(model_provider=OfflineModelProvider())
    plain = run(Runner.run(agent, "Alerts for CA and NY", run_config=config))

    async def streamed():
        result = Runner.run_streamed(agent, "Alerts for CA and NY", run_config=config)
        types = []
        async for event in result.stream_events():
            if event.type == "raw_response_event":
                types.append(event.data.type)
        return result, types

    result, types = run(streamed())
    assert result.final_output == plain.final_output
    assert ran == ["CA", "NY", "CA", "NY"]
    assert "response.created" in types and "response.completed" in types
    assert "response.output_text.delta" in types and "response.function_call_arguments.done" in types

    entries = Ledger(ledger_path).entries()
    assert [e["streamed"] for e in entries] == [False, False, True, True]
    # The streamed run sent exactly the same requests again: same fingerprints.
    s = summarize(entries)
    assert s["calls"] == 4 and s["duplicate_calls"] == 2
    assert set(s["duplicated_fingerprints"]) == {entries[0]["fingerprint"], entries[1]["fingerprint"]}


# ---------------------------------------------------------------------------
# Inside Temporal's model activity (no server: ActivityEnvironment)
# ---------------------------------------------------------------------------


def test_temporal_model_activity_rebuilt_tools_and_ledger_fields(ledger_path):
    from temporalio.openai_agents._invoke_model_activity import (
        ActivityModelInput,
        FunctionToolInput,
        HandoffInput,
        ModelActivity,
        ModelTracingInput,
    )
    from temporalio.testing import ActivityEnvironment

    activity = ModelActivity(OfflineModelProvider())
    tools = [FunctionToolInput(name=t["name"], description=t["description"], params_json_schema=t["parameters"]) for t in WEATHER_TOOLS]
    handoffs = [
        HandoffInput(
            tool_name=WEATHER_HANDOFF["tool_name"],
            tool_description=WEATHER_HANDOFF["tool_description"],
            input_json_schema={},
            agent_name="Weather agent",
        )
    ]
    base = ActivityModelInput(
        model_name="gpt-4o",
        system_instructions="You are a triage assistant.",
        input=[user("Any weather alerts in CA?")],
        model_settings=ModelSettings(),
        tools=[],
        handoffs=handoffs,
        output_schema=None,
        tracing=ModelTracingInput.DISABLED,
    )
    env = ActivityEnvironment()
    resp = run(env.run(activity.invoke_model_activity, base))
    assert [(o.name, o.arguments) for o in resp.output] == [("transfer_to_weather_agent", "{}")]

    after_handoff = dict(
        base,
        system_instructions="You are a weather assistant.",
        tools=tools,
        input=[
            user("Any weather alerts in CA?"),
            call_item("transfer_to_weather_agent", {}, "h1"),
            output_item("h1", {"assistant": "Weather agent"}),
        ],
    )
    resp = run(env.run(activity.invoke_model_activity, after_handoff))
    assert [(o.name, json.loads(o.arguments)) for o in resp.output] == [("get_alerts", {"state": "CA"})]

    entries = Ledger(ledger_path).entries()
    info = env.info
    assert [e["kind"] for e in entries] == ["handoff", "tool_calls"]
    assert entries[0]["agent"] == "triage assistant" and entries[0]["agent_source"] == "instructions"
    assert entries[1]["agent"] == "Weather agent" and entries[1]["agent_source"] == "handoff"
    for e in entries:
        assert e["model"] == "gpt-4o"
        assert e["workflow_id"] == info.workflow_id and e["run_id"] == info.workflow_run_id
        assert e["activity_id"] == info.activity_id and e["attempt"] == info.attempt
    assert Ledger(ledger_path).entries(workflow_id=info.workflow_id) == entries
    assert Ledger(ledger_path).entries(workflow_id="some-other-workflow") == []


# ---------------------------------------------------------------------------
# Ledger
# ---------------------------------------------------------------------------


def test_ledger_missing_file_mark_clear_and_filters(tmp_path):
    ledger = Ledger(tmp_path / "nested" / "calls.jsonl")
    assert ledger.entries() == [] and ledger.mark() == 0
    ledger.clear()  # no error on a missing file
    ledger.append({"kind": "tool_calls", "fingerprint": "aaa", "input_tokens": 100, "output_tokens": 10})
    mark = ledger.mark()
    ledger.append({"kind": "final_text", "fingerprint": "aaa", "input_tokens": 200, "output_tokens": 20, "workflow_id": "w1"})
    ledger.append({"kind": "final_text", "fingerprint": "bbb", "input_tokens": 300, "output_tokens": 30})
    assert len(ledger.entries()) == 3
    after = ledger.entries(since=mark)
    assert [e["fingerprint"] for e in after] == ["aaa", "bbb"]
    assert [e["input_tokens"] for e in ledger.entries(workflow_id="w1")] == [200]
    assert all("ts" in e and e["pid"] == os.getpid() for e in after)

    s = summarize(ledger.entries())
    assert s["calls"] == 3 and s["input_tokens"] == 600 and s["output_tokens"] == 60
    assert s["duplicated_fingerprints"] == {"aaa": 2} and s["duplicate_calls"] == 1
    cost = estimate_cost(ledger.entries(), usd_per_million_input=1.0, usd_per_million_output=2.0)
    assert cost["total_usd"] == pytest.approx(600 / 1e6 + 60 * 2 / 1e6)
    assert "Illustrative" in cost["note"]
    assert estimate_cost([])["total_usd"] == 0

    ledger.clear()
    assert ledger.entries() == []
    assert ledger.entries(since=mark) == []  # a stale mark after clear() reads from the start
    ledger.append({"kind": "x"})
    assert [e["kind"] for e in ledger.entries(since=mark + 10_000)] == ["x"]


def test_ledger_ignores_partial_and_garbage_lines(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text('{"kind": "a"}\nnot json\n{"kind": "b"}\n{"kind": "in-progr')
    assert [e["kind"] for e in Ledger(path).entries()] == ["a", "b"]


def test_ledger_default_path(monkeypatch):
    monkeypatch.delenv("OFFLINE_MODEL_LEDGER")
    assert Ledger().path == REPO_ROOT / "build" / "ledger" / "model_calls.jsonl"


def _python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_ledger_is_shared_across_processes(ledger_path):
    ledger = Ledger(ledger_path)
    mark = ledger.mark()
    # A second process (like a Temporal worker) makes a model call...
    code = """
import asyncio
from agents import ModelSettings, set_tracing_disabled
from agents.models.interface import ModelTracing
from recipes.tutorial.offline_model import OfflineModel
set_tracing_disabled(True)
asyncio.run(OfflineModel().get_response(
    "You are a weather assistant.", "Any alerts in CA?", ModelSettings(), [], None, [],
    ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None))
"""
    _python(code, {"OFFLINE_MODEL_LEDGER": str(ledger_path)})
    [entry] = ledger.entries(since=mark)
    assert entry["pid"] != os.getpid()
    assert entry["agent"] == "weather assistant" and entry["kind"] == "final_text"
    # ...and a third process reads what this one appends.
    ledger.append({"kind": "from-parent", "fingerprint": "zz"})
    out = _python(
        "import json; from recipes.core.ledger import Ledger; "
        f"print(json.dumps([e['kind'] for e in Ledger({str(ledger_path)!r}).entries(since={mark})]))",
        {},
    )
    assert json.loads(out.stdout) == ["final_text", "from-parent"]


def test_concurrent_appends_do_not_interleave(tmp_path):
    path = tmp_path / "concurrent.jsonl"
    code = (
        "import os, sys; from recipes.core.ledger import Ledger\n"
        f"l = Ledger({str(path)!r})\n"
        "for i in range(150): l.append({'writer': sys.argv[1], 'i': i, 'pad': 'x' * 2000})\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(n)], env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        )
        for n in range(4)
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0
    entries = Ledger(path).entries()
    assert len(entries) == 600
    assert len(path.read_text().splitlines()) == 600
    for n in range(4):
        assert [e["i"] for e in entries if e["writer"] == str(n)] == list(range(150))
