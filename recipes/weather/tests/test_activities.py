"""The tool activity alone, outside any workflow: ``ActivityEnvironment`` runs it as a worker would, with
its activity context (info, heartbeats, cancellation), in this process and without a server."""

from __future__ import annotations

import asyncio

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

import recipes.tools.weather_alerts as weather_alerts
from recipes.tools.weather_alerts import get_weather_alerts

TEXAS = {"features": [{"properties": {"event": "Heat Advisory", "severity": "Moderate", "urgency": "Expected",
                                      "areaDesc": "Travis", "headline": "Heat Advisory until 8 PM"}}]}  # fmt: skip


@pytest.mark.asyncio
async def test_a_state_that_does_not_exist_is_refused_for_good_before_any_request(monkeypatch):
    async def no_request(*args, **kwargs):
        raise AssertionError("no request should be made for a state that does not exist")

    monkeypatch.setattr(weather_alerts, "fetch_alerts", no_request)
    with pytest.raises(ApplicationError) as refused:
        await ActivityEnvironment().run(get_weather_alerts, "ZZ")
    assert refused.value.non_retryable, "retrying the same bad state cannot help"
    assert "'ZZ' is not a US state code" in refused.value.message


@pytest.mark.asyncio
async def test_the_alerts_come_back_as_text_the_model_can_read(monkeypatch):
    async def fetched(state: str) -> dict:
        assert state == "TX", "a state name is turned into its code before the request"
        return TEXAS

    monkeypatch.setattr(weather_alerts, "fetch_alerts", fetched)
    text = await ActivityEnvironment().run(get_weather_alerts, "texas")
    assert text.startswith("1 active weather alert for TX:") and "Heat Advisory until 8 PM" in text, text


@pytest.mark.asyncio
async def test_a_cancelled_call_stops_waiting_for_the_weather_service(monkeypatch):
    """Temporal cancels an activity when its workflow is cancelled or its heartbeat times out: the call must
    stop there, not hang on a slow service."""
    started = asyncio.Event()

    async def hangs(state: str) -> dict:
        started.set()
        await asyncio.Event().wait()  # a service that never answers

    monkeypatch.setattr(weather_alerts, "fetch_alerts", hangs)
    env = ActivityEnvironment()
    call = asyncio.create_task(env.run(get_weather_alerts, "CA"))
    await asyncio.wait_for(started.wait(), 5)
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(call, 5)
