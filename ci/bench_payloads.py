"""Benchmark payload settings: what the codec and offloading add to each model step, at 10 KB, 300 KB and 3 MB.

    python ci/bench_payloads.py [--steps 4] [--runs 16] [--quick] [--out build/bench]

A model step is an activity whose input is the conversation (a payload of the given size) and
whose result is a few bytes, as a model call is (``tutorial/payload_bench.py``). At each
size, four configurations of ``recipes.payloads.settings.PayloadSettings``:

* ``neither``      - payloads inline, in plain text (the SDK's default);
* ``codec only``   - every payload AES-256-GCM encrypted (a keyring made for this run);
* ``offload only`` - payloads from 256 KiB (the SDK's default threshold) written to a local blob
  store and recorded by reference: at 10 KB nothing is offloaded, as in production;
* ``both``         - encrypted, then offloaded.

Each configuration has its own worker (in this process), client and task queue; all are timed
in one run, round by round (``recipes.cost.measure.side_by_side``), so a busy machine slows them
alike. A 3 MB payload cannot go inline (Temporal's limit is 2 MB per payload): for ``neither``
and ``codec only`` one run is started to see the worker refuse it, then terminated, and the row
says so; at 3 MB the baseline is ``offload only``.

Prints p50 and p95 ms per step (a run's wall time over its steps) and the ms each step adds to
its baseline, and writes ``payloads.json`` under ``--out``. Large plain payloads can be the slowest:
the SDK gzips its gRPC messages by default, and text costs more to gzip than ciphertext (with
``GrpcCompression.NONE``, 300 KB plain was faster than encrypted here). Uses the Temporal server at
``TEMPORAL_ADDRESS``, starting a local dev server if none answers; stops what it started.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from temporalio.api.enums.v1 import EventType, WorkflowTaskFailedCause  # noqa: E402
from temporalio.client import Client, WorkflowExecutionStatus  # noqa: E402
from temporalio.runtime import LogForwardingConfig, LoggingConfig, Runtime, TelemetryConfig  # noqa: E402
from temporalio.worker import Worker  # noqa: E402

from recipes.core.errors import TutorialError  # noqa: E402
from recipes.core.scripts import positive_int  # noqa: E402
from recipes.core.settings import connect  # noqa: E402
from tutorial.settings import TemporalSettings  # noqa: E402
from recipes.cost.measure import Runs, Timing, side_by_side  # noqa: E402
from recipes.payloads.keys import create_keyring  # noqa: E402
from recipes.payloads.settings import DEFAULT_THRESHOLD, PayloadSettings, PayloadsPlugin  # noqa: E402
from tutorial.history import render_table  # noqa: E402
from tutorial.payload_bench import PayloadStepWorkflow, model_step  # noqa: E402
from tutorial.temporal_server import ensure_server  # noqa: E402

SIZES = {"10 KB": 10_000, "300 KB": 300_000, "3 MB": 3_000_000}
KINDS = ("neither", "codec only", "offload only", "both")
PAYLOAD_LIMIT = 2 * 1024 * 1024  # the server's default blob size limit
REFUSED = "refused: over the 2 MB payload limit"
REFUSAL_WAIT_S = 15.0


@dataclass
class Configuration:
    size_label: str
    kind: str
    payloads: PayloadSettings
    client: Client | None = None
    task_queue: str = ""

    @property
    def size(self) -> int:
        return SIZES[self.size_label]

    @property
    def label(self) -> str:
        return f"{self.size_label} {self.kind}"

    def runs(self, steps: int) -> Runs:
        async def one_run(workflow_id: str):
            return await self.client.execute_workflow(PayloadStepWorkflow.run, args=[self.size, steps], id=workflow_id,
                                                      task_queue=self.task_queue)  # fmt: skip

        return Runs(self.label, one_run, steps, "bench-payloads")


class NoRefusalSeen(TutorialError):
    """A payload over the limit was neither refused nor scheduled in time."""


def configurations(scratch: Path) -> list[Configuration]:
    keyring = scratch / "keyring.json"
    create_keyring(keyring)
    store = {"store": "local", "store_dir": scratch / "blobs"}
    settings = {"neither": PayloadSettings(), "codec only": PayloadSettings(keyring=keyring),
                "offload only": PayloadSettings(**store), "both": PayloadSettings(keyring=keyring, **store)}  # fmt: skip
    return [Configuration(size, kind, settings[kind]) for size in SIZES for kind in KINDS]


async def is_refused(config: Configuration) -> bool:
    """Start one run and watch its history: the worker fails the workflow task (PayloadsTooLarge)
    before the activity is scheduled, or the activity is scheduled. The run is terminated either way."""
    handle = await config.client.start_workflow(PayloadStepWorkflow.run, args=[config.size, 1],
                                                id=f"bench-payloads-refusal-{uuid.uuid4().hex[:10]}",
                                                task_queue=config.task_queue)  # fmt: skip
    try:
        async with asyncio.timeout(REFUSAL_WAIT_S):
            async for event in handle.fetch_history_events(wait_new_event=True):
                if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                    return False
                if (event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED and event.workflow_task_failed_event_attributes.cause
                        == WorkflowTaskFailedCause.WORKFLOW_TASK_FAILED_CAUSE_PAYLOADS_TOO_LARGE):  # fmt: skip
                    return True
    except TimeoutError:
        raise NoRefusalSeen(f"A {config.label} run was neither refused nor scheduled within {REFUSAL_WAIT_S:g} s.") from None
    finally:
        if (await handle.describe()).status == WorkflowExecutionStatus.RUNNING:
            await handle.terminate(reason="payload limit probe: done")
    raise NoRefusalSeen(f"The {config.label} run closed before its first step was scheduled or refused.")


async def measure(configs: list[Configuration], settings: TemporalSettings, steps: int, runs: int,
                  warmup: int) -> dict[str, Timing | None]:  # fmt: skip
    """Timings by label; ``None`` for a configuration whose payload the worker refused."""
    async with contextlib.AsyncExitStack() as workers:
        for config in configs:
            config.client = await connect(settings, plugins=[PayloadsPlugin(config.payloads)])
            config.task_queue = f"bench-payloads-{uuid.uuid4().hex[:8]}"
            worker = Worker(config.client, task_queue=config.task_queue, workflows=[PayloadStepWorkflow],
                            activities=[model_step])  # fmt: skip
            await workers.enter_async_context(worker)
        over_limit = [c for c in configs if c.size > PAYLOAD_LIMIT and c.payloads.store == "off"]
        refused = {c.label for c in over_limit if await is_refused(c)}
        timed = [c for c in configs if c.label not in refused]
        timings = await side_by_side(runs, *(c.runs(steps) for c in timed), warmup=warmup)
    return {c.label: None for c in configs if c.label in refused} | {t.label: t for t in timings}


def summary(configs: list[Configuration], timings: dict[str, Timing | None]) -> list[dict]:
    """One row per configuration; each timed row's added ms per step against ``neither`` at its
    size, or ``offload only`` where ``neither`` was refused."""
    rows = []
    for config in configs:
        timing = timings[config.label]
        row = {"size": config.size_label, "configuration": config.kind, "size_bytes": config.size}
        if timing is None:
            rows.append(row | {"refused": REFUSED})
            continue
        baseline_kind = next(k for k in ("neither", "offload only") if timings[f"{config.size_label} {k}"] is not None)
        baseline = timings[f"{config.size_label} {baseline_kind}"]
        row |= {"runs": len(timing.samples_ms), "steps": timing.steps, "p50_ms_per_step": round(timing.p50_ms / timing.steps, 2),
                "p95_ms_per_step": round(timing.p95_ms / timing.steps, 2), "baseline": baseline_kind}  # fmt: skip
        if config.kind != baseline_kind:
            row["added_ms_per_step"] = round(timing.overhead_per_step_ms(baseline), 2)
        rows.append(row)
    return rows


def table(rows: list[dict]) -> str:
    def cells(row: dict) -> dict:
        if "refused" in row:
            return {"size": row["size"], "configuration": row["configuration"], "p50 ms/step": row["refused"]}
        added = row.get("added_ms_per_step")
        return {"size": row["size"], "configuration": row["configuration"], "runs": row["runs"],
                "p50 ms/step": f"{row['p50_ms_per_step']:.1f}", "p95 ms/step": f"{row['p95_ms_per_step']:.1f}",
                "added ms/step": "(baseline)" if added is None else f"{added:+.1f}",
                "vs": "" if added is None else row["baseline"]}  # fmt: skip

    return render_table([cells(row) for row in rows])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=positive_int, default=None, help="model steps per run (default 4; 2 with --quick)")
    parser.add_argument("--runs", type=positive_int, default=None, help="timed runs per configuration (default 16; 2 with --quick)")
    parser.add_argument("--quick", action="store_true", help="fewer steps and runs, one warm-up round: for the test")
    parser.add_argument("--out", default=str(REPO_ROOT / "build" / "bench"), help="where payloads.json goes")
    args = parser.parse_args()
    steps = args.steps or (2 if args.quick else 4)
    runs = args.runs or (2 if args.quick else 16)
    warmup = 1 if args.quick else 2

    started = time.monotonic()
    # The SDK's own log lines (the refusal is logged at ERROR) through Python's logging, to stderr: not into the table.
    forwarding = LogForwardingConfig(logger=logging.getLogger("temporalio.core"))
    Runtime.set_default(Runtime(telemetry=TelemetryConfig(logging=LoggingConfig(LoggingConfig.default.filter, forwarding))))
    server = ensure_server(headless=True)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-payloads-") as scratch:
            configs = configurations(Path(scratch))
            timings = asyncio.run(measure(configs, TemporalSettings.load(address=server.address), steps, runs, warmup))
    except TutorialError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    finally:
        if server.started_here:
            server.stop()
    rows = summary(configs, timings)
    seconds = time.monotonic() - started

    print(f"payloads benchmark{' (--quick)' if args.quick else ''}: {steps} model steps per run, {runs} run(s) per "
          f"configuration after {warmup} warm-up round(s), interleaved; {os.cpu_count()} cores, "
          f"Python {sys.version.split()[0]}, {seconds:.0f} s in all")  # fmt: skip
    print("ms per step: a run's wall time (start, the steps, the result) over its steps; "
          "added: p50 against the baseline's p50, per step")
    print(table(rows))
    print(f"offloading starts at {DEFAULT_THRESHOLD // 1024} KiB (the SDK's default): at 10 KB nothing is offloaded, so "
          "'offload only' is 'neither' and 'both' is 'codec only' there, as in production")  # fmt: skip
    if any(row.get("added_ms_per_step", 0) < 0 for row in rows):
        print("below zero: faster than the baseline (a few ms either way is noise); large plain text pays most for the "
              "gRPC gzip the SDK applies by default (GrpcCompression.GZIP): ciphertext gzips faster, and an offloaded "
              "payload is not sent at all")  # fmt: skip
    if any("refused" in row for row in rows):
        print("refused: the worker failed the workflow task (PayloadsTooLarge) before the activity was scheduled "
              "(one run started to see it, then terminated); at that size the baseline is 'offload only'")  # fmt: skip

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results = {"quick": args.quick, "steps": steps, "runs": runs, "warmup": warmup, "cores": os.cpu_count(),
               "python": sys.version.split()[0], "offload_threshold_bytes": DEFAULT_THRESHOLD, "rows": rows,
               "seconds": round(seconds, 1)}  # fmt: skip
    (out / "payloads.json").write_text(json.dumps(results, indent=2), encoding="utf-8")
    print(f"wrote {out / 'payloads.json'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
