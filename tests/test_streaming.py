"""The streaming recipe: what a subscriber shows is the answer, once, whatever happens mid-stream.

The rule (``StreamReader``) is tested on hand-made event sequences; the whole path
(worker subprocess, real dev server, offline model streaming word by word) on real runs:
a kill mid-stream, a disconnect and resume, a run whose worker starts late, a Temporal
server restarted mid-stream, and the bounded log.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
import uuid
from collections.abc import Callable

import pytest
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.workflow_streams import PollInput, PollResult, WorkflowStreamClient
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.worker import READY_TEXT
from recipes.streaming.subscriber import StreamReader, StreamUnavailable, Update, follow, rendered_changes
from recipes.streaming.transcript import MODEL_EVENTS_TOPIC, TRANSCRIPT_TOPIC, Segment, Snapshot, View
from recipes.streaming.workflows import MAX_QUESTION_CHARS, StreamingWeatherWorkflow, check_question, start_run
from tutorial.history import activity_steps, fetch_history
from tutorial.processes import ManagedProcess, python_module
from tutorial.proof import free_port

QUESTION = "Any weather alerts in California?"


# -- the rule, on hand-made streams -------------------------------------------------
def created() -> dict:
    return {"type": "response.created"}


def delta(text: str) -> dict:
    return {"type": "response.output_text.delta", "delta": text}


def completed() -> dict:
    return {"type": "response.completed"}


def feed(reader: StreamReader, items: list[tuple[str, object]]) -> list[Update]:
    updates = [reader.apply(topic, data, offset) for offset, (topic, data) in enumerate(items, start=reader.offset)]
    return [u for u in updates if u is not None]


def model(*events: dict) -> list[tuple[str, object]]:
    return [(MODEL_EVENTS_TOPIC, e) for e in events]


def snapshot(**fields) -> list[tuple[str, object]]:
    return [(TRANSCRIPT_TOPIC, Snapshot(**fields))]


def test_deltas_grow_the_pending_text_and_a_snapshot_makes_it_final():
    reader = StreamReader()
    updates = feed(reader, snapshot() + model(created(), delta("Three "), delta("alerts."), completed()))
    assert [u.kind for u in updates] == ["snapshot", "delta", "delta"]
    assert reader.view.text == "Three alerts." and reader.view.pending == "Three alerts."
    done = feed(reader, snapshot(segments=(Segment("text", text="Three alerts."),), status="done", answer="Three alerts."))
    assert [u.kind for u in done] == ["done"]
    assert reader.view.pending == "" and reader.view.text == "Three alerts."


def test_a_superseded_attempt_is_withdrawn_not_glued_to_the_retry():
    reader = StreamReader()
    updates = feed(reader, snapshot() + model(created(), delta("Thr"), delta("ee al"), created(), delta("Three alerts.")))
    assert [u.kind for u in updates] == ["snapshot", "delta", "delta", "withdrawn", "delta"]
    assert updates[3].text == "Three al" and updates[3].view.text == ""
    assert reader.view.text == "Three alerts."
    assert reader.withdrawn == ["Three al"]


def test_an_attempt_that_streamed_to_the_end_but_did_not_count_is_withdrawn_too():
    # The worker died after the last batch was sent but before the activity completed:
    # the retry streams everything again, with no snapshot in between.
    reader = StreamReader()
    feed(reader, snapshot() + model(created(), delta("Three alerts."), completed(), created(), delta("Three")))
    assert reader.view.text == "Three" and reader.withdrawn == ["Three alerts."]


def test_a_snapshot_that_does_not_continue_the_pending_text_withdraws_it():
    # The retry streamed and completed while this subscriber was cut off: it never saw the
    # retry's events (truncated), only the snapshot with other words.
    reader = StreamReader()
    feed(reader, snapshot() + model(created(), delta("Two al")))
    [update] = feed(reader, snapshot(segments=(Segment("text", text="Three alerts."),)))
    assert update.kind == "snapshot" and update.text == "Two al" and reader.withdrawn == ["Two al"]
    reader = StreamReader()
    feed(reader, snapshot() + model(created(), delta("Three al")))
    [update] = feed(reader, snapshot(segments=(Segment("text", text="Three alerts."),)))
    assert update.text == "" and reader.withdrawn == [], "the same words again: the text simply continues"


def test_late_deltas_of_an_attempt_that_no_longer_counts_are_ignored():
    reader = StreamReader()
    feed(reader, snapshot(segments=(Segment("text", text="Done."),)) + model(delta("stale")))
    assert reader.view.text == "Done."


def test_a_snapshot_replaces_whatever_a_late_subscriber_had():
    reader = StreamReader()
    feed(reader, model(created(), delta("half of an old attempt")))
    feed(reader, snapshot(segments=(Segment("text", text="The answer."),), model_calls=2))
    assert reader.view.text == "The answer." and reader.view.snapshot.model_calls == 2


def test_tool_segments_only_append_so_parallel_tools_never_rewrite_what_was_shown():
    start = Snapshot()
    a = start.appended(Segment("tool_call", tool_name="get_weather_alerts", call_id="1", detail='{"state":"CA"}'))
    b = a.appended(Segment("tool_call", tool_name="get_weather_alerts", call_id="2", detail='{"state":"NY"}'))
    c = b.appended(Segment("tool_result", tool_name="get_weather_alerts", call_id="1", detail="3 alerts"))
    d = c.appended(Segment("tool_result", tool_name="get_weather_alerts", call_id="2", detail="1 alert"))
    assert [s.status for s in (a, b, c, d)] == ["running_tool", "running_tool", "running_tool", "thinking"]
    shown = [View(snapshot=s).render() for s in (start, a, b, c, d)]
    assert all(after.startswith(before) for before, after in itertools.pairwise(shown))


def test_rendered_changes_append_or_say_what_was_withdrawn():
    assert rendered_changes("Thr", "Three") == "ee"
    out = rendered_changes("Three al", "Three")
    assert "withdrawn: ' al'" in out and out.endswith("\n")


def test_a_question_is_checked_with_one_sentence():
    assert check_question("  Any alerts in TX?  ") == "Any alerts in TX?"
    with pytest.raises(ValueError, match="empty"):
        check_question("   ")
    with pytest.raises(ValueError, match=f"limit is {MAX_QUESTION_CHARS}"):
        check_question("x" * (MAX_QUESTION_CHARS + 1))


# -- real runs --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def queue() -> str:
    return f"streaming-test-{uuid.uuid4().hex[:6]}"


def streaming_worker(queue: str, address: str, pace: str = "0.05", **env: str) -> ManagedProcess:
    """A streaming worker on ``queue``: the offline model at ``pace`` s per word unless ``env`` says otherwise."""
    return python_module(
        f"streaming-worker-{queue}", "recipes.streaming.worker", ready_text=READY_TEXT,
        env={"STREAMING_TASK_QUEUE": queue, "TEMPORAL_ADDRESS": address, "AGENT_MODEL_BACKEND": "offline",
             "OFFLINE_MODEL_STREAM_PACE": pace, **env},
    )  # fmt: skip


@pytest.fixture(scope="module")
def worker(temporal_server, weather, queue):
    process = streaming_worker(queue, temporal_server.address).start(timeout=60)
    yield process
    process.stop()


async def client_for(address: str) -> Client:
    return await Client.connect(address, plugins=[OpenAIAgentsPlugin()])


async def start(client: Client, queue: str, question: str = QUESTION) -> str:
    return await start_run(client, question, task_queue=queue, workflow_id=f"stream-test-{uuid.uuid4().hex[:8]}")


async def watch(client: Client, workflow_id: str, on_update: Callable[[Update], None] | None = None, **kw) -> list[Update]:
    updates = []
    async for update in follow(client, workflow_id, **kw):
        updates.append(update)
        if on_update:
            on_update(update)
    return updates


def assert_shown_once(updates: list[Update], answer: str) -> None:
    """Every view showed a prefix of the answer text: nothing doubled, nothing glued."""
    final_text = updates[-1].view.text
    assert updates[-1].kind == "done" and updates[-1].view.snapshot.answer == answer
    assert final_text == answer
    for u in updates:
        assert final_text.startswith(u.view.text), f"showed text that is not in the answer: {u.view.text[-80:]!r}"


@pytest.mark.integration
def test_the_streamed_text_is_the_answer_and_the_log_stays_bounded(worker, temporal_server, queue):
    async def scenario():
        client = await client_for(temporal_server.address)
        workflow_id = await start(client, queue)
        updates = await watch(client, workflow_id)
        answer = await client.get_workflow_handle(workflow_id).result()
        published = await WorkflowStreamClient.create(client, workflow_id).get_offset()
        retained = await client.get_workflow_handle(workflow_id).query(
            "__temporal_workflow_stream_poll", PollInput(from_offset=0), result_type=PollResult
        )
        return updates, answer, published, retained

    updates, answer, published, retained = asyncio.run(scenario())
    assert_shown_once(updates, answer)
    deltas = [u for u in updates if u.kind == "delta"]
    assert len(deltas) > 20, "the answer arrived word by word"
    assert not [u for u in updates if u.kind == "withdrawn"]
    segments = updates[-1].view.snapshot.segments
    assert [s.kind for s in segments] == ["tool_call", "tool_result", "text"]
    # Published: every raw event of both model calls plus the snapshots; retained: the last snapshot.
    assert published > len(deltas) and len(retained.items) == 1, (published, len(retained.items))


@pytest.mark.integration
def test_a_kill_mid_stream_withdraws_the_partial_text_and_each_model_call_completes_once(temporal_server, weather):
    queue = f"streaming-kill-{uuid.uuid4().hex[:6]}"
    process = streaming_worker(queue, temporal_server.address).start(timeout=60)
    killed: list[int] = []

    def kill_after_some_text(update: Update) -> None:
        if not killed and len(update.view.pending) >= 40:
            killed.append(process.kill(by="test"))
            process.start(timeout=60)

    async def scenario():
        client = await client_for(temporal_server.address)
        workflow_id = await start(client, queue)
        updates = await watch(client, workflow_id, kill_after_some_text)
        handle = client.get_workflow_handle(workflow_id)
        return updates, await handle.result(), await fetch_history(handle)

    try:
        updates, answer, history = asyncio.run(scenario())
    finally:
        process.stop()
    assert killed, "the answer finished before the kill: slow the stream down"
    assert_shown_once(updates, answer)
    withdrawn = [u for u in updates if u.kind == "withdrawn"]
    assert len(withdrawn) == 1
    assert len(withdrawn[0].text) >= 40 and answer.startswith(withdrawn[0].text)  # the offline model repeats itself
    model_steps = [s for s in activity_steps(history) if s.kind == "model"]
    assert [s.status for s in model_steps] == ["completed", "completed"]
    assert [s.attempts for s in model_steps] == [1, 2], "only the interrupted call ran again"


@pytest.mark.integration
def test_a_subscriber_resumes_from_its_offset_and_a_late_one_starts_from_the_snapshot(worker, temporal_server, queue):
    async def scenario():
        client = await client_for(temporal_server.address)
        workflow_id = await start(client, queue)
        reader = StreamReader()
        first: list[Update] = []
        async for update in follow(client, workflow_id, reader=reader):
            first.append(update)
            if len(update.view.pending) >= 30:
                break  # a disconnect mid-answer
        await asyncio.sleep(0.5)  # more is published while nobody listens
        rest = await watch(client, workflow_id, from_offset=first[-1].offset, reader=reader)
        late = await watch(client, workflow_id)  # the run is finished: the last snapshot is all there is
        return first, rest, late, await client.get_workflow_handle(workflow_id).result()

    first, rest, late, answer = asyncio.run(scenario())
    assert first[-1].kind == "delta" and rest[0].offset > first[-1].offset
    assert_shown_once(first + rest, answer)
    assert [u.kind for u in late] == ["done"] and late[0].view.text == answer


@pytest.mark.integration
def test_a_run_whose_worker_starts_late_streams_normally(temporal_server, weather):
    queue = f"streaming-late-{uuid.uuid4().hex[:6]}"
    process = streaming_worker(queue, temporal_server.address)

    async def scenario():
        client = await client_for(temporal_server.address)
        workflow_id = await start(client, queue)
        watching = asyncio.create_task(watch(client, workflow_id))
        await asyncio.sleep(2)
        assert not watching.done()
        await asyncio.to_thread(process.start, 60)
        return await watching, await client.get_workflow_handle(workflow_id).result()

    try:
        updates, answer = asyncio.run(scenario())
    finally:
        process.stop()
    assert_shown_once(updates, answer)


@pytest.mark.integration
def test_unknown_runs_and_bad_questions_get_one_sentence(worker, temporal_server, queue):
    async def scenario():
        client = await client_for(temporal_server.address)
        with pytest.raises(StreamUnavailable, match="No run with id 'stream-nope'"):
            await watch(client, "stream-nope")
        # Past the client-side check: the workflow checks too.
        workflow_id = f"stream-test-{uuid.uuid4().hex[:8]}"
        await client.start_workflow(StreamingWeatherWorkflow.run, "   ", id=workflow_id, task_queue=queue)
        updates = await watch(client, workflow_id)
        with pytest.raises(WorkflowFailureError) as failed:
            await client.get_workflow_handle(workflow_id).result()
        return updates, failed.value

    updates, failure = asyncio.run(scenario())
    assert failure.cause.type == "BadQuestion" and "empty" in failure.cause.message
    assert updates[-1].kind == "failed"


@pytest.mark.integration
def test_a_temporal_server_restart_mid_stream_is_ridden_out(tmp_path, weather):
    from tutorial.temporal_server import ensure_server

    address = f"localhost:{free_port()}"
    server = ensure_server(address, headless=True, db_file=tmp_path / "history.db", state=tmp_path / "state")
    queue = f"streaming-restart-{uuid.uuid4().hex[:6]}"
    process = streaming_worker(queue, address, pace="0.1")
    restarting: list[threading.Thread] = []

    def restart_mid_answer(update: Update) -> None:
        if not restarting and len(update.view.pending) >= 20:
            # In a thread: the subscriber's poll in flight meets the outage. Down for longer
            # than the client's own RPC retries last (~10 s), so follow() has to wait it out.
            restarting.append(threading.Thread(target=lambda: (server.stop(), time.sleep(12), server.restart())))
            restarting[0].start()

    async def scenario():
        client = await client_for(address)
        workflow_id = await start(client, queue)
        updates = await watch(client, workflow_id, restart_mid_answer)
        return updates, await client.get_workflow_handle(workflow_id).result()

    try:
        process.start(timeout=60)
        updates, answer = asyncio.run(scenario())
    finally:
        for thread in restarting:
            thread.join()
        process.stop()
        server.stop()
    assert restarting
    assert_shown_once(updates, answer)


@pytest.mark.integration
def test_a_model_call_refused_for_good_ends_the_stream_with_the_reason(temporal_server, weather, model_double):
    queue = f"streaming-401-{uuid.uuid4().hex[:6]}"
    process = streaming_worker(queue, temporal_server.address, AGENT_MODEL_BACKEND="openai-compatible",
                               **model_double.env())  # fmt: skip

    async def scenario():
        client = await client_for(temporal_server.address)
        model_double.fail_next(1, status=401)
        workflow_id = await start(client, queue)
        return await watch(client, workflow_id)

    try:
        process.start(timeout=60)
        updates = asyncio.run(scenario())
    finally:
        process.stop()
        model_double.reset(clear_log=False)
    assert [u.kind for u in updates][-1] == "failed"
    assert "401" in updates[-1].view.snapshot.error, updates[-1].view.snapshot.error
