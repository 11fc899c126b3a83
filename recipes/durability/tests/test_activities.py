"""The slow storm-report tool alone, with ``ActivityEnvironment``: it heartbeats its progress, a retried attempt
resumes from the last heartbeat instead of starting over, and a cancelled attempt stops at once."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from temporalio.testing import ActivityEnvironment

from recipes.durability.activities import get_storm_report


def recording(heartbeat_details: tuple = ()) -> tuple[ActivityEnvironment, list[float]]:
    """An activity environment whose attempt starts from ``heartbeat_details``; the progress it heartbeats."""
    env, beats = ActivityEnvironment(), []
    env.info = dataclasses.replace(env.info, heartbeat_details=list(heartbeat_details))
    env.on_heartbeat = lambda *details: beats.append(details[0])
    return env, beats


@pytest.mark.asyncio
async def test_the_tool_heartbeats_its_progress(monkeypatch):
    monkeypatch.setenv("DURABILITY_TOOL_SECONDS", "0.5")
    env, beats = recording()
    report = await env.run(get_storm_report, "TX")
    assert "for TX" in report, report
    assert len(beats) >= 2 and beats == sorted(beats) and beats[0] < 0.2, f"progress heartbeated: {beats}"


@pytest.mark.asyncio
async def test_a_retried_attempt_resumes_from_the_last_heartbeat(monkeypatch):
    monkeypatch.setenv("DURABILITY_TOOL_SECONDS", "0.5")
    env, beats = recording(heartbeat_details=(0.4,))  # the previous attempt got this far before its worker died
    await env.run(get_storm_report, "TX")
    assert beats and beats[0] >= 0.4, f"the retry started over instead of from 0.4 s: {beats}"


@pytest.mark.asyncio
async def test_a_cancelled_attempt_stops_at_once(monkeypatch):
    monkeypatch.setenv("DURABILITY_TOOL_SECONDS", "60")
    env, beats = recording()
    call = asyncio.create_task(env.run(get_storm_report, "TX"))
    while not beats:
        await asyncio.sleep(0.01)
    env.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(call, 5)
