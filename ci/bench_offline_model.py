"""Benchmark the offline stand-in model: time per call, mean and p95.

    python ci/bench_offline_model.py [--calls 2000] [--max-mean-ms 5]

Three realistic decisions, each timed as the full ``get_response`` of the
offline model as the notebooks get it from the model switch (decision + output
items + usage, and the meter's ledger line appended to a temporary file) and as
the bare ``decide`` function:

* tool_calls  - "Any weather alerts in California and Texas?" with the
  get_alerts/get_forecast tools built by ``@function_tool`` (two calls);
* final_text  - the same request after both tools answered with National
  Weather Service-sized GeoJSON (12 alerts each, long descriptions);
* final_json  - the same, with a pydantic output type to fill.

With ``--max-mean-ms`` the script exits 1 if any mean is above that figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from agents import AgentOutputSchema, ModelSettings, function_tool, set_tracing_disabled  # noqa: E402
from agents.models.interface import Model, ModelTracing  # noqa: E402
from pydantic import BaseModel  # noqa: E402

from recipes.core.models import choose_model  # noqa: E402
from tutorial.ledger import Ledger  # noqa: E402
from tutorial.meter import meter  # noqa: E402
from tutorial.offline_model import decide  # noqa: E402


@function_tool
def get_alerts(state: str) -> str:
    """Get weather alerts for a US state.

    Args:
        state: Two-letter US state code (e.g. CA, NY).
    """
    return ""


@function_tool
def get_forecast(latitude: float, longitude: float) -> str:
    """Get weather forecast for a location.

    Args:
        latitude: Latitude of the location.
        longitude: Longitude of the location.
    """
    return ""


class AlertSummary(BaseModel):
    state: str
    count: int
    events: list[str]
    summary: str


INSTRUCTIONS = (
    "You are a weather assistant. Use the tools to answer questions about US weather alerts "
    "and forecasts. Be concise and quote the alert names."
)
REQUEST = "Any weather alerts in California and Texas?"
TOOLS = [get_alerts, get_forecast]


def nws_payload(state: str, n: int = 12) -> str:
    features = []
    for i in range(n):
        features.append(
            {
                "id": f"https://api.weather.gov/alerts/urn:oid:2.49.0.1.840.0.{state}.{i}",
                "type": "Feature",
                "properties": {
                    "event": ["Heat Advisory", "Red Flag Warning", "Wind Advisory"][i % 3],
                    "headline": f"Advisory {i} issued for {state} by NWS",
                    "severity": ["Moderate", "Severe", "Minor"][i % 3],
                    "areaDesc": f"Zone {i}; County {i + 1}, {state}",
                    "description": "* WHAT...Hot conditions with temperatures up to 108. " * 8,
                    "instruction": "Drink plenty of fluids and stay in an air-conditioned room. " * 4,
                },
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features})


def scenario_inputs():
    start = [{"role": "user", "content": REQUEST}]
    done = list(start)
    for i, state in enumerate(["CA", "TX"]):
        cid = f"call_{i}"
        done.append(
            {"type": "function_call", "name": "get_alerts", "arguments": json.dumps({"state": state}),
             "call_id": cid, "id": f"fc_{i}", "status": "completed"}
        )
        done.append({"type": "function_call_output", "call_id": cid, "output": nws_payload(state)})
    return {
        "tool_calls": (start, None),
        "final_text": (done, None),
        "final_json": (done, AgentOutputSchema(AlertSummary)),
    }


def stats(samples: list[float]) -> tuple[float, float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]
    return statistics.fmean(samples) * 1e3, statistics.median(samples) * 1e3, p95 * 1e3


async def bench_model(model: Model, inp, schema, n: int) -> list[float]:
    settings = ModelSettings()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        await model.get_response(
            INSTRUCTIONS, inp, settings, TOOLS, schema, [], ModelTracing.DISABLED,
            previous_response_id=None, conversation_id=None, prompt=None,
        )
        samples.append(time.perf_counter() - t0)
    return samples


def bench_decide(inp, schema, n: int) -> list[float]:
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        decide(INSTRUCTIONS, inp, tools=TOOLS, output_schema=schema)
        samples.append(time.perf_counter() - t0)
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=2000, help="calls per scenario (default 2000)")
    parser.add_argument("--max-mean-ms", type=float, default=None, help="fail if a mean exceeds this")
    args = parser.parse_args()
    set_tracing_disabled(True)

    with tempfile.TemporaryDirectory() as tmp:
        ledger = Ledger(os.path.join(tmp, "bench.jsonl"))
        os.environ.pop("OFFLINE_MODEL_LATENCY", None)  # no simulated latency: time the rules
        choice = choose_model("offline")
        model = meter(choice.provider(), choice, ledger=ledger).get_model(None)
        print(f"offline model benchmark: {args.calls} calls per scenario, Python {sys.version.split()[0]}")
        print(f"{'scenario':<12} {'what':<28} {'mean ms':>8} {'p50 ms':>8} {'p95 ms':>8}")
        worst = 0.0
        for name, (inp, schema) in scenario_inputs().items():
            kind = decide(INSTRUCTIONS, inp, tools=TOOLS, output_schema=schema).kind
            assert kind == name, (name, kind)
            for what, samples in (
                ("get_response + ledger write", asyncio.run(bench_model(model, inp, schema, args.calls))),
                ("decide() only", bench_decide(inp, schema, args.calls)),
            ):
                mean, p50, p95 = stats(samples)
                worst = max(worst, mean)
                print(f"{name:<12} {what:<28} {mean:8.3f} {p50:8.3f} {p95:8.3f}")
        lines = len(ledger.entries())
        print(f"ledger lines written: {lines} (one per get_response)")

    if args.max_mean_ms is not None and worst > args.max_mean_ms:
        print(f"FAIL: slowest mean {worst:.3f} ms > {args.max_mean_ms} ms")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
