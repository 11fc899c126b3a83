"""See a durable agent run: OpenTelemetry spans and the worker's Prometheus metrics.

**One trace per run.** The client (and so every worker built on it) carries two plugins, and the
process a replay-safe global tracer provider::

    tracing = install_otel_tracing()        # once per process, before the plugins are built
    client = await connect(plugins=traced_plugins(MODEL_PARAMS, choice.provider()))
    ...                                     # start the workflow, run a worker on the client
    print(span_tree(workflow_trace(tracing.spans(), workflow_id)))

What each part adds (measured in ``tests/test_telemetry.py``):

* ``OpenTelemetryPlugin(add_temporal_spans=True)`` (``temporalio.contrib.opentelemetry``):
  ``StartWorkflow:<type>`` on the client, ``RunWorkflow:<type>`` for the whole run (a real
  duration), ``StartActivity:<activity>`` in the workflow and ``RunActivity:<activity>`` on the
  worker that ran it, carried across processes in Temporal headers; signals and queries are spans
  of their own client call (``SignalWorkflow:approve`` -> ``HandleSignal:approve``), a trace each.
* ``OpenAIAgentsPlugin(use_otel_instrumentation=True)``: the Agents SDK's own spans as OpenTelemetry
  spans (through OpenInference), under ``RunWorkflow``: the run (``Agent workflow``), the agent
  (``Weather agent``), each ``turn``, the tool call (``get_weather_alerts``, arguments and result as
  attributes), ``temporal:startActivity``/``temporal:executeActivity`` around each activity, and
  ``generation`` for each model call (model name, messages, tokens). The plugin refuses to start
  unless the global tracer provider is a ``ReplaySafeTracerProvider``. Two things to know: while a
  worker with it runs, OpenInference *replaces* the Agents SDK's other trace processors (the local
  collector of ``recipes/core/tracing.py`` and OpenAI's exporter get nothing); and it records spans
  inside an activity (``temporal:executeActivity``, ``generation``) only for a trace it started in
  the same process and still has open -- an activity on another worker, or after the run left the
  cache, shows only Temporal's ``RunActivity`` span for that model call.
* ``create_tracer_provider()``: span and trace ids drawn from the workflow's deterministic random,
  and no span ended while a worker replays history -- so a worker that restarts, or evicts a run
  from its cache, re-creates the spans it had already sent with the same ids and sends none twice.
* One hole this recipe closes (:class:`SpansEndInTheirRun`): a worker that shuts down with runs in
  its cache leaves their coroutines to the garbage collector, which closes them later, outside the
  workflow -- and the replay-safe span then ends, with the id the next worker will end it with
  again: ``RunWorkflow`` sent twice. A span started in a run is sent only if it ends in that run.

Not the legacy ``TracingInterceptor``: it creates no span while replaying, which shifts the
deterministic ids the replay-safe provider hands out, so after a worker restart a new span gets the
id of one sent before it (seen: ``HandleSignal`` with ``RunWorkflow``'s id), which breaks the tree
in any backend.

**Where spans go.** Always to an in-memory exporter (:meth:`OtelTracing.spans`, for a notebook or a
test); also, when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (OpenTelemetry's own variable, e.g.
``http://127.0.0.1:4318``), to that collector over OTLP/HTTP in the background. An endpoint that is
down costs nothing: batches are dropped at once (no retry storm, no slow exit) and one warning says
so.

**Metrics.** ``connect(..., runtime=prometheus_runtime(9464))`` makes the worker serve Prometheus
text at ``http://127.0.0.1:9464/metrics``; :func:`scrape` reads it and :func:`summarize` picks
activity schedule-to-start latency, task slots and the sticky cache.

From a terminal (one reviewed run, approved by itself, then the trace and the metrics)::

    python -m recipes.shipping.telemetry "Any weather alerts in Texas?" --metrics-port 9464
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import socket
import threading
import time
import urllib.request
import uuid
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import opentelemetry.trace
from agents.models.interface import ModelProvider
from opentelemetry.sdk.resources import Resource
from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from temporalio import workflow
from temporalio.contrib.opentelemetry import OpenTelemetryPlugin, ReplaySafeTracerProvider, create_tracer_provider
from temporalio.openai_agents import ModelActivityParameters
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from recipes.core.agent_failures import AgentsPlugin
from recipes.core.errors import ConfigurationError

__all__ = ["OTLP_ENDPOINT_ENV", "OtelTracing", "QuietOtlpExporter", "SpansEndInTheirRun", "WorkerMetrics", "install_otel_tracing",
           "prometheus_runtime", "scrape", "span_tree", "summarize", "traced_plugins", "workflow_trace"]  # fmt: skip

OTLP_ENDPOINT_ENV = "OTEL_EXPORTER_OTLP_ENDPOINT"
SERVICE_NAME_ENV = "OTEL_SERVICE_NAME"
DEFAULT_SERVICE_NAME = "durable-agents"
log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- tracing


@dataclass
class OtelTracing:
    """This process's OpenTelemetry tracing, as :func:`install_otel_tracing` set it up."""

    provider: ReplaySafeTracerProvider
    memory: InMemorySpanExporter | None
    """Every finished span of this process (``None`` with ``keep_in_memory=False``)."""
    otlp: QuietOtlpExporter | None
    """The export to ``$OTEL_EXPORTER_OTLP_ENDPOINT``, when it is set."""
    guard: SpansEndInTheirRun
    """Where span processors go: ``tracing.guard.add(BatchSpanProcessor(my_exporter))``."""

    def spans(self) -> list[ReadableSpan]:
        """The finished spans kept in memory, oldest first."""
        return list(self.memory.get_finished_spans()) if self.memory else []

    def clear(self) -> None:
        if self.memory:
            self.memory.clear()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Send what the background export still holds (returns at once while its endpoint is down)."""
        return self.provider.force_flush(int(timeout_s * 1000))


_installed: OtelTracing | None = None
_install_lock = threading.Lock()


def install_otel_tracing(*, otlp_endpoint: str | None = None, keep_in_memory: bool = True) -> OtelTracing:
    """Make a replay-safe tracer provider this process's global one, with an in-memory exporter and,
    with ``otlp_endpoint`` (default ``$OTEL_EXPORTER_OTLP_ENDPOINT``), an OTLP/HTTP export.

    OpenTelemetry lets a process set its global provider once, so this installs once: later calls
    return the first installation. Call it before building the plugins (:func:`traced_plugins`) and
    before any library asks for a tracer. ``keep_in_memory=False`` for a long-running worker, whose
    memory would otherwise grow with every span.
    """
    global _installed
    with _install_lock:
        if _installed is not None:
            return _installed
        current = opentelemetry.trace.get_tracer_provider()
        if isinstance(current, ReplaySafeTracerProvider):
            provider = current  # someone installed one already: add to it
        elif type(current).__name__ not in ("ProxyTracerProvider", "NoOpTracerProvider"):
            raise ConfigurationError(
                f"This process already has a global OpenTelemetry tracer provider ({type(current).__name__}), and it "
                "can be set only once; install tracing before anything else sets it, or make that one with "
                "temporalio.contrib.opentelemetry.create_tracer_provider()."
            )
        else:
            name = os.environ.get(SERVICE_NAME_ENV) or DEFAULT_SERVICE_NAME
            provider = create_tracer_provider(resource=Resource.create({"service.name": name}))
        guard = SpansEndInTheirRun()
        provider.add_span_processor(guard)
        memory = InMemorySpanExporter() if keep_in_memory else None
        if memory:
            guard.add(SimpleSpanProcessor(memory))
        endpoint = (otlp_endpoint or os.environ.get(OTLP_ENDPOINT_ENV) or "").strip()
        otlp = QuietOtlpExporter(endpoint) if endpoint else None
        if otlp:
            guard.add(BatchSpanProcessor(otlp))
        if provider is not current:
            opentelemetry.trace.set_tracer_provider(provider)
        logging.getLogger("opentelemetry.context").addFilter(_EvictionDetachNoise())
        _installed = OtelTracing(provider, memory, otlp, guard)
        return _installed


def traced_plugins(
    model_params: ModelActivityParameters, model_provider: ModelProvider | None = None
) -> list[Any]:
    """The client plugins that put a run in one trace: the Agents SDK plugin with its OpenTelemetry
    instrumentation, and Temporal's OpenTelemetry plugin. Installs tracing first if needed."""
    install_otel_tracing()
    return [
        AgentsPlugin(model_params=model_params, model_provider=model_provider, use_otel_instrumentation=True),
        OpenTelemetryPlugin(add_temporal_spans=True),
    ]


