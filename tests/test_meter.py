"""The model-call meter: one ledger line per model request, whatever model answers it."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from agents import Agent, ModelProvider, ModelResponse, ModelSettings, RunConfig, Runner
from agents.models.interface import Model, ModelTracing
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from agents.usage import Usage

from recipes.core.models import choose_model
from tutorial.ledger import Ledger
from tutorial.meter import MeteredModel, MeteredProvider, fingerprint, meter


@pytest.fixture
def ledger(tmp_path, monkeypatch):
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AGENT_MODEL_LEDGER", str(path))
    return Ledger(path)


def _usage(inp: int, out: int) -> Usage:
    return Usage(requests=1, input_tokens=inp, output_tokens=out, total_tokens=inp + out)


class _Failing(Model):
    def __init__(self, error: BaseException) -> None:
        self.error = error

    async def get_response(self, *args, **kwargs) -> ModelResponse:
        raise self.error

    async def stream_response(self, *args, **kwargs):  # pragma: no cover - not streamed here
        raise self.error
        yield


class _Hanging(Model):
    async def get_response(self, *args, **kwargs) -> ModelResponse:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    async def stream_response(self, *args, **kwargs):  # pragma: no cover
        yield


async def _call(model: Model, text: str = "Any weather alerts in California?", instructions: str = "You are a weather assistant."):
    return await model.get_response(instructions, text, ModelSettings(), [], None, [], ModelTracing.DISABLED,
                                    previous_response_id=None, conversation_id=None, prompt=None)  # fmt: skip


def test_a_tool_call_is_one_line_with_the_provider_usage(ledger):
    inner = ScriptedModel([ModelStep(output=[function_call("get_weather_alerts", {"state": "CA"}, call_id="call_1")], usage=_usage(120, 9))])
    metered = MeteredModel(inner, backend="openai-compatible", model_name="llama3.2")
    asyncio.run(_call(metered))
    [entry] = ledger.entries()
    assert entry["backend"] == "openai-compatible" and entry["model"] == "llama3.2"
    assert entry["kind"] == "tool_calls"
    assert entry["tool_calls"] == [{"name": "get_weather_alerts", "arguments": {"state": "CA"}}]
    assert (entry["input_tokens"], entry["output_tokens"], entry["tokens_source"]) == (120, 9, "provider")
    assert entry["outcome"] == "ok" and entry["error"] is None and entry["streamed"] is False
    assert entry["fingerprint"] == fingerprint("You are a weather assistant.", "Any weather alerts in California?")
    assert entry["request"] == "Any weather alerts in California?"
    assert entry["agent"] == "weather assistant" and entry["agent_source"] == "instructions"
    assert entry["workflow_id"] is None and entry["attempt"] is None


def test_the_same_request_has_the_same_fingerprint_and_another_does_not(ledger):
    steps = [ModelStep(output=[assistant_message("ok")], usage=_usage(5, 1)) for _ in range(3)]
    metered = MeteredModel(ScriptedModel(steps), backend="openai", model_name="m")
    asyncio.run(_call(metered, "Alerts in Texas?"))
    asyncio.run(_call(metered, "Alerts in Texas?"))
    asyncio.run(_call(metered, "Alerts in Ohio?"))
    prints = [e["fingerprint"] for e in ledger.entries()]
    assert prints[0] == prints[1] != prints[2]


def test_no_usage_means_an_estimate_and_the_line_says_so(ledger):
    inner = ScriptedModel([ModelStep(output=[assistant_message("There are no alerts.")], usage=Usage())])
    asyncio.run(_call(MeteredModel(inner, backend="openai-compatible", model_name="m")))
    [entry] = ledger.entries()
    assert entry["tokens_source"] == "estimate" and entry["input_tokens"] > 0 and entry["output_tokens"] > 0
    assert entry["kind"] == "final_text"


def test_the_offline_stand_ins_usage_is_recorded_as_an_estimate(ledger):
    provider = choose_model("offline").provider()
    asyncio.run(_call(provider.get_model(None)))
    [entry] = ledger.entries()
    assert entry["backend"] == "offline" and entry["tokens_source"] == "estimate"
    assert entry["kind"] == "final_text"  # no tools offered: it answers


def test_the_switch_meters_every_provider_through_the_tutorials_entry_point(ledger):
    """Core names no meter: the tutorial's ``meter`` entry point wraps what the switch hands out, whatever the backend."""
    for choice in (choose_model("offline"), choose_model("openai-compatible", "m", "http://127.0.0.1:9/v1")):
        provider = choice.provider()
        assert isinstance(provider, MeteredProvider), (choice.backend, provider)
        assert (provider.backend, provider.default_model) == (choice.backend, choice.model)


