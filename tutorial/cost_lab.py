"""The lab bench for durability's cost: worker processes to time against, CPU accounting,
recovery after a SIGKILL, and the report. Used by ``ci/bench_durability.py`` (``make bench``)
and notebook 13; the timing itself is :mod:`recipes.cost.measure`.

    with WorkerFleet(settings, weather_url, latency_s=0.2) as fleet:   # one worker process
        durable = await time_agent(client, fleet.task_queue, runs=20)
        fleet.scale_to(2)                                               # a second on the same queue
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from temporalio.api.enums.v1 import EventType, PendingActivityState
from temporalio.client import Client

from recipes.core.errors import TutorialError
from recipes.core.models import ModelChoice, choose_model
from tutorial.settings import TemporalSettings
from recipes.core.worker import READY_TEXT
from recipes.cost.measure import QUESTION, Throughput, Timing
from recipes.cost.workflows import TASK_QUEUE_ENV, CostAgentWorkflow
from tutorial.history import render_table
from tutorial.offline_model.model import LATENCY_ENV_VAR
from tutorial.processes import ManagedProcess, python_module

MODEL_ACTIVITY = "invoke_model_activity"
#: Each worker takes at most 2 activities at once and a model call takes 500 ms: one worker finishes
#: at most 4 model calls a second with its CPU mostly idle, so here worker processes, not CPU, are
#: what adds capacity. (At 200 ms, two workers on a busy 2-core machine ran short of CPU: 1.2-1.9x.)
SLOT_BOUND = {"activity_slots": 2, "latency_s": 0.5}
SLOT_BOUND_SERIES = f"{SLOT_BOUND['activity_slots']} activity slots per worker, {SLOT_BOUND['latency_s'] * 1000:.0f} ms model"
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int | None) -> float | None:
    """User + system CPU seconds a live process has used (Linux ``/proc``); ``None`` elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError, TypeError):
        return None
    return (int(fields[11]) + int(fields[12])) / _TICKS  # utime, stime


class WorkerFleet:
    """``recipes.cost.worker`` processes on one task queue of their own, with ``model`` (default: the
    model switch's choice from this process's environment); the offline model waits ``latency_s``
    per call. A key the model needs comes from the environment the workers inherit, never from here."""

    def __init__(self, settings: TemporalSettings, weather_url: str, *, workers: int = 1, latency_s: float = 0.0,
                 local_model_calls: bool = False, activity_slots: int | None = None, name: str = "cost",
                 model: ModelChoice | None = None) -> None:  # fmt: skip
        self.task_queue = f"{name}-{uuid.uuid4().hex[:8]}"
        self.name = name
        self.env = {**settings.as_env(), **(model or choose_model()).as_env(), "NWS_API_URL": weather_url,
                    TASK_QUEUE_ENV: self.task_queue, LATENCY_ENV_VAR: str(latency_s), "AGENT_MODEL_LEDGER": "off"}  # fmt: skip
        self.args = (["--local-model-calls"] if local_model_calls else []) + (
            ["--activity-slots", str(activity_slots)] if activity_slots else [])
        self.processes: list[ManagedProcess] = []
        self._wanted = workers

    def start(self, timeout: float = 90.0) -> WorkerFleet:
        self.scale_to(self._wanted, timeout=timeout)
        return self

    def scale_to(self, workers: int, *, timeout: float = 90.0) -> None:
        """Start more worker processes (all at once: each spends seconds importing), or stop some."""
        if workers < 1:
            raise ValueError(f"a fleet needs at least 1 worker, not {workers}")
        while len(self.processes) > workers:
            self.processes.pop().stop()
        new = [python_module(f"{self.name}-worker-{len(self.processes) + i + 1}", "recipes.cost.worker", *self.args,
                             env=self.env, ready_text=READY_TEXT) for i in range(workers - len(self.processes))]  # fmt: skip
        self.processes += new  # before starting, so stop() reaches one that started when another failed
        if new:
            with ThreadPoolExecutor(len(new)) as pool:
                list(pool.map(lambda process: process.start(timeout), new))

    def by_identity(self, identity: str) -> ManagedProcess | None:
        """The process behind a worker identity (``pid@host``) from a history or describe()."""
        pid = identity.split("@", 1)[0]
        return next((p for p in self.processes if str(p.pid) == pid), None)

    def cpu_seconds(self) -> float | None:
        values = [cpu_seconds(p.pid) for p in self.processes if p.running]
        return None if not values or None in values else sum(values)  # type: ignore[arg-type]

    def stop(self) -> None:
        for process in self.processes:
            process.stop()
        self.processes = []

    def __enter__(self) -> WorkerFleet:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_all(*fleets: WorkerFleet, timeout: float = 90.0) -> None:
    """Start several fleets at once (each worker spends seconds importing); all or none."""
    try:
        with ThreadPoolExecutor(len(fleets)) as pool:
            list(pool.map(lambda fleet: fleet.start(timeout), fleets))
    except BaseException:
        for fleet in fleets:
            fleet.stop()
        raise


@dataclass(frozen=True)
class Recovery:
    """One SIGKILL of the worker running a model call, and how long until the run moved on."""

    workflow_id: str
    killed_at: datetime
    next_step_s: float
    """SIGKILL -> the killed model call completed on another worker (server time)."""
    run_done_s: float
    heartbeat_timeout_s: float


