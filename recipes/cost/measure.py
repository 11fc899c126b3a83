"""Time an agent plain and durable, Temporal's own floor, throughput, and where a step's time goes.

    plain = await time_plain(runs=20)                                  # Runner.run, no Temporal
    durable = await time_agent(client, "durability-cost", runs=20)     # the same agent as a workflow
    print(durable.p50_ms, durable.overhead_per_step_ms(plain))
    print(await throughput(client, "durability-cost", runs=200, concurrency=100))
    print(step_breakdown(await handle.fetch_history()))               # where the time went

    # Figures to compare, timed side by side (round by round), so their order holds on a busy machine:
    plain, durable = await side_by_side(20, plain_runs(), agent_runs(client, "durability-cost"))

Each figure is a median (p50) and a 95th percentile over ``runs`` runs after ``warmup`` runs
that are not counted (the first run of a worker pays for imports and the sandbox). Timings are
wall-clock on this machine: compare figures taken in one run, not across machines.
"""

from __future__ import annotations

import asyncio
import math
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from agents import RunConfig, Runner
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHistory

from recipes.core.errors import TutorialError
from recipes.core.models import ModelChoice, choose_model
from recipes.core.tracing import install_tracing
from recipes.cost.workflows import AGENT_STEPS, FLOOR_KINDS, CostAgentWorkflow, FloorKind, FloorWorkflow, build_agent

QUESTION = "Any weather alerts in California?"


@dataclass(frozen=True)
class Timing:
    """Wall-clock times of ``len(samples_ms)`` runs of one configuration."""

    label: str
    samples_ms: tuple[float, ...]
    steps: int = AGENT_STEPS
    """Durable steps per run (activities or local activities), for the per-step overhead. The agent
    takes 3 with the offline model; a real model may call another tool, or none."""
    workflow_ids: tuple[str, ...] = ()
    """The timed runs, to read their histories back (empty for plain runs)."""

    @property
    def p50_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        ordered = sorted(self.samples_ms)  # nearest rank: a real sample, never interpolated
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]

    def ratio_to(self, plain: Timing) -> float:
        return self.p50_ms / plain.p50_ms

    def overhead_per_step_ms(self, plain: Timing) -> float:
        """What each durable step adds, p50 against p50: (this − plain) / steps."""
        return (self.p50_ms - plain.p50_ms) / self.steps

    def as_dict(self) -> dict:
        return {"label": self.label, "p50_ms": round(self.p50_ms, 2), "p95_ms": round(self.p95_ms, 2),
                "runs": len(self.samples_ms), "steps": self.steps}  # fmt: skip


@dataclass(frozen=True)
class Throughput:
    runs: int
    concurrency: int
    seconds: float
    workflow_ids: tuple[str, ...] = ()
    """The runs, to read back from their histories which workers ran them."""

    @property
    def runs_per_s(self) -> float:
        return self.runs / self.seconds

    def __str__(self) -> str:
        return f"{self.runs} runs at concurrency {self.concurrency}: {self.runs_per_s:.1f} runs/s"


@dataclass(frozen=True)
class Runs:
    """One configuration to time: what one run does (given its workflow id, when it is a
    workflow), how it is labelled, and how many durable steps it takes."""

    label: str
    one_run: Callable[[str], Awaitable[object]]
    steps: int = AGENT_STEPS
    id_prefix: str = ""
    """Runs that are workflows get an id with this prefix, kept to read their histories back."""


def plain_runs(*, question: str = QUESTION, label: str = "plain Runner.run", model: ModelChoice | None = None) -> Runs:
    """The agent with the Agents SDK alone, in this process, with ``model`` (default: the model switch's)."""
    choice = model or choose_model()
    install_tracing(model=choice)  # as a worker does, so both sides pay for the same tracing
    config = RunConfig(model_provider=choice.provider())
    return Runs(label, lambda _: Runner.run(build_agent(durable=False), question, run_config=config))


def agent_runs(client: Client, task_queue: str, *, question: str = QUESTION, label: str = "durable") -> Runs:
    """``CostAgentWorkflow`` start to result, on workers polling ``task_queue``."""

    async def one_run(workflow_id: str):
        return await client.execute_workflow(CostAgentWorkflow.run, question, id=workflow_id, task_queue=task_queue)

    return Runs(label, one_run, AGENT_STEPS, "cost-agent")


def floor_runs(client: Client, task_queue: str, kind: FloorKind, *, steps: int = AGENT_STEPS) -> Runs:
    """``FloorWorkflow``: ``steps`` no-op activities, local activities, or none."""
    if kind not in FLOOR_KINDS:
        raise ValueError(f"Unknown floor kind {kind!r}; choose one of {', '.join(FLOOR_KINDS)}.")
    label = {"activity": f"floor: {steps} no-op activities", "local": f"floor: {steps} no-op local activities",
             "none": "floor: workflow with no step"}[kind]  # fmt: skip

    async def one_run(workflow_id: str):
        return await client.execute_workflow(FloorWorkflow.run, args=[kind, steps], id=workflow_id, task_queue=task_queue)

    return Runs(label, one_run, steps if kind != "none" else 1, "cost-floor")