def test_a_ledger_of_its_own_replaces_the_switchs_meter_and_gets_the_one_line(ledger, tmp_path):
    choice = choose_model("offline")
    own = Ledger(tmp_path / "own.jsonl")
    provider = meter(choice.provider(), choice, ledger=own)
    assert not isinstance(provider.inner, MeteredProvider), "metered once, not twice"
    asyncio.run(_call(provider.get_model(None)))
    [entry] = own.entries()
    assert entry["backend"] == "offline" and entry["tokens_source"] == "estimate"
    assert ledger.entries() == [], "the default ledger got no line: the switch's meter was replaced"


def test_a_failed_request_is_recorded_and_the_error_still_raised(ledger):
    with pytest.raises(ConnectionError):
        asyncio.run(_call(MeteredModel(_Failing(ConnectionError("refused")), backend="openai", model_name="m")))
    [entry] = ledger.entries()
    assert entry["outcome"] == "error" and entry["error"] == "ConnectionError: refused"
    assert entry["kind"] == "none" and entry["tokens_source"] == "estimate" and entry["input_tokens"] > 0


def test_a_cancelled_request_is_recorded_as_cancelled(ledger):
    async def cancel_it():
        task = asyncio.create_task(_call(MeteredModel(_Hanging(), backend="openai", model_name="m")))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancel_it())
    [entry] = ledger.entries()
    assert entry["outcome"] == "cancelled"


def test_a_streamed_request_is_one_line_with_the_completed_events_usage(ledger):
    inner = ScriptedModel([ModelStep(output=[assistant_message("Two alerts in Texas.")], usage=_usage(40, 6))])
    agent = Agent(name="Streamer", instructions="Answer.")
    provider = MeteredProvider(_Fixed(inner), backend="openai", default_model="m")

    async def stream():
        result = Runner.run_streamed(agent, "Alerts in Texas?", run_config=RunConfig(model_provider=provider))
        async for _ in result.stream_events():
            pass
        return result.final_output

    assert asyncio.run(stream()) == "Two alerts in Texas."
    [entry] = ledger.entries()
    assert entry["streamed"] is True and entry["outcome"] == "ok"
    assert (entry["input_tokens"], entry["output_tokens"], entry["tokens_source"]) == (40, 6, "provider")
    assert entry["agent"] == "Streamer" and entry["agent_source"] == "trace"


class _Fixed(ModelProvider):
    """A provider that always hands out one model."""

    def __init__(self, model: Model) -> None:
        self.model = model

    def get_model(self, model_name):
        return self.model


def test_a_handoff_is_recorded_as_a_handoff(ledger):
    specialist = Agent(name="Weather assistant", instructions="Answer.")
    triage = Agent(name="Triage", instructions="Route.", handoffs=[specialist])
    inner = ScriptedModel([
        ModelStep(output=[function_call("transfer_to_weather_assistant", {}, call_id="call_2")], usage=_usage(10, 2)),
        ModelStep(output=[assistant_message("No alerts.")], usage=_usage(12, 3)),
    ])  # fmt: skip
    provider = MeteredProvider(_Fixed(inner), backend="openai", default_model="m")
    asyncio.run(Runner.run(triage, "Alerts in Ohio?", run_config=RunConfig(model_provider=provider)))
    first, second = ledger.entries()
    assert (first["kind"], first["agent"]) == ("handoff", "Triage")
    assert (second["kind"], second["agent"]) == ("final_text", "Weather assistant")


def test_inside_an_activity_the_line_names_the_workflow_activity_and_attempt(ledger):
    from temporalio import activity
    from temporalio.testing import ActivityEnvironment

    inner = ScriptedModel([ModelStep(output=[assistant_message("ok")], usage=_usage(3, 1))])
    metered = MeteredModel(inner, backend="openai", model_name="m")

    @activity.defn
    async def model_call() -> None:
        await _call(metered)

    env = ActivityEnvironment()
    env.info = dataclasses.replace(env.info, workflow_id="wf-1", activity_id="7", attempt=2)
    asyncio.run(env.run(model_call))
    [entry] = ledger.entries()
    assert (entry["workflow_id"], entry["activity_id"], entry["attempt"]) == ("wf-1", "7", 2)


def test_the_meter_can_be_switched_off(monkeypatch):
    monkeypatch.setenv("AGENT_MODEL_LEDGER", "off")
    default = Ledger()
    before = default.mark()
    inner = ScriptedModel([ModelStep(output=[assistant_message("ok")], usage=_usage(3, 1))])
    asyncio.run(_call(MeteredModel(inner, backend="openai", model_name="m")))
    assert default.mark() == before


def test_a_long_request_is_shortened_at_a_word_boundary(ledger):
    inner = ScriptedModel([ModelStep(output=[assistant_message("ok")], usage=_usage(3, 1))])
    text = "Any weather alerts for " + " ".join(["Massachusetts"] * 40)
    asyncio.run(_call(MeteredModel(inner, backend="openai", model_name="m"), text))
    [entry] = ledger.entries()
    assert entry["request"].endswith("Massachusetts…") and len(entry["request"]) <= 200