class SpansEndInTheirRun(SpanProcessor):
    """Passes spans to its processors, except a span started in a workflow run that ends anywhere
    but in that run: the garbage collector closing the coroutine of a run that a stopped worker had
    cached. Such a span carries the id the run's next worker gives it when it replays and ends it
    for real, so passing it on would send the span twice (with a wrong end time the first time).
    :attr:`dropped` counts them.

    It remembers which run started each open workflow span: the newest ``remember`` of them (a span
    started while replaying whose end is suppressed is never forgotten otherwise). A weak reference
    to the span cannot do it: the collector clears those before it closes the coroutine."""

    def __init__(self, remember: int = 50_000) -> None:
        self._processors: list[SpanProcessor] = []
        self._runs: OrderedDict[tuple[int, int], str] = OrderedDict()
        self._lock = threading.Lock()
        self._remember = remember
        self.dropped = 0

    def add(self, processor: SpanProcessor) -> None:
        self._processors.append(processor)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        if workflow.in_workflow():
            with self._lock:
                self._runs[(span.context.trace_id, span.context.span_id)] = workflow.info().run_id
                if len(self._runs) > self._remember:
                    self._runs.popitem(last=False)
        for processor in self._processors:
            processor.on_start(span, parent_context=parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        key = (span.context.trace_id, span.context.span_id)
        with self._lock:
            run_id = self._runs.get(key)
            if run_id is not None:
                if not (workflow.in_workflow() and workflow.info().run_id == run_id):
                    self.dropped += 1  # kept: a replaying worker may have started this span again
                    return
                del self._runs[key]
        for processor in self._processors:
            processor.on_end(span)

    def shutdown(self) -> None:
        for processor in self._processors:
            processor.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return all([processor.force_flush(timeout_millis) for processor in self._processors])


class _EvictionDetachNoise(logging.Filter):
    """Drops one known-harmless error: when a worker evicts a run from its cache (it shuts down, or
    the cache is full) the run's coroutine is closed, and OpenTelemetry's ``with use_span(...)``
    blocks in it log "Failed to detach context" with a traceback, since the close happens in another
    ``contextvars`` context. The run's spans are unaffected; any other detach error still shows."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() != "Failed to detach context" or not record.exc_info:
            return True
        err = record.exc_info[1]
        return not (isinstance(err, ValueError) and isinstance(err.__context__, GeneratorExit))


# --------------------------------------------------------------------------- OTLP export


class _HeldLogs(logging.Filter):
    """Holds back the OTLP exporter's own log lines (three warnings and an error per batch when its
    endpoint refuses) while :class:`QuietOtlpExporter` exports, on that thread only."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        held = getattr(self._local, "held", None)
        if held is None:
            return True
        held.append(record.getMessage())
        return False

    def hold(self) -> list[str]:
        self._local.held = []
        return self._local.held

    def release(self) -> None:
        self._local.held = None


