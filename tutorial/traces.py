"""The Agents SDK traces of runs in this process, kept locally: the collector (registered as a trace
processor, so :func:`recipes.core.tracing.install_tracing` installs it), and one trace as an indented tree,
its span kinds in order -- what the notebooks print and check."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from agents.tracing import Span, Trace, TracingProcessor


class LocalTraceCollector(TracingProcessor):
    """Keeps finished spans in memory, for the notebooks to print and check."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._traces: dict[str, str] = {}  # trace_id -> workflow name, in start order
        self._spans: list[dict[str, Any]] = []

    # TracingProcessor interface -------------------------------------------------
    def on_trace_start(self, trace: Trace) -> None:
        with self._lock:
            self._traces[trace.trace_id] = trace.name

    def on_trace_end(self, trace: Trace) -> None:
        pass

    def on_span_start(self, span: Span[Any]) -> None:
        pass

    def on_span_end(self, span: Span[Any]) -> None:
        record = {
            "trace_id": span.trace_id,
            "trace_name": self._traces.get(span.trace_id, ""),
            "span_id": span.span_id,
            "parent_id": span.parent_id,
            "started_at": span.started_at,
            "ended_at": span.ended_at,
            "data": span.span_data.export(),
            "error": span.error,
        }
        with self._lock:
            self._spans.append(record)

    def shutdown(self) -> None:
        pass

    def force_flush(self) -> None:
        pass

    # Reading ----------------------------------------------------------------
    def trace_ids(self) -> list[str]:
        with self._lock:
            return list(self._traces)

    def trace_named(self, name: str) -> str | None:
        """The id of the most recently started trace with this workflow name."""
        with self._lock:
            return next((t for t, n in reversed(list(self._traces.items())) if n == name), None)

    def spans(self, trace_id: str | None = None) -> list[dict[str, Any]]:
        """Finished spans of one trace (default: the most recent trace)."""
        with self._lock:
            if trace_id is None and self._traces:
                trace_id = list(self._traces)[-1]
            return [s for s in self._spans if s["trace_id"] == trace_id]


_collector: LocalTraceCollector | None = None


def collector() -> LocalTraceCollector:
    """This process's collector (one, whoever asks): the ``durable_agents.trace_processors`` entry point."""
    global _collector
    if _collector is None:
        _collector = LocalTraceCollector()
    return _collector


def _label(data: dict[str, Any]) -> str:
    kind = data.get("type", "?")
    if kind == "agent":
        extras = []
        if data.get("tools"):
            extras.append("tools=" + ",".join(data["tools"]))
        if data.get("handoffs"):
            extras.append("handoffs=" + ",".join(data["handoffs"]))
        return f"agent {data.get('name')}" + (f" ({'; '.join(extras)})" if extras else "")
    if kind == "function":
        out = " ".join(str(data.get("output") or "").split())
        out = out if len(out) <= 60 else out[:57] + "..."
        return f"tool {data.get('name')}({data.get('input') or ''}) -> {out}"
    if kind == "generation":
        return f"model call ({data.get('model') or 'model'})"
    if kind == "response":
        return "model call (responses)"
    if kind == "handoff":
        return f"handoff {data.get('from_agent')} -> {data.get('to_agent')}"
    if kind == "guardrail":
        return f"guardrail {data.get('name')} triggered={data.get('triggered')}"
    if kind == "custom":
        return f"{data.get('name')}"
    return f"{kind} {data.get('name', '')}".strip()


def render_trace(spans: Iterable[dict[str, Any]]) -> str:
    """The spans of one trace as an indented tree, children in start order."""
    spans = sorted(spans, key=lambda s: s.get("started_at") or "")
    ids = {s["span_id"] for s in spans}
    children: dict[str | None, list[dict[str, Any]]] = {}
    for s in spans:
        parent = s["parent_id"] if s["parent_id"] in ids else None
        children.setdefault(parent, []).append(s)
    lines: list[str] = []
    if spans and spans[0].get("trace_name"):
        lines.append(f"trace: {spans[0]['trace_name']}")

    def walk(parent: str | None, depth: int) -> None:
        for s in children.get(parent, []):
            mark = "  ✗ " + str(s["error"].get("message")) if s.get("error") else ""
            lines.append("  " * (depth + 1) + "└─ " + _label(s["data"]) + mark)
            walk(s["span_id"], depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def span_kinds(spans: Iterable[dict[str, Any]]) -> list[str]:
    """The span types in start order, e.g. ['agent', 'generation', 'function', ...]."""
    return [s["data"].get("type") for s in sorted(spans, key=lambda s: s.get("started_at") or "")]
