"""Observability (recipes/shipping/telemetry.py): one OpenTelemetry trace per reviewed run, from the
client's StartWorkflow down to the model and tool activities and the Agents SDK's spans; no span
sent twice when a worker replays; an OTLP endpoint that is down costs the run nothing and says so
once; the worker's Prometheus metrics scraped.

Offline model, the local NWS stand-in, the session's Temporal server, workers in this process.
OpenTelemetry's global tracer provider can be set once per process: this module installs it once
(module fixture, with ``OTEL_EXPORTER_OTLP_ENDPOINT`` pointing at a loopback port nobody listens
on) and every test shares it. Other modules use no OpenTelemetry, so what stays behind in this
process (the provider, an exporter dropping into a closed port) changes nothing for them.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import socket
import threading
import time
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from temporalio.client import Client
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import choose_model
from recipes.core.settings import connect
from recipes.shipping.activities import screen_question
from recipes.shipping.telemetry import (
    OTLP_ENDPOINT_ENV,
    QuietOtlpExporter,
    install_otel_tracing,
    metrics_url,
    prometheus_runtime,
    scrape,
    span_tree,
    summarize,
    traced_plugins,
    workflow_trace,
)
from recipes.shipping.workflows import MODEL_PARAMS, ReviewedAgentV1
from recipes.tools.weather_alerts import WEATHER_ACTIVITIES
from tests.conftest import FIGURES

QUESTION = "Any weather alerts in Texas?"
WORKFLOW = "ReviewedAgentWorkflow"
TELEMETRY_LOGGER = "recipes.shipping.telemetry"

#: The trace of one reviewed run, as observed: (span name, kind) -> how many. Temporal's plugin:
#: StartWorkflow (client), RunWorkflow (the whole run), StartActivity in the workflow and
#: RunActivity on the worker for the two model calls and the tool. The Agents SDK's, through
#: OpenInference: the run and agent, two turns, the tool call, temporal:startActivity around each
#: activity in the workflow, temporal:executeActivity and generation (the model call) inside them.
EXPECTED_TRACE = {
    (f"StartWorkflow:{WORKFLOW}", "CLIENT"): 1,
    (f"RunWorkflow:{WORKFLOW}", "SERVER"): 1,
    ("Agent workflow", "INTERNAL"): 2,  # the Agents SDK trace's root span and its run span
    ("Weather agent", "INTERNAL"): 1,
    ("turn", "INTERNAL"): 2,
    ("get_weather_alerts", "INTERNAL"): 1,  # the tool call, in the workflow
    ("temporal:startActivity", "INTERNAL"): 3,
    ("temporal:executeActivity", "INTERNAL"): 3,
    ("generation", "INTERNAL"): 2,  # the model calls, in the model activity
    ("StartActivity:invoke_model_activity", "CLIENT"): 2,
    ("RunActivity:invoke_model_activity", "SERVER"): 2,
    ("StartActivity:get_weather_alerts", "CLIENT"): 1,
    ("RunActivity:get_weather_alerts", "SERVER"): 1,
}
#: Spans the Agents SDK's instrumentation records inside an activity only for a trace it started in
#: the same process and still has open: when the run is evicted from the worker's cache after each
#: task, only if the activity started before the eviction (timing), and never on an activity worker
#: in another process.
ACTIVITY_SIDE_AGENT_SPANS = {("temporal:executeActivity", "INTERNAL"), ("generation", "INTERNAL")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class CollectedLogs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def at_least(self, level: int, prefix: str = "") -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level and r.name.startswith(prefix)]


@pytest.fixture(scope="module")
def logs():
    """Every log record of this module's tests from the loggers that matter (ours, OpenTelemetry's)."""
    handler = CollectedLogs()
    loggers = [logging.getLogger(name) for name in (TELEMETRY_LOGGER, "opentelemetry")]
    for logger in loggers:
        logger.addHandler(handler)
    yield handler
    for logger in loggers:
        logger.removeHandler(handler)


@pytest.fixture(scope="module")
def otel(logs):
    """This process's tracing, installed once as a worker would: from OTEL_EXPORTER_OTLP_ENDPOINT,
    here a loopback port nobody listens on (test (c) starts a collector there later)."""
    port = free_port()
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(OTLP_ENDPOINT_ENV, f"http://127.0.0.1:{port}")
        tracing = install_otel_tracing()
    assert tracing.otlp is not None and tracing.otlp.endpoint == f"http://127.0.0.1:{port}/v1/traces", \
        "another test in this process installed OpenTelemetry tracing first"  # fmt: skip
    tracing.otlp.recheck_s = 0.2  # look at the endpoint again soon, so (c) can see it come back
    yield tracing, port
    tracing.otlp.warned = True  # stay quiet for whatever else this process runs, and at its exit
    tracing.clear()


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    path = tmp_path_factory.mktemp("telemetry") / "model_calls.jsonl"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AGENT_MODEL_LEDGER", str(path))
        yield path


def model_calls(ledger: Path, workflow_id: str) -> int:
    lines = ledger.read_text(encoding="utf-8").splitlines() if ledger.exists() else []
    return sum(1 for line in lines if json.loads(line).get("workflow_id") == workflow_id)


def worker(client: Client, queue: str, **options) -> Worker:
    return Worker(client, task_queue=queue, workflows=[ReviewedAgentV1],
                  activities=[*WEATHER_ACTIVITIES, screen_question], **options)  # fmt: skip


async def traced_client(address: str) -> Client:
    return await Client.connect(address, plugins=traced_plugins(MODEL_PARAMS, choose_model("offline").provider()))


async def wait_for_approval_wait(handle) -> None:
    for _ in range(100):
        if await handle.query(ReviewedAgentV1.waiting_for_approval):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the run never reached its approval wait")


async def reviewed_run(address: str, *, restart: bool = False, **worker_options) -> tuple[str, str]:
    """One ReviewedAgentV1 run on a fresh task queue: start, wait for the approval wait, approve,
    finish. ``restart``: the worker is shut down at the approval wait and a new Worker (empty
    cache: it replays the history) is approved on. Returns (workflow id, answer)."""
    client = await traced_client(address)
    queue = workflow_id = f"test-telemetry-{uuid.uuid4().hex[:8]}"
    async with worker(client, queue, **worker_options):
        handle = await client.start_workflow(ReviewedAgentV1.run, QUESTION, id=workflow_id, task_queue=queue)
        await wait_for_approval_wait(handle)
        if not restart:
            await handle.signal(ReviewedAgentV1.approve)
            return workflow_id, (await asyncio.wait_for(handle.result(), 30)).answer
    gc.collect()  # what the stopped worker cached is closed now, outside any workflow, not at some later moment
    async with worker(client, queue, **worker_options):
        await handle.signal(ReviewedAgentV1.approve)
        return workflow_id, (await asyncio.wait_for(handle.result(), 30)).answer


def shape(spans) -> Counter:
    return Counter((s.name, s.kind.name) for s in spans)


def assert_one_whole_trace(trace, expected: dict, *, at_most: set = frozenset()) -> None:
    """``trace`` has the expected spans (those named in ``at_most``: up to that many), each span id
    once, and every parent inside the trace."""
    got = shape(trace)
    exact = {key: n for key, n in got.items() if key not in at_most}
    assert exact == {key: n for key, n in expected.items() if key not in at_most}, span_tree(trace)
    assert all(got[key] <= expected[key] for key in at_most), span_tree(trace)
    ids = Counter(s.context.span_id for s in trace)
    assert [i for i, n in ids.items() if n > 1] == [], f"span ids sent twice:\n{span_tree(trace)}"
    roots = [s.name for s in trace if s.parent is None or s.parent.span_id not in ids]
    assert roots == [f"StartWorkflow:{WORKFLOW}"], f"spans cut off from the trace: {roots}"


# --------------------------------------------------------------------------- (a) one trace


def test_one_run_is_one_trace_from_the_start_to_the_model_and_tool_calls(temporal_server, weather, otel, ledger,
                                                                          record_property):  # fmt: skip
    tracing, _ = otel
    tracing.clear()
    started = time.perf_counter()
    workflow_id, answer = asyncio.run(reviewed_run(temporal_server.address))
    elapsed = time.perf_counter() - started
    assert "2 active weather alerts for TX" in answer
    spans = tracing.spans()
    trace = workflow_trace(spans, workflow_id)
    assert_one_whole_trace(trace, EXPECTED_TRACE)
    # Everything the run did is in that trace; only the client's own calls (the query, the approve
    # signal) are traces of their own.
    others = {s.name for s in spans if s.context.trace_id != trace[0].context.trace_id}
    assert others <= {"QueryWorkflow:waiting_for_approval", "HandleQuery:waiting_for_approval",
                      "SignalWorkflow:approve", "HandleSignal:approve"}, others  # fmt: skip
    # Nesting: the Agents SDK's spans hang under the run's RunWorkflow, the model call under its activity.
    by_id = {s.context.span_id: s for s in trace}

    def ancestors(span):
        while span.parent is not None and span.parent.span_id in by_id:
            span = by_id[span.parent.span_id]
            yield span.name

    agent = next(s for s in trace if s.name == "Weather agent")
    assert f"RunWorkflow:{WORKFLOW}" in list(ancestors(agent))
    assert all("Weather agent" in list(ancestors(s)) for s in trace if s.name == "generation")
    tool = next(s for s in trace if s.name == "get_weather_alerts")
    assert tool.attributes["input.value"] == '{"state":"TX"}' and "2 active weather alerts" in tool.attributes["output.value"]
    assert model_calls(ledger, workflow_id) == 2
    tree = span_tree(trace)
    print(tree)
    record_property(FIGURES, f"telemetry: one reviewed run traced in {elapsed:.2f}s, {len(trace)} spans in one trace")


# --------------------------------------------------------------------------- (b) replay-safe


def test_a_new_worker_replaying_the_run_sends_no_span_twice(temporal_server, weather, otel, ledger, logs):
    """The worker is shut down at the approval wait and the run finishes on a new Worker, which
    replays the history first: the trace is the same as an uninterrupted run's. The stopped worker's
    cached run is closed by the garbage collector, outside the workflow, where its RunWorkflow span
    would end (the recipe's guard drops that end) and OpenTelemetry would log a detach error with a
    traceback (the recipe's filter hides that one)."""
    tracing, _ = otel
    tracing.clear()
    before = len(logs.records)
    workflow_id, answer = asyncio.run(reviewed_run(temporal_server.address, restart=True))
    assert "2 active weather alerts for TX" in answer
    assert_one_whole_trace(workflow_trace(tracing.spans(), workflow_id), EXPECTED_TRACE)
    assert model_calls(ledger, workflow_id) == 2
    assert [r.getMessage() for r in logs.records[before:] if r.levelno >= logging.ERROR] == []


def test_a_worker_without_a_cache_replays_every_step_and_sends_each_span_once(temporal_server, weather, otel, ledger):
    """``max_cached_workflows=0``: every workflow task replays the whole history, so the agent's
    spans are re-created up to three times; each is sent once, with its first ids."""
    tracing, _ = otel
    tracing.clear()
    workflow_id, answer = asyncio.run(reviewed_run(temporal_server.address, max_cached_workflows=0))
    assert "2 active weather alerts for TX" in answer
    assert_one_whole_trace(workflow_trace(tracing.spans(), workflow_id), EXPECTED_TRACE, at_most=ACTIVITY_SIDE_AGENT_SPANS)
    assert model_calls(ledger, workflow_id) == 2


# --------------------------------------------------------------------------- (c) endpoint down


class FakeCollector:
    """An OTLP/HTTP endpoint on loopback that keeps the span names and trace ids it receives."""

    def __init__(self, port: int) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
            ExportTraceServiceResponse,
        )

        self.spans: list[tuple[str, int]] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                for resource in request.resource_spans:
                    for scope in resource.scope_spans:
                        collector.spans += [(s.name, int.from_bytes(s.trace_id, "big")) for s in scope.spans]
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_otlp_endpoint_that_is_down_costs_the_run_nothing_and_is_reported_once(temporal_server, weather, otel,
                                                                                  logs, record_property):  # fmt: skip
    """Two runs while nothing listens at the endpoint (their spans fail to export in two batches,
    looked at twice), then a collector there: the third run's trace arrives whole."""
    tracing, port = otel
    endpoint = f"http://127.0.0.1:{port}/v1/traces"
    timings = []
    for _ in range(2):
        started = time.perf_counter()
        workflow_id, answer = asyncio.run(reviewed_run(temporal_server.address))
        run_s = time.perf_counter() - started
        assert "2 active weather alerts for TX" in answer
        started = time.perf_counter()
        tracing.flush()
        timings.append((run_s, time.perf_counter() - started))
        time.sleep(tracing.otlp.recheck_s)  # so the next batch looks at the endpoint again
    # One line from the recipe, none from OpenTelemetry's exporter (three warnings and an error per batch).
    assert logs.at_least(logging.WARNING, "opentelemetry") == []
    warnings = [w for w in logs.at_least(logging.WARNING, TELEMETRY_LOGGER) if endpoint in w]
    assert len(warnings) == 1, warnings
    assert f"OTLP endpoint {endpoint} is not answering (connection refused)" in warnings[0]
    assert "\n" not in warnings[0]
    assert tracing.otlp.dropped >= 2 * sum(EXPECTED_TRACE.values()) and tracing.otlp.exported == 0
    dropped = tracing.otlp.dropped
    # The same export works once a collector answers there: the next run's whole trace arrives.
    collector = FakeCollector(port)
    try:
        workflow_id, _ = asyncio.run(reviewed_run(temporal_server.address))
        tracing.flush()
        trace_id = workflow_trace(tracing.spans(), workflow_id)[0].context.trace_id
        received = Counter(name for name, t in collector.spans if t == trace_id)
    finally:
        collector.close()
    expected = Counter()
    for (name, _kind), n in EXPECTED_TRACE.items():
        expected[name] += n
    assert received == expected
    assert tracing.otlp.exported >= sum(expected.values())
    assert len([w for w in logs.at_least(logging.WARNING, TELEMETRY_LOGGER) if endpoint in w]) == 1, \
        "said again after the endpoint came back"
    record_property(FIGURES, f"telemetry: runs with the OTLP endpoint down {timings[0][0]:.2f}s and "
                             f"{timings[1][0]:.2f}s, flushes {timings[0][1] * 1000:.0f} and {timings[1][1] * 1000:.0f} ms, "
                             f"{dropped} spans dropped with one warning")  # fmt: skip


def test_the_quiet_exporter_drops_at_once_and_warns_once(record_property):
    """Unit: five batches to a closed port. The plain OTLP exporter logs three warnings and an error
    and spends ~8 s on each batch there (and as long again at exit); this one drops each at once."""
    endpoint = f"http://127.0.0.1:{free_port()}"
    exporter = QuietOtlpExporter(endpoint, recheck_s=0.0)  # look every time: five refusals
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    tracer = provider.get_tracer(__name__)
    handler = CollectedLogs()
    for name in (TELEMETRY_LOGGER, "opentelemetry"):
        logging.getLogger(name).addHandler(handler)
    try:
        started = time.perf_counter()
        for n in range(5):
            with tracer.start_as_current_span(f"span {n}"):
                pass
            provider.force_flush()
        provider.shutdown()
        elapsed = time.perf_counter() - started
    finally:
        for name in (TELEMETRY_LOGGER, "opentelemetry"):
            logging.getLogger(name).removeHandler(handler)
    record_property(FIGURES, f"telemetry: 5 batches to a dead OTLP endpoint dropped in {elapsed:.3f}s")
    assert (exporter.dropped, exporter.exported) == (5, 0)  # dropped at the door: never handed to the OTLP client
    assert handler.at_least(logging.WARNING, "opentelemetry") == []
    assert [w for w in handler.at_least(logging.WARNING) if endpoint in w] == [
        f"OTLP endpoint {endpoint}/v1/traces is not answering (connection refused): spans sent there are dropped "
        f"and runs are not affected. Said once; start a collector there, or unset {OTLP_ENDPOINT_ENV}."]


# --------------------------------------------------------------------------- (d) Prometheus


def test_the_workers_prometheus_metrics_are_scraped(temporal_server, weather, ledger, record_property):
    """A worker with 7 activity slots, 5 workflow-task slots and a cache of one run: one run alone
    (its tasks hit the cache), then two at once (each evicts the other: misses)."""
    port = free_port()

    async def main():
        plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=choose_model("offline").provider())
        client = await connect(temporal_server.address, plugins=[plugin], runtime=prometheus_runtime(port))
        queue = f"test-telemetry-metrics-{uuid.uuid4().hex[:8]}"
        async with worker(client, queue, max_cached_workflows=1, max_concurrent_activities=7,
                          max_concurrent_workflow_tasks=5):  # fmt: skip
            async def run(handle):
                await wait_for_approval_wait(handle)
                await handle.signal(ReviewedAgentV1.approve)
                return await asyncio.wait_for(handle.result(), 30)

            def start():
                return client.start_workflow(ReviewedAgentV1.run, QUESTION, id=f"{queue}-{uuid.uuid4().hex[:6]}",
                                             task_queue=queue)  # fmt: skip

            await run(await start())
            await asyncio.gather(*[run(h) for h in [await start(), await start()]])
            return scrape(metrics_url(port)), queue

    samples, queue = asyncio.run(main())
    for name in ("temporal_activity_schedule_to_start_latency_count", "temporal_worker_task_slots_available",
                 "temporal_worker_task_slots_used", "temporal_sticky_cache_hit", "temporal_sticky_cache_miss"):
        assert name in samples, f"{name} not scraped; got {sorted(samples)}"
    metrics = summarize(samples, queue)
    assert metrics.activity_schedule_to_start_count >= 9  # three runs, three activities each
    assert metrics.activity_schedule_to_start_ms is not None and metrics.activity_schedule_to_start_ms >= 0
    assert metrics.slots_available["ActivityWorker"] == 7 and metrics.slots_available["WorkflowWorker"] == 5
    assert metrics.slots_used == {"ActivityWorker": 0, "WorkflowWorker": 0, "LocalActivityWorker": 0}
    assert metrics.sticky_cache_hits > 0 and metrics.sticky_cache_misses > 0
    print("\n".join(f"{name:28} {value}" for name, value in metrics.rows()))
    record_property(FIGURES, "telemetry: " + "; ".join(f"{n} {v}" for n, v in metrics.rows()))
