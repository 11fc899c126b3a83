"""The ledger the model-call meter writes: one JSON line per model request, shared by
every process that uses the same file, read back by notebooks and tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tutorial.ledger import REPO_ROOT, Ledger, estimate_cost, summarize


@pytest.fixture
def ledger_path(tmp_path, monkeypatch):
    """Every test writes to its own ledger file, never the repo's build/ dir."""
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("AGENT_MODEL_LEDGER", str(path))
    return path




def test_ledger_missing_file_mark_clear_and_filters(tmp_path):
    ledger = Ledger(tmp_path / "nested" / "calls.jsonl")
    assert ledger.entries() == [] and ledger.mark() == 0
    ledger.clear()  # no error on a missing file
    ledger.append({"kind": "tool_calls", "fingerprint": "aaa", "input_tokens": 100, "output_tokens": 10})
    mark = ledger.mark()
    ledger.append({"kind": "final_text", "fingerprint": "aaa", "input_tokens": 200, "output_tokens": 20, "workflow_id": "w1"})
    ledger.append({"kind": "final_text", "fingerprint": "bbb", "input_tokens": 300, "output_tokens": 30})
    assert len(ledger.entries()) == 3
    after = ledger.entries(since=mark)
    assert [e["fingerprint"] for e in after] == ["aaa", "bbb"]
    assert [e["input_tokens"] for e in ledger.entries(workflow_id="w1")] == [200]
    assert all("ts" in e and e["pid"] == os.getpid() for e in after)

    s = summarize(ledger.entries())
    assert s["calls"] == 3 and s["input_tokens"] == 600 and s["output_tokens"] == 60
    assert s["duplicated_fingerprints"] == {"aaa": 2} and s["duplicate_calls"] == 1
    cost = estimate_cost(ledger.entries(), usd_per_million_input=1.0, usd_per_million_output=2.0)
    assert cost["total_usd"] == pytest.approx(600 / 1e6 + 60 * 2 / 1e6)
    assert "Illustrative" in cost["note"]
    assert estimate_cost([])["total_usd"] == 0

    ledger.clear()
    assert ledger.entries() == []
    assert ledger.entries(since=mark) == []  # a stale mark after clear() reads from the start
    ledger.append({"kind": "x"})
    assert [e["kind"] for e in ledger.entries(since=mark + 10_000)] == ["x"]


def test_ledger_ignores_partial_and_garbage_lines(tmp_path):
    path = tmp_path / "l.jsonl"
    path.write_text('{"kind": "a"}\nnot json\n{"kind": "b"}\n{"kind": "in-progr')
    assert [e["kind"] for e in Ledger(path).entries()] == ["a", "b"]


def test_ledger_default_path(monkeypatch):
    monkeypatch.delenv("AGENT_MODEL_LEDGER", raising=False)
    assert Ledger().path == REPO_ROOT / "build" / "ledger" / "model_calls.jsonl"


def _python(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )


def test_ledger_is_shared_across_processes(ledger_path):
    ledger = Ledger(ledger_path)
    mark = ledger.mark()
    # A second process (like a Temporal worker) makes a model call...
    code = """
import asyncio
from agents import ModelSettings, set_tracing_disabled
from agents.models.interface import ModelTracing
from recipes.core.models import choose_model
set_tracing_disabled(True)
asyncio.run(choose_model("offline").provider().get_model(None).get_response(
    "You are a weather assistant.", "Any alerts in CA?", ModelSettings(), [], None, [],
    ModelTracing.DISABLED, previous_response_id=None, conversation_id=None, prompt=None))
"""
    _python(code, {"AGENT_MODEL_LEDGER": str(ledger_path)})
    [entry] = ledger.entries(since=mark)
    assert entry["pid"] != os.getpid()
    assert entry["agent"] == "weather assistant" and entry["kind"] == "final_text"
    # ...and a third process reads what this one appends.
    ledger.append({"kind": "from-parent", "fingerprint": "zz"})
    out = _python(
        "import json; from tutorial.ledger import Ledger; "
        f"print(json.dumps([e['kind'] for e in Ledger({str(ledger_path)!r}).entries(since={mark})]))",
        {},
    )
    assert json.loads(out.stdout) == ["final_text", "from-parent"]


def test_concurrent_appends_do_not_interleave(tmp_path):
    path = tmp_path / "concurrent.jsonl"
    code = (
        "import os, sys; from tutorial.ledger import Ledger\n"
        f"l = Ledger({str(path)!r})\n"
        "for i in range(150): l.append({'writer': sys.argv[1], 'i': i, 'pad': 'x' * 2000})\n"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code, str(n)], env={**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        )
        for n in range(4)
    ]
    for p in procs:
        assert p.wait(timeout=60) == 0
    entries = Ledger(path).entries()
    assert len(entries) == 600
    assert len(path.read_text().splitlines()) == 600
    for n in range(4):
        assert [e["i"] for e in entries if e["writer"] == str(n)] == list(range(150))
