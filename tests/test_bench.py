"""`make bench` keeps working: the benchmark scripts run to the end (timing is their output, not asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ci.run_notebooks import REPO_ROOT


def test_the_offline_model_benchmark_runs_and_meters_every_call():
    result = subprocess.run([sys.executable, "ci/bench_offline_model.py", "--calls", "20"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for scenario in ("tool_calls", "final_text", "final_json"):
        assert f"{scenario:<12} get_response + ledger write" in result.stdout, result.stdout
    assert "ledger lines written: 60 (one per get_response)" in result.stdout


@pytest.mark.integration
def test_the_streaming_benchmark_runs_and_prints_a_row_per_path(temporal_server):
    result = subprocess.run([sys.executable, "ci/bench_streaming.py", "--runs", "1"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split()[:3] for line in result.stdout.splitlines()]
    for path in (["plain"], ["durable", "@100ms"], ["durable", "@20ms"]):  # the path, then its number of runs
        assert path + ["1"] in [row[: len(path) + 1] for row in rows], result.stdout
    assert "added time to first token" in result.stdout and "target: within 150 ms" in result.stdout
