"""Time the weather agent plain and durable against your own setup, side by side.

    python -m recipes.cost.compare [--runs 10] [--task-queue Q]

Needs a worker (``python -m recipes.cost.worker``) on the same Temporal server and task
queue, with the same model settings as this process (the model switch: ``AGENT_MODEL_BACKEND``,
``OPENAI_API_KEY``, ``OPENAI_BASE_URL``). Prints p50 / p95 per configuration and what
durability adds: once per run (starting a workflow and getting its result) and per step.
With a real model its latency varies from call to call: use enough runs for the medians to
settle, and compare figures from one run of this script only.
"""

from __future__ import annotations

import argparse

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.scripts import add_verbose_flag, positive_int, run_script
from recipes.core.settings import connect
from recipes.cost.measure import Timing, agent_runs, check_worker, floor_runs, plain_runs, side_by_side
from recipes.cost.workflows import TASK_QUEUE_ENV, default_task_queue


def table(rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def report(plain: Timing, none: Timing, floor: Timing, durable: Timing) -> str:
    rows = [["what", "runs", "p50 ms", "p95 ms", "x plain"]]
    for t in (plain, none, floor, durable):
        rows.append([t.label, str(len(t.samples_ms)), f"{t.p50_ms:.1f}", f"{t.p95_ms:.1f}", f"{t.ratio_to(plain):.2f}"])
    per_run = none.p50_ms
    floor_step = (floor.p50_ms - none.p50_ms) / floor.steps
    agent_step = (durable.p50_ms - plain.p50_ms - per_run) / durable.steps
    return "\n".join([
        table(rows),
        f"durability adds {per_run:.1f} ms per run (start a workflow, get its result) and, per step, "
        f"{floor_step:.1f} ms for Temporal alone (a no-op activity) or {agent_step:.1f} ms in the agent "
        f"(its workflow code and payloads included).",
    ])  # fmt: skip


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=positive_int, default=10, help="timed runs per configuration (default 10)")
    parser.add_argument("--task-queue", default=None, help=f"default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")
    args = add_verbose_flag(parser).parse_args(argv)
    queue = args.task_queue or default_task_queue()
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    print(f"Timing {args.runs} runs per configuration; durable runs need a worker on {queue!r} ...", flush=True)
    await check_worker(client, queue)
    plain, none, floor, durable = await side_by_side(
        args.runs, plain_runs(), floor_runs(client, queue, "none"), floor_runs(client, queue, "activity"),
        agent_runs(client, queue, label="durable agent"))
    print(report(plain, none, floor, durable))


if __name__ == "__main__":
    run_script(main())
