"""Tests for the offline stand-in model (tutorial/offline_model/) and its ledger.

Offline and fast: no API key, no network, no Temporal server (the Temporal model
activity is exercised with temporalio.testing.ActivityEnvironment).
"""

from __future__ import annotations

import asyncio
import json
import os
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

from tutorial import offline_model as om  # noqa: E402
from recipes.core.models import choose_model  # noqa: E402
from tutorial.ledger import Ledger, summarize  # noqa: E402
from tutorial.offline_model import (  # noqa: E402
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
    monkeypatch.setenv("AGENT_MODEL_LEDGER", str(path))
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
    # The nested model arrives as a $ref into $defs: the case this test is about.
    assert schema["properties"]["address"] == {"$ref": "#/$defs/Address"} and "Address" in schema["$defs"]
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
    # Only the required names given: still valid, with defaults and a count-like 1.
    d = decide(None, 'Book a hotel for "Ada Lovelace" in Austin, Texas', tools=[book_hotel])
    [(_, args)] = calls_of(d)
    validate(args, schema)
    assert args["nights"] == 1 and args["room"] == "double" and args["email"] is None
    # Nothing to go on: no call with invented names, a question instead.
    d = decide(None, "book a hotel", tools=[book_hotel])
    assert d.kind == "final_text" and d.calls == ()
    assert d.text == "What guest name, city and US state (its name or two-letter code) should I use to book the hotel?"


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
    forced = ModelSettings(tool_choice="get_forecast")
    d = decide(None, "Any alerts near 37.7, -122.4?", tools=WEATHER_TOOLS, model_settings=forced)
    assert calls_of(d) == [("get_forecast", {"latitude": 37.7, "longitude": -122.4})]
    # Forced, but the request has no coordinates: asked for, not invented.
    d = decide(None, "Any alerts in CA?", tools=WEATHER_TOOLS, model_settings=forced)
    assert d.calls == () and d.text == "What latitude and longitude should I use to get the forecast?"


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
            "I could not get the alerts: upstream 503 from api.weather.gov.",
        ),
        ({"error": "state not found: ZZ"}, "I could not get the alerts: state not found: ZZ."),
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
# Asking instead of inventing; answers worded for the user
# ---------------------------------------------------------------------------

STATE_QUESTION = "Which US state do you mean? Give its name or two-letter code."
ZZ_ERROR = (
    "Tool get_weather_alerts failed: 'ZZ' is not a US state code; use a two-letter code such as CA or TX. "
    "(InvalidState; not retried: retrying cannot help). Check the arguments or tell the user."
)


def _notebook_weather_tools():
    """The weather agent's own tools (notebooks 01-03, 06): get_weather_alerts and explain_severity."""
    from recipes.weather.workflows import build_agent

    return build_agent().tools


@pytest.mark.parametrize("request_text", ["alerts in Paris", "Any weather alerts in ZZ", "alerts for Narnia"])
def test_a_request_naming_no_state_asks_for_one(request_text):
    for tools in (WEATHER_TOOLS, _notebook_weather_tools()):
        d = decide("You are a weather assistant.", request_text, tools=tools)
        assert d.kind == "final_text" and d.calls == (), (request_text, d)
        assert d.text == STATE_QUESTION
    # With the SDK's Runner: the tool never runs, the user gets the question.
    ran: list[str] = []
    result = run(Runner.run(_weather_agent(ran), request_text, run_config=RunConfig(model_provider=OfflineModelProvider())))
    assert ran == [] and result.final_output == STATE_QUESTION


@pytest.mark.parametrize(
    "request_text",
    [
        "Any weather alerts for state code 'ZZ'?",  # notebook 03
        'Any weather alerts for state "ZZ"?',  # notebook 06
        'Weather alerts for "ZZ"',  # notebook 08's branch agent
        "Any weather alerts for state code ZZ",
    ],
)
def test_a_state_code_the_user_gives_is_passed_as_given(request_text):
    d = decide("You are a weather assistant.", request_text, tools=_notebook_weather_tools())
    assert calls_of(d) == [("get_weather_alerts", {"state": "ZZ"})]


