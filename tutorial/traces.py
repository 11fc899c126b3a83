"""Read the Agents SDK traces the local collector kept (:mod:`recipes.core.tracing`): a worker's span file,
one trace as an indented tree, its span kinds in order -- what the notebooks print and check."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any


def read_span_file(path: str | Path) -> list[dict[str, Any]]:
    """Spans a worker process wrote with ``AGENT_TRACE_FILE`` (empty if none yet)."""
    p = Path(path)
    if not p.exists():
        return []
    return [json.loads(line) for line in p.read_text(encoding="utf-8").splitlines() if line]


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
