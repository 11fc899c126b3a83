"""The dev-server recipe against real `temporal server start-dev` processes.

Every server runs on free ports (never 7233) with its db, log and pidfile in
tmp_path, and is stopped by its pid / process group when the test ends.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from recipes.core.settings import TemporalUnreachable, connect
from tutorial import temporal_server as ts
from tutorial.processes import pid_alive
from tutorial.temporal_server import (
    PIDFILE,
    PortInUse,
    ServerStartFailed,
    TemporalCLINotFound,
    ensure_server,
    probe,
    read_record,
)

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[1]


def free_port_pair() -> tuple[int, int]:
    """A gRPC port P whose default UI port P + 1000 is free too."""
    for _ in range(100):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port + 1000 < 65536 and ts._port_free("127.0.0.1", port + 1000):
            return port, port + 1000
    raise RuntimeError("no free port pair")


def _kill_group(pid: int) -> None:
    if pid_alive(pid):
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.fixture
def cleanup(tmp_path, monkeypatch):
    """Isolate state and env; at the end stop every server a test started."""
    monkeypatch.setenv("TUTORIAL_STATE_DIR", str(tmp_path / "state"))
    for name in [k for k in os.environ if k.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "no-such-config.toml"))
    servers: list = []
    yield servers
    for server in servers:
        try:
            server.stop(timeout=5)
        finally:
            if server.started_here and server.pid:
                _kill_group(server.pid)
    record = read_record(tmp_path / "state")
    if record:
        _kill_group(record["pid"])


def test_start_reuse_stop(cleanup, tmp_path):
    port, ui_port = free_port_pair()
    address = f"localhost:{port}"
    t0 = time.monotonic()
    server = ensure_server(address, db_file=tmp_path / "dev.db")
    cleanup.append(server)
    print(f"\ncold start (new db): {time.monotonic() - t0:.2f}s")

    assert server.started_here and server.pid and pid_alive(server.pid)
    assert server.ui_url == f"http://localhost:{ui_port}"
    assert probe(address) == "temporal"
    with urllib.request.urlopen(server.ui_url, timeout=10) as response:
        assert response.status == 200
    record = json.loads((tmp_path / "state" / PIDFILE).read_text())
    assert record["pid"] == server.pid and record["address"] == address and record["ui_port"] == ui_port
    assert (tmp_path / "state" / "dev-server.log").exists()

    async def from_a_notebook_cell():  # ipykernel runs cells inside a running event loop
        return ensure_server(address)

    again = asyncio.run(from_a_notebook_cell())
    assert not again.started_here
    assert again.pid == server.pid  # found through the pidfile
    assert again.ui_url == server.ui_url
    again.stop()  # not ours: does nothing
    assert probe(address) == "temporal"
    with pytest.raises(ts.TemporalServerError, match="not started by this process"):
        again.restart()

    pid = server.pid
    server.stop()
    assert not pid_alive(pid)
    assert probe(address) == "nothing"
    assert not (tmp_path / "state" / PIDFILE).exists()
    server.stop()  # idempotent


def test_restart_keeps_history(cleanup, tmp_path):
    port, _ = free_port_pair()
    address = f"localhost:{port}"
    server = ensure_server(address, headless=True, db_file=tmp_path / "history.db")
    cleanup.append(server)
    assert server.ui_url is None

    async def start_and_describe():
        client = await connect(address)
        # No worker polls this task queue: the workflow just waits, persisted in SQLite.
        handle = await client.start_workflow("NoSuchWorkflow", id="survives-restart", task_queue="nobody-listens")
        return handle.result_run_id, (await handle.describe()).status

    run_id, status = asyncio.run(start_and_describe())
    old_pid = server.pid

    t0 = time.monotonic()
    server.restart()
    print(f"\nrestart (stop + start, same db): {time.monotonic() - t0:.2f}s")
    assert not pid_alive(old_pid)
    assert server.pid != old_pid and server.started_here

    async def describe_again():
        client = await connect(address)
        return await client.get_workflow_handle("survives-restart").describe()

    description = asyncio.run(describe_again())
    assert description.run_id == run_id
    assert description.status == status
    assert description.workflow_type == "NoSuchWorkflow"
    assert read_record()["pid"] == server.pid


def test_port_held_by_something_else(cleanup):
    port, _ = free_port_pair()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", port))
        squatter.listen()  # accepts TCP, never answers gRPC
        with pytest.raises(PortInUse, match=f"Port {port} .* not a Temporal server"):
            ensure_server(f"localhost:{port}")
    assert read_record() is None


def test_ui_port_taken(cleanup):
    port, ui_port = free_port_pair()
    with socket.socket() as squatter:
        # As Go's listener does: a connection in TIME_WAIT on that port (another test's) must not stop the bind.
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", ui_port))
        squatter.listen()
        with pytest.raises(PortInUse, match=r"Web UI .*ui_port=.*TEMPORAL_UI_PORT.*headless=True"):
            ensure_server(f"localhost:{port}")
    assert read_record() is None
    assert probe(f"localhost:{port}") == "nothing"  # nothing was started


def test_ui_port_and_namespace_from_environment(cleanup, monkeypatch, tmp_path):
    port, _ = free_port_pair()
    _, ui_port = free_port_pair()
    monkeypatch.setenv("TEMPORAL_UI_PORT", str(ui_port))
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "tutorial")
    server = ensure_server(f"localhost:{port}", db_file=tmp_path / "ui.db")
    cleanup.append(server)
    assert server.ui_url == f"http://localhost:{ui_port}"
    assert ts._tcp_open("127.0.0.1", ui_port)

    async def start_in_namespace():
        client = await connect()  # TEMPORAL_NAMESPACE=tutorial: the server created it at launch
        handle = await client.start_workflow("NoSuchWorkflow", id="in-tutorial", task_queue="nobody-listens")
        return (await handle.describe()).namespace

    monkeypatch.setenv("TEMPORAL_ADDRESS", f"localhost:{port}")
    assert asyncio.run(start_in_namespace()) == "tutorial"


def test_missing_binary(cleanup, monkeypatch, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    monkeypatch.setattr(sys, "executable", str(empty / "python"))
    monkeypatch.setenv("PATH", str(empty))
    with pytest.raises(TemporalCLINotFound, match=r"temporal CLI not found.*make install"):
        ts.find_temporal_binary()
    port, _ = free_port_pair()
    with pytest.raises(TemporalCLINotFound):
        ensure_server(f"localhost:{port}")


def test_binary_found_next_to_python():
    assert ts.find_temporal_binary() == Path(sys.executable).parent / "temporal"


def test_server_that_dies_during_startup_shows_its_log(cleanup, tmp_path):
    port, _ = free_port_pair()
    not_a_file = tmp_path / "a-directory"
    not_a_file.mkdir()
    with pytest.raises(ServerStartFailed, match=r"exited with code \d+ during start-up(.|\n)*unable to open database"):
        ensure_server(f"localhost:{port}", headless=True, db_file=not_a_file)
    assert read_record() is None


def test_remote_address_is_never_started(cleanup):
    with pytest.raises(TemporalUnreachable, match="not a local address"):
        ensure_server("192.0.2.1:7233")  # TEST-NET-1: nothing there
    assert read_record() is None


def _cli(*args: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "tutorial.temporal_server", *args],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.slow
def test_cli_start_status_stop(cleanup, tmp_path):
    port, ui_port = free_port_pair()
    address = f"localhost:{port}"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    pid = None
    try:
        started = _cli("start", "--address", address, env=env)
        assert started.returncode == 0, started.stderr
        assert address in started.stdout and f"http://localhost:{ui_port}" in started.stdout
        pid = read_record()["pid"]
        assert pid_alive(pid)  # outlived the command
        assert probe(address) == "temporal"

        status = _cli("status", env=env)  # finds the address in the pidfile
        assert status.returncode == 0
        assert f"pid {pid}" in status.stdout and f"http://localhost:{ui_port}" in status.stdout

        reused = _cli("start", "--address", address, env=env)
        assert reused.returncode == 0 and "already answers" in reused.stdout
        assert read_record()["pid"] == pid

        stopped = _cli("stop", env=env)
        assert stopped.returncode == 0 and f"pid {pid}" in stopped.stdout
        assert not pid_alive(pid)
        assert read_record() is None

        nothing = _cli("stop", "--address", address, env=env)
        assert nothing.returncode == 0 and "nothing to stop" in nothing.stdout
        gone = _cli("status", "--address", address, env=env)
        # "no server" is an answer, not a failure: `make status` must not end in "Error 1"
        assert gone.returncode == 0 and "No Temporal server answers" in gone.stdout
    finally:
        if pid:
            _kill_group(pid)


def test_cli_stop_leaves_a_stranger_alone(cleanup, tmp_path):
    """A stale pidfile whose pid now belongs to another program: stop must not signal it."""
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        state = tmp_path / "state"
        state.mkdir()
        (state / PIDFILE).write_text(json.dumps({"pid": stranger.pid, "address": "localhost:7299", "ui_port": 8299,
                                                 "db_file": "x", "log_file": "y", "started_at": "then"}))
        result = _cli("stop", env={**os.environ, "PYTHONPATH": str(REPO)})
        assert result.returncode == 1 and "left it alone" in result.stdout
        assert stranger.poll() is None
        assert read_record() is None
    finally:
        stranger.kill()
        stranger.wait()


def test_cli_reports_errors_in_one_line(cleanup):
    result = _cli("start", "--address", "http://localhost:7233", env={**os.environ, "PYTHONPATH": str(REPO)})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: Temporal address 'http://localhost:7233' is a URL")
