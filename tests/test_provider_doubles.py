"""The model double's Anthropic and Gemini wire formats, driven by LiteLLM (the real client code).

``litellm.acompletion`` and the Agents SDK's ``LitellmModel`` talk to an in-thread
double through their base-URL setting, exactly as they would talk to Anthropic
(``anthropic/double-1``, ``api_base`` = the root URL) and to Google AI Studio
(``gemini/double-1``, ``api_base`` = ``.../v1beta``). Raw-HTTP tests pin the JSON
and SSE shapes; one process test covers the handle. No network, no key.

What these tests pin about LiteLLM 1.110.2 (so a change in it shows up here):
a 429's ``retry-after`` survives only on ``exc.litellm_response_headers``, not on
``exc.response.headers``; Anthropic's 529 becomes ``InternalServerError`` with
``status_code`` 500; Gemini's 503 ("The model is overloaded.") becomes
``InternalServerError`` 500 too; a 429 at the start of a Gemini stream becomes
``MidStreamFallbackError``; an ``output_type`` (response_format) is forced on
Anthropic through a ``json_tool_call`` tool, so tools are not called alongside it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from collections.abc import Iterator
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # before litellm is imported: no cost-map fetch

import httpx
import pytest
from agents import Agent, RunConfig, Runner, function_tool
from pydantic import BaseModel

from tutorial.model_double import ModelDouble, serving



def _litellm():
    """LiteLLM, imported by the tests that use it: at module level every test process would pay its
    seconds of import while collecting, whichever tests it then runs."""
    import litellm

    litellm.suppress_debug_info = True  # no "Provider List" banner per call for a model it does not know
    return litellm
pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")  # pydantic on LiteLLM's own types

PROVIDERS = ["anthropic", "gemini"]
KEY = "fake-key-for-the-provider-double"  # the double requires it; it opens nothing else
PACE_S = 0.001
ANTHROPIC_HEADERS = {"x-api-key": KEY, "anthropic-version": "2023-06-01"}
GEMINI_HEADERS = {"x-goog-api-key": KEY}

ALERTS_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather_alerts",
        "description": "Get active weather alerts (warnings, watches, advisories) for a US state.",
        "parameters": {
            "type": "object",
            "properties": {"state": {"type": "string", "description": "Two-letter US state code, e.g. CA or TX."}},
            "required": ["state"],
        },
    },
}
ASK_TX = [
    {"role": "system", "content": "You answer weather questions with get_weather_alerts."},
    {"role": "user", "content": "Any weather alerts in Texas?"},
]
TX_RESULT = "Heat Advisory for Harris County until 9 PM CDT."
CALLS: list[dict[str, Any]] = []


@function_tool
async def get_weather_alerts(state: str) -> str:
    """Get active weather alerts (warnings, watches, advisories) for a US state.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    CALLS.append({"state": state})
    return f"Heat Advisory in {state} until 9 PM."


class Brief(BaseModel):
    state: str
    summary: str


# --------------------------------------------------------------------------- fixtures and helpers


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with serving(api_key=KEY, stream_pace_s=PACE_S) as srv:
        yield srv