_HELD = _HeldLogs()
for _name in ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "opentelemetry.exporter.otlp.common.http"):
    logging.getLogger(_name).addFilter(_HELD)


def traces_url(endpoint: str) -> str:
    """``http://host:4318`` -> ``http://host:4318/v1/traces`` (the variable names the base URL)."""
    endpoint = endpoint.rstrip("/")
    return endpoint if endpoint.endswith("/v1/traces") else endpoint + "/v1/traces"


class QuietOtlpExporter(SpanExporter):
    """OTLP/HTTP export that costs nothing while its endpoint is down, and says so once.

    Before exporting to an endpoint not known to answer, it opens a TCP connection to it (skipped
    when a proxy is configured for it): refused, unknown host or no answer within ``probe_timeout_s``
    drops the batch at once, and batches in the next ``recheck_s`` seconds are dropped unchecked.
    The plain exporter would retry each batch for ~8 s with three warnings and an error, and hold
    up the process's exit by as long. A failed export (the endpoint answers, but not OTLP) counts
    the same. Either way one warning in the process's life; :attr:`dropped` counts the spans.
    """

    def __init__(self, endpoint: str, *, recheck_s: float = 10.0, probe_timeout_s: float = 1.0) -> None:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        self.endpoint = traces_url(endpoint)
        parts = urlsplit(self.endpoint)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(
                f"{OTLP_ENDPOINT_ENV}={endpoint!r} is not an http(s) URL; give the collector's base URL, "
                "e.g. http://127.0.0.1:4318."
            )
        self._address = (parts.hostname, parts.port or (443 if parts.scheme == "https" else 80))
        self._inner = OTLPSpanExporter(endpoint=self.endpoint)
        self.recheck_s, self.probe_timeout_s = recheck_s, probe_timeout_s
        self._up = False
        self._next_check = 0.0
        self.exported = 0
        self.dropped = 0
        self.warned = False

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        if not self._up:
            if time.monotonic() < self._next_check:
                self.dropped += len(spans)
                return SpanExportResult.FAILURE
            reason = self._probe()
            if reason:
                return self._down(reason, len(spans))
        held = _HELD.hold()
        try:
            result = self._inner.export(spans)
        finally:
            _HELD.release()
        if result is not SpanExportResult.SUCCESS:
            return self._down(_short(held[-1]) if held else "the export failed", len(spans))
        if self.warned and not self._up:
            log.info("The OTLP endpoint %s answers again; spans are exported from now on.", self.endpoint)
        self._up = True
        self.exported += len(spans)
        return result

    def _probe(self) -> str:
        try:
            import requests.utils

            if requests.utils.get_environ_proxies(self.endpoint):
                return ""  # the proxy decides; let the exporter try
        except ImportError:  # pragma: no cover - the OTLP exporter depends on requests
            pass
        try:
            socket.create_connection(self._address, timeout=self.probe_timeout_s).close()
            return ""
        except ConnectionRefusedError:
            return "connection refused"
        except socket.gaierror:
            return "host name not found"
        except TimeoutError:
            return f"no answer within {self.probe_timeout_s:g} s"
        except OSError as err:
            return err.strerror or type(err).__name__

    def _down(self, reason: str, count: int) -> SpanExportResult:
        self._up = False
        self._next_check = time.monotonic() + self.recheck_s
        self.dropped += count
        if not self.warned:
            self.warned = True
            log.warning(
                "OTLP endpoint %s is not answering (%s): spans sent there are dropped and runs are not affected. "
                "Said once; start a collector there, or unset %s.", self.endpoint, reason, OTLP_ENDPOINT_ENV)  # fmt: skip
        return SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


