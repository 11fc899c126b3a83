"""A model call's timeouts come from one setting, AGENT_MODEL_TIMEOUTS (hosted, local, or seconds), read by
the worker; a call that is slow but alive -- longer than the heartbeat timeout -- completes once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.errors import ConfigurationError
from recipes.core.model_timeouts import MODEL_TIMEOUTS, model_timeouts, with_model_timeouts
from recipes.core.worker import READY_TEXT
from recipes.cost.workflows import LOCAL_MODEL_PARAMS
from tutorial.history import activity_steps
from tutorial.model_double import serving
from tutorial.processes import python_module
from recipes.weather.workflows import MODEL_PARAMS, WeatherAgentWorkflow
from tests.test_misbehaving_models import KEY, worker_env


def test_local_leaves_a_cpu_model_minutes_where_hosted_leaves_a_minute():
    hosted, local = MODEL_TIMEOUTS["hosted"], MODEL_TIMEOUTS["local"]
    assert hosted.start_to_close == MODEL_PARAMS.start_to_close_timeout == timedelta(seconds=60)
    # A first call of 52 s and answers at 5 tokens/s were seen from a 1.5B model on this machine's CPU.
    assert local.start_to_close >= timedelta(seconds=180) and local.schedule_to_close >= 5 * local.start_to_close
    assert local.heartbeat == hosted.heartbeat, "a slow call heartbeats while it waits: a dead worker is noticed as fast"


def test_unset_keeps_the_recipes_own_and_seconds_set_every_attempt(monkeypatch):
    monkeypatch.delenv("AGENT_MODEL_TIMEOUTS", raising=False)
    assert with_model_timeouts(MODEL_PARAMS) is MODEL_PARAMS
    monkeypatch.setenv("AGENT_MODEL_TIMEOUTS", "90")
    params = with_model_timeouts(MODEL_PARAMS)
    assert params.start_to_close_timeout == timedelta(seconds=90) and params.heartbeat_timeout == timedelta(seconds=10)
    assert params.schedule_to_close_timeout >= 5 * timedelta(seconds=90), "room for every attempt of the retry policy"
    assert params.retry_policy == MODEL_PARAMS.retry_policy
    assert with_model_timeouts(LOCAL_MODEL_PARAMS).heartbeat_timeout is None, "a local activity cannot heartbeat"


@pytest.mark.parametrize("value", ["fast", "0", "-5", "9000"])
def test_a_value_that_cannot_be_used_is_one_sentence(value):
    with pytest.raises(ConfigurationError, match=r"AGENT_MODEL_TIMEOUTS=.*: use hosted, local, or the seconds"):
        model_timeouts(value)


@pytest.mark.slow
@pytest.mark.integration
def test_a_call_slower_than_the_heartbeat_timeout_completes_once(temporal_server, weather, tmp_path):
    """Each model call takes 14 s (the double waits before answering), longer than the 10 s heartbeat
    timeout and within the 20 s the setting allows one attempt: the model activity heartbeats while it
    waits, so each call completes on its first attempt and the run completes."""
    queue = f"slow-model-{uuid.uuid4().hex[:6]}"
    with serving(api_key=KEY) as double:
        double.state.set(latency_s=14.0)
        env = worker_env(temporal_server, double, weather, {"WEATHER_TASK_QUEUE": queue, "AGENT_MODEL_TIMEOUTS": "20"})
        worker = python_module("slow-model-worker", "recipes.weather.worker", env=env, ready_text=READY_TEXT,
                               log_path=tmp_path / "worker.log")  # fmt: skip

        async def scenario():
            client = await Client.connect(temporal_server.address, plugins=[OpenAIAgentsPlugin()])
            handle = await client.start_workflow(WeatherAgentWorkflow.run, "Any weather alerts in Texas?",
                                                 id=f"slow-model-{uuid.uuid4().hex[:8]}", task_queue=queue)  # fmt: skip
            answer = await asyncio.wait_for(handle.result(), 120)
            history = await handle.fetch_history()
            scheduled = [e.activity_task_scheduled_event_attributes for e in history.events
                         if e.HasField("activity_task_scheduled_event_attributes")]  # fmt: skip
            limits = {(a.start_to_close_timeout.ToTimedelta(), a.heartbeat_timeout.ToTimedelta())
                      for a in scheduled if a.activity_type.name == "invoke_model_activity"}  # fmt: skip
            return answer, activity_steps(history), limits

        worker.start(timeout=60)
        try:
            answer, steps, limits = asyncio.run(scenario())
        finally:
            worker.stop()
    # The worker read the setting: every model call was scheduled with 20 s an attempt, 10 s of heartbeat.
    assert limits == {(timedelta(seconds=20), timedelta(seconds=10))}, limits
    model_calls = [s for s in steps if s.is_model_call]
    assert answer and len(model_calls) == 2, (answer, [s.as_row() for s in steps])
    assert [s.attempts for s in model_calls] == [1, 1], (
        f"a slow call that heartbeats should complete on its first attempt; attempts: {[s.as_row() for s in model_calls]}")
    assert all(s.duration_s is not None and s.duration_s >= 14 for s in model_calls), [s.as_row() for s in model_calls]  # lower bound: the double waits 14 s