async def side_by_side(runs: int, *configurations: Runs, warmup: int = 2) -> list[Timing]:
    """Time several configurations round by round, one run of each in turn: ``warmup`` rounds
    that are not counted, then ``runs`` that are. A change in the machine's load during the
    measurement (another program, a test beside this one) then falls on every configuration
    alike, so their order holds on a busy machine, where timing one after the other does not."""
    if runs < 1:
        raise ValueError(f"runs must be at least 1, not {runs}")
    samples: list[list[float]] = [[] for _ in configurations]
    ids: list[list[str]] = [[] for _ in configurations]
    for round_number in range(warmup + runs):
        for config, taken, timed_ids in zip(configurations, samples, ids):
            run_id = _run_id(config.id_prefix) if config.id_prefix else ""
            started = time.perf_counter()
            await config.one_run(run_id)
            if round_number >= warmup:
                taken.append((time.perf_counter() - started) * 1000)
                timed_ids.append(run_id)
    return [Timing(c.label, tuple(taken), c.steps, tuple(timed_ids) if c.id_prefix else ())
            for c, taken, timed_ids in zip(configurations, samples, ids)]  # fmt: skip


async def time_plain(runs: int, *, question: str = QUESTION, warmup: int = 2, label: str = "plain Runner.run",
                     model: ModelChoice | None = None) -> Timing:  # fmt: skip
    """``plain_runs``, timed ``runs`` times after ``warmup``."""
    return (await side_by_side(runs, plain_runs(question=question, label=label, model=model), warmup=warmup))[0]


class NoWorker(TutorialError):
    """No worker took a run on the task queue in time."""


async def check_worker(client: Client, task_queue: str, *, timeout_s: float = 30.0) -> None:
    """One run of the floor's empty workflow; if no worker finishes it within ``timeout_s``,
    terminate it and say so in one sentence (instead of every timed run waiting forever)."""
    handle = await client.start_workflow(FloorWorkflow.run, args=["none", 0], id=_run_id("cost-check"), task_queue=task_queue)
    try:
        await asyncio.wait_for(handle.result(), timeout_s)
    except asyncio.TimeoutError:
        await handle.terminate(reason="no worker")
        raise NoWorker(
            f"No worker finished a run on task queue {task_queue!r} within {timeout_s:.0f} s; start one "
            f"(python -m recipes.cost.worker, with the same TEMPORAL_ADDRESS and task queue) and try again."
        ) from None


def _run_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


async def time_agent(client: Client, task_queue: str, runs: int, *, question: str = QUESTION, warmup: int = 2,
                     label: str = "durable") -> Timing:  # fmt: skip
    """``agent_runs``, one run at a time, timed ``runs`` times after ``warmup``."""
    return (await side_by_side(runs, agent_runs(client, task_queue, question=question, label=label), warmup=warmup))[0]


async def time_floor(client: Client, task_queue: str, kind: FloorKind, runs: int, *, warmup: int = 2,
                     steps: int = AGENT_STEPS) -> Timing:  # fmt: skip
    """``floor_runs``, timed ``runs`` times after ``warmup``."""
    return (await side_by_side(runs, floor_runs(client, task_queue, kind, steps=steps), warmup=warmup))[0]


async def throughput(client: Client, task_queue: str, *, runs: int, concurrency: int, question: str = QUESTION) -> Throughput:
    """``runs`` agent runs, at most ``concurrency`` in flight at once; runs per second end to end."""
    if runs < 1 or concurrency < 1:
        raise ValueError(f"runs and concurrency must be at least 1, not {runs} and {concurrency}")
    gate = asyncio.Semaphore(concurrency)

    ids = tuple(_run_id("cost-load") for _ in range(runs))

    async def one_run(workflow_id: str):
        async with gate:
            await client.execute_workflow(CostAgentWorkflow.run, question, id=workflow_id, task_queue=task_queue)

    started = time.perf_counter()
    await asyncio.gather(*(one_run(workflow_id) for workflow_id in ids))
    return Throughput(runs, concurrency, time.perf_counter() - started, ids)


@dataclass
class StepBreakdown:
    """Where a run's time went, from its history's event times (the server's clock), in ms.

    * ``dispatch``: a workflow task waiting to be picked up (scheduled → started): matching
      handing it to a worker's poll.
    * ``workflow_code``: a worker holding a workflow task (started → completed): the SDK
      replaying/advancing the workflow, plus the completion's trip back. Local activities run
      inside a workflow task, so their time is counted here (each is a marker, not an activity).
    * ``activities``: activities from scheduled to completed (for a model call this includes
      the model's own latency).
    * ``server_span``: first event to last; the rest of a client's wall time is the start and
      result calls.
    """

    dispatch: list[float] = field(default_factory=list)
    workflow_code: list[float] = field(default_factory=list)
    activities: list[float] = field(default_factory=list)
    server_span: float = 0.0

    def totals(self) -> dict[str, float]:
        return {"dispatch_ms": sum(self.dispatch), "workflow_code_ms": sum(self.workflow_code),
                "activities_ms": sum(self.activities), "server_span_ms": self.server_span}  # fmt: skip


def step_breakdown(history: WorkflowHistory) -> StepBreakdown:
    """Split one run's history into dispatch, workflow-code and activity time."""
    out = StepBreakdown()
    events = list(history.events)
    if not events:
        return out
    ms = {e.event_id: e.event_time.ToMicroseconds() / 1000 for e in events}
    out.server_span = float(ms[events[-1].event_id] - ms[events[0].event_id])
    for e in events:
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_STARTED:
            out.dispatch.append(ms[e.event_id] - ms[e.workflow_task_started_event_attributes.scheduled_event_id])
        elif e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            out.workflow_code.append(ms[e.event_id] - ms[e.workflow_task_completed_event_attributes.started_event_id])
        elif e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            out.activities.append(ms[e.event_id] - ms[e.activity_task_completed_event_attributes.scheduled_event_id])
    return out