@pytest.fixture(autouse=True)
def clean(request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """A fresh request log per test; the Agents SDK must log no warning about the double's replies."""
    CALLS.clear()
    if "server" in request.fixturenames:
        request.getfixturevalue("server").state.reset(clear_log=True)
    caplog.set_level(logging.WARNING, logger="openai.agents")
    yield
    warnings = [r.getMessage() for r in caplog.records if r.name.startswith("openai") and r.levelno >= logging.WARNING]
    assert not warnings, warnings


def base(server: Any, provider: str) -> str:
    return server.root if provider == "anthropic" else server.gemini_url


def complete(server: Any, provider: str, messages: list[dict[str, Any]], *, key: str = KEY, **kwargs: Any) -> Any:
    """``litellm.acompletion`` against the double; a stream is read to the end (its chunks returned)."""

    async def go() -> Any:
        response = await _litellm().acompletion(model=f"{provider}/double-1", api_base=base(server, provider),
                                                api_key=key, num_retries=0, messages=messages, **kwargs)  # fmt: skip
        if kwargs.get("stream"):
            return [chunk async for chunk in response]
        return response

    return asyncio.run(go())


def failure(server: Any, provider: str, messages: list[dict[str, Any]], **kwargs: Any) -> Exception:
    with pytest.raises(Exception) as raised:
        complete(server, provider, messages, **kwargs)
    return raised.value


def model(server: Any, provider: str) -> Any:
    from agents.extensions.models.litellm_model import LitellmModel

    _litellm()
    return LitellmModel(f"{provider}/double-1", base_url=base(server, provider), api_key=KEY)


def run_agent(agent: Agent, prompt: str) -> Any:
    return asyncio.run(Runner.run(agent, prompt, run_config=RunConfig(tracing_disabled=True)))


def sse(response: httpx.Response) -> list[tuple[str | None, dict[str, Any]]]:
    """(event name, data) per server-sent event."""
    events = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines.get("event"), json.loads(lines["data"])))
    return events


# --------------------------------------------------------------------------- through LiteLLM: answers


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_text_answer_with_usage(server: Any, provider: str) -> None:
    response = complete(server, provider, [{"role": "user", "content": "Hello! What can you do?"}])
    choice = response.choices[0]
    assert "test double" in choice.message.content and "not a language model" in choice.message.content
    assert choice.finish_reason == "stop" and not choice.message.tool_calls
    usage = response.usage
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    [entry] = server.state.requests()
    assert (entry["api"], entry["model"], entry["auth"], entry["decision"]) == (provider, "double-1", "ok", "text")
    assert entry["usage"] == {"input_tokens": usage.prompt_tokens, "output_tokens": usage.completion_tokens}


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_tool_call_then_an_answer_from_its_result(server: Any, provider: str) -> None:
    first = complete(server, provider, ASK_TX, tools=[ALERTS_TOOL])
    message = first.choices[0].message
    [call] = message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert (call.function.name, json.loads(call.function.arguments)) == ("get_weather_alerts", {"state": "TX"})
    history = [*ASK_TX, message.model_dump(exclude_none=True), {"role": "tool", "tool_call_id": call.id,
                                                                "content": TX_RESULT}]  # fmt: skip
    final = complete(server, provider, history, tools=[ALERTS_TOOL])
    assert final.choices[0].finish_reason == "stop"
    assert TX_RESULT in final.choices[0].message.content
    entries = server.state.requests()
    assert [(e["decision"], e["tools"]) for e in entries] == [("tool_call", ["get_weather_alerts"]),
                                                              ("text", ["get_weather_alerts"])]  # fmt: skip
    assert entries[1]["reason"] == "answer from 1 tool result(s)"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_streamed_text_arrives_in_pieces_with_usage(server: Any, provider: str) -> None:
    messages = [{"role": "user", "content": "Hello! What can you do?"}]
    chunks = complete(server, provider, messages, stream=True, stream_options={"include_usage": True})
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 5
    whole = complete(server, provider, messages).choices[0].message.content
    assert "".join(pieces) == whole
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["stop"]
    [usage] = [c.usage for c in chunks if getattr(c, "usage", None)]
    assert usage.prompt_tokens > 0 and usage.completion_tokens > 0
    assert server.state.requests()[0]["stream"] is True


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_streamed_tool_call_reassembles_to_json(server: Any, provider: str) -> None:
    chunks = complete(server, provider, ASK_TX, tools=[ALERTS_TOOL], stream=True)
    parts = [call for c in chunks if c.choices for call in c.choices[0].delta.tool_calls or []]
    assert {p.function.name for p in parts if p.function.name} == {"get_weather_alerts"}
    assert len({p.id for p in parts if p.id}) == 1
    pieces = [p.function.arguments for p in parts if p.function.arguments]
    assert json.loads("".join(pieces)) == {"state": "TX"}
    # Anthropic streams the JSON in input_json_delta pieces; Gemini sends a function call whole.
    assert len(pieces) > 1 if provider == "anthropic" else len(pieces) == 1
    assert [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason] == ["tool_calls"]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_response_format_gets_json_for_the_schema(server: Any, provider: str) -> None:
    messages = [{"role": "user", "content": "A brief for TX please"}]
    response = complete(server, provider, messages, response_format=Brief)
    assert Brief.model_validate_json(response.choices[0].message.content).state == "TX"
    [entry] = server.state.requests()
    assert entry["decision"] == "json"
    if provider == "anthropic":  # LiteLLM sends the schema as a forced tool and reads its input back as text
        assert entry["tools"] == ["json_tool_call"]
        assert entry["tool_choice"] == {"type": "tool", "name": "json_tool_call"}


# --------------------------------------------------------------------------- through LiteLLM: errors


@pytest.mark.parametrize("provider", PROVIDERS)
def test_a_wrong_key_is_an_authentication_error_not_retried(server: Any, provider: str) -> None:
    error = failure(server, provider, [{"role": "user", "content": "Hi"}], key="sk-wrong")
    assert isinstance(error, _litellm().AuthenticationError) and error.status_code == 401
    # Google answers a wrong key with HTTP 400 INVALID_ARGUMENT; LiteLLM maps its message to a 401.
    [entry] = server.state.requests()
    assert (entry["auth"], entry["status"]) == ("wrong", 401 if provider == "anthropic" else 400)


FAULTS = [  # provider, injected status, streamed, the class LiteLLM raises (litellm.exceptions), its status_code
    ("anthropic", 429, False, "RateLimitError", 429),
    ("anthropic", 429, True, "RateLimitError", 429),
    ("anthropic", 500, False, "InternalServerError", 500),
    ("anthropic", 503, False, "ServiceUnavailableError", 503),
    ("anthropic", 529, False, "InternalServerError", 500),  # provider_status_code keeps the 529
    ("gemini", 429, False, "RateLimitError", 429),
    ("gemini", 429, True, "MidStreamFallbackError", 429),  # wraps the RateLimitError
    ("gemini", 500, False, "InternalServerError", 500),
    ("gemini", 503, False, "InternalServerError", 500),  # "The model is overloaded." -> 500
]


@pytest.mark.parametrize(("provider", "status", "stream", "raised", "status_code"), FAULTS)
def test_injected_faults_map_to_litellms_errors(
    server: Any, provider: str, status: int, stream: bool, raised: str, status_code: int
) -> None:
    server.state.add_faults(1, {"kind": "error", "status": status, "retry_after_s": 7})
    error = failure(server, provider, [{"role": "user", "content": "Hi"}], stream=stream)
    exceptions = _litellm().exceptions
    assert type(error) is getattr(exceptions, raised) and error.status_code == status_code
    if status == 529:
        assert error.provider_status_code == 529
    if stream and provider == "gemini":
        assert isinstance(error.original_exception, exceptions.RateLimitError)
    # Retry-After reaches LiteLLM but only survives on litellm_response_headers: the error's .response is
    # one LiteLLM makes up, so an OpenAI-style reader of exc.response.headers (Temporal's model activity,
    # the Agents SDK's retry advice) does not see it.
    assert error.litellm_response_headers["retry-after"] == "7"
    assert "retry-after" not in error.response.headers
    [entry] = server.state.requests()  # not retried
    assert (entry["status"], entry["fault"], entry["api"]) == (status, "error", provider)
    assert complete(server, provider, [{"role": "user", "content": "Hi"}]).choices[0].finish_reason == "stop"


# --------------------------------------------------------------------------- the Agents SDK over LiteLLM