# --------------------------------------------------------------------------- reading spans


def workflow_trace(spans: Iterable[ReadableSpan], workflow_id: str) -> list[ReadableSpan]:
    """The spans of the trace that started workflow ``workflow_id`` (from its ``StartWorkflow`` span,
    else its ``RunWorkflow`` span), in start order; empty if there is none."""
    spans = list(spans)
    ours = [s for s in spans if (s.attributes or {}).get("temporalWorkflowID") == workflow_id]
    for prefix in ("StartWorkflow:", "SignalWithStartWorkflow:", "RunWorkflow:"):
        start = next((s for s in ours if s.name.startswith(prefix)), None)
        if start is not None:
            trace_id = start.context.trace_id
            return sorted((s for s in spans if s.context.trace_id == trace_id), key=lambda s: s.start_time or 0)
    return []


def _detail(span: ReadableSpan) -> str:
    attrs = span.attributes or {}
    if "llm.model_name" in attrs:
        tokens = attrs.get("llm.token_count.total")
        return f"  [{attrs['llm.model_name']}" + (f", {tokens} tokens]" if tokens else "]")
    if "tool.name" in attrs and "input.value" in attrs:
        return f"  [{_short(str(attrs['input.value']), 40)}]"
    return ""


def span_tree(spans: Iterable[ReadableSpan]) -> str:
    """Finished spans as an indented tree: name, duration, a model's name or a tool's arguments,
    and an error's description; children in start order, one block per trace."""
    spans = sorted(spans, key=lambda s: s.start_time or 0)
    ids = {(s.context.trace_id, s.context.span_id) for s in spans}
    children: dict[Any, list[ReadableSpan]] = {}
    for s in spans:
        parent = (s.context.trace_id, s.parent.span_id) if s.parent else None
        children.setdefault(parent if parent in ids else ("root", s.context.trace_id), []).append(s)
    traces = list(dict.fromkeys(s.context.trace_id for s in spans))
    lines: list[str] = []

    def walk(key: Any, depth: int) -> None:
        for s in children.get(key, []):
            ms = ((s.end_time or 0) - (s.start_time or 0)) / 1e6
            error = f"  ✗ {s.status.description}" if s.status.status_code is StatusCode.ERROR else ""
            lines.append(f"{'  ' * depth}{s.name}  {ms:,.1f} ms{_detail(s)}{error}")
            walk((s.context.trace_id, s.context.span_id), depth + 1)

    for trace_id in traces:
        if len(traces) > 1:
            lines.append(f"trace {trace_id:032x}")
        walk(("root", trace_id), 1 if len(traces) > 1 else 0)
    return "\n".join(lines)


# --------------------------------------------------------------------------- Prometheus


def prometheus_runtime(port: int, host: str = "127.0.0.1") -> Runtime:
    """A Temporal runtime whose workers serve Prometheus text at ``http://host:port/metrics``;
    pass it to ``connect(..., runtime=...)``. A port in use fails here, naming the port."""
    try:
        return Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=f"{host}:{port}")))
    except ValueError as err:
        if "in use" in str(err):
            raise ConfigurationError(f"Port {host}:{port} is in use; pick another for the worker's metrics.") from None
        raise


def metrics_url(port: int, host: str = "127.0.0.1") -> str:
    return f"http://{host}:{port}/metrics"


Samples = dict[str, list[tuple[dict[str, str], float]]]


def scrape(url: str, timeout: float = 5.0) -> Samples:
    """Prometheus text from ``url`` as ``{sample name: [(labels, value), ...]}``, with names as the
    endpoint writes them (the parser would add ``_total`` to Temporal's counters; that is undone)."""
    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(url, timeout=timeout) as response:
        text = response.read().decode("utf-8")
    written = set(re.findall(r"^([A-Za-z_:][\w:]*)", text, flags=re.MULTILINE))
    samples: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            name = sample.name
            if name not in written and name.endswith("_total") and name[: -len("_total")] in written:
                name = name[: -len("_total")]
            samples.setdefault(name, []).append((dict(sample.labels), float(sample.value)))
    return samples


