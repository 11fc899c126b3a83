"""Terminal scripts: one clear line on stderr and exit 1 for anything a person can fix
(a traceback only with -v or DEBUG=1); input checked before a workflow starts; a
failed run named by its root cause with its Web UI link; a short Temporal outage
ridden out while a starter waits."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import uuid

import pytest

from ci.run_notebooks import REPO_ROOT
from recipes.core.worker import READY_TEXT
from tutorial.processes import python_module
from tutorial.temporal_server import ensure_server


def _run(*args: str, env: dict[str, str] | None = None, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", *args], cwd=REPO_ROOT, env={**os.environ, **(env or {})},
                          capture_output=True, text=True, timeout=timeout)  # fmt: skip


def _one_line(result: subprocess.CompletedProcess) -> str:
    assert result.returncode == 1, (result.returncode, result.stdout, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    [line] = [line for line in result.stderr.splitlines() if line.strip()]
    assert line.startswith("error: "), line
    return line


def _dead_address() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{s.getsockname()[1]}"


@pytest.mark.parametrize(
    ("module", "args", "says"),
    [
        ("recipes.weather.starter", [""], "The question is empty"),
        ("recipes.dynamic_tools.starter", ["   "], "The question is empty"),
        ("recipes.durability.starter", ["briefing", ""], "Name at least one US state"),
        ("recipes.durability.starter", ["weather", ""], "The question is empty"),
        ("recipes.chaining.starter", ["chain", ""], "The question is empty"),
        ("recipes.agent_session.starter", ["chat", "Any weather alerts for Texas?", " "], "The message is empty"),
        ("recipes.hello_temporal.starter", [""], "The name is empty"),
    ],
)
def test_empty_input_is_one_sentence_before_any_workflow_starts(module, args, says):
    # A dead address: had the script tried to start a workflow first, it would say so instead.
    line = _one_line(_run(module, *args, env={"TEMPORAL_ADDRESS": _dead_address()}))
    assert says in line


@pytest.mark.parametrize("module", ["recipes.weather.worker", "recipes.durability.worker", "recipes.chaining.worker",
                                    "recipes.parallel_agents.worker", "recipes.agent_session.worker",
                                    "recipes.dynamic_tools.worker"])
def test_a_worker_with_a_bad_setting_says_so_in_one_line(module):
    line = _one_line(_run(module, env={"AGENT_MODEL_BACKEND": "gpt4all"}))
    assert "Unknown model backend 'gpt4all'" in line and "offline, openai, openai-compatible" in line


@pytest.mark.parametrize("module", ["recipes.weather.starter", "recipes.hello_temporal.worker"])
def test_no_server_is_one_sentence(module):
    line = _one_line(_run(module, env={"TEMPORAL_ADDRESS": _dead_address()}))
    assert "No Temporal server answers at 127.0.0.1:" in line


def test_verbose_shows_the_traceback():
    for how in (["-v"], []):
        env = {"TEMPORAL_ADDRESS": _dead_address(), **({} if how else {"DEBUG": "1"})}
        result = _run("recipes.weather.starter", *how, "Any alerts in Ohio?", env=env)
        assert result.returncode == 1 and "Traceback" in result.stderr and "TemporalUnreachable" in result.stderr


@pytest.mark.integration
def test_a_failed_run_names_its_root_cause_and_its_web_ui_link(temporal_server):
    queue = f"test-hello-fail-{uuid.uuid4().hex[:6]}"
    env = {"TEMPORAL_ADDRESS": temporal_server.address, "HELLO_TASK_QUEUE": queue}
    worker = python_module("test-hello-worker-fail", "recipes.hello_temporal.worker", env=env, ready_text=READY_TEXT)
    try:
        worker.start(timeout=60)
        line = _one_line(_run("recipes.hello_temporal.starter", "Ada", "--failures", "10", env=env))
    finally:
        worker.stop()
    assert line.startswith("error: Workflow hello-") and "failed: FlakyService:" in line and "attempt 5" in line
    assert "Web UI: http://localhost:" in line


@pytest.mark.integration
def test_a_starter_rides_out_a_temporal_server_restart(tmp_path):
    """The server goes away for a few seconds while the starter waits: it keeps waiting
    (saying so), and prints the answer when the run completes."""
    from tutorial.proof import free_port

    server = ensure_server(f"127.0.0.1:{free_port()}", ui_port=free_port(), headless=True,
                           db_file=tmp_path / "dev.db", state=tmp_path)  # fmt: skip
    env = {"TEMPORAL_ADDRESS": server.address, "AGENT_MODEL_BACKEND": "offline",
           "DURABILITY_TASK_QUEUE": f"test-outage-{uuid.uuid4().hex[:6]}", "DURABILITY_TOOL_SECONDS": "2",
           "AGENT_MODEL_LEDGER": str(tmp_path / "ledger.jsonl")}  # fmt: skip
    worker = python_module("test-outage-worker", "recipes.durability.worker", env=env, ready_text=READY_TEXT,
                           log_path=tmp_path / "worker.log")  # fmt: skip
    starter = python_module("test-outage-starter", "recipes.durability.starter", "briefing", "Texas", "Ohio",
                            env=env, log_path=tmp_path / "starter.log")  # fmt: skip
    try:
        worker.start(timeout=60)
        starter.start()
        starter.wait_for_log("Web UI:", timeout=60)
        server.stop()  # down: the starter's long poll for the result fails now
        starter.wait_for_log("Temporal server unreachable, still waiting", timeout=60)
        server = ensure_server(server.address, headless=True, db_file=tmp_path / "dev.db", state=tmp_path)
        assert starter.wait(timeout=120) == 0, starter.log_tail(20)
    finally:
        starter.stop()
        worker.stop()
        server.stop()
    out = starter.log()
    assert "Storm" in out or "storm" in out, out
    assert "Traceback" not in out
