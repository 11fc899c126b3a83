"""The plain agent (no Temporal, so no server here) with the model scripted by the Agents SDK's own
``ScriptedModel``: the loop a tool call makes, the guardrail that stops an off-topic question before the model
answers, and the triage agent's handoff. The weather service's request is replaced; nothing touches a network."""

from __future__ import annotations

import pytest
from agents import InputGuardrailTripwireTriggered, RunConfig, Runner
from agents.testing import ScriptedModel, assistant_message, function_call

import recipes.plain_agent.weather_agent as weather_agent
from recipes.plain_agent.loop import loop_steps
from recipes.plain_agent.weather_agent import build_triage_agent, build_weather_agent

TEXAS = {"features": [{"properties": {"event": "Heat Advisory", "severity": "Moderate", "urgency": "Expected",
                                      "areaDesc": "Travis", "headline": "Heat Advisory until 8 PM"}}]}  # fmt: skip


@pytest.fixture(autouse=True)
def weather_service(monkeypatch) -> list[str]:
    asked: list[str] = []

    async def fetched(state: str) -> dict:
        asked.append(state)
        return TEXAS

    monkeypatch.setattr(weather_agent, "fetch_alerts", fetched)
    return asked


def run(agent, model: ScriptedModel, question: str):
    return Runner.run(agent, question, run_config=RunConfig(model=model, tracing_disabled=True))


@pytest.mark.asyncio
async def test_the_loop_calls_the_tool_feeds_its_output_back_and_answers(weather_service):
    model = ScriptedModel([[function_call("get_weather_alerts", {"state": "texas"}, call_id="call-1")],
                           [assistant_message("A heat advisory in Travis county.")]])  # fmt: skip
    result = await run(build_weather_agent(), model, "Any weather alerts in Texas?")
    assert weather_service == ["TX"], "the tool turned the state's name into its code before the request"
    assert [kind for _, kind, _ in loop_steps(result)] == ["tool call", "tool output", "answer"], loop_steps(result)
    assert loop_steps(result)[1][2].startswith("1 active weather alert for TX") and len(model.calls) == 2


@pytest.mark.asyncio
async def test_an_off_topic_question_trips_the_guardrail_and_no_tool_runs(weather_service):
    model = ScriptedModel([[function_call("get_weather_alerts", {"state": "TX"}, call_id="call-1")],
                           [assistant_message("Here is a poem.")]])  # fmt: skip
    with pytest.raises(InputGuardrailTripwireTriggered) as tripped:
        await run(build_weather_agent(), model, "Write me a poem about cats.")
    assert tripped.value.guardrail_result.output.output_info["on_topic"] is False
    assert weather_service == [], "the run stopped before any tool ran"


@pytest.mark.asyncio
async def test_triage_hands_the_question_to_the_weather_assistant_who_answers():
    model = ScriptedModel([[function_call("transfer_to_weather_assistant", {}, call_id="call-1")],
                           [assistant_message("No alerts that matter today.")]])  # fmt: skip
    result = await run(build_triage_agent(), model, "Any weather alerts in Texas?")
    assert result.last_agent.name == "Weather assistant" and result.final_output == "No alerts that matter today."
    assert [(agent, kind) for agent, kind, _ in loop_steps(result)][:2] == [("Triage", "handoff"), ("Triage", "handoff done")]
