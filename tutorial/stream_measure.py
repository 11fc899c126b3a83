"""Measure a streamed run: how fast the answer appears, plain against durable, and how big
the stream's log grows.

    plain = await time_plain(build_weather_agent(), question, RunConfig(model_provider=...))
    durable = await time_durable(client, question, task_queue=queue, path="durable @100ms")
    show_table(summary_rows([plain, durable, ...]))

Both are measured the way a person feels them, from the moment the question is asked:

* **first text** -- the first piece of answer text on screen (plain: the first
  ``response.output_text.delta`` event out of ``stream_events()``; durable: the first
  ``delta`` update out of :func:`recipes.streaming.subscriber.follow`);
* **done** -- the whole answer on screen (plain: the stream ends; durable: the ``done`` update);
* **gap** -- the mean time between *visible updates* while text streams. Plain text
  arrives delta by delta; durable text arrives in batches (every
  ``streaming_batch_interval``), so deltas that arrive within :data:`VISIBLE_MERGE_S`
  of each other count as one update on screen.

The log: :func:`log_size` reads how many items a run's stream has published and how many
it still retains; :class:`LogSampler` samples that while a run streams.

Used by notebook 10 and ``ci/bench_streaming.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import statistics
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from uuid import uuid4

from temporalio.contrib.workflow_streams import PollInput, PollResult, WorkflowStreamClient

from recipes.streaming.workflows import start_run
from tutorial.stream_view import StreamWatch

__all__ = [
    "VISIBLE_MERGE_S", "LogSampler", "LogSize", "Timing", "history_cost", "log_size", "percentile", "summary_rows",
    "run_timeline", "time_durable", "time_plain", "timeline_rows", "visible_moments",
]  # fmt: skip

#: Deltas closer together than this reached the screen in one go (one poll's batch is
#: read in microseconds; the stand-ins stream a word every 5-20 ms).
VISIBLE_MERGE_S = 0.002
TEXT_DELTA = "response.output_text.delta"


@dataclass(frozen=True)
class Timing:
    """One run, timed from the question."""

    path: str
    first_text_s: float | None
    done_s: float | None
    deltas: int
    visible_updates: int
    mean_gap_s: float | None
    text: str = ""
    workflow_id: str = ""
    started_utc: datetime | None = None
    """Wall-clock time of the question (to line it up with the run's history)."""


def visible_moments(times: Iterable[float], merge_s: float = VISIBLE_MERGE_S) -> list[float]:
    """The moments the screen changed: ``times`` with bursts (gaps < ``merge_s``) merged."""
    moments: list[float] = []
    last: float | None = None
    for t in sorted(times):
        if last is None or t - last >= merge_s:
            moments.append(t)
        last = t
    return moments


def timing(path: str, started: float, delta_times: Sequence[float], done_at: float | None, *,
           text: str = "", workflow_id: str = "", started_utc: datetime | None = None) -> Timing:  # fmt: skip
    """A :class:`Timing` from monotonic times (the question at ``started``)."""
    moments = visible_moments(delta_times)
    gaps = [b - a for a, b in itertools.pairwise(moments)]
    return Timing(
        path=path,
        first_text_s=(min(delta_times) - started) if delta_times else None,
        done_s=None if done_at is None else done_at - started,
        deltas=len(delta_times),
        visible_updates=len(moments),
        mean_gap_s=statistics.fmean(gaps) if gaps else None,
        text=text,
        workflow_id=workflow_id,
        started_utc=started_utc,
    )


async def time_plain(agent: Any, question: str, run_config: Any, *, path: str = "plain") -> Timing:
    """Run ``agent`` with ``Runner.run_streamed`` in this process and time its text deltas."""
    from agents import Runner
    from agents.stream_events import RawResponsesStreamEvent

    started = time.monotonic()
    result = Runner.run_streamed(agent, question, run_config=run_config)
    deltas: list[float] = []
    async for event in result.stream_events():
        if isinstance(event, RawResponsesStreamEvent) and getattr(event.data, "type", "") == TEXT_DELTA:
            deltas.append(time.monotonic())
    return timing(path, started, deltas, time.monotonic(), text=str(result.final_output))


async def time_durable(client: Any, question: str, *, task_queue: str, path: str = "durable",
                       timeout: float = 120.0) -> Timing:  # fmt: skip
    """Start a streamed run on ``task_queue``, follow it to the end,
    and time what a subscriber saw (nothing is displayed: display costs are not the stream's)."""
    workflow_id = f"stream-timing-{uuid4().hex[:8]}"
    started, started_utc = time.monotonic(), datetime.now(timezone.utc)
    await start_run(client, question, task_queue=task_queue, workflow_id=workflow_id)
    watch = StreamWatch(client, workflow_id, started_at=started)
    last = await watch.follow(timeout=timeout)
    done_at = last.at if last is not None and last.kind == "done" else None
    deltas = [u.at for u in watch.of_kind("delta")]
    answer = (last.view.snapshot.answer or "") if last is not None else ""
    return timing(path, started, deltas, done_at, text=answer, workflow_id=workflow_id, started_utc=started_utc)


def timeline_rows(history: Any, zero: datetime, screen: Sequence[tuple[float | None, str]] = (), *,
                  since: datetime | None = None) -> list[dict[str, Any]]:  # fmt: skip
    """Where a run's time went, in order, in ms from ``zero``: the server's timestamps for
    the run and each step (its history) -- from ``since`` on, if given -- and what the
    subscriber saw when (``screen``: seconds from ``zero``, label).

    Retried steps show the attempt that ended them; a workflow task that timed out is listed
    too, with why: it waited on a dead worker's sticky queue, or a dead worker had started it.
    """
    from temporalio.api.enums.v1 import EventType, TimeoutType

    from tutorial.history import activity_steps

    marks: list[tuple[float, str]] = []

    def mark(when: datetime | None, what: str) -> None:
        if when is not None and (since is None or when >= since):
            marks.append(((when - zero).total_seconds(), what))

    events = list(history.events)
    if events:
        mark(events[0].event_time.ToDatetime(tzinfo=timezone.utc), "workflow started (server)")
    for event in events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
            timeout = event.workflow_task_timed_out_event_attributes.timeout_type
            sticky = timeout == TimeoutType.TIMEOUT_TYPE_SCHEDULE_TO_START
            mark(event.event_time.ToDatetime(tzinfo=timezone.utc),
                 "a workflow task timed out: " + ("it waited on the dead worker's sticky queue" if sticky
                                                  else "the dead worker had started it (task timeout)"))  # fmt: skip
    calls = 0
    for step in activity_steps(history):
        name = step.kind if not step.is_model_call else f"model call {(calls := calls + 1)}"
        attempt = f" (attempt {step.attempts})" if step.attempts > 1 else ""
        mark(step.scheduled_at, f"{name} scheduled")
        mark(step.started_at, f"{name} started{attempt}")
        mark(step.closed_at, f"{name} {step.status}{attempt}")
    marks += [(at, what) for at, what in screen if at is not None]
    marks.sort(key=lambda m: m[0])
    rows, previous = [], 0.0
    for at, what in marks:
        rows.append({"at ms": f"{at * 1000:.0f}", "+ms": f"{(at - previous) * 1000:.0f}", "what": what})
        previous = at
    return rows


def run_timeline(history: Any, run: Timing) -> list[dict[str, Any]]:
    """:func:`timeline_rows` for a timed durable run, from its question to its answer on screen."""
    if run.started_utc is None:
        return []
    return timeline_rows(history, run.started_utc, [(run.first_text_s, "first answer text on screen"),
                                                     (run.done_s, "whole answer on screen")])  # fmt: skip


def percentile(values: Iterable[float | None], q: float) -> float | None:
    """The ``q``-th percentile (0-100) by nearest rank; ``None`` when there are no values."""
    ordered = sorted(v for v in values if v is not None)
    if not ordered:
        return None
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.0f}"


def summary_rows(timings: Iterable[Timing], *, p95: bool = True) -> list[dict[str, Any]]:
    """One row per path (in order of first appearance): p50 (and p95) of each figure, in ms."""
    by_path: dict[str, list[Timing]] = {}
    for t in timings:
        by_path.setdefault(t.path, []).append(t)
    rows = []
    for path, runs in by_path.items():
        row: dict[str, Any] = {"path": path, "runs": len(runs)}
        for name, attr in (("first text", "first_text_s"), ("done", "done_s"), ("gap", "mean_gap_s")):
            values = [getattr(t, attr) for t in runs]
            row[f"{name} p50 ms"] = _ms(percentile(values, 50))
            if p95:
                row[f"{name} p95 ms"] = _ms(percentile(values, 95))
        row["deltas per update"] = f"{sum(t.deltas for t in runs) / max(1, sum(t.visible_updates for t in runs)):.1f}"
        rows.append(row)
    return rows


# --------------------------------------------------------------------------- the stream's log

#: The stream's query for retained items (``WorkflowStream`` registers it; a closed run
#: answers it too, as long as a worker is polling its task queue).
POLL_QUERY = "__temporal_workflow_stream_poll"


@dataclass(frozen=True)
class LogSize:
    """A run's stream log at one moment."""

    published: int
    """Items published since the run began (the stream's global offset)."""
    retained: int
    """Items still in the log (the rest were truncated)."""
    retained_by_topic: dict[str, int] = field(default_factory=dict)
    base_offset: int = 0
    """Offset of the oldest item retained."""


async def log_size(client: Any, workflow_id: str) -> LogSize:
    """Published and retained item counts, read with the stream's own queries."""
    published = await WorkflowStreamClient.create(client, workflow_id).get_offset()
    retained: PollResult = await client.get_workflow_handle(workflow_id).query(
        POLL_QUERY, PollInput(from_offset=0), result_type=PollResult
    )
    topics = Counter(item.topic for item in retained.items)
    base = retained.items[0].offset if retained.items else published
    return LogSize(published, len(retained.items), dict(topics), base)


class LogSampler:
    """Samples :func:`log_size` every ``interval`` seconds while a run streams.

        async with LogSampler(client, workflow_id) as sampler:
            await watch.follow()
        sampler.max_retained, sampler.samples[-1].published
    """

    def __init__(self, client: Any, workflow_id: str, interval: float = 0.1) -> None:
        self.client, self.workflow_id, self.interval = client, workflow_id, interval
        self.samples: list[LogSize] = []
        self._task: asyncio.Task | None = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(Exception):  # the run may not have started its stream yet
                self.samples.append(await log_size(self.client, self.workflow_id))
            await asyncio.sleep(self.interval)

    async def __aenter__(self) -> LogSampler:
        self._task = asyncio.ensure_future(self._run())
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(Exception):
            self.samples.append(await log_size(self.client, self.workflow_id))

    @property
    def max_retained(self) -> int:
        return max((s.retained for s in self.samples), default=0)


def history_cost(history: Any) -> dict[str, int]:
    """What streaming adds to a run's event history: every published batch is a Signal,
    every subscriber poll an Update, and each of them needs a workflow task."""
    from temporalio.api.enums.v1 import EventType

    kinds = Counter(event.event_type for event in history.events)
    return {
        "events": len(history.events),
        "publish signals (batches)": kinds[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED],
        "subscriber polls (updates)": kinds[EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED],
        "workflow tasks": kinds[EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED],
        "activities": kinds[EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED],
    }