async def _model_call_in_flight(client: Client, workflow_id: str, timeout: float = 60.0) -> str:
    """Wait until a model call is running on a worker: that worker's identity."""
    handle = client.get_workflow_handle(workflow_id)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for pending in (await handle.describe()).raw_description.pending_activities:
            if (pending.activity_type.name == MODEL_ACTIVITY and pending.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
                    and pending.last_worker_identity):  # fmt: skip
                return pending.last_worker_identity
        await asyncio.sleep(0.05)
    raise TutorialError(f"No model call started in {workflow_id} within {timeout:.0f} s; is a worker polling?")


async def recovery_after_kill(client: Client, fleet: WorkerFleet, *, heartbeat_timeout_s: float,
                              question: str = QUESTION) -> Recovery:  # fmt: skip
    """Start a run, SIGKILL the worker running its first model call, restart that worker, and
    time the call's completion elsewhere. The fleet needs two workers, so one survives."""
    if len(fleet.processes) < 2:
        raise ValueError("recovery_after_kill needs a fleet of at least 2 workers (one is killed)")
    workflow_id = f"cost-recovery-{uuid.uuid4().hex[:8]}"
    handle = await client.start_workflow(CostAgentWorkflow.run, question, id=workflow_id, task_queue=fleet.task_queue)
    identity = await _model_call_in_flight(client, workflow_id)
    victim = fleet.by_identity(identity)
    if victim is None:
        raise TutorialError(f"The model call runs on {identity}, which is not one of this fleet's workers.")
    killed_at = datetime.now(timezone.utc)
    victim.kill(by="benchmark")
    await handle.result()
    done_at = datetime.now(timezone.utc)
    await asyncio.to_thread(victim.restart, 90)
    history = await handle.fetch_history()
    completed = [e.event_time.ToDatetime(tzinfo=timezone.utc) for e in history.events
                 if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED]  # fmt: skip
    next_step = min(t for t in completed if t > killed_at)
    return Recovery(workflow_id, killed_at, (next_step - killed_at).total_seconds(),
                    (done_at - killed_at).total_seconds(), heartbeat_timeout_s)  # fmt: skip


# --- the report -------------------------------------------------------------------------


def latency_row(latency_s: float, plain: Timing, durable: Timing, local: Timing) -> dict[str, Any]:
    """One model latency's figures, as :func:`draw_chart` and ``durability.json`` hold them."""
    return {"latency_s": latency_s, "plain": plain.as_dict(), "durable": durable.as_dict(), "local": local.as_dict(),
            "durable_step_ms": round(durable.overhead_per_step_ms(plain), 2),
            "local_step_ms": round(local.overhead_per_step_ms(plain), 2)}  # fmt: skip


def throughput_row(series: str, workers: int, result: Throughput, **extra: Any) -> dict[str, Any]:
    """One throughput point (a line of :func:`draw_chart`'s right panel is one ``series``)."""
    return {"series": series, "workers": workers, "concurrency": result.concurrency, "runs": result.runs,
            "runs_per_s": round(result.runs_per_s, 2), **extra}  # fmt: skip


def timing_rows(timings: list[Timing], plain: Timing | None = None) -> list[dict[str, Any]]:
    rows = []
    for t in timings:
        row = {"what": t.label, "runs": len(t.samples_ms), "p50 ms": f"{t.p50_ms:.1f}", "p95 ms": f"{t.p95_ms:.1f}"}
        if plain is not None and t is not plain:
            row["× plain"] = f"{t.ratio_to(plain):.2f}"
            row["+ms per step"] = f"{t.overhead_per_step_ms(plain):.1f}"
        rows.append(row)
    return rows


def show(rows: list[dict[str, Any]], title: str = "") -> str:
    text = (f"{title}\n" if title else "") + render_table(rows)
    print(text, flush=True)
    return text


def draw_chart(results: dict[str, Any], path: str | Path | None = None):
    """p50 per model latency (plain / local-activity / activity, the overhead's share printed on each
    durable bar) and, if ``results`` has throughput rows, runs per second against worker processes
    beside it. Returns the figure; saves a PNG to ``path`` if given."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    latency = results.get("latency", [])
    throughput = results.get("throughput", [])
    if throughput:
        fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    else:  # the latency panel alone
        fig, left = plt.subplots(figsize=(7, 4.5))
    kinds = [("plain", "plain Runner.run"), ("local", "model calls as local activities"), ("durable", "model calls as activities")]
    width = 0.27
    for i, (key, label) in enumerate(kinds):
        xs = [j + (i - 1) * width for j in range(len(latency))]
        ys = [row[key]["p50_ms"] for row in latency]
        bars = left.bar(xs, ys, width, label=label)
        if key != "plain":
            for bar, row in zip(bars, latency):
                share = 1 - row["plain"]["p50_ms"] / row[key]["p50_ms"]
                left.annotate(f"{share:.0%}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                              ha="center", va="bottom", fontsize=8)  # fmt: skip
    left.set_xticks(range(len(latency)), [f"{row['latency_s'] * 1000:.0f} ms" for row in latency])
    left.set_xlabel("simulated model latency per call")
    left.set_ylabel("p50 per run, ms (label: durability's share)")
    left.set_title("One agent run: model -> tool -> model")
    left.legend(fontsize=8)
    if throughput:
        for series in sorted({row["series"] for row in throughput}):
            points = sorted((row["workers"], row["runs_per_s"]) for row in throughput if row["series"] == series)
            right.plot([w for w, _ in points], [r for _, r in points], marker="o", label=series)
        right.set_xlabel("worker processes on one task queue")
        right.set_ylabel("agent runs per second")
        right.set_title("Throughput")
        right.set_xticks(sorted({row["workers"] for row in throughput}))
        right.set_ylim(bottom=0)  # from zero, so a slope reads as the gain it is
        right.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig
