"""Child processes a notebook can start, SIGKILL, restart and tail — and never leak.

Durability demos need a worker that can really die, so it runs as a separate
process, not a task in the kernel. Each child:

* runs in its own process group (``start_new_session=True``), so a kill
  reaches everything it spawned and nothing else;
* writes stdout and stderr to a log file the notebook can tail;
* is stopped at interpreter exit (``atexit``) if still running, and, for the
  case where the parent is SIGKILLed (a kernel restart), runs through
  :mod:`tutorial.child`, which ends it once its parent is gone.

Every stop and kill goes to the recorded process group id; nothing is ever
killed by name.
"""

from __future__ import annotations

import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from recipes.core.errors import TutorialError
from tutorial.local_service import signal_group

REPO_ROOT = Path(__file__).resolve().parents[1]


class ProcessError(TutorialError):
    """A child process could not be started, or is not in the state asked for."""


@dataclass(frozen=True)
class Kill:
    """One SIGKILL this handle sent: which process, when, who asked, and what was
    in flight then (as the caller saw it, e.g. the live view's pending activities)."""

    pid: int
    at: datetime
    by: str = "code"
    context: dict[str, Any] = field(default_factory=dict)


class ManagedProcess:
    """A child process in its own process group, with a log file.

    Safe to drive from two threads at once (a notebook cell and a button's
    callback): start, stop, kill and restart take one lock.
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str] | None = None,
        log_path: str | Path | None = None,
        cwd: str | Path = REPO_ROOT,
        ready_text: str | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env or {})
        self.cwd = Path(cwd)
        self.log_path = Path(log_path) if log_path else REPO_ROOT / "build" / "logs" / f"{name}.log"
        self.ready_text = ready_text
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_offset = 0  # where the current incarnation's output starts
        self._lock = threading.RLock()
        self.pids: list[int] = []  # every pid this handle has run, oldest first
        self.started: list[datetime] = []  # when each of them was started (UTC)
        self.kills: list[Kill] = []  # every SIGKILL sent, oldest first

    # State ------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen else None

    # Control ----------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> ManagedProcess:
        """Start the process; with ``ready_text``, wait until its log shows it."""
        with self._lock:
            return self._start(timeout)

    def _start(self, timeout: float) -> ManagedProcess:
        if self.running:
            raise ProcessError(
                f"{self.name} is already running (pid {self.pid}); use restart() to replace it."
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "PYTHONUNBUFFERED": "1"}
        with open(self.log_path, "ab") as log:
            self._log_offset = log.tell()
            self._popen = subprocess.Popen(
                self.argv,
                cwd=self.cwd,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pids.append(self._popen.pid)
        self.started.append(datetime.now(timezone.utc))
        _live.add(self)
        if self.ready_text:
            self.wait_for_log(self.ready_text, timeout=timeout)
        return self

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Wait until this incarnation's log contains ``text``; fail clearly if it dies first."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log():
                return
            if not self.running:
                raise ProcessError(
                    f"{self.name} exited with code {self.returncode} before it was ready; "
                    f"last log lines:\n{self.log_tail(8)}"
                )
            time.sleep(0.05)
        raise ProcessError(
            f"{self.name} did not print {text!r} within {timeout:.0f}s; "
            f"last log lines:\n{self.log_tail(8)}"
        )

    def kill(self, *, by: str = "code", context: Mapping[str, Any] | None = None) -> int:
        """SIGKILL the whole process group, like a crash or `kill -9`. Returns the pid
        killed; the kill is recorded in :attr:`kills` (with ``by`` and ``context``)."""
        with self._lock:
            if not self.running:
                raise ProcessError(
                    f"{self.name} is not running (last exit code {self.returncode}); "
                    "start() or restart() it first."
                )
            assert self._popen is not None
            pid = self._popen.pid
            signal_group(pid, signal.SIGKILL)
            self._popen.wait()
            self.kills.append(Kill(pid, datetime.now(timezone.utc), by, dict(context or {})))
            return pid

    def kills_since(self, moment: datetime) -> list[Kill]:
        """The kills sent at or after ``moment`` (UTC), oldest first."""
        return [k for k in self.kills if k.at >= moment]

    def first_start_after(self, moment: datetime) -> datetime | None:
        """When the handle next started a process after ``moment`` (e.g. a kill)."""
        return next((t for t in self.started if t > moment), None)

    def ensure_running(self, timeout: float = 30.0) -> bool:
        """Start the process unless it runs already; True if this call started it."""
        with self._lock:
            if self.running:
                return False
            self._start(timeout)
            return True

    def stop(self, timeout: float = 10.0) -> None:
        """Ask politely (SIGTERM to the group), then SIGKILL. Safe to call twice."""
        with self._lock:
            self._stop(timeout)

    def _stop(self, timeout: float) -> None:
        if self._popen is None:
            return
        if self._popen.poll() is None:
            signal_group(self._popen.pid, signal.SIGTERM)
            try:
                self._popen.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                signal_group(self._popen.pid, signal.SIGKILL)
                self._popen.wait()
        else:
            # The leader is gone; make sure nothing it spawned lingers in its group.
            signal_group(self._popen.pid, signal.SIGKILL)
        _live.discard(self)

    def wait(self, timeout: float = 60.0) -> int:
        """Wait for the process to exit by itself; return its exit code."""
        if self._popen is None:
            raise ProcessError(f"{self.name} was never started.")
        try:
            code = self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ProcessError(
                f"{self.name} still running after {timeout:.0f}s; last log lines:\n{self.log_tail(8)}"
            ) from None
        _live.discard(self)
        return code

    def restart(self, timeout: float = 30.0) -> ManagedProcess:
        """Stop if running, then start a new incarnation (a new pid)."""
        with self._lock:
            self._stop(10.0)
            return self._start(timeout)

    # Log ----------------------------------------------------------------------
    def log(self) -> str:
        """This incarnation's output so far."""
        if not self.log_path.exists():
            return ""
        with open(self.log_path, "rb") as f:
            f.seek(self._log_offset)
            return f.read().decode("utf-8", errors="replace")

    def log_tail(self, lines: int = 20) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def __enter__(self) -> ManagedProcess:
        return self.start() if not self.running else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running pid {self.pid}" if self.running else f"stopped (code {self.returncode})"
        return f"<{self.name}: {state}>"


def child_argv(module: str, *args: str) -> list[str]:
    """``python -m module args`` with this interpreter, ending when this process does (:mod:`tutorial.child`)."""
    return [sys.executable, "-m", "tutorial.child", module, *args]


def python_module(name: str, module: str, *args: str, **kwargs) -> ManagedProcess:
    """A ManagedProcess running ``python -m module args`` with this interpreter (see :func:`child_argv`)."""
    return ManagedProcess(name, child_argv(module, *args), **kwargs)


def pid_alive(pid: int) -> bool:
    """True if the process exists and is not a zombie (exited, not yet reaped)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        stat = Path(f"/proc/{pid}/stat")
        if stat.parent.exists():
            state = stat.read_text().rsplit(")", 1)[1].split()[0]
        else:
            state = subprocess.run(["ps", "-p", str(pid), "-o", "stat="], capture_output=True, text=True).stdout.strip()
    except (OSError, IndexError):
        return False
    return bool(state) and not state.startswith("Z")


_live: set[ManagedProcess] = set()


@atexit.register
def _stop_all() -> None:
    for proc in list(_live):
        proc.stop(timeout=5)
