"""Where Agents SDK traces go.

By default the SDK ships every trace to OpenAI with whatever ``OPENAI_API_KEY`` is set -- also when the
model is somewhere else (Ollama, vLLM, a proxy), which would send that key and the trace data to
api.openai.com. :func:`install_tracing` keeps OpenAI's exporter only for OpenAI's own API with a key
(``AGENT_TRACE_EXPORT=off`` drops it there too; the traces then appear at platform.openai.com/traces),
and adds the processors installed packages register (the tutorial's local collector, which it prints).
"""

from __future__ import annotations

import os

from agents.tracing import TracingProcessor, set_trace_processors

from recipes.core.models import ModelChoice, registered

TRACE_EXPORT_ENV = "AGENT_TRACE_EXPORT"
#: An entry point of this group is a callable returning a TracingProcessor (called on every install).
TRACE_PROCESSOR_ENTRY_POINTS = "durable_agents.trace_processors"


def exports_to_openai(model: ModelChoice | None) -> bool:
    """Whether traces go to OpenAI: only for OpenAI's own API, with a key, not switched off."""
    if model is None or not model.is_openai_platform or not os.environ.get("OPENAI_API_KEY"):
        return False
    return os.environ.get(TRACE_EXPORT_ENV, "").strip().lower() != "off"


def install_tracing(*, model: ModelChoice | None = None) -> None:
    """Route Agents SDK traces to the registered processors, and to OpenAI only when
    :func:`exports_to_openai` says so for ``model``. Safe to call more than once."""
    processors: list[TracingProcessor] = [make() for make in registered(TRACE_PROCESSOR_ENTRY_POINTS)]
    if exports_to_openai(model):
        from agents.tracing.processors import default_processor

        processors.append(default_processor())
    set_trace_processors(processors)
