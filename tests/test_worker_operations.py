"""Running workers for real: a SIGTERM during a tool call drains it or has it retried elsewhere,
never lost; /healthz and /readyz; the settings (one sentence for a bad one); and the deploy
examples in recipes/shipping/deploy/, checked against the code (they cannot run here).

The process tests start real worker subprocesses (``recipes.durability.worker``: a slow,
heartbeating tool) against the dev server, signal them with SIGTERM as a supervisor would, and
read what happened from the run's history."""

from __future__ import annotations

import ast
import asyncio
import http.client
import importlib.util
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from temporalio.client import Client, WorkflowHandle
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core import worker_options as core_options
from recipes.core.errors import ConfigurationError
from recipes.core.health import HEALTH_PATH, READY_PATH, HealthServer, HealthSettings
from recipes.core.worker import DRAINING_TEXT, READY_TEXT, STOPPED_TEXT
from recipes.core.worker_options import max_concurrent_activities, shutdown_grace, worker_env_options
from recipes.durability.starter import start_briefing
from recipes.shipping.workflows import CODE_VERSIONS
from tutorial import proof
from tutorial.history import Step, activity_steps, fetch_history
from tutorial.live_view import pending_activities
from tutorial.processes import REPO_ROOT, ManagedProcess, pid_alive, python_module
from tests.conftest import FIGURES

DEPLOY = REPO_ROOT / "recipes" / "shipping" / "deploy"
STORM = "get_storm_report"


# =========================================================================== worker processes


def _worker(name: str, tmp: Path, queue: str, **env: str) -> ManagedProcess:
    base = {
        "TEMPORAL_ADDRESS": os.environ.get("TEMPORAL_ADDRESS") or "localhost:7233",
        "AGENT_MODEL_BACKEND": "offline",
        "DURABILITY_TASK_QUEUE": queue,
        "DURABILITY_OUTBOX": str(tmp / "outbox.sqlite"),
        "AGENT_MODEL_LEDGER": str(tmp / "ledger.jsonl"),
    }
    return python_module(f"test-ops-{name}-{queue}", "recipes.durability.worker", env={**base, **env},
                         ready_text=READY_TEXT, log_path=tmp / f"{name}.log")  # fmt: skip


@pytest.fixture
def workers(temporal_server, tmp_path):
    """Make workers on one private task queue; every one still running is stopped afterwards."""
    queue = f"test-ops-{uuid.uuid4().hex[:8]}"
    made: list[ManagedProcess] = []

    def make(name: str, **env: str) -> ManagedProcess:
        made.append(_worker(name, tmp_path, queue, TEMPORAL_ADDRESS=temporal_server.address, **env))
        return made[-1]

    make.queue = queue
    make.address = temporal_server.address
    try:
        yield make
    finally:
        for w in made:
            w.stop(timeout=5)


def _sigterm(worker: ManagedProcess) -> datetime:
    """What a supervisor does first (kubelet, systemd, docker stop): SIGTERM to the process group."""
    at = proof.now()
    os.killpg(worker.pid, signal.SIGTERM)
    return at


def _exit(worker: ManagedProcess, timeout: float) -> tuple[int, datetime]:
    """Wait for the worker to exit by itself; its exit code and when (UTC, polled every 50 ms)."""
    deadline = time.monotonic() + timeout
    while worker.running and time.monotonic() < deadline:
        time.sleep(0.05)
    at = proof.now()
    assert not worker.running, f"the worker did not exit within {timeout:.0f}s of SIGTERM:\n{worker.log_tail(8)}"
    return worker.returncode, at


def _step(history, activity_id: str) -> Step:
    return next(s for s in activity_steps(history) if s.activity_id == activity_id)


async def _finish(handle: WorkflowHandle, timeout: float = 90):
    try:
        return await asyncio.wait_for(handle.result(), timeout)
    except BaseException:
        await handle.terminate("test cleanup")
        raise


