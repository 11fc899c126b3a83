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
import subprocess
import sys
import threading
import time
import urllib.request
from typing import Any, Protocol

__all__ = ["first_stdout_line", "loopback_opener", "signal_group", "stop_at_exit", "stop_with_parent"]


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


def first_stdout_line(proc: subprocess.Popen[str], timeout: float, what: str) -> str:
    """The child's first stdout line (its URL), without blocking forever (a thread, not select)."""
    stdout = proc.stdout
    assert stdout is not None
    lines: queue.Queue[str] = queue.Queue(maxsize=1)
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        return lines.get(timeout=timeout).strip()
    except queue.Empty:
        raise RuntimeError(f"{what} printed no URL within {timeout:g}s") from None


def stop_with_parent(parent_pid: int, server: Any, name: str, poll_s: float = 0.5) -> None:
    """In the service: shut ``server`` down once ``parent_pid`` is no longer our parent
    (e.g. a SIGKILLed notebook kernel, whose atexit never ran)."""

    def watch() -> None:
        while True:
            time.sleep(poll_s)
            if os.getppid() != parent_pid:
                sys.stderr.write(f"{name}: parent process exited; shutting down\n")
                threading.Thread(target=server.shutdown, daemon=True).start()
                return

    threading.Thread(target=watch, name=f"{name}-exit-with-parent", daemon=True).start()


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
