"""What the tutorial's local stand-in services share (the NWS stand-in, the OpenAI
wire-format double): a child that prints its URL first, control calls that never
go through a proxy, an end when the parent dies, and a stop at interpreter exit.

Stdlib only: the services start fast as subprocesses.
"""

from __future__ import annotations

import atexit
import functools
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = [
    "loopback_opener",
    "read_url",
    "signal_group",
    "spawn",
    "stop_at_exit",
    "stop_with_parent",
    "terminate",
]

#: The directory that holds ``recipes/``: where a service runs from and what it imports.
PROJECT_ROOT = Path(__file__).resolve().parents[1]


def signal_group(pid: int, sig: int) -> None:
    """Signal a child's whole process group (it leads its own session: pgid == pid); a group
    that is gone already is no error."""
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@functools.lru_cache(maxsize=None)
def loopback_opener() -> urllib.request.OpenerDirector:
    """An opener for control calls to loopback: never through an HTTP(S)_PROXY from the environment."""
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def spawn(module: str, args: Sequence[str], *, env: Mapping[str, str],
          log_path: str | os.PathLike[str] | None = None) -> subprocess.Popen[str]:  # fmt: skip
    """Start ``python -m module args`` in its own process group, told to end with us
    (``--exit-with-parent``), its stdout piped for the URL line, its stderr appended
    to ``log_path`` (or discarded, with ``--quiet``)."""
    cmd = [sys.executable, "-m", module, *args, "--exit-with-parent", str(os.getpid())]
    if log_path is None:
        cmd.append("--quiet")
    env = {**env, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)}  # fmt: skip
    log_file = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
    try:
        return subprocess.Popen(  # noqa: S603 - fixed argv, our own module
            cmd,
            cwd=str(PROJECT_ROOT),
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=log_file if log_file is not None else subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # own session => own process group (pgid == pid)
        )
    finally:
        if log_file is not None:
            log_file.close()  # the child has its own copy


def read_url(proc: subprocess.Popen[str], timeout: float, what: str, hint: str = "") -> str:
    """The URL a service prints first; one sentence (with ``hint``) if it printed something else."""
    try:
        line = _first_stdout_line(proc, timeout, what)
    finally:
        if proc.stdout is not None:
            proc.stdout.close()
    if not line.startswith("http://"):
        raise RuntimeError(f"{what} failed to start (exit code {proc.poll()}): {line or 'no output'}{hint}")
    return line


def terminate(proc: subprocess.Popen[str], timeout: float) -> None:
    """SIGTERM the child's process group, then SIGKILL if it lingers."""
    if proc.poll() is None:  # not reaped yet => the pid/pgid are still our child's
        signal_group(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            signal_group(proc.pid, signal.SIGKILL)
            proc.wait(timeout)


def _first_stdout_line(proc: subprocess.Popen[str], timeout: float, what: str) -> str:
    """The child's first stdout line (its URL), without blocking forever (a thread, not select)."""
    stdout = proc.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue(maxsize=1)
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout).strip()
    except queue.Empty:
        raise RuntimeError(f"{what} printed no URL within {timeout:g}s") from None


def when_parent_exits(parent_pid: int, act: Callable[[], None], name: str, poll_s: float = 0.5) -> None:
    """In a child: call ``act`` once ``parent_pid`` is no longer our parent (e.g. a SIGKILLed notebook
    kernel, whose atexit never ran)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        sys.stderr.write(f"{name}: parent process exited; shutting down\n")
        act()

    threading.Thread(target=watch, name=f"{name}-exit-with-parent", daemon=True).start()


def stop_with_parent(parent_pid: int, server: Any, name: str, poll_s: float = 0.5) -> None:
    """In a service: shut ``server`` down once ``parent_pid`` is no longer our parent."""
    when_parent_exits(parent_pid, lambda: threading.Thread(target=server.shutdown, daemon=True).start(), name, poll_s)


class _Stoppable(Protocol):
    def stop(self) -> None: ...


_running: set[Any] = set()
_running_lock = threading.Lock()


def stop_at_exit(handle: _Stoppable, *, forget: bool = False) -> None:
    """Register a started service handle to be stopped at interpreter exit (``forget``: unregister)."""
    with _running_lock:
        (_running.discard if forget else _running.add)(handle)


@atexit.register
def _stop_all() -> None:
    with _running_lock:
        handles = list(_running)
    for handle in handles:
        try:
            handle.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass
