"""The live run view: its text rendering, its mode choice, and its refresh loop ending on its own."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.client import Client
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.durability.activities import DURABILITY_ACTIVITIES
from recipes.durability.starter import start_briefing
from recipes.durability.workflows import DURABILITY_WORKFLOWS, MODEL_PARAMS
from recipes.core.errors import ConfigurationError
from tutorial.history import Step
from tutorial.live_view import LiveRunView, Snapshot, choose_mode, render_text, timeline_rows
from tutorial.offline_model import OfflineModelProvider
from tutorial.notebook import wait_until
from tutorial.processes import ManagedProcess

T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def snapshot() -> Snapshot:
    steps = [
        Step("1", "invoke_model_activity", attempts=1, identity="100@host", status="completed",
             scheduled_at=T0, closed_at=T0 + timedelta(seconds=0.2), result='calls get_storm_report({"state":"CA"})'),
        Step("2", "get_storm_report", attempts=2, identity="200@host", status="completed",
             scheduled_at=T0, closed_at=T0 + timedelta(seconds=6), result="3 active weather alerts for CA",
             last_failure="heartbeat timeout"),
        Step("3", "invoke_model_activity", status="running", scheduled_at=T0),
        Step("4", "get_storm_report", status="running", scheduled_at=T0),
    ]  # fmt: skip
    pending = [
        {"activity_id": "3", "activity_type": "invoke_model_activity", "state": "started", "attempt": 1,
         "worker": "200@host", "heartbeat_age_s": 0.4, "heartbeat": "", "last_failure": ""},
        {"activity_id": "4", "activity_type": "get_storm_report", "state": "scheduled", "attempt": 2,
         "worker": "100@host", "heartbeat_age_s": None, "heartbeat": "", "last_failure": "heartbeat timeout"},
    ]  # fmt: skip
    return Snapshot("storm-briefing-x", "run-1", "RUNNING", steps, pending, worker="running, pid 200; earlier pids [100]")


def test_text_shows_status_link_worker_and_every_step():
    text = render_text(snapshot(), ui_url="http://localhost:8233/namespaces/default/workflows/storm-briefing-x/run-1")
    print(text)
    lines = text.splitlines()
    assert lines[0].startswith("Run storm-briefing-x: RUNNING")
    assert "Web UI: http://localhost:8233/namespaces/default/workflows/storm-briefing-x/run-1" in text
    assert "Worker: running, pid 200; earlier pids [100]" in text
    rows = timeline_rows(snapshot())
    assert [r["step"] for r in rows] == ["model", "tool:get_storm_report", "model", "tool:get_storm_report"]
    assert [r["status"] for r in rows] == ["completed", "completed", "running", "retry pending"]
    assert [r["worker"] for r in rows] == ["100@host", "200@host", "200@host", "100@host"]
    assert rows[1]["attempts"] == 2 and "retried after: heartbeat timeout" in rows[1]["detail"]
    assert rows[2]["detail"].startswith("heartbeat 0.4s ago")
    assert "waiting for a worker; last failure: heartbeat timeout" in rows[3]["detail"]
    assert sum(1 for line in lines if "get_storm_report" in line) >= 2


def test_text_before_any_step():
    text = render_text(Snapshot("wf", None, "RUNNING"))
    assert "(no steps yet)" in text and "Web UI" not in text


def test_mode_choice(monkeypatch):
    monkeypatch.delenv("LIVE_VIEW", raising=False)
    assert choose_mode() == "text"  # no Jupyter front end in pytest
    monkeypatch.setenv("LIVE_VIEW", "widget")
    assert choose_mode() == "widget"
    monkeypatch.setenv("LIVE_VIEW", "sparkles")
    with pytest.raises(ConfigurationError, match="auto, widget, text"):
        choose_mode()


class _FakeHandle:
    id = "wf-fake"
    result_run_id = "run-fake"


def test_widget_buttons_report_a_worker_that_is_not_running():
    async def press():
        worker = ManagedProcess("never-started", ["true"])
        view = LiveRunView(_FakeHandle(), worker=worker, mode="widget")
        view._build_widgets()
        view.buttons["kill"].click()  # the Kill button on a worker that is not running
        await wait_until(lambda: view._message, timeout=10, what="the button's answer")
        return view, worker

    view, worker = asyncio.run(press())
    assert "is not running" in view._message and not worker.kills
    assert view.buttons["kill"].disabled  # nothing to kill
    assert "wf-fake" in view.html()


def test_the_buttons_do_nothing_once_the_view_is_stopped(tmp_path):
    async def press():
        worker = ManagedProcess("sleeper", ["sleep", "30"], log_path=tmp_path / "sleeper.log")
        view = LiveRunView(_FakeHandle(), worker=worker, mode="widget")
        view._build_widgets()
        view.stop()  # the clean-up cell
        view.buttons["restart"].click()  # click() runs the handler even on a disabled button
        await asyncio.sleep(0.5)
        return view, worker

    view, worker = asyncio.run(press())
    try:
        assert not worker.running and worker.pids == []
        assert view.buttons["kill"].disabled and view.buttons["restart"].disabled
        assert "not running" in view.html()
    finally:
        worker.stop()


# --------------------------------------------------------------------------- against the server


async def _run_view_until_done(address: str, tmp_path, *, with_worker: bool, **view_kwargs):
    plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=OfflineModelProvider())
    client = await Client.connect(address, plugins=[plugin])
    queue = f"test-live-view-{uuid.uuid4().hex[:8]}"
    handle = await start_briefing(client, ["Texas", "Florida"], task_queue=queue)
    view = LiveRunView(handle, mode="text", interval=0.2, **view_kwargs)
    if not with_worker:
        view.start()
        return handle, view
    async with Worker(client, task_queue=queue, workflows=DURABILITY_WORKFLOWS, activities=DURABILITY_ACTIVITIES):
        view.start()
        await view.wait(timeout=60)
    return handle, view


def test_refresh_loop_ends_when_the_run_completes(temporal_server, tmp_path, monkeypatch):
    monkeypatch.setenv("DURABILITY_TOOL_SECONDS", "0.3")
    handle, view = asyncio.run(_run_view_until_done(temporal_server.address, tmp_path, with_worker=True))
    print(view.text())
    assert view.task.done() and not view.running
    assert view.snapshot.status == "COMPLETED"
    assert view.refreshes >= 2, "it refreshed while the run was live"
    kinds = [r["step"] for r in timeline_rows(view.snapshot)]
    assert kinds == ["model", "tool:get_storm_report", "model", "tool:get_storm_report", "model"]
    assert "COMPLETED" in view.text().splitlines()[0]


def test_refresh_loop_ends_when_the_run_is_terminated(temporal_server, tmp_path):
    async def scenario():
        handle, view = await _run_view_until_done(temporal_server.address, tmp_path, with_worker=False)
        await wait_until(lambda: view.refreshes >= 2, timeout=30, what="two refreshes of a run nobody works on")
        assert view.running and view.snapshot.status == "RUNNING"
        await handle.terminate("test over")
        return await view.wait(timeout=30), view

    snap, view = asyncio.run(scenario())
    assert snap.status == "TERMINATED" and view.task.done()


def test_refresh_loop_gives_up_after_max_duration(temporal_server, tmp_path):
    async def scenario():
        handle, view = await _run_view_until_done(temporal_server.address, tmp_path, with_worker=False, max_duration_s=0.5)
        try:
            return await view.wait(timeout=30), view
        finally:
            await handle.terminate("test over")

    snap, view = asyncio.run(scenario())
    assert snap.status == "RUNNING" and view.task.done()
    assert "live view stopped after 0.5s" in view.text()