def test_a_missing_free_text_or_number_is_asked_for_not_invented():
    search = {
        "name": "search_docs",
        "description": "Search the documentation.",
        "parameters": {
            "type": "object",
            "properties": {"query": {"type": "string", "description": "Text to search for."}},
            "required": ["query"],
        },
    }
    d = decide(None, "Search the docs", tools=[search])
    assert d.calls == () and d.text == "What query should I use to search the docs?"
    assert calls_of(decide(None, "Search the docs for retries", tools=[search])) == [
        ("search_docs", {"query": "Search the docs for retries"})
    ]
    d = decide(None, "What is the forecast for Paris?", tools=WEATHER_TOOLS)
    assert d.calls == () and d.text == "What latitude and longitude should I use to get the forecast?"
    # One tool has its value, the other not: call the one, then answer and ask for the rest.
    items = [user("Weather alerts in CA and the forecast for Paris")]
    d = decide(None, items, tools=WEATHER_TOOLS)
    assert calls_of(d) == [("get_alerts", {"state": "CA"})]
    items += [call_item("get_alerts", {"state": "CA"}, "c1"), output_item("c1", ALERTS_JSON)]
    d = decide(None, items, tools=WEATHER_TOOLS)
    assert d.kind == "final_text" and "Red Flag Warning" in d.text
    assert d.text.endswith("\nWhat latitude and longitude should I use to get the forecast?")


def test_tool_errors_are_worded_for_the_user():
    from temporalio.exceptions import ApplicationError

    from recipes.core.tool_errors import tool_error_text

    expected = "I could not get the weather alerts: 'ZZ' is not a US state code; use a two-letter code such as CA or TX."
    live = tool_error_text(
        "get_weather_alerts",
        ApplicationError("'ZZ' is not a US state code; use a two-letter code such as CA or TX.", type="InvalidState"),
    )
    tools = _notebook_weather_tools()
    for error in (ZZ_ERROR, live):
        items = [
            user("Any weather alerts for state code 'ZZ'?"),
            call_item("get_weather_alerts", {"state": "ZZ"}, "c1"),
            output_item("c1", error),
        ]
        d = decide("You are a weather assistant.", items, tools=tools)
        assert d.kind == "final_text" and d.text == expected, error
    # Among other results: which call failed, and why.
    items = [
        user("Alerts for CA and ZZ"),
        call_item("get_alerts", {"state": "CA"}, "c1"),
        output_item("c1", ALERTS_JSON),
        call_item("get_alerts", {"state": "ZZ"}, "c2"),
        output_item("c2", ZZ_ERROR.replace("get_weather_alerts", "get_alerts")),
    ]
    text = decide(None, items, tools=WEATHER_TOOLS).text
    assert text.startswith('Results:\n- get_alerts(state="CA"): 2 alerts: Red Flag Warning')
    assert text.endswith(
        "\nI could not get the alerts (state=\"ZZ\"): 'ZZ' is not a US state code; use a two-letter code such as CA or TX."
    )
    for model_facing in ("Check the arguments", "tell the user", "InvalidState", "not retried", "Please try again"):
        assert model_facing not in text


def _cut_words(text: str) -> list[str]:
    """The word before each "…" in ``text``."""
    import re

    return re.findall(r"([\w'-]+)\W?…", text)


def test_shortened_text_ends_after_a_whole_word():
    counties = "; ".join(["Adams", "Alcorn", "Amite", "Attala", "Benton", "Bolivar", "Calhoun", "Carroll"] * 4)
    words = set(counties.replace(";", "").split()) | {"Advisory", "Flood", "for", "the", "of"}
    rows = {
        "features": [
            {"properties": {"event": "Flood Advisory " + "for the " * 12, "areaDesc": counties, "severity": "Minor"}},
            {"properties": {"event": "Flood Advisory", "areaDesc": counties, "description": counties}},
        ]
    }
    long_text = "Flood Advisory for " + "; ".join([counties] * 3)
    cases = [
        ("Alerts for CA", {"state": "CA"}, rows),
        ("Alerts for CA", {"state": "CA"}, long_text),  # a plain string result
        (f'Alerts for "{counties}"', {"state": counties}, ALERTS_JSON),  # a long argument
    ]
    for request_text, args, output in cases:
        items = [user(request_text), call_item("get_alerts", args, "c1"), output_item("c1", output)]
        text = decide(None, items, tools=WEATHER_TOOLS).text
        cut = _cut_words(text)
        assert cut and all(w in words for w in cut), (cut, text)
    # A hard maxLength in an output schema: whole words too, and within the limit.
    def summary(max_length=None):
        prop = {"type": "string"} | ({"maxLength": max_length} if max_length else {})
        schema = {"type": "object", "properties": {"summary": prop}, "required": ["summary"]}
        items = [user("Alerts for CA"), call_item("get_alerts", {"state": "CA"}, "c1"), output_item("c1", long_text)]
        return json.loads(decide(None, items, tools=WEATHER_TOOLS, output_schema=schema).text)["summary"]

    full, short = summary(), summary(50)
    assert len(short) <= 50 and short.endswith("…")
    assert full.startswith(short[:-1]) and full[len(short) - 1] == " ", (short, full)