@pytest.mark.parametrize("provider", PROVIDERS)
def test_agent_two_states_one_call_per_response_then_both_in_the_answer(server: Any, provider: str) -> None:
    agent = Agent(name="Weather", instructions="Answer weather questions with get_weather_alerts.",
                  tools=[get_weather_alerts], model=model(server, provider))  # fmt: skip
    result = run_agent(agent, "Are there any weather alerts in California and Texas?")
    assert CALLS == [{"state": "CA"}, {"state": "TX"}]
    assert len(result.raw_responses) == 3
    assert "Heat Advisory in CA" in result.final_output and "Heat Advisory in TX" in result.final_output


@pytest.mark.parametrize("provider", PROVIDERS)
def test_agent_streamed_text_grows_and_equals_the_output(server: Any, provider: str) -> None:
    agent = Agent(name="Weather", instructions="Answer weather questions with get_weather_alerts.",
                  tools=[get_weather_alerts], model=model(server, provider))  # fmt: skip

    async def go() -> tuple[Any, list[str]]:
        result = Runner.run_streamed(agent, "Any weather alerts in Texas?", run_config=RunConfig(tracing_disabled=True))
        deltas = [e.data.delta async for e in result.stream_events()
                  if e.type == "raw_response_event" and e.data.type == "response.output_text.delta"]  # fmt: skip
        return result, deltas

    result, deltas = asyncio.run(go())
    assert CALLS == [{"state": "TX"}]
    assert len(deltas) >= 5 and "".join(deltas) == result.final_output
    assert [e["stream"] for e in server.state.requests()] == [True, True]


@pytest.mark.parametrize("provider", PROVIDERS)
def test_agent_output_type(server: Any, provider: str) -> None:
    agent = Agent(name="Brief", instructions="Write a weather brief.", output_type=Brief, model=model(server, provider))
    result = run_agent(agent, "A weather brief for TX please")
    assert isinstance(result.final_output, Brief) and result.final_output.state == "TX"


@pytest.mark.parametrize("provider", PROVIDERS)
def test_agent_output_type_with_tools(server: Any, provider: str) -> None:
    agent = Agent(name="Brief", instructions="Write a weather brief from get_weather_alerts.", output_type=Brief,
                  tools=[get_weather_alerts], model=model(server, provider))  # fmt: skip
    result = run_agent(agent, "A weather alerts brief for TX please")
    assert isinstance(result.final_output, Brief) and result.final_output.state == "TX"
    if provider == "anthropic":  # LiteLLM forces json_tool_call: a real Claude could not call the tool either
        assert CALLS == [] and len(result.raw_responses) == 1
    else:
        assert CALLS == [{"state": "TX"}] and "Heat Advisory in TX" in result.final_output.summary


def test_gemini_instructions_merged_into_the_user_turn_are_not_the_request(server: Any) -> None:
    """LiteLLM puts the system prompt of a model it does not know in the first user turn: its
    example state must not become a second call."""
    agent = Agent(name="Weather", instructions="Use get_weather_alerts, e.g. for CA or NY.",
                  tools=[get_weather_alerts], model=model(server, "gemini"))  # fmt: skip
    run_agent(agent, "Any weather alerts in Texas?")
    assert CALLS == [{"state": "TX"}]


# --------------------------------------------------------------------------- raw HTTP: Anthropic


ALERTS_ANTHROPIC = {"name": "get_weather_alerts", "description": "Active weather alerts for a US state.",
                    "input_schema": ALERTS_TOOL["function"]["parameters"]}  # fmt: skip


