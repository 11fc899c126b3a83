"""The cost recipe: its statistics, the floor's history shapes, where a step's time goes, a missing
worker, worker fleets that scale and clean up, recovery after a SIGKILL, and the tuned dev server."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from datetime import datetime
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHistory
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import choose_model
from tutorial.settings import TemporalSettings
from recipes.cost.activities import COST_ACTIVITIES
from recipes.cost.measure import (NoWorker, Runs, Timing, check_worker, side_by_side, step_breakdown, throughput, time_agent,
                                  time_floor)
from recipes.cost.workflows import MODEL_PARAMS, CostAgentWorkflow, FloorWorkflow
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from tutorial.cost_lab import WorkerFleet, recovery_after_kill
from tutorial.processes import pid_alive
from tutorial.proof import free_port
from tutorial.temporal_server import DEV_SERVER_TUNING, ensure_server

HISTORIES = Path(__file__).parent / "histories" / "cost"


def test_p50_is_the_median_and_p95_a_real_sample():
    t = Timing("x", tuple(float(v) for v in range(1, 21)), steps=3)  # 1..20 ms
    assert t.p50_ms == 10.5 and t.p95_ms == 19.0
    assert Timing("one", (7.0,)).p95_ms == 7.0
    plain = Timing("plain", (4.0, 4.0, 4.0))
    assert t.ratio_to(plain) == 10.5 / 4 and t.overhead_per_step_ms(plain) == (10.5 - 4) / 3


def test_side_by_side_takes_one_run_of_each_in_turn_and_counts_none_of_the_warmup():
    """Round by round, so a burst of load lands on every configuration: timed one after the other,
    the first configuration here would take all the slow runs and the check below would fail."""
    calls: list[tuple[str, str]] = []
    slow_rounds = {0, 1, 2}  # the first three calls overall are slow (warm-up, then a busy machine)

    def runs(name: str, prefix: str = "") -> Runs:
        async def one_run(run_id: str):
            calls.append((name, run_id))
            await asyncio.sleep(0.4 if len(calls) - 1 in slow_rounds else 0.001)  # far apart: a busy machine must not blur them

        return Runs(name, one_run, steps=3, id_prefix=prefix)

    a, b = asyncio.run(side_by_side(3, runs("a", "wf"), runs("b"), warmup=1))
    assert [name for name, _ in calls] == ["a", "b"] * 4
    assert len(a.samples_ms) == len(b.samples_ms) == 3  # the warm-up round is not counted
    assert a.workflow_ids == tuple(run_id for name, run_id in calls[2:] if name == "a") and b.workflow_ids == ()
    assert all(run_id.startswith("wf-") for run_id in a.workflow_ids)
    # The slow burst (calls 0-2) fell on both warm-ups and one timed run of a: timed one configuration
    # after the other, it would have fallen on two of a's three timed runs, and a's median with them.
    assert max(a.samples_ms) > 400 and sorted(a.samples_ms)[1] < 200 and max(b.samples_ms) < 200
    with pytest.raises(ValueError, match="at least 1"):
        asyncio.run(side_by_side(0, runs("a")))


def _event_ms(event: dict) -> float:
    """An event's time from the JSON itself (RFC 3339 with nanoseconds), not through the SDK."""
    stamp = event["eventTime"].rstrip("Z")
    whole, _, frac = stamp.partition(".")
    return datetime.fromisoformat(whole).timestamp() * 1000 + float(f"0.{frac or 0}") * 1000


