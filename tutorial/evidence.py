"""Read the lessons back out of the event history and the trace.

Built on :mod:`tutorial.history`: every model call is an
``invoke_model_activity`` step whose *summary* is the agent's name, so the
history says which agent made each call and when.

* :func:`agent_sequence` -- the agents in the order their model calls were scheduled.
* :func:`first_model_input` -- what an agent's first model call was given: the
  whole conversation (one loop, after a handoff) or a fresh input (a chain).
* :func:`agent_intervals` -- per agent, from its first model call scheduled to
  its last model call closed (its tool calls happen in between): the time that
  agent's loop was running.
* :func:`overlaps`, :func:`timing_summary` -- did the loops run at the same time,
  and what did that save compared with running them one after another.
* :func:`agent_trace` -- the Agents SDK trace as a tree, without the plugin's
  ``temporal:*`` bookkeeping spans.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tutorial.history import activity_steps
from tutorial.traces import render_trace

__all__ = [
    "Interval",
    "agent_intervals",
    "agent_sequence",
    "agent_trace",
    "first_model_input",
    "latest_trace",
    "overlaps",
    "timeline",
    "timing_summary",
]


@dataclass(frozen=True)
class Interval:
    agent: str
    start: datetime
    end: datetime
    model_calls: int

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def agent_sequence(history: Any) -> list[str]:
    """Agent names of the model calls, in the order they were scheduled."""
    return [s.summary for s in activity_steps(history) if s.is_model_call]


def first_model_input(history: Any, agent: str) -> list[Any]:
    """The input items of ``agent``'s first model call, as the history recorded them.

    This is how the history shows one loop from two: after a handoff the
    specialist's first call carries the whole conversation (the question, the
    router's transfer); in a chain the next agent starts from the input the
    workflow code wrote for it, and nothing else.
    """
    for step in activity_steps(history):
        if step.is_model_call and step.summary == agent and step.arguments:
            items = step.arguments[0].get("input") if isinstance(step.arguments[0], dict) else None
            return [{"role": "user", "content": items}] if isinstance(items, str) else list(items or [])
    return []


def agent_intervals(history: Any) -> dict[str, Interval]:
    """Per agent: first model call scheduled -> last model call closed (closed calls only)."""
    spans: dict[str, list] = {}
    for step in activity_steps(history):
        if step.is_model_call and step.scheduled_at and step.closed_at:
            spans.setdefault(step.summary, []).append(step)
    return {
        agent: Interval(agent, min(s.scheduled_at for s in steps), max(s.closed_at for s in steps), len(steps))
        for agent, steps in spans.items()
    }


def overlaps(intervals: Iterable[Interval]) -> bool:
    """True when every pair of intervals overlaps in time (all ran at once at some point)."""
    items = list(intervals)
    return len(items) > 1 and max(i.start for i in items) < min(i.end for i in items)


def timing_summary(intervals: Iterable[Interval]) -> dict[str, float]:
    """``wall_s`` (first start to last end) vs ``sum_s`` (the loops back to back)."""
    items = list(intervals)
    if not items:
        return {"wall_s": 0.0, "sum_s": 0.0, "saved_s": 0.0}
    wall = (max(i.end for i in items) - min(i.start for i in items)).total_seconds()
    total = sum(i.seconds for i in items)
    return {"wall_s": round(wall, 3), "sum_s": round(total, 3), "saved_s": round(total - wall, 3)}


def agent_trace(spans: list[dict[str, Any]]) -> str:
    """The trace tree with the ``temporal:*`` spans folded away (children move up)."""
    by_id = {s["span_id"]: s for s in spans}

    def hidden(span: dict[str, Any]) -> bool:
        data = span.get("data") or {}
        return data.get("type") == "custom" and str(data.get("name", "")).startswith("temporal:")

    kept = []
    for span in spans:
        if hidden(span):
            continue
        parent = span.get("parent_id")
        while parent in by_id and hidden(by_id[parent]):
            parent = by_id[parent].get("parent_id")
        kept.append({**span, "parent_id": parent})
    return render_trace(kept)


def timeline(intervals: Iterable[Interval], width: int = 48) -> str:
    """A text Gantt chart: one row per agent, ``█`` while its loop was running.

    All rows share one time axis (from the earliest start to the latest end).
    """
    items = sorted(intervals, key=lambda i: (i.start, i.agent))
    if not items:
        return "(no agent ran)"
    t0 = min(i.start for i in items)
    total = max((max(i.end for i in items) - t0).total_seconds(), 1e-6)
    label = max(len(i.agent) for i in items)
    rows = []
    for i in items:
        a = int(round((i.start - t0).total_seconds() / total * width))
        b = max(a + 1, int(round((i.end - t0).total_seconds() / total * width)))
        bar = " " * a + "█" * (b - a) + " " * (width - b)
        rows.append(f"{i.agent.ljust(label)} |{bar}| {(i.start - t0).total_seconds():5.2f}s → {(i.end - t0).total_seconds():5.2f}s")
    rows.append(f"{'':{label}}  0s{'':{width - 6}}{total:5.2f}s")
    return "\n".join(rows)


def latest_trace(collector: Any, name: str) -> list[dict[str, Any]]:
    """Spans of the most recent trace called ``name`` in a ``LocalTraceCollector``."""
    ids = [tid for tid in collector.trace_ids() if collector.spans(tid) and collector.spans(tid)[0].get("trace_name") == name]
    return collector.spans(ids[-1]) if ids else []
