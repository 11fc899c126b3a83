"""The durability recipe against a real dev server and a real worker subprocess:
kill it mid-run and lose nothing; retries, tool errors, an idempotent side effect;
bad input to the process handle; workers that never outlive their parent."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from datetime import datetime

import pytest
from temporalio.client import Client
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.worker import READY_TEXT
from recipes.durability.activities import NOTIFICATION_WRITTEN_TEXT, read_deliveries, read_outbox
from recipes.durability.starter import start_briefing, start_weather_question
from recipes.durability.workflows import WEATHER_TOOL_RETRY
from tutorial import proof
from tutorial.history import activity_steps, fetch_history, model_and_tool_sequence
from tutorial.ledger import Ledger
from tutorial.processes import REPO_ROOT, ProcessError, pid_alive, python_module

pytestmark = pytest.mark.integration

STORM = "tool:get_storm_report"


@pytest.fixture(scope="module")
def rig(temporal_server, weather, tmp_path_factory):
    """One worker subprocess on a private task queue, with its own ledger and outbox."""
    tmp = tmp_path_factory.mktemp("durability")
    queue = f"test-durability-{uuid.uuid4().hex[:8]}"
    env = {
        "TEMPORAL_ADDRESS": temporal_server.address,
        "AGENT_MODEL_BACKEND": "offline",
        "DURABILITY_TASK_QUEUE": queue,
        "DURABILITY_TOOL_SECONDS": "1.0",
        "DURABILITY_OUTBOX": str(tmp / "outbox.sqlite"),
        "AGENT_MODEL_LEDGER": str(tmp / "ledger.jsonl"),
        "NWS_API_URL": weather.url,
    }
    worker = python_module("test-durability-worker", "recipes.durability.worker", env=env,
                           ready_text=READY_TEXT, log_path=tmp / "worker.log")  # fmt: skip
    worker.start(timeout=60)
    old_outbox = os.environ.get("DURABILITY_OUTBOX")
    os.environ["DURABILITY_OUTBOX"] = env["DURABILITY_OUTBOX"]  # read_outbox() in this process
    try:
        yield {"worker": worker, "queue": queue, "ledger": Ledger(env["AGENT_MODEL_LEDGER"]),
               "address": temporal_server.address, "weather": weather, "env": env, "tmp": tmp}  # fmt: skip
    finally:
        worker.stop()
        if old_outbox is None:
            os.environ.pop("DURABILITY_OUTBOX", None)
        else:
            os.environ["DURABILITY_OUTBOX"] = old_outbox


@pytest.fixture
def own_worker(rig):
    """A worker of this test's own, on its own queue, for tests that kill or reconfigure it:
    the shared worker stays untouched, so one failure cannot cascade into the next test."""
    queue = f"test-durability-own-{uuid.uuid4().hex[:8]}"
    worker = python_module(f"test-durability-{queue}", "recipes.durability.worker",
                           env={**rig["env"], "DURABILITY_TASK_QUEUE": queue}, ready_text=READY_TEXT,
                           log_path=rig["tmp"] / f"{queue}.log")  # fmt: skip
    try:
        yield worker, queue
    finally:
        worker.stop()


async def _client(address: str) -> Client:
    return await Client.connect(address, plugins=[OpenAIAgentsPlugin()])


def test_kill_mid_tool_then_restart_loses_nothing_and_repeats_no_model_call(rig, own_worker):
    worker, queue = own_worker
    worker.start(timeout=60)

    async def scenario():
        client = await _client(rig["address"])
        handle = await start_briefing(client, ["California", "Texas", "Florida"], task_queue=queue)
        in_flight = await proof.wait_for_tool_in_flight(handle, after_model_calls=2, timeout=60)
        killed_pid = worker.pid
        killed_at = proof.now()
        worker.kill()
        status_after_kill = await proof.status(handle)
        done_before = [s for s in activity_steps(await fetch_history(handle)) if s.status == "completed"]
        await asyncio.to_thread(worker.restart, 60)
        result = await asyncio.wait_for(handle.result(), 90)
        history = await fetch_history(handle)
        return locals()

    r = asyncio.run(scenario())
    history = r["history"]
    audit = proof.model_call_audit(history, rig["ledger"].entries(workflow_id=r["handle"].id))
    rec = proof.recovery(history, r["killed_at"])
    print("\n".join(audit.lines()))
    print(rec.line())

    assert r["in_flight"]["attempt"] == 1
    assert r["status_after_kill"] == "RUNNING"
    assert len(r["done_before"]) >= 3, "two model calls and a tool had completed before the kill"
    assert model_and_tool_sequence(history) == ["model", STORM] * 3 + ["model"]
    assert audit.model_steps == audit.completed == 4
    assert set(audit.attempts.values()) == {1}, "no model call was retried"
    assert audit.ledger_calls == 4 and not audit.duplicate_fingerprints
    assert audit.calls_made_again == 0
    identities = proof.worker_identities(history)
    assert len(identities) == 2 and proof.identity_pid(identities[0]) == r["killed_pid"]
    assert proof.identity_pid(identities[1]) == worker.pid
    interrupted = next(s for s in activity_steps(history) if s.activity_id == r["in_flight"]["activity_id"])
    assert interrupted.attempts == 2 and "heartbeat" in interrupted.last_failure.lower()
    assert all(state in r["result"].answer for state in ('"CA"', '"TX"', '"FL"'))
    # The first step to complete after the kill was the interrupted tool, on its second attempt.
    assert rec.next_step is not None and rec.next_step.activity_id == interrupted.activity_id, rec.line()


def test_notification_is_sent_once_although_the_activity_ran_twice(rig, own_worker):
    worker, queue = own_worker
    worker.env["DURABILITY_PAUSE_AFTER_SEND_S"] = "30"
    worker.start(timeout=60)

    async def scenario():
        client = await _client(rig["address"])
        handle = await start_briefing(client, ["Texas"], notify=True, task_queue=queue)
        await asyncio.to_thread(worker.wait_for_log, NOTIFICATION_WRITTEN_TEXT, 60)
        worker.kill()  # after the write, before the activity reported completion
        del worker.env["DURABILITY_PAUSE_AFTER_SEND_S"]
        await asyncio.to_thread(worker.restart, 60)
        result = await asyncio.wait_for(handle.result(), 60)
        return handle, result, await fetch_history(handle)

    handle, result, history = asyncio.run(scenario())
    send = [s for s in activity_steps(history) if s.activity_type == "send_alert_notification"]
    outbox = read_outbox(handle.id)
    deliveries = read_deliveries(handle.id)
    assert len(send) == 1 and send[0].attempts == 2 and send[0].status == "completed"
    assert len(outbox) == 1, outbox
    assert [d["outcome"] for d in deliveries] == ["sent", "duplicate suppressed"]
    assert outbox[0]["idempotency_key"] == f"{handle.id}/{send[0].activity_id}"
    assert "not sent again on attempt 2" in result.notification


def test_weather_faults_are_retried_and_the_agent_still_answers(rig):
    svc = rig["weather"]
    svc.reset()
    svc.fail_next(2)  # 503, 503
    svc.rate_limit_next(1, retry_after_s=3)  # 429 + Retry-After: 3, longer than any backoff of the policy (≤ 2 s)
    svc.slow_next(1, 3.0)  # longer than the tool's 2 s start-to-close timeout

    async def scenario():
        client = await _client(rig["address"])
        handle = await start_weather_question(client, "Any weather alerts in Texas?", task_queue=rig["queue"])
        return await asyncio.wait_for(handle.result(), 60), await fetch_history(handle)

    answer, history = asyncio.run(scenario())
    tool = next(s for s in activity_steps(history) if s.activity_type == "get_weather_alerts")
    statuses = [r["status"] for r in svc.requests() if r["area"] == "TX"]
    print(statuses, tool.attempts, tool.last_failure)
    assert tool.status == "completed" and tool.attempts == 5
    assert statuses == [503, 503, 429, 200, 200]  # the 4th answered too late: its attempt had timed out
    assert "timeout" in tool.last_failure.lower()
    # The wait after the 429 was its Retry-After (3 s), not the backoff (at most WEATHER_TOOL_RETRY.maximum_interval).
    times = [datetime.fromisoformat(r["time"].replace("Z", "+00:00")) for r in svc.requests() if r["area"] == "TX"]
    gap = (times[3] - times[2]).total_seconds()
    assert gap >= 2.9 > WEATHER_TOOL_RETRY.maximum_interval.total_seconds(), gap
    assert "active weather alert" in answer and '"TX"' in answer


def test_a_permanent_tool_error_reaches_the_model_and_the_run_completes(rig):
    rig["weather"].reset()

    async def scenario():
        client = await _client(rig["address"])
        handle = await start_weather_question(client, 'Any weather alerts for state "ZZ"?', task_queue=rig["queue"])
        return await asyncio.wait_for(handle.result(), 60), await fetch_history(handle)

    answer, history = asyncio.run(scenario())
    tool = next(s for s in activity_steps(history) if s.activity_type == "get_weather_alerts")
    assert tool.status == "failed" and tool.attempts == 1 and tool.non_retryable
    assert tool.failure_type == "InvalidState"
    assert model_and_tool_sequence(history) == ["model", "tool:get_weather_alerts", "model"]
    final_input = json.dumps([s for s in activity_steps(history) if s.is_model_call][-1].arguments)
    assert "Tool get_weather_alerts failed" in final_input and "InvalidState" in final_input  # what the model read
    assert "not a US state code" in answer
    assert rig["weather"].request_count() == 0, "validated before any HTTP request"


def test_waiting_for_a_tool_the_run_never_runs_ends_with_a_sentence_naming_the_model(rig):
    """A run that ends before the moment a demo waits for (a model that answers without a tool, or calls
    fewer tools than the demo waits for) is said in one sentence when it ends, not after a timeout."""

    async def wait_on(question: str, after_model_calls: int) -> str:
        client = await _client(rig["address"])
        handle = await start_weather_question(client, question, task_queue=rig["queue"])
        with pytest.raises(proof.RunEndedFirst) as ended:
            await proof.wait_for_tool_in_flight(handle, after_model_calls=after_model_calls, model="the stand-in",
                                                timeout=120)  # fmt: skip
        assert await proof.status(handle) == "COMPLETED"
        return str(ended.value)

    no_tool = asyncio.run(wait_on("Hello! What can you do?", 1))
    assert no_tool.startswith("The run ended (COMPLETED) after 1 model call(s): the stand-in answered without calling "
                              "a tool"), no_tool  # fmt: skip
    fewer = asyncio.run(wait_on("Any weather alerts in Texas?", 3))
    assert "the stand-in called 1 tool(s) and no tool ran after 3 completed model call(s)" in fewer, fewer


# --------------------------------------------------------------------------- the process handle


def test_bad_input_to_the_worker_handle_gives_clear_errors(temporal_server, tmp_path):
    env = {"TEMPORAL_ADDRESS": temporal_server.address, "DURABILITY_TASK_QUEUE": f"test-bad-{uuid.uuid4().hex[:6]}"}
    worker = python_module("test-bad-input-worker", "recipes.durability.worker", env=env,
                           ready_text=READY_TEXT, log_path=tmp_path / "w.log")  # fmt: skip
    try:
        with pytest.raises(ProcessError, match="is not running"):
            worker.kill()  # never started
        worker.restart(timeout=60)
        worker.restart(timeout=60)  # twice in a row: a new process each time
        assert worker.running and len(worker.pids) == 2 and not pid_alive(worker.pids[0])
        worker.kill()
        with pytest.raises(ProcessError, match="is not running"):
            worker.kill()  # killed already
        worker.stop()
        worker.stop()  # stopping a stopped worker is fine
        worker.start(timeout=60)
        with pytest.raises(ProcessError, match="already running"):
            worker.start(timeout=60)
    finally:
        worker.stop()


@pytest.mark.parametrize("module", ["broken_tool_module", "recipes.durability.no_such_module"])
def test_a_worker_that_crashes_at_import_fails_fast_with_its_error(tmp_path, module):
    (tmp_path / "broken_tool_module.py").write_text('raise RuntimeError("bad deploy: this module cannot be imported")\n')
    env = {"DURABILITY_BROKEN_IMPORT": module, "PYTHONPATH": f"{tmp_path}{os.pathsep}{REPO_ROOT}"}
    worker = python_module("test-broken-worker", "recipes.durability.worker", env=env,
                           ready_text=READY_TEXT, log_path=tmp_path / "w.log")  # fmt: skip
    started = time.monotonic()
    with pytest.raises(ProcessError) as err:
        worker.start(timeout=60)
    print(f"failed after {time.monotonic() - started:.1f}s: {err.value}")
    message = str(err.value)
    assert "exited with code 1 before it was ready" in message
    expected = "RuntimeError: bad deploy" if module == "broken_tool_module" else "ModuleNotFoundError"
    assert expected in message
    assert not worker.running


# --------------------------------------------------------------------------- never outlive the parent

PARENT = textwrap.dedent(
    """
    import sys, time
    from tutorial.processes import python_module
    from recipes.core.worker import READY_TEXT
    worker = python_module("orphan-check", "recipes.durability.worker", ready_text=READY_TEXT,
                           log_path=sys.argv[1]).start(timeout=60)
    print(worker.pid, flush=True)
    if sys.argv[2] == "wait":
        time.sleep(300)
    """
)


@pytest.mark.parametrize("how", ["parent SIGKILLed", "parent exits"])
def test_a_worker_never_outlives_the_process_that_started_it(temporal_server, tmp_path, how):
    env = {**os.environ, "TEMPORAL_ADDRESS": temporal_server.address,
           "DURABILITY_TASK_QUEUE": f"test-orphan-{uuid.uuid4().hex[:6]}", "PYTHONPATH": str(REPO_ROOT)}  # fmt: skip
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "w.log"), "wait" if how == "parent SIGKILLed" else "exit"],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, text=True, start_new_session=True,
    )
    child = None
    try:
        child = int(parent.stdout.readline().strip())
        assert pid_alive(child)
        if how == "parent SIGKILLed":
            os.killpg(parent.pid, signal.SIGKILL)  # no atexit, no cleanup: only the child's watchdog can act
        parent.wait(timeout=30)
        started = time.monotonic()
        while pid_alive(child) and time.monotonic() - started < 10:
            time.sleep(0.1)
        print(f"{how}: worker {child} gone after {time.monotonic() - started:.1f}s")
        assert not pid_alive(child), f"worker {child} outlived its parent ({how})"
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
        if child and pid_alive(child):
            os.killpg(child, signal.SIGKILL)


def test_the_starter_from_a_terminal(rig):
    """`python -m recipes.durability.starter ...`, as in the recipe's README."""
    starter = python_module("test-durability-starter", "recipes.durability.starter", "--task-queue", rig["queue"],
                            "briefing", "Texas", "--notify", env={"TEMPORAL_ADDRESS": rig["address"]})  # fmt: skip
    starter.start()
    assert starter.wait(timeout=60) == 0, starter.log_tail(10)
    out = starter.log()
    assert 'get_storm_report(state="TX")' in out and "Notification: sent to #storm-desk" in out, out