def test_step_breakdown_splits_a_stored_history_into_dispatch_workflow_code_and_activities():
    document = json.loads((HISTORIES / "FloorWorkflow-activity.json").read_text())
    events = {int(e["eventId"]): e for e in document["events"]}
    at = {i: _event_ms(e) for i, e in events.items()}
    kind = {i: e["eventType"] for i, e in events.items()}
    # Expected, straight from the JSON: each started/completed event names the event it pairs with.
    dispatch = [at[i] - at[int(events[i]["workflowTaskStartedEventAttributes"]["scheduledEventId"])]
                for i in events if kind[i] == "EVENT_TYPE_WORKFLOW_TASK_STARTED"]  # fmt: skip
    code = [at[i] - at[int(events[i]["workflowTaskCompletedEventAttributes"]["startedEventId"])]
            for i in events if kind[i] == "EVENT_TYPE_WORKFLOW_TASK_COMPLETED"]  # fmt: skip
    activity = [at[i] - at[int(events[i]["activityTaskCompletedEventAttributes"]["scheduledEventId"])]
                for i in events if kind[i] == "EVENT_TYPE_ACTIVITY_TASK_COMPLETED"]  # fmt: skip
    history = WorkflowHistory.from_json(document["workflow_id"], document)
    got = step_breakdown(history)
    assert len(got.dispatch) == len(got.workflow_code) == 4 and len(got.activities) == 3
    assert got.dispatch == pytest.approx(dispatch, abs=0.01)
    assert got.workflow_code == pytest.approx(code, abs=0.01)
    assert got.activities == pytest.approx(activity, abs=0.01)
    assert got.server_span == pytest.approx(max(at.values()) - min(at.values()), abs=0.01)
    assert sum(got.totals()[k] for k in ("dispatch_ms", "workflow_code_ms", "activities_ms")) <= got.server_span


@pytest.fixture(scope="module")
def in_process(temporal_server, weather):
    """A client and one in-process worker (offline model) on a queue of this module's own."""

    async def make():
        plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=choose_model("offline").provider())
        return await Client.connect(temporal_server.address, plugins=[plugin])

    return make, f"test-cost-{uuid.uuid4().hex[:8]}"


async def _with_worker(make, queue, scenario):
    client = await make()
    async with Worker(client, task_queue=queue, workflows=[CostAgentWorkflow, FloorWorkflow],
                      activities=[*WEATHER_ACTIVITIES, *COST_ACTIVITIES]):  # fmt: skip
        return await scenario(client)


def test_the_floor_takes_its_steps_as_activities_local_activities_or_none(in_process):
    make, queue = in_process

    async def scenario(client):
        shapes = {}
        for kind in ("activity", "local", "none"):
            handle = await client.start_workflow(FloorWorkflow.run, args=[kind, 3], id=f"floor-{uuid.uuid4().hex[:8]}",
                                                 task_queue=queue)  # fmt: skip
            assert await handle.result() == (0 if kind == "none" else 3)
            events = [e.event_type for e in (await handle.fetch_history()).events]
            shapes[kind] = (events.count(EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED),
                            events.count(EventType.EVENT_TYPE_MARKER_RECORDED))  # fmt: skip
        timing = await time_floor(client, queue, "local", runs=2, warmup=0)
        return shapes, timing

    shapes, timing = asyncio.run(_with_worker(make, queue, scenario))
    assert shapes == {"activity": (3, 0), "local": (0, 3), "none": (0, 0)}
    assert len(timing.samples_ms) == 2 and timing.steps == 3


def test_an_unknown_floor_kind_is_one_sentence_on_both_sides(in_process):
    make, queue = in_process

    async def scenario(client):
        with pytest.raises(ValueError, match="Unknown floor kind 'remote'; choose one of activity, local, none"):
            await time_floor(client, queue, "remote", runs=1)  # type: ignore[arg-type]
        with pytest.raises(WorkflowFailureError) as failed:
            await client.execute_workflow(FloorWorkflow.run, args=["remote", 3], id=f"floor-{uuid.uuid4().hex[:8]}",
                                          task_queue=queue)  # fmt: skip
        return str(failed.value.cause)

    assert "Unknown floor kind 'remote'" in asyncio.run(_with_worker(make, queue, scenario))


