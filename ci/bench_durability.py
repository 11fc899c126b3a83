"""Benchmark what durability costs: the weather agent plain and durable, side by side, in one run.

    python ci/bench_durability.py [--quick] [--out build/bench] [--address HOST:PORT]

With the offline model at a simulated latency per call and the local NWS stand-in:

* **latency**: plain ``Runner.run`` (no Temporal); durable with every model call an activity;
  durable with model calls as local activities -- at 0, 200 ms and 1 s per model call;
* **the Temporal floor**: the same three steps as no-op activities, as no-op local activities,
  and a workflow with no step; per step, where the time goes (dispatch, workflow code,
  activity), from the runs' histories;
* **before / after**: the floor and the agent on a stock ``temporal server start-dev`` and on
  the tutorial's tuned one (``tutorial.temporal_server.DEV_SERVER_TUNING``);
* **throughput**: runs per second at concurrency 1 / 10 / 100 with 1, 2 and 4 worker processes
  on one task queue, with the CPU each side spent per run; and a slot-bound line (each worker
  takes 2 model calls at once, 500 ms each) where adding workers is what adds capacity;
* **recovery**: SIGKILL of the worker running a model call, to that call completing elsewhere.

Prints a table per part, writes ``durability.json`` and ``durability.png`` under ``--out``,
and its own run time. ``--quick`` (under a minute) measures fewer runs, latencies 0 and 200 ms,
throughput at concurrency 10 with 1 and 2 workers, and no recovery. Starts its own two dev
servers (stock and tuned, headless, on free ports), the NWS stand-in and the workers, and stops
them all; ``--address`` measures that server instead (no before/after).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

# No ledger lines from a benchmark, and the offline model (its latency is what is simulated).
os.environ["AGENT_MODEL_LEDGER"] = "off"
os.environ["AGENT_MODEL_BACKEND"] = "offline"

from temporalio.openai_agents import OpenAIAgentsPlugin  # noqa: E402

from recipes.core.scripts import positive_int  # noqa: E402
from recipes.core.settings import connect  # noqa: E402
from tutorial.settings import TemporalSettings  # noqa: E402
from recipes.cost.measure import agent_runs, floor_runs, plain_runs, side_by_side, step_breakdown, throughput  # noqa: E402
from recipes.cost.workflows import MODEL_PARAMS  # noqa: E402
from tutorial.cost_lab import (  # noqa: E402
    SLOT_BOUND, SLOT_BOUND_SERIES, WorkerFleet, cpu_seconds, draw_chart, latency_row, recovery_after_kill, show, start_all, throughput_row,
    timing_rows,
)  # fmt: skip
from tutorial.nws_service import WeatherService  # noqa: E402
from tutorial.offline_model.model import LATENCY_ENV_VAR  # noqa: E402
from tutorial.proof import free_port  # noqa: E402
from tutorial.temporal_server import ensure_server  # noqa: E402

TARGETS = {"activity_step_ms": 15.0, "local_step_ms": 5.0, "runs_per_s_at_100": 30.0, "ratio_at_1s": 1.1}


class Plan:
    def __init__(self, quick: bool, runs: int | None = None) -> None:
        self.quick = quick
        self.runs = runs or (6 if quick else 30)
        self.latencies = (0.0, 0.2) if quick else (0.0, 0.2, 1.0)
        self.concurrency = (10,) if quick else (1, 10, 100)
        self.workers = (1, 2) if quick else (1, 2, 4)
        self.recoveries = 0 if quick else 3
        self.before_after = not quick

    def runs_at(self, latency_s: float) -> int:
        return max(min(4, self.runs), self.runs // (1 + int(latency_s * 10)))  # fewer at 1 s: each run waits 2 s

    def load_runs(self, concurrency: int) -> int:
        # --quick: 40 runs per throughput point (fewer with a smaller --runs, as the test asks for)
        return min(40, 8 * self.runs) if self.quick else max(20, 2 * concurrency)


async def latency_point(plan: Plan, client, latency: float, act: WorkerFleet, local: WorkerFleet) -> dict:
    runs = plan.runs_at(latency)
    os.environ[LATENCY_ENV_VAR] = str(latency)  # the plain runs' model, in this process (the fleets have theirs)
    at = f"@{latency * 1000:.0f}ms"
    plain, as_local, durable = await side_by_side(runs, plain_runs(label=f"plain Runner.run {at}"),
                                                  agent_runs(client, local.task_queue, label=f"durable, local model calls {at}"),
                                                  agent_runs(client, act.task_queue, label=f"durable, activities {at}"))  # fmt: skip
    os.environ[LATENCY_ENV_VAR] = "0"
    show(timing_rows([plain, as_local, durable], plain), f"\nmodel latency {latency * 1000:.0f} ms per call:")
    return latency_row(latency, plain, durable, as_local)


async def floor_part(plan: Plan, client, fleet: WorkerFleet, server: str) -> dict:
    """The floor and the agent at 0 latency on one server, with the per-step breakdown."""
    os.environ[LATENCY_ENV_VAR] = "0"
    plain, none, local, activity, agent = await side_by_side(
        plan.runs, plain_runs(), *(floor_runs(client, fleet.task_queue, kind) for kind in ("none", "local", "activity")),
        agent_runs(client, fleet.task_queue, label="durable agent, activities"))
    with_steps = [step_breakdown(await client.get_workflow_handle(workflow_id).fetch_history())
                  for workflow_id in activity.workflow_ids]  # fmt: skip
    per_step = {key: sum(b.totals()[key] for b in with_steps) / max(1, 3 * len(with_steps))
                for key in ("dispatch_ms", "workflow_code_ms", "activities_ms")}  # fmt: skip
    timings = [plain, none, local, activity, agent]
    show(timing_rows(timings, plain), f"\nthe Temporal floor, {server} dev server (3 steps; 'none' is one workflow, no step):")
    print("  per no-op activity step, from the histories (ms, mean): "
          + ", ".join(f"{k.removesuffix('_ms').replace('_', ' ')} {v:.1f}" for k, v in per_step.items()), flush=True)
    return {"server": server, "timings": [t.as_dict() for t in timings],
            "activity_step_ms": round((activity.p50_ms - none.p50_ms) / 3, 2),
            "local_step_ms": round((local.p50_ms - none.p50_ms) / 3, 2),
            "agent_step_ms": round(agent.overhead_per_step_ms(plain), 2), "per_step_breakdown_ms": per_step}  # fmt: skip


async def throughput_part(plan: Plan, client, act: WorkerFleet, slots: WorkerFleet, server_pid: int | None) -> list[dict]:
    rows = []
    for workers in plan.workers:
        act.scale_to(workers)
        for concurrency in plan.concurrency:
            await throughput(client, act.task_queue, runs=min(10, concurrency), concurrency=concurrency)  # warm-up
            before = (cpu_seconds(server_pid), act.cpu_seconds(), cpu_seconds(os.getpid()))
            result = await throughput(client, act.task_queue, runs=plan.load_runs(concurrency), concurrency=concurrency)
            after = (cpu_seconds(server_pid), act.cpu_seconds(), cpu_seconds(os.getpid()))
            spent = {f"cpu_ms_per_run_{side}": round((b - a) * 1000 / result.runs, 1) if None not in (a, b) else None
                     for side, a, b in zip(("server", "workers", "client"), before, after)}  # fmt: skip
            rows.append(throughput_row(f"concurrency {concurrency}", workers, result, **spent))
    for workers in plan.workers:  # slot-bound: here worker processes are what adds capacity
        slots.scale_to(workers)
        await throughput(client, slots.task_queue, runs=2 * workers, concurrency=32)  # warm-up: a new worker's imports
        result = await throughput(client, slots.task_queue, runs=(8 if plan.quick else 16) * workers, concurrency=32)
        rows.append(throughput_row(SLOT_BOUND_SERIES, workers, result))
    show(rows, "\nthroughput (agent runs per second; CPU ms per run by side):")
    return rows


async def recovery_part(plan: Plan, client, settings: TemporalSettings, weather_url: str) -> list[dict]:
    if not plan.recoveries:
        return []
    rows = []
    with WorkerFleet(settings, weather_url, workers=2, latency_s=1.0, name="bench-recovery") as fleet:
        for _ in range(plan.recoveries):
            r = await recovery_after_kill(client, fleet, heartbeat_timeout_s=MODEL_PARAMS.heartbeat_timeout.total_seconds())
            rows.append({"workflow_id": r.workflow_id, "kill_to_next_step_s": round(r.next_step_s, 2),
                         "kill_to_answer_s": round(r.run_done_s, 2), "heartbeat_timeout_s": r.heartbeat_timeout_s})  # fmt: skip
    show(rows, "\nrecovery: SIGKILL of the worker running a model call (1 s), a second worker polling:")
    return rows


def verdicts(results: dict) -> list[str]:
    tuned = next(f for f in results["floor"] if f["server"] != "stock")  # or the --address server
    lines = [f"durable per-step overhead, activities: {tuned['agent_step_ms']:.1f} ms p50 (target <= {TARGETS['activity_step_ms']:.0f})",
             f"durable per-step overhead, local-activity model calls: "
             f"{results['latency'][0]['local_step_ms']:.1f} ms p50 (target <= {TARGETS['local_step_ms']:.0f})"]  # fmt: skip
    at_100 = [r for r in results["throughput"] if r.get("concurrency") == 100 and r["series"].startswith("concurrency")]
    if at_100:
        best = max(at_100, key=lambda r: r["runs_per_s"])
        lines.append(f"throughput at concurrency 100: {best['runs_per_s']:.1f} runs/s with {best['workers']} worker(s) "
                     f"(target >= {TARGETS['runs_per_s_at_100']:.0f})")  # fmt: skip
    at_1s = [r for r in results["latency"] if r["latency_s"] == 1.0]
    if at_1s:
        ratio = at_1s[0]["durable"]["p50_ms"] / at_1s[0]["plain"]["p50_ms"]
        lines.append(f"with a 1 s model, durable / plain: {ratio:.3f}x (target <= {TARGETS['ratio_at_1s']})")
    stock = next((f for f in results["floor"] if f["server"] == "stock"), None)
    if stock:
        lines.append(f"before/after tuning, per no-op activity step: {stock['activity_step_ms']:.1f} -> "
                     f"{tuned['activity_step_ms']:.1f} ms; agent per step {stock['agent_step_ms']:.1f} -> {tuned['agent_step_ms']:.1f} ms")  # fmt: skip
    return lines


async def bench(plan: Plan, servers: dict, weather_url: str) -> dict:
    results: dict = {"quick": plan.quick, "cores": os.cpu_count(), "python": sys.version.split()[0],
                     "floor": [], "latency": []}  # fmt: skip
    if "stock" in servers:
        settings = TemporalSettings.load(address=servers["stock"].address)
        client = await connect(settings, plugins=[OpenAIAgentsPlugin()])
        with WorkerFleet(settings, weather_url, name="bench-stock") as fleet:
            results["floor"].append(await floor_part(plan, client, fleet, "stock"))
    settings = TemporalSettings.load(address=servers["tuned"].address)
    client = await connect(settings, plugins=[OpenAIAgentsPlugin()])
    act = WorkerFleet(settings, weather_url, name="bench-act-0")
    local = WorkerFleet(settings, weather_url, local_model_calls=True, name="bench-local-0")
    slots = WorkerFleet(settings, weather_url, **SLOT_BOUND, name="bench-slots")
    start_all(act, local, slots)
    try:
        label = "tuned" if servers["tuned"].started_here else f"at {servers['tuned'].address}"
        results["floor"].append(await floor_part(plan, client, act, label))
        results["latency"].append(await latency_point(plan, client, 0.0, act, local))
        local.stop()
        for latency in plan.latencies[1:]:
            slow_act = WorkerFleet(settings, weather_url, latency_s=latency, name=f"bench-act-{latency:g}")
            slow_local = WorkerFleet(settings, weather_url, latency_s=latency, local_model_calls=True,
                                     name=f"bench-local-{latency:g}")  # fmt: skip
            start_all(slow_act, slow_local)
            try:
                results["latency"].append(await latency_point(plan, client, latency, slow_act, slow_local))
            finally:
                slow_act.stop()
                slow_local.stop()
        results["throughput"] = await throughput_part(plan, client, act, slots, servers["tuned"].pid)
    finally:
        for fleet in (act, local, slots):
            fleet.stop()
    results["recovery"] = await recovery_part(plan, client, settings, weather_url)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer runs and configurations: under a minute")
    parser.add_argument("--out", default=str(REPO_ROOT / "build" / "bench"), help="where durability.json and .png go")
    parser.add_argument("--address", default=None, help="measure this Temporal server instead of starting two")
    parser.add_argument("--runs", type=positive_int, default=None, help="timed runs per configuration (default 30; 6 with --quick)")
    args = parser.parse_args()
    started = time.monotonic()
    plan = Plan(args.quick, args.runs)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    servers: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-servers-") as state:
        weather = WeatherService.start(port=0)
        try:
            if args.address:
                servers["tuned"] = ensure_server(args.address, headless=True)
            else:
                for name, tuned in (("stock", False), ("tuned", True))[0 if plan.before_after else 1:]:
                    servers[name] = ensure_server(f"127.0.0.1:{free_port()}", headless=True, tuned=tuned,
                                                  db_file=Path(state) / f"{name}.db", state=Path(state) / name)  # fmt: skip
            results = asyncio.run(bench(plan, servers, weather.url))
        finally:  # before the state folder goes: the servers' SQLite files are in it
            weather.stop()
            for server in servers.values():
                server.stop()  # only one this script started
    print()
    for line in verdicts(results):
        print(line)
    results["seconds"] = round(time.monotonic() - started, 1)
    (out / "durability.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    draw_chart(results, out / "durability.png")
    print(f"wrote {out / 'durability.json'} and {out / 'durability.png'}")
    print(f"durability benchmark{' (--quick)' if plan.quick else ''}: {results['seconds']:.0f} s, "
          f"{os.cpu_count()} cores, Python {results['python']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
