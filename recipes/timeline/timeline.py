"""A workflow run as a timeline, read from its event history: one lane per workflow task stream, activity,
timer, signal, update and marker, drawn as a Gantt-style chart with matplotlib.

    rows = timeline_rows(history, markers={"worker killed": killed_at})
    fig = draw_timeline(rows, title="the killed run")   # a matplotlib Figure: display it, or fig.savefig(...)

From a terminal, with a history exported by ``temporal workflow show -w <id> --output json`` (or the Web UI's
download)::

    python -m recipes.timeline.timeline run.json --out run.png --marker "worker killed=2026-01-05T10:00:03Z"

What the history shows, and so what is drawn: a retried activity is not one event per attempt. The server
writes one ``ActivityTaskStarted`` -- the *last* attempt's, with its number and the failure of the attempt
before -- when the activity closes. So a retried activity is a hatched span from its scheduling to the last
attempt's start (the earlier attempts and their backoff, not told apart) and a bar for the last attempt.
Likewise a workflow task that keeps failing: the first failure is in the history, the next attempts are not,
until one succeeds. An activity still running when the history was read has only its ``ActivityTaskScheduled``.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch
from temporalio.api.enums.v1 import EventType, TimeoutType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

RUN, WORKFLOW_TASKS = "run", "workflow tasks"
#: Kinds drawn as bars (``start`` to ``end``); the others are points (``start == end``).
BAR_KINDS = ("run", "waiting", "workflow_task", "retrying", "activity", "timer")


@dataclass(frozen=True)
class Row:
    """One bar or point of the chart."""

    lane: str  # "run", "workflow tasks", "get_weather_alerts #2", "timer 1", "signal publish"; "" for a caller's marker
    label: str
    start: datetime
    end: datetime  # == start for a point
    kind: str  # one of BAR_KINDS, or a point: signal, update, history_marker, marker (the caller's)
    attempt: int = 0  # the attempt a bar shows (retrying: the last earlier attempt); 0 where there is none, or unknown
    outcome: str = ""  # completed, failed, timed_out, canceled, running, fired, ... ("" for points)


def timeline_rows(history: WorkflowHistory | Iterable[HistoryEvent],
                  markers: Mapping[str, datetime] | None = None) -> list[Row]:  # fmt: skip
    """The run's bars and points, lane by lane: the run, its workflow tasks, then every other lane in the order
    it began. ``markers`` are moments the history does not know (a worker killed): name -> time (UTC)."""
    events = list(history.events if isinstance(history, WorkflowHistory) else history)
    if not events:
        return []
    rows: list[Row] = []
    tasks: dict[int, dict[str, Any]] = {}  # workflow tasks and activities, by their scheduled event id
    timers: dict[str, HistoryEvent] = {}
    last_task_failure: datetime | None = None
    end_of_history = _time(events[-1])
    run_started, run_outcome = _time(events[0]), "running"
    workflow_type = events[0].workflow_execution_started_event_attributes.workflow_type.name
    for event in events:
        kind, at = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"), _time(event)
        attrs = getattr(event, event.WhichOneof("attributes") or "", None)
        if kind in _RUN_CLOSES:
            run_outcome = _RUN_CLOSES[kind]
        elif kind == "WORKFLOW_TASK_SCHEDULED":
            if attrs.attempt > 1 and last_task_failure:  # attempts after the first failure are not in the history
                earlier = "attempt 1" if attrs.attempt == 2 else f"attempts 1-{attrs.attempt - 1}"
                rows.append(Row(WORKFLOW_TASKS, f"{earlier} failed; only the first is in the history",
                                last_task_failure, at, "retrying", attrs.attempt - 1, "failed"))  # fmt: skip
            tasks[event.event_id] = {"lane": WORKFLOW_TASKS, "scheduled": at, "attempt": attrs.attempt}
        elif kind == "ACTIVITY_TASK_SCHEDULED":
            lane = f"{attrs.activity_type.name} #{attrs.activity_id}"
            if (summary := _summary(event)) and len(summary) <= 30:
                lane += f" · {summary}"
            tasks[event.event_id] = {"lane": lane, "scheduled": at, "attempt": 0}
        elif kind in ("WORKFLOW_TASK_STARTED", "ACTIVITY_TASK_STARTED"):
            task = tasks[attrs.scheduled_event_id]
            task["started"] = at
            if kind == "ACTIVITY_TASK_STARTED":
                task["attempt"] = attrs.attempt
                task["last_failure"] = _failure_text(attrs.last_failure) if attrs.HasField("last_failure") else ""
        elif kind in _TASK_CLOSES:
            if kind in ("WORKFLOW_TASK_FAILED", "WORKFLOW_TASK_TIMED_OUT"):
                last_task_failure = at
            rows += _task_rows(tasks.pop(attrs.scheduled_event_id), at, _TASK_CLOSES[kind])
        elif kind == "TIMER_STARTED":
            timers[attrs.timer_id] = event
        elif kind in ("TIMER_FIRED", "TIMER_CANCELED"):
            rows.append(_timer_row(timers.pop(attrs.timer_id), at, "fired" if kind == "TIMER_FIRED" else "canceled"))
        elif kind == "WORKFLOW_EXECUTION_SIGNALED":
            rows.append(Row(f"signal {attrs.signal_name}", attrs.signal_name, at, at, "signal"))
        elif kind == "WORKFLOW_EXECUTION_UPDATE_ACCEPTED":
            name = attrs.accepted_request.input.name
            rows.append(Row(f"update {name}", name, at, at, "update"))
        elif kind == "MARKER_RECORDED":  # a local activity, a patch, a side effect: recorded by the workflow
            rows.append(Row(f"marker {attrs.marker_name}", attrs.marker_name, at, at, "history_marker"))
    for task in tasks.values():  # still open when the history was read
        rows += _task_rows(task, end_of_history, "running")
    rows += [_timer_row(started, end_of_history, "running") for started in timers.values()]
    rows.append(Row(RUN, f"{workflow_type}: {run_outcome}", run_started, end_of_history, "run", outcome=run_outcome))
    rows += [Row("", name, at, at, "marker") for name, at in (markers or {}).items()]
    first_start: dict[str, datetime] = {}
    for row in rows:
        first_start[row.lane] = min(row.start, first_start.get(row.lane, row.start))
    order = {RUN: 0, WORKFLOW_TASKS: 1, "": 3}
    return sorted(rows, key=lambda r: (order.get(r.lane, 2), first_start[r.lane], r.lane, r.start))


_RUN_CLOSES = {f"WORKFLOW_EXECUTION_{how}": how.lower()
               for how in ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW")}
_TASK_CLOSES = {f"{task}_TASK_{how}": how.lower()
                for task in ("WORKFLOW", "ACTIVITY") for how in ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELED")}


def _task_rows(task: dict[str, Any], closed: datetime, outcome: str) -> list[Row]:
    """A workflow task or an activity: the wait before it started (or its earlier attempts), then its bar."""
    lane, scheduled, started, attempt = task["lane"], task["scheduled"], task.get("started"), task["attempt"]
    kind = "workflow_task" if lane == WORKFLOW_TASKS else "activity"
    if kind == "activity" and attempt > 1:
        lane += f" ({attempt} attempts)"
    if started is None:
        if kind == "activity" and outcome == "running":  # an activity's start is written when it closes
            return [Row(lane, "scheduled or running: its start is not in the history yet", scheduled, closed, kind,
                        outcome=outcome)]  # fmt: skip
        return [Row(lane, f"not started: {outcome}", scheduled, closed, "waiting", attempt, outcome)]
    rows = []
    if attempt > 1 and kind == "activity":
        earlier = "attempt 1" if attempt == 2 else f"attempts 1-{attempt - 1}"
        rows.append(Row(lane, f"{earlier} and backoff; the last failed: {task['last_failure']}", scheduled, started,
                        "retrying", attempt - 1, "failed"))  # fmt: skip
    elif started > scheduled:
        rows.append(Row(lane, "waiting in the task queue", scheduled, started, "waiting", attempt))
    rows.append(Row(lane, f"attempt {attempt}: {outcome}", started, closed, kind, attempt, outcome))
    return rows


def _timer_row(started: HistoryEvent, closed: datetime, outcome: str) -> Row:
    attrs = started.timer_started_event_attributes
    seconds = attrs.start_to_fire_timeout.ToTimedelta().total_seconds()
    return Row(f"timer {attrs.timer_id}", f"{seconds:g} s timer: {outcome}", _time(started), closed, "timer",
               outcome=outcome)  # fmt: skip


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=timezone.utc)


def _summary(event: HistoryEvent) -> str:
    """The summary a workflow gave the activity (the Agents SDK: the agent's name), if it is plain JSON text."""
    payload = event.user_metadata.summary
    if not payload.metadata.get("encoding", b"").startswith(b"json"):
        return ""  # none, or encoded (encrypted, say)
    value = json.loads(payload.data)
    return value if isinstance(value, str) else ""


def _failure_text(failure: Any) -> str:
    while failure.HasField("cause"):
        failure = failure.cause
    if failure.HasField("timeout_failure_info"):
        return TimeoutType.Name(failure.timeout_failure_info.timeout_type).removeprefix("TIMEOUT_TYPE_").lower() + " timeout"
    return failure.message


# --------------------------------------------------------------------------- the chart
COLORS = {"run": "#d9d9d9", "waiting": "#efefef", "workflow_task": "#4c72b0", "retrying": "#f2c09b",
          "activity": "#55a868", "timer": "#8172b3", "signal": "#64b5cd", "update": "#937860",
          "history_marker": "#7f7f7f"}  # fmt: skip
FAILED = "#c44e52"  # a bar whose outcome is a failure or a timeout
#: The caller's markers, one colour each, named in the legend with their time (labels on the lines would collide).
MARKER_COLORS = ("#d62728", "#222222", "#e377c2", "#1f77b4", "#bcbd22", "#17becf", "#8c564b")
POINT_SHAPES = {"signal": "v", "update": "^", "history_marker": "D"}
LEGEND = {"run": "the run", "waiting": "waiting to be picked up", "workflow_task": "workflow task",
          "retrying": "earlier attempts + backoff", "activity": "activity attempt", "timer": "timer",
          "signal": "signal", "update": "update", "history_marker": "marker in the history"}  # fmt: skip


def draw_timeline(rows: Sequence[Row], title: str = "") -> Figure:
    """A Gantt-style chart of ``rows``: one lane per row of the chart, seconds since the run began across,
    the caller's markers as dashed lines named in the legend. Returns the figure; pyplot neither shows nor keeps it."""
    lanes = list(dict.fromkeys(row.lane for row in rows if row.lane))
    fig = Figure(figsize=(11, 1.6 + 0.3 * len(lanes)), layout="constrained")
    ax = fig.subplots()
    if not rows:
        return fig
    t0 = min(row.start for row in rows)
    span = max((row.end - t0).total_seconds() for row in rows) or 1.0
    y = {lane: i for i, lane in enumerate(lanes)}

    def x(at: datetime) -> float:
        return (at - t0).total_seconds()

    marker_lines = []
    for row in rows:
        if row.kind == "marker":
            color = MARKER_COLORS[len(marker_lines) % len(MARKER_COLORS)]
            marker_lines.append(ax.axvline(x(row.start), color=color, linestyle="--", linewidth=1.2,
                                           label=f"{row.label} ({x(row.start):+.2f} s)"))  # fmt: skip
        elif row.kind in POINT_SHAPES:
            ax.plot(x(row.start), y[row.lane], POINT_SHAPES[row.kind], color=COLORS[row.kind], markersize=5)
        else:
            failed = row.outcome in ("failed", "timed_out") and row.kind != "retrying"
            ax.barh(y[row.lane], max(x(row.end) - x(row.start), span / 400), left=x(row.start),
                    height=0.8 if row.kind == "run" else 0.6, color=FAILED if failed else COLORS[row.kind],
                    hatch="///" if row.kind == "retrying" else None, edgecolor="#a0522d" if row.kind == "retrying" else None,
                    linewidth=0)  # fmt: skip
    ax.set_yticks(range(len(lanes)), lanes, fontsize=8)
    ax.set_ylim(len(lanes) - 0.5, -0.5)  # the run on top
    ax.set_xlim(-span / 50, span * 1.02)
    ax.set_xlabel(f"seconds since {t0:%H:%M:%S} UTC")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title)
    kinds = [k for k in LEGEND if any(row.kind == k for row in rows)]
    handles = [Patch(facecolor=COLORS[k], hatch="///" if k == "retrying" else None, label=LEGEND[k]) for k in kinds]
    if any(row.outcome in ("failed", "timed_out") and row.kind in BAR_KINDS and row.kind != "retrying" for row in rows):
        handles.append(Patch(facecolor=FAILED, label="failed or timed out"))
    ax.legend(handles=handles + marker_lines, loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=8, frameon=False)
    return fig


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Draw a workflow run's timeline from its exported history (JSON).")
    parser.add_argument("history", type=Path, help="temporal workflow show -w <id> --output json > run.json")
    parser.add_argument("--out", type=Path, help="the PNG to write (default: beside the history)")
    parser.add_argument("--marker", action="append", default=[], metavar="NAME=TIME",
                        help="a moment the history does not know, e.g. 'worker killed=2026-01-05T10:00:03Z'")  # fmt: skip
    args = parser.parse_args(argv)
    markers = {name: datetime.fromisoformat(at.replace("Z", "+00:00")) for name, _, at in
               (m.rpartition("=") for m in args.marker)}  # fmt: skip
    history = WorkflowHistory.from_json(args.history.stem, args.history.read_text(encoding="utf-8"))
    rows = timeline_rows(history, markers)
    out = args.out or args.history.with_suffix(".png")
    draw_timeline(rows, title=args.history.stem).savefig(out, dpi=110)
    bars = sum(row.kind in BAR_KINDS for row in rows)
    print(f"{out}: {len({r.lane for r in rows if r.lane})} lanes, {bars} bars and {len(rows) - bars} points "
          f"from {len(history.events)} events")


if __name__ == "__main__":
    main()
