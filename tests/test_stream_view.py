"""Notebook 10's helpers on their own: what the stream view shows, and how runs are timed (no server)."""

from __future__ import annotations

import asyncio

import pytest

from recipes.streaming.subscriber import StreamReader
from recipes.streaming.transcript import MODEL_EVENTS_TOPIC, TRANSCRIPT_TOPIC, Segment, Snapshot, View
from tutorial.stream_measure import Timing, percentile, summary_rows, timing, visible_moments
from tutorial.stream_view import StreamView, render_html

TOOL = (Segment("tool_call", tool_name="get_weather_alerts", call_id="c1", detail='{"state": "CA"}'),)


def items_with_a_retry() -> list[tuple[str, object]]:
    """A model call whose first attempt is superseded after two words, then the retry's answer."""
    created, done = {"type": "response.created"}, {"type": "response.completed"}

    def delta(text: str) -> dict:
        return {"type": "response.output_text.delta", "delta": text}

    return [
        (TRANSCRIPT_TOPIC, Snapshot(segments=TOOL, model_calls=1)),
        (MODEL_EVENTS_TOPIC, created), (MODEL_EVENTS_TOPIC, delta("Three ")), (MODEL_EVENTS_TOPIC, delta("alerts")),
        (MODEL_EVENTS_TOPIC, created), (MODEL_EVENTS_TOPIC, delta("Three ")), (MODEL_EVENTS_TOPIC, delta("alerts.")),
        (MODEL_EVENTS_TOPIC, done),
        (TRANSCRIPT_TOPIC, Snapshot(segments=(*TOOL, Segment("text", text="Three alerts.")), status="done",
                                    model_calls=2, answer="Three alerts.")),
    ]  # fmt: skip


def test_print_mode_appends_and_says_what_was_withdrawn(capsys, monkeypatch):
    monkeypatch.setenv("LIVE_VIEW", "text")
    view, reader = StreamView("demo"), StreamReader()
    assert view.mode == "print"
    for offset, (topic, data) in enumerate(items_with_a_retry()):
        update = reader.apply(topic, data, offset)
        if update is not None:
            view.show(update)
    view.flush()
    out = capsys.readouterr().out
    assert out.startswith("[demo]\n")
    assert "[withdrawn: 'Three alerts' — a retried attempt replaces it]" in out
    assert out.rstrip().endswith("Three alerts.\n[done]") and out.count("Three alerts.") == 1
    assert view.withdrawn == "Three alerts"


def test_print_mode_prints_a_burst_of_deltas_as_one_piece(capsys, monkeypatch):
    monkeypatch.setenv("LIVE_VIEW", "text")

    async def burst() -> list[str]:
        view, reader, printed = StreamView(), StreamReader(), []
        for offset, (topic, data) in enumerate(items_with_a_retry()[:4]):  # a snapshot, then two words at once
            update = reader.apply(topic, data, offset)
            if update is not None:
                view.show(update)
                printed.append(capsys.readouterr().out)
        await asyncio.sleep(0.1)  # the deferred print
        return [*printed, capsys.readouterr().out]

    printed = asyncio.run(burst())
    assert printed[1:3] == ["", ""] and printed[3] == "Three alerts", printed


def test_live_html_escapes_and_marks_pending_and_withdrawn_text():
    view = View(snapshot=Snapshot(segments=(*TOOL, Segment("text", text="<b>done</b> ")), model_calls=1), pending="more")
    page = render_html(view, title="t", status="s", withdrawn="old & gone")
    assert "&lt;b&gt;done&lt;/b&gt;" in page and "<b>" not in page
    assert '<span style="color:#1f6feb">more</span>' in page and "▌" in page
    assert "<del>old &amp; gone</del>" in page and "get_weather_alerts({&quot;state&quot;: &quot;CA&quot;})" in page


def test_visible_updates_merge_a_batch_and_keep_separate_words():
    assert visible_moments([1.0, 1.0005, 1.001, 1.1, 1.1001, 1.2]) == [1.0, 1.1, 1.2]
    t = timing("durable", 0.5, [1.0, 1.0005, 1.1, 1.2], 2.0)
    assert (t.first_text_s, t.done_s, t.deltas, t.visible_updates) == (0.5, 1.5, 4, 3)
    assert t.mean_gap_s == pytest.approx(0.1)
    assert timing("plain", 0.0, [], 1.0).first_text_s is None


def test_summary_rows_give_p50_and_p95_per_path_in_order():
    runs = [Timing("plain", 0.1 * i, 1.0, 10, 10, 0.02) for i in (1, 2, 3)] + [Timing("durable", 0.5, None, 10, 2, 0.1)]
    rows = summary_rows(runs)
    assert [r["path"] for r in rows] == ["plain", "durable"]
    assert rows[0]["first text p50 ms"] == "200" and rows[0]["first text p95 ms"] == "300"
    assert rows[1]["done p50 ms"] == "-" and rows[1]["deltas per update"] == "5.0"
    assert percentile([], 50) is None and percentile([None, 3.0], 50) == 3.0