def test_the_agent_is_timed_and_loaded_end_to_end(in_process):
    make, queue = in_process

    async def scenario(client):
        timing = await time_agent(client, queue, runs=2, warmup=1)
        load = await throughput(client, queue, runs=6, concurrency=3)
        ids = [w.id async for w in client.list_workflows(f"TaskQueue = '{queue}' AND WorkflowType = 'CostAgentWorkflow'")]
        return timing, load, ids

    timing, load, ids = asyncio.run(_with_worker(make, queue, scenario))
    assert len(timing.samples_ms) == 2 and all(s > 0 for s in timing.samples_ms)
    assert load.runs == 6 and load.concurrency == 3 and load.runs_per_s > 0
    assert len(ids) >= 3 + 6 - 1  # visibility may lag by a run; every start went to this queue


def test_no_worker_is_one_sentence_and_leaves_no_run_behind(temporal_server):
    queue = f"test-cost-nobody-{uuid.uuid4().hex[:8]}"

    async def scenario():
        client = await Client.connect(temporal_server.address)
        with pytest.raises(NoWorker, match=f"No worker finished a run on task queue '{queue}' within 1 s") as raised:
            await check_worker(client, queue, timeout_s=1)
        await asyncio.sleep(1)
        runs = [w async for w in client.list_workflows(f"TaskQueue = '{queue}'")]
        return raised, runs

    raised, runs = asyncio.run(scenario())
    assert "python -m recipes.cost.worker" in str(raised.value)
    assert runs and all(r.status.name == "TERMINATED" for r in runs)


@pytest.mark.slow
@pytest.mark.integration
def test_a_fleet_scales_on_one_queue_and_recovers_a_killed_model_call(temporal_server, weather):
    settings = TemporalSettings.load(address=temporal_server.address)
    fleet = WorkerFleet(settings, weather.url, workers=1, latency_s=1.0, name="test-cost-fleet")

    async def scenario():
        client = await Client.connect(temporal_server.address, plugins=[OpenAIAgentsPlugin()])
        fleet.scale_to(2)
        return await recovery_after_kill(client, fleet, heartbeat_timeout_s=MODEL_PARAMS.heartbeat_timeout.total_seconds())

    with fleet:
        pids = [p.pid for p in fleet.processes]
        started = time.monotonic()
        recovery = asyncio.run(scenario())
        assert len(fleet.processes) == 2 and len({p.pid for p in fleet.processes}) == 2
        killed = [p for p in fleet.processes if p.kills]
        assert len(killed) == 1 and killed[0].running  # killed once, and restarted
    assert not any(pid_alive(p) for p in pids + [p.pids[-1] for p in killed])
    # The killed call completed elsewhere after the server noticed (heartbeat timeout 10 s), then the run ended.
    assert 0 < recovery.next_step_s <= recovery.run_done_s < time.monotonic() - started
    assert recovery.next_step_s >= 1.0  # at least one model latency after the kill


def test_a_fleet_needs_a_worker_to_kill_and_one_to_survive(temporal_server, weather):
    fleet = WorkerFleet(TemporalSettings.load(address=temporal_server.address), weather.url)
    with pytest.raises(ValueError, match="at least 1 worker"):
        fleet.scale_to(0)
    with pytest.raises(ValueError, match="at least 2 workers"):
        asyncio.run(recovery_after_kill(None, fleet, heartbeat_timeout_s=10))  # type: ignore[arg-type]


@pytest.mark.integration
def test_the_tutorial_dev_server_starts_tuned_and_the_stock_one_does_not(tmp_path):
    servers = {}
    try:
        for name, tuned in (("stock", False), ("tuned", True)):
            servers[name] = ensure_server(f"127.0.0.1:{free_port()}", headless=True, tuned=tuned,
                                          db_file=tmp_path / f"{name}.db", state=tmp_path / name)  # fmt: skip
        modes = {name: sqlite3.connect(s.db_file).execute("PRAGMA journal_mode").fetchone()[0] for name, s in servers.items()}
        assert modes == {"stock": "delete", "tuned": "wal"}
        for name, s in servers.items():
            log = Path(s.log_file).read_text()
            assert ("transferProcessorMaxPollRPS" in log) == (name == "tuned"), log[-2000:]
        assert all(flag in servers["tuned"]._cmd for flag in DEV_SERVER_TUNING)
    finally:
        for s in servers.values():
            s.stop()