def _s(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def _sigterm_mid_tool(workers, *, tool_s: float, grace_s: float, at_exit):
    """Two worker processes on one queue; a briefing whose tool is in flight on the first when it gets
    SIGTERM; ``at_exit(handle, in_flight)`` reads what it needs once the first has exited; then the
    second starts and the run finishes. Returns the two workers and the scenario's facts."""
    first = workers("first", DURABILITY_TOOL_SECONDS=str(tool_s), WORKER_SHUTDOWN_GRACE_S=str(grace_s))
    second = workers("second", DURABILITY_TOOL_SECONDS=str(tool_s))
    first.start(timeout=60)

    async def scenario():
        client = await Client.connect(workers.address, plugins=[OpenAIAgentsPlugin()])
        handle = await start_briefing(client, ["Texas"], task_queue=workers.queue)
        in_flight = await proof.wait_for_tool_in_flight(handle, after_model_calls=1, tool=STORM, timeout=60)
        sigterm_at = _sigterm(first)
        code, exited_at = await asyncio.to_thread(_exit, first, grace_s + 15)
        at_exit_facts = await at_exit(handle, in_flight)
        await asyncio.to_thread(second.start, 60)
        second_ready = proof.now()
        result = await _finish(handle)
        return {"in_flight": in_flight, "sigterm_at": sigterm_at, "code": code, "exited_at": exited_at,
                "second_ready": second_ready, "result": result, "history": await fetch_history(handle), **at_exit_facts}

    return first, second, asyncio.run(scenario())


@pytest.mark.integration
def test_sigterm_mid_tool_drains_it_on_that_worker_then_the_run_finishes_on_another(workers, record_property):
    tool_s, grace_s = 5.0, 30.0

    async def at_exit(handle, in_flight):
        return {"history_at_exit": await fetch_history(handle), "status_at_exit": await proof.status(handle)}

    first, second, r = _sigterm_mid_tool(workers, tool_s=tool_s, grace_s=grace_s, at_exit=at_exit)
    tool_at_exit = _step(r["history_at_exit"], r["in_flight"]["activity_id"])
    tool = _step(r["history"], r["in_flight"]["activity_id"])
    steps = activity_steps(r["history"])
    figures = (f"worker drain: SIGTERM with {float(r['in_flight']['heartbeat'] or 0):.1f}s of a {tool_s:g}s tool done -> "
               f"tool completed on the stopping worker {_s(r['sigterm_at'], tool.closed_at):.2f}s later -> process exited "
               f"{_s(r['sigterm_at'], r['exited_at']):.2f}s after SIGTERM (grace {grace_s:g}s); second worker ready -> "
               f"run completed {_s(r['second_ready'], steps[-1].closed_at):.2f}s")  # fmt: skip
    record_property(FIGURES, figures)
    print(figures, *(s.as_row() for s in steps), sep="\n")

    assert r["code"] == 0, first.log_tail(10)
    log = first.log()
    assert DRAINING_TEXT in log and STOPPED_TEXT in log, log
    # The tool that was running at SIGTERM completed on that same worker, in its first attempt,
    # after the signal and before the process exited.
    assert tool_at_exit.status == "completed", f"at exit the tool was {tool_at_exit.status}: {tool_at_exit.as_row()}"
    assert tool.attempts == 1 and proof.identity_pid(tool.identity) == first.pid, tool.as_row()
    assert r["sigterm_at"] < tool.closed_at <= r["exited_at"] + timedelta(seconds=0.2)
    assert _s(r["sigterm_at"], tool.closed_at) >= 0.5, "the SIGTERM landed while the tool still had work to do"
    # It exited because the work was done, not because the grace ran out.
    assert _s(r["sigterm_at"], r["exited_at"]) < grace_s - 5
    # The stopping worker took nothing new: the run waited for another worker, which finished it.
    assert r["status_at_exit"] == "RUNNING"
    assert [s.kind for s in steps] == ["model", f"tool:{STORM}", "model"]
    assert proof.identity_pid(steps[-1].identity) == second.pid and steps[-1].closed_at > r["second_ready"]
    assert '"TX"' in r["result"].answer


@pytest.mark.integration
def test_sigterm_with_a_grace_shorter_than_the_tool_retries_it_on_another_worker(workers, record_property):
    tool_s, grace_s = 6.0, 1.0

    async def at_exit(handle, in_flight):
        return {"pending_at_exit": [p for p in await pending_activities(handle) if p["activity_id"] == in_flight["activity_id"]]}

    first, second, r = _sigterm_mid_tool(workers, tool_s=tool_s, grace_s=grace_s, at_exit=at_exit)
    tool = _step(r["history"], r["in_flight"]["activity_id"])
    steps = activity_steps(r["history"])
    figures = (f"worker drain, grace {grace_s:g}s < tool {tool_s:g}s: SIGTERM -> exit {_s(r['sigterm_at'], r['exited_at']):.2f}s; "
               f"second worker ready -> retried tool completed {_s(r['second_ready'], tool.closed_at):.2f}s "
               f"(attempt {tool.attempts}; the cancelled attempt had heartbeated {(r['pending_at_exit'] or [{}])[0].get('heartbeat') or 0}s "
               "of work, which the retry resumed from)")  # fmt: skip
    record_property(FIGURES, figures)
    print(figures, r["pending_at_exit"], *(s.as_row() for s in steps), sep="\n")

    assert r["code"] == 0, first.log_tail(10)
    # The grace ran out: the worker exited after it, not before, and not much later.
    assert grace_s <= _s(r["sigterm_at"], r["exited_at"]) < grace_s + 8
    # The attempt was cancelled and failed as a worker shutdown; the activity waits for a worker, not lost.
    [pending] = r["pending_at_exit"]
    assert pending["attempt"] == 2 and pending["state"] == "scheduled", pending
    assert "shutting down" in pending["last_failure"] and proof.identity_pid(pending["worker"]) == first.pid, pending
    # Retried on the second worker, which completed it and the run.
    assert tool.status == "completed" and tool.attempts == 2, tool.as_row()
    assert proof.identity_pid(tool.identity) == second.pid and tool.started_at >= r["second_ready"] - timedelta(seconds=1)
    assert "WorkerShutdown" in tool.last_failure, tool.last_failure
    assert proof.identity_pid(steps[0].identity) == first.pid and proof.identity_pid(steps[-1].identity) == second.pid
    assert [s.kind for s in steps] == ["model", f"tool:{STORM}", "model"] and '"TX"' in r["result"].answer


def _get(port: int, path: str, method: str = "GET") -> tuple[int, str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=3)
    try:
        conn.request(method, path)
        response = conn.getresponse()
        return response.status, response.read().decode().strip()
    finally:
        conn.close()


def _health_port(worker: ManagedProcess) -> int:
    found = re.search(r"Health: http://127\.0\.0\.1:(\d+)" + re.escape(HEALTH_PATH), worker.log())
    assert found, f"the worker did not print its health address:\n{worker.log_tail(5)}"
    return int(found.group(1))


def _wait_for(what: str, check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.mark.integration
def test_healthz_and_readyz_while_polling_and_while_draining(workers):
    worker = workers("health", DURABILITY_TOOL_SECONDS="5", WORKER_SHUTDOWN_GRACE_S="30", WORKER_HEALTH_PORT="0")
    worker.start(timeout=60)
    port = _health_port(worker)
    _wait_for("/readyz 200", lambda: _get(port, READY_PATH)[0] == 200)
    polling = {HEALTH_PATH: _get(port, HEALTH_PATH), READY_PATH: _get(port, READY_PATH)}

    async def scenario():
        client = await Client.connect(workers.address, plugins=[OpenAIAgentsPlugin()])
        handle = await start_briefing(client, ["Texas"], task_queue=workers.queue)
        in_flight = await proof.wait_for_tool_in_flight(handle, after_model_calls=1, tool=STORM, timeout=60)
        _sigterm(worker)
        ready_draining = await asyncio.to_thread(_wait_for, "/readyz 503", lambda: (r := _get(port, READY_PATH))[0] == 503 and r, 5)
        health_draining = _get(port, HEALTH_PATH)
        still_running = worker.running
        tool_then = _step(await fetch_history(handle), in_flight["activity_id"]).status
        code, _ = await asyncio.to_thread(_exit, worker, 45)
        await handle.terminate("test done: the drain is what was checked")
        return locals()

    r = asyncio.run(scenario())
    print(polling, r["ready_draining"], r["health_draining"], r["tool_then"])
    assert polling == {HEALTH_PATH: (200, "ok"), READY_PATH: (200, "ready")}
    assert r["ready_draining"] == (503, "draining")
    assert r["health_draining"] == (200, "ok"), "a liveness probe must not kill a draining worker"
    assert r["still_running"] and r["tool_then"] == "running", "both answers came while the tool was still draining"
    assert r["code"] == 0 and not pid_alive(worker.pids[-1])
    with pytest.raises(ConnectionRefusedError):
        _get(port, HEALTH_PATH)  # the endpoint stopped with the worker


@pytest.mark.integration
def test_a_bad_shutdown_grace_is_one_sentence_and_exit_1_before_connecting(tmp_path):
    # An address where nothing answers: the setting must be refused before any connection is tried.
    env = {**os.environ, "WORKER_SHUTDOWN_GRACE_S": "thirty", "TEMPORAL_ADDRESS": "127.0.0.1:1",
           "AGENT_MODEL_BACKEND": "offline", "PYTHONPATH": str(REPO_ROOT)}  # fmt: skip
    env.pop("DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "recipes.shipping.worker", "--code", "v2"], cwd=REPO_ROOT, env=env,
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    print(done.stderr)
    assert done.returncode == 1, done
    assert done.stderr.strip().count("\n") == 0 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.startswith("error: WORKER_SHUTDOWN_GRACE_S='thirty' is not a number of seconds"), done.stderr
    assert READY_TEXT not in done.stdout


# =========================================================================== settings, in this process


@pytest.mark.parametrize("raw", ["abc", "-1", "nan", "inf", "1e400", "30s"])
def test_bad_shutdown_grace_values_are_refused(monkeypatch, raw):
    monkeypatch.setenv("WORKER_SHUTDOWN_GRACE_S", raw)
    with pytest.raises(ConfigurationError, match=r"^WORKER_SHUTDOWN_GRACE_S=.* is not a number of seconds; give 0 or more"):
        shutdown_grace()


def test_shutdown_grace_and_slots_from_the_environment(monkeypatch):
    for name in ("WORKER_SHUTDOWN_GRACE_S", "WORKER_MAX_CONCURRENT_ACTIVITIES", "WORKER_HEALTH_PORT", "WORKER_HEALTH_HOST"):
        monkeypatch.delenv(name, raising=False)
    assert worker_env_options() == {"graceful_shutdown_timeout": timedelta()}, "unset: today's behaviour"
    assert HealthSettings.load() is None
    monkeypatch.setenv("WORKER_SHUTDOWN_GRACE_S", " 2.5 ")
    monkeypatch.setenv("WORKER_MAX_CONCURRENT_ACTIVITIES", "20")
    monkeypatch.setenv("WORKER_HEALTH_PORT", "8080")
    assert worker_env_options() == {"graceful_shutdown_timeout": timedelta(seconds=2.5), "max_concurrent_activities": 20}
    assert HealthSettings.load() == HealthSettings("127.0.0.1", 8080)
    monkeypatch.setenv("WORKER_HEALTH_HOST", "0.0.0.0")
    assert HealthSettings.load() == HealthSettings("0.0.0.0", 8080)
    for name, raw, message in [("WORKER_MAX_CONCURRENT_ACTIVITIES", "0", "not a whole number of at least 1"),
                               ("WORKER_MAX_CONCURRENT_ACTIVITIES", "ten", "not a whole number of at least 1"),
                               ("WORKER_HEALTH_PORT", "70000", "not a port number"),
                               ("WORKER_MAX_CONCURRENT_ACTIVITIES", "²", "not a whole number of at least 1"),
                               ("WORKER_HEALTH_PORT", "http", "not a port number")]:  # fmt: skip
        monkeypatch.setenv(name, raw)
        with pytest.raises(ConfigurationError, match=f"^{name}='{raw}' is {message}"):
            max_concurrent_activities() if "ACTIVITIES" in name else HealthSettings.load()
        monkeypatch.delenv(name)


def test_an_explicit_worker_option_wins_over_the_environment(monkeypatch):
    seen: dict = {}

    class FakeWorker:
        def __init__(self, client, **kwargs):
            seen.update(kwargs)

    async def fake_connect(*args, **kwargs):
        return object()

    async def fake_serve(worker, **kwargs):
        seen["health"] = kwargs.get("health")

    monkeypatch.setattr(core_options, "Worker", FakeWorker)
    monkeypatch.setattr(core_options, "connect", fake_connect)
    monkeypatch.setattr(core_options, "serve", fake_serve)
    monkeypatch.setattr(core_options, "agents_plugin", lambda params: (None, None))
    monkeypatch.setenv("WORKER_SHUTDOWN_GRACE_S", "30")
    monkeypatch.setenv("WORKER_MAX_CONCURRENT_ACTIVITIES", "7")
    monkeypatch.setenv("WORKER_HEALTH_PORT", "0")

    asyncio.run(core_options.run_worker(task_queue="q", model_params=None))
    assert seen["graceful_shutdown_timeout"] == timedelta(seconds=30) and seen["max_concurrent_activities"] == 7
    assert seen["health"] == HealthSettings("127.0.0.1", 0)
    seen.clear()
    monkeypatch.setenv("WORKER_SHUTDOWN_GRACE_S", "not read: given explicitly")
    asyncio.run(core_options.run_worker(task_queue="q", model_params=None, graceful_shutdown_timeout=timedelta(seconds=3),
                                       max_concurrent_activities=2))  # fmt: skip
    assert seen["graceful_shutdown_timeout"] == timedelta(seconds=3) and seen["max_concurrent_activities"] == 2


async def _raw(port: int, data: bytes, *, eof: bool = False) -> bytes:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    if eof:
        writer.write_eof()
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(), 5)
    writer.close()
    return answer


def test_the_health_endpoint_answers_per_state_and_refuses_the_rest():
    async def scenario():
        state = ["starting"]
        server = await HealthServer(HealthSettings("127.0.0.1", 0), lambda: state[0]).start()
        port, answers = server.port, {}
        try:
            for state[0] in ("starting", "ready", "draining", "stopped"):
                answers[state[0]] = (await _raw(port, b"GET /readyz HTTP/1.1\r\nHost: x\r\n\r\n")).split(b"\r\n")[0]
            answers["healthz"] = await _raw(port, b"GET /healthz?probe=1 HTTP/1.1\r\n\r\n")
            answers["head"] = await _raw(port, b"HEAD /healthz HTTP/1.1\r\n\r\n")
            answers["post"] = (await _raw(port, b"POST /readyz HTTP/1.1\r\n\r\n")).split(b"\r\n")[0]
            answers["other"] = (await _raw(port, b"GET /metrics HTTP/1.1\r\n\r\n")).split(b"\r\n")[0]
            answers["garbage"] = await _raw(port, b"\x00\xff\r\n\r\n")
            answers["silent"] = await _raw(port, b"", eof=True)  # connects and hangs up: no answer
            with socket.socket() as taken:
                taken.bind(("127.0.0.1", 0))
                taken.listen()
                with pytest.raises(ConfigurationError, match=r"cannot listen on 127\.0\.0\.1:\d+ .*; set WORKER_HEALTH_PORT"):
                    await HealthServer(HealthSettings("127.0.0.1", taken.getsockname()[1]), lambda: "ready").start()
        finally:
            await server.close()
        return answers

    a = asyncio.run(scenario())
    assert a["starting"] == a["draining"] == a["stopped"] == b"HTTP/1.1 503 Service Unavailable"
    assert a["ready"] == b"HTTP/1.1 200 OK"
    assert a["healthz"].startswith(b"HTTP/1.1 200 OK") and a["healthz"].endswith(b"\r\n\r\nok\n")
    assert a["head"].startswith(b"HTTP/1.1 200 OK") and a["head"].endswith(b"\r\n\r\n"), "HEAD: no body"
    assert a["post"] == b"HTTP/1.1 405 Method Not Allowed" and a["other"] == b"HTTP/1.1 404 Not Found"
    assert a["garbage"].startswith(b"HTTP/1.1 400 Bad Request") and a["silent"] == b""


# =========================================================================== the deploy examples

SECRET_NAME = re.compile(r"(KEY|SECRET|TOKEN|PASSWORD|CREDENTIAL)(_|$)")
#: Variables that belong to Temporal's, OpenAI's, AWS's and Python's own clients, not to this code.
STANDARD = ("TEMPORAL_", "OPENAI_", "AWS_", "PYTHON", "PIP_")
#: Strings that look like a key rather than a placeholder: an OpenAI key, a long run of base64.
LOOKS_LIKE_A_KEY = re.compile(r"sk-[A-Za-z0-9_-]{12,}|[A-Za-z0-9+/]{40,}={0,2}")


def names_the_code_reads() -> set[str]:
    """Every string constant in the modules a shipping worker runs (core, tools, shipping) that
    looks like an environment variable's name."""
    names = set()
    for folder in ("core", "tools", "shipping"):
        for path in (REPO_ROOT / "recipes" / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.fullmatch(r"[A-Z][A-Z0-9_]+", node.value):
                    names.add(node.value)
    return names


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments), continuation lines joined, comments dropped."""
    text = re.sub(r"\\\n(\s*#.*\n)*", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    out = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            word, _, rest = line.strip().partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def dockerfile_env() -> dict[str, str]:
    env = {}
    for word, rest in dockerfile():
        if word in ("ENV", "ARG"):
            for item in shlex.split(rest):
                name, _, value = item.partition("=")
                env[name] = value
    return env


def systemd_unit() -> dict[str, list[str]]:
    """``Key`` -> its values, over all sections."""
    keys: dict[str, list[str]] = {}
    for line in (DEPLOY / "temporal-worker.service").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            keys.setdefault(key.strip(), []).append(value.strip())
    return keys


def systemd_env() -> dict[str, str]:
    return dict(value.partition("=")[::2] for value in systemd_unit().get("Environment", []))


def k8s() -> dict[str, dict]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "kubernetes.yaml").read_text(encoding="utf-8")) if d]
    kinds = [d["kind"] for d in docs]
    assert len(set(kinds)) == len(kinds), kinds
    return {d["kind"]: d for d in docs}


def k8s_container() -> dict:
    [container] = k8s()["Deployment"]["spec"]["template"]["spec"]["containers"]
    return container


def k8s_env() -> dict[str, dict]:
    return {e["name"]: e for e in k8s_container()["env"]}


def _seconds(text: str) -> float:
    """A systemd time span: ``90``, ``90s``, ``1min 30s``, ``2m``."""
    units = {"": 1, "s": 1, "sec": 1, "m": 60, "min": 60, "h": 3600}
    parts = re.findall(r"(\d+(?:\.\d+)?)\s*([a-z]*)", text)
    assert parts and all(u in units for _, u in parts), f"cannot read the time span {text!r}"
    return sum(float(n) * units[u] for n, u in parts)


def _module_exists(argv: list[str]) -> str:
    """The module of ``python -m <module> ...`` (any python path), checked to be a file of this repository."""
    assert "-m" in argv and Path(argv[0]).name.startswith("python"), argv
    module = argv[argv.index("-m") + 1]
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin and Path(spec.origin).is_relative_to(REPO_ROOT / "recipes"), module
    if module == "recipes.shipping.worker":
        code = argv[argv.index("--code") + 1]
        assert code in CODE_VERSIONS, f"--code {code}: the worker accepts {sorted(CODE_VERSIONS)}"
    return module


def test_the_deploy_folder_says_these_are_examples_that_do_not_run_here():
    readme = (DEPLOY / "README.md").read_text(encoding="utf-8")
    assert "**These files are examples.**" in readme.split("\n\n")[1]
    assert all(word in readme for word in ("no Docker", "no systemd", "no Kubernetes"))
    for name in ("Dockerfile", "temporal-worker.service", "kubernetes.yaml"):
        first = (DEPLOY / name).read_text(encoding="utf-8").splitlines()[0]
        assert first.startswith("# EXAMPLE, not") and name in readme, f"{name} opens with: {first}"


def test_every_variable_the_examples_set_is_one_the_code_reads():
    read = names_the_code_reads()
    named = {
        "Dockerfile": set(dockerfile_env()),
        "temporal-worker.service": set(systemd_env()),
        "kubernetes.yaml": set(k8s_env()) | set(k8s()["ConfigMap"]["data"]),
    }
    for where, names in named.items():
        unknown = sorted(n for n in names if n not in read and not n.startswith(STANDARD))
        assert not unknown, f"{where} sets variables no code reads (a typo, or a setting that was renamed): {unknown}"
    # The settings this work added are among them, spelled as the code spells them.
    for name in ("WORKER_SHUTDOWN_GRACE_S", "WORKER_HEALTH_PORT", "WORKER_HEALTH_HOST", "WORKER_MAX_CONCURRENT_ACTIVITIES"):
        assert name in read and name in named["kubernetes.yaml"], name
    # Temporal Cloud by settings only: its address shape and an API key, nothing else.
    config = k8s()["ConfigMap"]["data"]
    assert re.fullmatch(r"<namespace>\.<account>\.tmprl\.cloud:7233", config["TEMPORAL_ADDRESS"])
    assert systemd_env()["TEMPORAL_ADDRESS"] == config["TEMPORAL_ADDRESS"]
    assert {"TEMPORAL_API_KEY", "OPENAI_API_KEY"} <= set(k8s_env())


def test_no_example_holds_a_secret():
    for name in ("Dockerfile", "temporal-worker.service", "kubernetes.yaml", "README.md"):
        found = LOOKS_LIKE_A_KEY.findall((DEPLOY / name).read_text(encoding="utf-8"))
        assert not found, f"{name} holds what looks like a key: {found}"
    assert not [n for n in dockerfile_env() if SECRET_NAME.search(n)], "an image must not carry a secret"
    assert not [n for n in systemd_env() if SECRET_NAME.search(n)], "secrets go in the EnvironmentFile, not the unit"
    assert systemd_unit().get("EnvironmentFile"), "the unit reads its secrets from an EnvironmentFile"
    docs = k8s()
    assert "Secret" not in docs, "Secrets are created outside the example, never written in it"
    assert not [n for n in docs["ConfigMap"]["data"] if SECRET_NAME.search(n)]
    env = k8s_env()
    for name, entry in env.items():
        if SECRET_NAME.search(name):
            assert "value" not in entry and "secretKeyRef" in entry.get("valueFrom", {}), f"{name} is not a secretKeyRef"


def test_the_stop_timeouts_outlast_the_drain(monkeypatch):
    image_grace = float(dockerfile_env()["WORKER_SHUTDOWN_GRACE_S"])
    env = k8s_env()
    k8s_grace = float(env["WORKER_SHUTDOWN_GRACE_S"]["value"]) if "WORKER_SHUTDOWN_GRACE_S" in env else image_grace
    pod = k8s()["Deployment"]["spec"]["template"]["spec"]
    assert pod["terminationGracePeriodSeconds"] > k8s_grace > 0, (pod["terminationGracePeriodSeconds"], k8s_grace)
    unit = systemd_unit()
    unit_grace = float(systemd_env()["WORKER_SHUTDOWN_GRACE_S"])
    assert _seconds(unit["TimeoutStopSec"][-1]) > unit_grace > 0
    assert unit["KillSignal"] == ["SIGTERM"]
    for grace in (image_grace, k8s_grace, unit_grace):  # each one a value the worker accepts
        monkeypatch.setenv("WORKER_SHUTDOWN_GRACE_S", str(grace))
        assert shutdown_grace() == timedelta(seconds=grace)


def test_the_probes_ask_for_what_the_worker_serves():
    container, env, image = k8s_container(), k8s_env(), dockerfile_env()
    port = int(env["WORKER_HEALTH_PORT"]["value"] if "WORKER_HEALTH_PORT" in env else image["WORKER_HEALTH_PORT"])
    host = env["WORKER_HEALTH_HOST"]["value"] if "WORKER_HEALTH_HOST" in env else image.get("WORKER_HEALTH_HOST", "127.0.0.1")
    assert host == "0.0.0.0", "the kubelet probes the pod's IP: a worker listening on 127.0.0.1 would never be ready"
    ports = {p.get("name"): p["containerPort"] for p in container["ports"]}
    for probe, path in (("readinessProbe", READY_PATH), ("livenessProbe", HEALTH_PATH)):
        get = container[probe]["httpGet"]
        assert get["path"] == path, f"{probe} asks for {get['path']}; the worker serves {path}"
        assert (ports[get["port"]] if isinstance(get["port"], str) else get["port"]) == port, probe
    healthcheck = next(rest for word, rest in dockerfile() if word == "HEALTHCHECK")
    assert f"127.0.0.1:{image['WORKER_HEALTH_PORT']}{HEALTH_PATH}" in healthcheck
    assert "EXPOSE" in dict(dockerfile()) and dict(dockerfile())["EXPOSE"] == image["WORKER_HEALTH_PORT"]


def test_the_commands_name_a_worker_module_that_exists():
    instructions = dict(dockerfile())
    cmd = json.loads(instructions["CMD"])  # the exec form: the worker is PID 1 and gets the SIGTERM itself
    assert _module_exists(cmd) == "recipes.shipping.worker"
    assert instructions["STOPSIGNAL"] == "SIGTERM"
    assert instructions["USER"] not in ("0", "root") and instructions["FROM"].startswith("python:") and "slim" in instructions["FROM"]
    assert "ENTRYPOINT" not in instructions
    assert _module_exists(k8s_container()["args"]) == "recipes.shipping.worker"
    assert k8s()["Deployment"]["spec"]["template"]["spec"]["securityContext"]["runAsUser"] == int(instructions["USER"])
    assert _module_exists(shlex.split(systemd_unit()["ExecStart"][-1])) == "recipes.shipping.worker"
    assert k8s()["Deployment"]["spec"]["replicas"] >= 2 and k8s_container()["resources"]["requests"]


def test_a_worker_without_a_health_port_never_imports_the_endpoint():
    """The endpoint is for supervisors: a recipe copied without recipes/core/health.py runs until it is asked for."""
    code = "import sys, recipes.core.worker; assert 'recipes.core.health' not in sys.modules, 'imported'"
    env = {k: v for k, v in os.environ.items() if k != "WORKER_HEALTH_PORT"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, cwd=REPO_ROOT)
    assert done.returncode == 0, done.stderr
