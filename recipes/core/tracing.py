"""Agents SDK traces you can read without an OpenAI account.

The Agents SDK records a trace of every run (agent → model calls → tool calls →
handoffs) and, by default, ships it to OpenAI's dashboard with whatever
``OPENAI_API_KEY`` is set -- also when the model is somewhere else (Ollama, vLLM,
a proxy), which would send that key and the trace data to api.openai.com.
:func:`install_tracing` replaces that default with a local collector and adds
the OpenAI exporter only for the ``openai`` backend on OpenAI's own API (no
custom ``OPENAI_BASE_URL``), with a key, unless ``AGENT_TRACE_EXPORT=off``:

* traces always stay on this machine too (the tutorial prints them as a tree:
  ``tutorial/traces.py``);
* with the ``openai`` backend they also appear at https://platform.openai.com/traces.

A worker in another process can append its finished spans to a JSON-lines file
(``AGENT_TRACE_FILE``) so a notebook can render traces of runs it did not run
itself.
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from agents.tracing import Span, Trace, TracingProcessor, set_trace_processors

if TYPE_CHECKING:
    from recipes.core.models import ModelChoice

TRACE_FILE_ENV = "AGENT_TRACE_FILE"
#: ``off``: never export traces to OpenAI, whatever the backend.
TRACE_EXPORT_ENV = "AGENT_TRACE_EXPORT"


class LocalTraceCollector(TracingProcessor):
    """Keeps finished spans in memory (and optionally appends them to a file)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self._lock = threading.Lock()
        self._traces: dict[str, str] = {}  # trace_id -> workflow name, in start order
        self._spans: list[dict[str, Any]] = []
        self._path = Path(path) if path else None
        if self._path:
            self._path.parent.mkdir(parents=True, exist_ok=True)

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
        if self._path:
            line = json.dumps(record, default=str) + "\n"
            with open(self._path, "a", encoding="utf-8") as f:
                f.write(line)

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


def exports_to_openai(model: ModelChoice | None) -> bool:
    """Whether traces go to OpenAI too: only for OpenAI's own API, with a key, not switched off."""
    if model is None or not model.is_openai_platform or not os.environ.get("OPENAI_API_KEY"):
        return False
    return os.environ.get(TRACE_EXPORT_ENV, "").strip().lower() != "off"


def install_tracing(path: str | Path | None = None, *, model: ModelChoice | None = None) -> LocalTraceCollector:
    """Route Agents SDK traces to a local collector; also to OpenAI only when
    :func:`exports_to_openai` says so for ``model`` (the model switch's choice).

    Safe to call more than once: the same collector is returned.
    """
    global _collector
    if _collector is None:
        _collector = LocalTraceCollector(path or os.environ.get(TRACE_FILE_ENV) or None)
    processors: list[TracingProcessor] = [_collector]
    if exports_to_openai(model):
        from agents.tracing.processors import default_processor

        processors.append(default_processor())
    set_trace_processors(processors)
    return _collector
