"""The chaining recipe: three ways to join small agents -- workflow code, a handoff, agents as
tools -- end to end (offline model, local NWS service, a real Temporal server, a worker in this
process), and the routing words the offline stand-in model relies on (no server)."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import timedelta

import pytest
from agents import AgentOutputSchema, handoff
from temporalio.client import Client
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin

from recipes.chaining import team
from recipes.chaining.starter import start_pattern
from recipes.chaining.worker import build_worker
from tutorial.evidence import agent_sequence, agent_trace, first_model_input
from tutorial.history import activity_steps, fetch_history, model_and_tool_sequence
from tutorial.offline_model import OfflineModelProvider, decide


def plugin() -> OpenAIAgentsPlugin:
    return OpenAIAgentsPlugin(
        model_provider=OfflineModelProvider(),
        model_params=ModelActivityParameters(start_to_close_timeout=timedelta(seconds=30)),
    )


def with_worker(address: str, scenario):
    """Run ``scenario(client, queue)`` with the recipe's worker on a fresh task queue."""

    async def main():
        client = await Client.connect(address, plugins=[plugin()])
        queue = f"test-chaining-{uuid.uuid4().hex[:8]}"
        async with build_worker(client, task_queue=queue):
            return await asyncio.wait_for(scenario(client, queue), timeout=60)

    return asyncio.run(main())


async def _pattern(client, queue, pattern, question):
    handle = await start_pattern(client, pattern, question, task_queue=queue)
    answer = await handle.result()
    return answer, await fetch_history(handle)


def test_chaining_runs_two_loops_joined_by_workflow_code(temporal_server, weather):
    answer, history = with_worker(
        temporal_server.address,
        lambda c, q: _pattern(c, q, "chain", "Are there any weather alerts in Texas? We drive there tonight."),
    )
    assert answer.extracted == {"state": "TX", "topic": "alerts"}
    # Two loops: the reporter started from the prompt the workflow wrote, not the user's words.
    reporter_input = json.dumps(first_model_input(history, "Weather reporter"))
    assert "report for TX" in reporter_input and "We drive there tonight" not in reporter_input
    assert agent_sequence(history) == ["Triage agent", "Weather reporter", "Weather reporter"]
    assert model_and_tool_sequence(history) == ["model", "model", "tool:get_weather_alerts", "model"]
    assert "2 active weather alerts for TX" in answer.answer


def test_handoff_target_produces_the_answer_in_one_loop(temporal_server, weather):
    async def both(client, queue):
        return [
            await _pattern(client, queue, "handoff", "Are there any weather warnings in Texas?"),
            await _pattern(client, queue, "handoff", "Will it rain in Florida tomorrow? What is the forecast?"),
        ]

    (alerts, alerts_history), (forecast, forecast_history) = with_worker(temporal_server.address, both)
    assert alerts.answered_by == "Alerts specialist"
    # One loop: the specialist carried on with the whole conversation, the router's transfer included.
    specialist_input = json.dumps(first_model_input(alerts_history, "Alerts specialist"))
    assert "weather warnings in Texas" in specialist_input and "transfer_to_alerts_specialist" in specialist_input
    assert agent_sequence(alerts_history) == ["Triage router", "Alerts specialist", "Alerts specialist"]
    assert 'transfer_to_alerts_specialist' in activity_steps(alerts_history)[0].result
    assert forecast.answered_by == "Forecast specialist"
    assert model_and_tool_sequence(forecast_history) == ["model", "model", "tool:get_forecast", "model"]
    assert "Forecast for FL" in forecast.answer


def test_agents_as_tools_keep_the_orchestrator_in_control(temporal_server, weather):
    answer, history = with_worker(
        temporal_server.address,
        lambda c, q: _pattern(c, q, "agents-as-tools", "Weather alerts and forecast for California"),
    )
    agents = agent_sequence(history)
    assert answer.answered_by == "Weather desk" and agents[0] == agents[-1] == "Weather desk"
    assert agents.count("Alerts specialist") == agents.count("Forecast specialist") == 2
    assert sorted(model_and_tool_sequence(history)) == sorted(["model"] * 6 + ["tool:get_weather_alerts", "tool:get_forecast"])
    assert "ask_alerts_specialist" in answer.answer and "ask_forecast_specialist" in answer.answer



@pytest.mark.parametrize(
    ("question", "target"),
    [
        ("Are there any weather warnings in Texas?", "transfer_to_alerts_specialist"),
        ("Will it rain in Florida tomorrow? What is the forecast?", "transfer_to_forecast_specialist"),
    ],
)
def test_the_router_hands_off_by_topic(question, target):
    router = team.triage_router()
    decision = decide(None, question, handoffs=[handoff(a) for a in router.handoffs])
    assert decision.kind == "handoff" and [c.name for c in decision.calls] == [target]


def test_the_triage_extractor_fills_its_output_type():
    decision = decide(None, "Are there any weather alerts in Texas?",
                      output_schema=AgentOutputSchema(team.WeatherQuestion))
    assert team.WeatherQuestion.model_validate_json(decision.text) == team.WeatherQuestion(state="TX", topic="alerts")


def test_agent_trace_folds_temporal_spans():
    spans = [
        {"trace_id": "t", "trace_name": "x", "span_id": "1", "parent_id": None, "started_at": "1",
         "data": {"type": "agent", "name": "A"}, "error": None},
        {"trace_id": "t", "trace_name": "x", "span_id": "2", "parent_id": "1", "started_at": "2",
         "data": {"type": "custom", "name": "temporal:startActivity"}, "error": None},
        {"trace_id": "t", "trace_name": "x", "span_id": "3", "parent_id": "2", "started_at": "3",
         "data": {"type": "generation", "model": "m"}, "error": None},
    ]
    text = agent_trace(spans)
    assert "temporal:" not in text
    assert text.splitlines()[1:] == ["  └─ agent A", "    └─ model call (m)"]
