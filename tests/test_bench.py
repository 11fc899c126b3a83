"""`make bench` keeps working: the benchmark script runs to the end (timing is its output, not asserted)."""

from __future__ import annotations

import subprocess
import sys

from ci.run_notebooks import REPO_ROOT


def test_the_offline_model_benchmark_runs_and_meters_every_call():
    result = subprocess.run([sys.executable, "ci/bench_offline_model.py", "--calls", "20"], cwd=REPO_ROOT,
                            capture_output=True, text=True, timeout=120)  # fmt: skip
    assert result.returncode == 0, result.stderr
    for scenario in ("tool_calls", "final_text", "final_json"):
        assert f"{scenario:<12} get_response + ledger write" in result.stdout, result.stdout
    assert "ledger lines written: 60 (one per get_response)" in result.stdout