def test_anthropic_message_shape(server: Any) -> None:
    body = {"model": "double-1", "max_tokens": 256, "system": [{"type": "text", "text": "Use the tool."}],
            "messages": [{"role": "user", "content": "Any weather alerts in Texas?"}],
            "tools": [ALERTS_ANTHROPIC]}  # fmt: skip
    response = httpx.post(f"{server.root}/v1/messages", json=body, headers=ANTHROPIC_HEADERS)
    assert response.status_code == 200 and response.headers["request-id"].startswith("req_")
    assert "not a language model" in response.headers["x-model-double"]
    message = response.json()
    assert set(message) == {"id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"}
    assert message["id"].startswith("msg_") and (message["type"], message["role"]) == ("message", "assistant")
    [block] = message["content"]
    assert block["type"] == "tool_use" and block["id"].startswith("toolu_")
    assert (block["name"], block["input"]) == ("get_weather_alerts", {"state": "TX"})
    assert (message["stop_reason"], message["stop_sequence"]) == ("tool_use", None)
    assert message["usage"]["input_tokens"] > 0 and message["usage"]["output_tokens"] > 0


def test_anthropic_stream_events(server: Any) -> None:
    body = {"model": "double-1", "max_tokens": 256, "stream": True,
            "messages": [{"role": "user", "content": "Hello! What can you do?"}]}  # fmt: skip
    with httpx.stream("POST", f"{server.root}/v1/messages", json=body, headers=ANTHROPIC_HEADERS) as response:
        response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    events = sse(response)
    assert all(name == data["type"] for name, data in events)
    names = [name for name, _ in events]
    deltas = [data["delta"] for name, data in events if name == "content_block_delta"]
    assert names == ["message_start", "content_block_start", "ping", *["content_block_delta"] * len(deltas),
                     "content_block_stop", "message_delta", "message_stop"]  # fmt: skip
    assert len(deltas) >= 5 and all(d["type"] == "text_delta" for d in deltas)
    start = events[0][1]["message"]
    assert start["content"] == [] and start["stop_reason"] is None and start["usage"]["input_tokens"] > 0
    assert events[1][1]["content_block"] == {"type": "text", "text": ""}
    end = events[-2][1]
    assert end["delta"] == {"stop_reason": "end_turn", "stop_sequence": None} and end["usage"]["output_tokens"] > 0
    assert "test double" in "".join(d["text"] for d in deltas)


def test_anthropic_streamed_tool_use_and_a_result_block(server: Any) -> None:
    ask = {"model": "double-1", "max_tokens": 256, "stream": True, "tools": [ALERTS_ANTHROPIC],
           "tool_choice": {"type": "any"},
           "messages": [{"role": "user", "content": [{"type": "text", "text": "Weather alerts for TX?"}]}]}  # fmt: skip
    with httpx.stream("POST", f"{server.root}/v1/messages", json=ask, headers=ANTHROPIC_HEADERS) as response:
        response.read()
    events = sse(response)
    block = events[1][1]["content_block"]
    assert (block["type"], block["name"], block["input"]) == ("tool_use", "get_weather_alerts", {})
    pieces = [d["delta"]["partial_json"] for n, d in events if n == "content_block_delta"]
    assert pieces[0] == "" and len(pieces) > 2 and json.loads("".join(pieces)) == {"state": "TX"}
    assert events[-2][1]["delta"]["stop_reason"] == "tool_use"
    answer = {**ask, "stream": False, "tool_choice": {"type": "auto"}, "messages": [
        *ask["messages"],
        {"role": "assistant", "content": [{"type": "tool_use", "id": block["id"], "name": block["name"],
                                           "input": {"state": "TX"}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": block["id"], "is_error": True,
                                      "content": [{"type": "text", "text": "NWS timed out"}]}]},
    ]}  # fmt: skip
    reply = httpx.post(f"{server.root}/v1/messages", json=answer, headers=ANTHROPIC_HEADERS).json()
    assert reply["stop_reason"] == "end_turn"
    assert "I could not get that: NWS timed out" in reply["content"][0]["text"]  # is_error read as an error