@dataclass(frozen=True)
class WorkerMetrics:
    """What to look at first on a worker (one task queue)."""

    activity_schedule_to_start_count: int
    activity_schedule_to_start_ms: float | None
    """Mean wait from scheduled to picked up; ~0 when activities go eagerly to the same worker."""
    slots_available: dict[str, float] = field(default_factory=dict)
    """Per worker type (WorkflowWorker, ActivityWorker, LocalActivityWorker): free task slots."""
    slots_used: dict[str, float] = field(default_factory=dict)
    sticky_cache_hits: int = 0
    sticky_cache_misses: int = 0
    """A workflow task for a run the cache no longer holds: its whole history fetched and replayed."""
    sticky_cache_size: int = 0

    def rows(self) -> list[tuple[str, str]]:
        mean = "-" if self.activity_schedule_to_start_ms is None else f"{self.activity_schedule_to_start_ms:.1f} ms"
        slots = lambda d: ", ".join(f"{k.removesuffix('Worker')} {v:g}" for k, v in sorted(d.items()))  # noqa: E731
        return [
            ("activity schedule-to-start", f"{self.activity_schedule_to_start_count} observed, mean {mean}"),
            ("task slots available", slots(self.slots_available)),
            ("task slots used", slots(self.slots_used)),
            ("sticky cache", f"{self.sticky_cache_hits} hits, {self.sticky_cache_misses} misses, "
                             f"{self.sticky_cache_size} runs cached"),
        ]  # fmt: skip


def summarize(samples: Samples, task_queue: str | None = None) -> WorkerMetrics:
    """Pick the first things to look at out of :func:`scrape`'s samples (one task queue, or all)."""

    def values(name: str) -> list[tuple[dict[str, str], float]]:
        return [(labels, v) for labels, v in samples.get(name, []) if task_queue in (None, labels.get("task_queue"))]

    def total(name: str) -> float:
        return sum(v for _, v in values(name))

    count = int(total("temporal_activity_schedule_to_start_latency_count"))
    return WorkerMetrics(
        activity_schedule_to_start_count=count,
        activity_schedule_to_start_ms=total("temporal_activity_schedule_to_start_latency_sum") / count if count else None,
        slots_available={labels.get("worker_type", "?"): v for labels, v in values("temporal_worker_task_slots_available")},
        slots_used={labels.get("worker_type", "?"): v for labels, v in values("temporal_worker_task_slots_used")},
        sticky_cache_hits=int(total("temporal_sticky_cache_hit")),
        sticky_cache_misses=int(total("temporal_sticky_cache_miss")),
        sticky_cache_size=int(total("temporal_sticky_cache_size")),
    )


# --------------------------------------------------------------------------- from a terminal


async def main(argv: list[str] | None = None) -> None:
    from temporalio.worker import Worker

    from recipes.core.models import choose_model
    from recipes.core.scripts import add_verbose_flag
    from recipes.core.settings import connect
    from recipes.shipping.activities import screen_question
    from recipes.shipping.workflows import MODEL_PARAMS, ReviewedAgentV1
    from recipes.tools.weather_alerts import WEATHER_ACTIVITIES

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default="Any weather alerts in Texas?")
    parser.add_argument("--metrics-port", type=int, default=0, help="serve and show Prometheus metrics on this port")
    args = add_verbose_flag(parser).parse_args(argv)
    tracing = install_otel_tracing()
    runtime = {"runtime": prometheus_runtime(args.metrics_port)} if args.metrics_port else {}
    client = await connect(plugins=traced_plugins(MODEL_PARAMS, choose_model().provider()), **runtime)
    queue = workflow_id = f"telemetry-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[ReviewedAgentV1],
                      activities=[*WEATHER_ACTIVITIES, screen_question]):  # fmt: skip
        handle = await client.start_workflow(ReviewedAgentV1.run, args.question, id=workflow_id, task_queue=queue)
        await handle.signal(ReviewedAgentV1.approve)
        answer = await handle.result()
        metrics = summarize(scrape(metrics_url(args.metrics_port)), queue) if args.metrics_port else None
    print(answer.answer, "\n", flush=True)
    print(span_tree(workflow_trace(tracing.spans(), workflow_id)))
    for name, value in metrics.rows() if metrics else []:
        print(f"{name:28} {value}")
    if tracing.otlp:
        tracing.flush()
        print(f"\nOTLP {tracing.otlp.endpoint}: {tracing.otlp.exported} spans exported, {tracing.otlp.dropped} dropped")


if __name__ == "__main__":
    from recipes.core.scripts import run_script

    run_script(main())