@pytest.mark.parametrize("request_text", ["", "   \n\t "])
def test_an_empty_request_makes_no_call(request_text):
    for settings in (None, ModelSettings(tool_choice="required"), ModelSettings(tool_choice="get_alerts")):
        d = decide(None, request_text, tools=WEATHER_TOOLS, handoffs=[WEATHER_HANDOFF], model_settings=settings)
        assert d.kind == "final_text" and d.calls == ()
        assert d.text == "Your message is empty: what would you like to ask?"
    ran: list[str] = []
    result = run(Runner.run(_weather_agent(ran), request_text, run_config=RunConfig(model_provider=OfflineModelProvider())))
    assert ran == [] and result.final_output == "Your message is empty: what would you like to ask?"


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
        first = _call_model(OfflineModel(), inp, tools=_sdk_tools())
        # Other calls in between must not change anything (no counters, no queues).
        other = OfflineModel()
        _call_model(other, [user("forecast for 1, 2")], tools=_sdk_tools())
        second = _call_model(other, inp, tools=_sdk_tools())
        assert [i.model_dump() for i in first.output] == [i.model_dump() for i in second.output]
        assert first.response_id == second.response_id
        assert first.usage == second.usage
    # Tool call ids are non-empty and distinct within a turn.
    resp = _call_model(OfflineModel(), inputs[0], tools=_sdk_tools())
    ids = [i.call_id for i in resp.output]
    assert len(ids) == 2 and all(ids) and len(set(ids)) == 2


def test_usage_is_an_estimate_of_four_chars_per_token():
    resp = _call_model(OfflineModel(), [user("Alerts for CA")], tools=_sdk_tools())
    u = resp.usage
    assert isinstance(u, Usage)
    assert u.requests == 1
    assert u.total_tokens == u.input_tokens + u.output_tokens
    schema_chars = sum(len(json.dumps(t["parameters"])) for t in WEATHER_TOOLS)
    assert u.input_tokens >= schema_chars // 4 * 0.8
    assert 0 < u.output_tokens < 20


def test_simulated_latency(monkeypatch):
    monkeypatch.setenv("OFFLINE_MODEL_LATENCY", "0.2")
    model = OfflineModel()
    assert model.latency_s == 0.2
    t0 = time.perf_counter()
    _call_model(model, [user("hello")])
    assert time.perf_counter() - t0 >= 0.19
    assert OfflineModel(latency_s=0).latency_s == 0

    async def cancelled():
        task = asyncio.ensure_future(
            OfflineModel(latency_s=30).get_response(
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


# Speed is measured by `make bench` (ci/bench_offline_model.py), not asserted here: these machines are noisy.


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


def metered():
    """The offline model as the notebooks get it: through the switch, so the meter writes the ledger."""
    return choose_model("offline").provider()


def test_runner_calls_the_real_tool_and_answers_with_its_result(ledger_path):
    ran: list[str] = []
    agent = _weather_agent(ran)
    result = run(
        Runner.run(agent, "Any weather alerts in California?", run_config=RunConfig(model_provider=metered()))
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
    config = RunConfig(model_provider=metered())
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


def test_a_streamed_answer_comes_word_by_word_at_the_configured_pace(monkeypatch):
    ran: list[str] = []
    agent = _weather_agent(ran)

    async def streamed(provider):
        result = Runner.run_streamed(agent, "Alerts for CA", run_config=RunConfig(model_provider=provider))
        deltas, sequence = [], []
        async for event in result.stream_events():
            if event.type == "raw_response_event":
                sequence.append(event.data.sequence_number)
                if event.data.type == "response.output_text.delta":
                    deltas.append(event.data.delta)
        return result, deltas, sequence

    result, deltas, sequence = run(streamed(OfflineModelProvider(stream_pace_s=0)))
    assert len(deltas) > 10 and all(d.strip() and len(d.split()) == 1 for d in deltas)
    assert "".join(deltas) == result.final_output
    assert sequence[-1] > 10 and all(b == a + 1 for a, b in zip(sequence, sequence[1:]) if b)  # renumbered per response
    monkeypatch.setenv(om.STREAM_PACE_ENV_VAR, "0.25")
    assert OfflineModelProvider().get_model(None).stream_pace_s == 0.25
    monkeypatch.setenv(om.STREAM_PACE_ENV_VAR, "fast")
    assert OfflineModelProvider().get_model(None).stream_pace_s == om.DEFAULT_STREAM_PACE_S


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

    activity = ModelActivity(metered())
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