def test_anthropic_structured_output_as_litellm_sends_it_and_natively(server: Any) -> None:
    schema = {"type": "object", "properties": {"state": {"type": "string"}}, "required": ["state"]}
    ask = {"model": "double-1", "max_tokens": 256, "messages": [{"role": "user", "content": "A brief for TX"}]}
    forced = {**ask, "tools": [{"name": "json_tool_call", "input_schema": schema}, ALERTS_ANTHROPIC],
              "tool_choice": {"type": "tool", "name": "json_tool_call"}}  # fmt: skip
    message = httpx.post(f"{server.root}/v1/messages", json=forced, headers=ANTHROPIC_HEADERS).json()
    [block] = message["content"]
    assert (block["type"], block["name"], block["input"]) == ("tool_use", "json_tool_call", {"state": "TX"})
    assert message["stop_reason"] == "tool_use"
    native = {**ask, "output_format": {"type": "json_schema", "schema": schema}}
    message = httpx.post(f"{server.root}/v1/messages", json=native, headers=ANTHROPIC_HEADERS).json()
    assert message["content"] == [{"type": "text", "text": '{"state": "TX"}'}] and message["stop_reason"] == "end_turn"


def test_anthropic_errors(server: Any) -> None:
    url, hello = f"{server.root}/v1/messages", [{"role": "user", "content": "Hi"}]
    missing = httpx.post(url, json={"model": "m", "max_tokens": 9, "messages": hello},
                         headers={"anthropic-version": "2023-06-01"})  # fmt: skip
    assert missing.status_code == 401
    assert missing.json()["type"] == "error" and missing.json()["error"]["type"] == "authentication_error"
    no_limit = httpx.post(url, json={"model": "m", "messages": hello}, headers=ANTHROPIC_HEADERS)
    assert no_limit.status_code == 400 and no_limit.json()["error"] == {
        "type": "invalid_request_error", "message": "max_tokens: Field required"}  # fmt: skip
    no_version = httpx.post(url, json={"model": "m", "max_tokens": 9, "messages": hello}, headers={"x-api-key": KEY})
    assert no_version.status_code == 400 and "anthropic-version" in no_version.json()["error"]["message"]
    server.state.add_faults(1, {"kind": "error", "status": 529, "retry_after_s": 4})
    overloaded = httpx.post(url, json={"model": "m", "max_tokens": 9, "messages": hello}, headers=ANTHROPIC_HEADERS)
    assert overloaded.status_code == 529 and overloaded.headers["retry-after"] == "4"
    assert overloaded.json()["error"]["type"] == "overloaded_error"
    unknown = httpx.post(f"{url}/count_tokens", json={}, headers=ANTHROPIC_HEADERS)
    assert unknown.status_code == 404 and unknown.json()["error"]["type"] == "not_found_error"
    assert [e["status"] for e in server.state.requests()] == [401, 400, 400, 529]


# --------------------------------------------------------------------------- raw HTTP: Gemini

GEMINI_TOOLS = [{"functionDeclarations": [{"name": "get_weather_alerts", "description": "Weather alerts for a state.",
                                           "parameters": {"type": "OBJECT", "properties": {"state": {"type": "STRING"}},
                                                          "required": ["state"]}}]}]  # fmt: skip


def test_gemini_generate_content_shape(server: Any) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "Any weather alerts in Texas?"}]}], "tools": GEMINI_TOOLS,
            "systemInstruction": {"parts": [{"text": "Use get_weather_alerts."}]}}  # fmt: skip
    url = f"{server.gemini_url}/models/double-1:generateContent"
    response = httpx.post(url, json=body, headers=GEMINI_HEADERS)
    assert response.status_code == 200 and response.headers["content-type"] == "application/json; charset=UTF-8"
    reply = response.json()
    assert set(reply) == {"candidates", "usageMetadata", "modelVersion", "responseId"}
    [candidate] = reply["candidates"]
    assert (candidate["finishReason"], candidate["index"], candidate["content"]["role"]) == ("STOP", 0, "model")
    assert candidate["content"]["parts"] == [{"functionCall": {"name": "get_weather_alerts", "args": {"state": "TX"}}}]
    usage = reply["usageMetadata"]
    assert usage["totalTokenCount"] == usage["promptTokenCount"] + usage["candidatesTokenCount"] > 0
    assert reply["modelVersion"] == "double-1"


