"""`make bench` keeps working: the benchmark scripts run to the end (timing is their output, not asserted)."""

from __future__ import annotations

import json
import re
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


@pytest.mark.slow
@pytest.mark.integration
def test_the_streaming_benchmark_runs_and_prints_a_row_per_path(temporal_server):
    result = subprocess.run([sys.executable, "ci/bench_streaming.py", "--runs", "1"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line.split()[:3] for line in result.stdout.splitlines()]
    for path in (["plain"], ["durable", "@100ms"], ["durable", "@20ms"]):  # the path, then its number of runs
        assert path + ["1"] in [row[: len(path) + 1] for row in rows], result.stdout
    assert "added time to first token" in result.stdout and "target: within 150 ms" in result.stdout


@pytest.mark.slow
@pytest.mark.integration
def test_the_durability_benchmark_prints_its_tables_and_writes_json_and_a_chart(tmp_path):
    result = subprocess.run([sys.executable, "ci/bench_durability.py", "--quick", "--runs", "2", "--out", str(tmp_path)],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for heading in ("the Temporal floor, tuned dev server", "model latency 0 ms per call:", "model latency 200 ms per call:",
                    "throughput (agent runs per second", "durable per-step overhead, activities:"):  # fmt: skip
        assert heading in out, out
    for row in ("plain Runner.run", "floor: 3 no-op activities", "floor: 3 no-op local activities",
                "durable, local model calls @200ms", "durable, activities @200ms"):  # fmt: skip
        assert any(line.startswith(row) for line in out.splitlines()), (row, out)
    results = json.loads((tmp_path / "durability.json").read_text())
    assert [row["latency_s"] for row in results["latency"]] == [0.0, 0.2]
    assert {row["workers"] for row in results["throughput"]} == {1, 2} and results["seconds"] > 0
    assert all(row[k]["runs"] == 2 for row in results["latency"] for k in ("plain", "durable", "local"))
    assert (tmp_path / "durability.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "durability benchmark (--quick):" in out


@pytest.mark.integration
def test_the_payloads_benchmark_prints_every_size_and_configuration_and_3_mb_inline_refused(temporal_server, tmp_path):
    result = subprocess.run([sys.executable, "ci/bench_payloads.py", "--quick", "--out", str(tmp_path)], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=180)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    for size in ("10 KB", "300 KB", "3 MB"):
        for configuration in ("neither", "codec only", "offload only", "both"):
            row = next((line for line in lines if re.match(rf"{size}\s+{configuration}\s", line)), None)
            assert row is not None, (size, configuration, result.stdout)
            refused = size == "3 MB" and configuration in ("neither", "codec only")
            assert ("refused: over the 2 MB payload limit" in row) == refused, row
    results = json.loads((tmp_path / "payloads.json").read_text())
    timed = [row for row in results["rows"] if "refused" not in row]
    assert len(results["rows"]) == 12 and len(timed) == 10, results["rows"]
    assert all(isinstance(row["p50_ms_per_step"], float) and row["p50_ms_per_step"] > 0 for row in timed)
    assert next(row for row in timed if row["size"] == "3 MB" and row["configuration"] == "both")["baseline"] == "offload only"