def test_gemini_sse_chunks(server: Any) -> None:
    body = {"contents": [{"role": "user", "parts": [{"text": "Hello! What can you do?"}]}]}
    url = f"{server.gemini_url}/models/double-1:streamGenerateContent?alt=sse"
    with httpx.stream("POST", url, json=body, headers=GEMINI_HEADERS) as response:
        response.read()
    assert response.headers["content-type"].startswith("text/event-stream")
    assert "event:" not in response.text and response.text.startswith("data: ")
    chunks = [data for _, data in sse(response)]
    assert len(chunks) >= 5
    *middle, last = chunks
    assert all("finishReason" not in c["candidates"][0] and "usageMetadata" not in c for c in middle)
    assert last["candidates"][0]["finishReason"] == "STOP" and last["usageMetadata"]["candidatesTokenCount"] > 0
    text = "".join(p["text"] for c in chunks for p in c["candidates"][0]["content"]["parts"])
    assert "test double" in text
    assert len({c["responseId"] for c in chunks}) == 1
    as_array = httpx.post(url.replace("?alt=sse", ""), json=body, headers=GEMINI_HEADERS).json()
    assert isinstance(as_array, list) and as_array[-1]["candidates"][0]["finishReason"] == "STOP"


def test_gemini_calls_without_ids_pair_with_their_results_by_name_and_order(server: Any) -> None:
    def call(state: str) -> dict[str, Any]:
        return {"functionCall": {"name": "get_weather_alerts", "args": {"state": state}}}

    def result(text: str) -> dict[str, Any]:
        return {"functionResponse": {"name": "get_weather_alerts", "response": {"output": text}}}

    body = {"tools": GEMINI_TOOLS, "contents": [
        {"role": "user", "parts": [{"text": "Any weather alerts in California and Texas?"}]},
        {"role": "model", "parts": [call("CA"), call("TX")]},  # two calls in one turn: answered in their order
        {"role": "user", "parts": [result("Wind Advisory in CA."), result("Heat Advisory in TX.")]},
    ]}  # fmt: skip
    url = f"{server.gemini_url}/models/double-1:generateContent?key={KEY}"  # the key as a query parameter
    reply = httpx.post(url, json=body).json()
    text = reply["candidates"][0]["content"]["parts"][0]["text"]
    assert "(CA): Wind Advisory in CA." in text and "(TX): Heat Advisory in TX." in text
    [entry] = server.state.requests()
    assert (entry["auth"], entry["reason"]) == ("ok", "answer from 2 tool result(s)")


def test_gemini_structured_output_from_an_openapi_schema(server: Any) -> None:
    schema = {"type": "OBJECT", "properties": {"state": {"type": "STRING"}, "count": {"type": "INTEGER"}},
              "propertyOrdering": ["state", "count"]}  # fmt: skip
    body = {"contents": [{"parts": [{"text": "How many alerts in TX? Say 3."}]}],
            "generationConfig": {"responseMimeType": "application/json", "responseSchema": schema}}  # fmt: skip
    reply = httpx.post(f"{server.gemini_url}/models/double-1:generateContent", json=body, headers=GEMINI_HEADERS)
    assert json.loads(reply.json()["candidates"][0]["content"]["parts"][0]["text"]) == {"state": "TX", "count": 3}


def test_gemini_errors(server: Any) -> None:
    url = f"{server.gemini_url}/models/double-1:generateContent"
    body = {"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]}
    missing = httpx.post(url, json=body)
    assert missing.status_code == 403 and missing.json()["error"]["status"] == "PERMISSION_DENIED"
    wrong = httpx.post(url, json=body, headers={"x-goog-api-key": "AIza-wrong"})
    error = wrong.json()["error"]
    assert wrong.status_code == 400 and (error["code"], error["status"]) == (400, "INVALID_ARGUMENT")
    assert error["message"] == "API key not valid. Please pass a valid API key."
    assert error["details"][0]["reason"] == "API_KEY_INVALID"
    server.state.add_faults(1, {"kind": "error", "status": 429, "retry_after_s": 5})
    limited = httpx.post(url, json=body, headers=GEMINI_HEADERS)
    error = limited.json()["error"]
    assert limited.status_code == 429 and limited.headers["retry-after"] == "5"
    assert (error["code"], error["status"]) == (429, "RESOURCE_EXHAUSTED")
    assert error["details"] == [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "5s"}]
    server.state.add_faults(1, {"kind": "error", "status": 503, "retry_after_s": None})
    unavailable = httpx.post(url, json=body, headers=GEMINI_HEADERS)
    assert unavailable.json()["error"]["status"] == "UNAVAILABLE" and "retry-after" not in unavailable.headers
    empty = httpx.post(url, json={}, headers=GEMINI_HEADERS)
    assert empty.status_code == 400 and empty.json()["error"]["status"] == "INVALID_ARGUMENT"
    unknown = httpx.get(f"{server.gemini_url}/models", headers=GEMINI_HEADERS)
    assert unknown.status_code == 404 and unknown.json()["error"]["status"] == "NOT_FOUND"
    assert [e["auth"] for e in server.state.requests()] == ["missing", "wrong", "ok", "ok", "ok"]


# --------------------------------------------------------------------------- the process: handle, env, key


def test_handle_env_per_provider_and_no_trace_of_the_key(tmp_path: Any) -> None:
    log = tmp_path / "double.log"
    with ModelDouble.start(api_key=KEY, log_path=log) as double:
        port = double.root.rsplit(":", 1)[1]
        anthropic_env = double.env(provider="anthropic")
        gemini_env = double.env(provider="gemini")
        assert anthropic_env == {"LITELLM_MODEL": "anthropic/double-1", "LITELLM_API_BASE": f"http://127.0.0.1:{port}",
                                 "ANTHROPIC_API_KEY": KEY}  # fmt: skip
        assert gemini_env == {"LITELLM_MODEL": "gemini/double-1",
                              "LITELLM_API_BASE": f"http://127.0.0.1:{port}/v1beta", "GEMINI_API_KEY": KEY}  # fmt: skip
        assert double.env()["OPENAI_BASE_URL"] == double.url == f"{double.root}/v1"
        with pytest.raises(ValueError):
            double.env(provider="cohere")
        hello = [{"role": "user", "content": "Hello!"}]
        for env, key in ((anthropic_env, "ANTHROPIC_API_KEY"), (gemini_env, "GEMINI_API_KEY")):
            reply = asyncio.run(_litellm().acompletion(model=env["LITELLM_MODEL"], api_base=env["LITELLM_API_BASE"],
                                                       api_key=env[key], num_retries=0, messages=hello))  # fmt: skip
            assert "test double" in reply.choices[0].message.content
        double.fail_next(1, status=429, retry_after_s=3)
        limited = httpx.post(f"{double.gemini_url}/models/double-1:generateContent?key={KEY}",
                             json={"contents": [{"parts": [{"text": "Hi"}]}]})  # fmt: skip
        assert limited.status_code == 429 and limited.headers["retry-after"] == "3"
        assert limited.json()["error"]["status"] == "RESOURCE_EXHAUSTED"
        entries = double.requests()
        assert [(e["api"], e["auth"], e["status"]) for e in entries] == [
            ("anthropic", "ok", 200), ("gemini", "ok", 200), ("gemini", "ok", 429)]  # fmt: skip
        assert KEY not in json.dumps(entries) and KEY not in json.dumps(double.state())
    text = log.read_text()
    assert "POST /v1/messages" in text and "POST /v1beta/models/double-1:generateContent?key=***" in text
    assert KEY not in text
