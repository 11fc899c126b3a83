"""Wait for, measure and prove what happened to a run -- from the server, not from prints.

The notebooks never ``sleep`` and hope: they wait for a state the server
reports (``wait_for_tool_in_flight``), then read the event history
(:mod:`recipes.tutorial.history`) and the offline model's ledger
(:mod:`recipes.core.ledger`) to show

* which steps completed, on which worker (``identity``), after how many attempts;
* that no model call that had completed was made again (``model_call_audit``);
* how long the run needed to move on after a kill (``recovery``).
"""

from __future__ import annotations

import socket
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from temporalio.client import WorkflowHandle

from recipes.tutorial.history import Step, activity_steps, fetch_history
from recipes.tutorial.live_view import pending_activities
from recipes.tutorial.notebook import wait_until

# --------------------------------------------------------------------------- waiting


async def wait_for_tool_in_flight(
    handle: WorkflowHandle,
    *,
    after_model_calls: int = 1,
    tool: str | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Wait until at least ``after_model_calls`` model calls have completed and a
    tool activity (``tool``, or any non-model activity) is running on a worker.
    Returns that pending activity's row (see :func:`pending_activities`)."""

    async def check() -> dict[str, Any] | None:
        steps = activity_steps(await fetch_history(handle))
        done = sum(1 for s in steps if s.is_model_call and s.status == "completed")
        if done < after_model_calls:
            return None
        for p in await pending_activities(handle):
            is_tool = p["activity_type"] == tool if tool else not p["activity_type"].startswith("invoke_model")
            if is_tool and p["state"] == "started":
                return p
        return None

    what = f"{after_model_calls} completed model call(s) and a running {tool or 'tool'} activity"
    return await wait_until(check, timeout=timeout, what=what)


async def status(handle: WorkflowHandle) -> str:
    """RUNNING, COMPLETED, FAILED, ... as the server reports it."""
    desc = await handle.describe()
    return desc.status.name if desc.status is not None else "UNKNOWN"


# --------------------------------------------------------------------------- proof


@dataclass
class ModelCallAudit:
    """Were completed model calls ever made again? From the history and the ledger."""

    model_steps: int
    """Model activities in the history (one per agent turn)."""
    completed: int
    """Of those, completed (each exactly once: the history has one completion per activity)."""
    attempts: dict[str, int]
    """activity id -> attempt that completed it (1 = never retried)."""
    ledger_calls: int
    """Model requests the offline model actually received for this workflow."""
    duplicate_fingerprints: dict[str, int]
    """Requests received more than once (same instructions + input) -> how many times."""
    ledger_pids: list[int] = field(default_factory=list)
    """Processes that made the calls, in order of first appearance."""

    calls_per_step: dict[str, int] = field(default_factory=dict)
    """activity id -> model requests the ledger recorded for it."""

    @property
    def repeated_completed_calls(self) -> int:
        """Model requests beyond one per attempt: a call re-made although it had
        completed. With Temporal this is 0: a completed activity's result is in
        the history, and a restarted worker replays it from there."""
        return sum(max(0, n - self.attempts.get(a, 0)) for a, n in self.calls_per_step.items())

    def lines(self) -> list[str]:
        retried = {k: v for k, v in self.attempts.items() if v > 1}
        return [
            f"model activities in the history: {self.model_steps}, completed: {self.completed}",
            f"completed on attempt: {dict(self.attempts)}" + (f"  (retried: {retried})" if retried else ""),
            f"model requests in the ledger: {self.ledger_calls}, from pids {self.ledger_pids}",
            f"requests sent more than once: {self.duplicate_fingerprints or 'none'}; "
            f"completed calls made again: {self.repeated_completed_calls}",
        ]


def model_call_audit(history: Any, ledger_entries: Sequence[dict[str, Any]]) -> ModelCallAudit:
    steps = [s for s in activity_steps(history) if s.is_model_call]
    fingerprints = Counter(e.get("fingerprint") for e in ledger_entries)
    pids: list[int] = []
    for e in ledger_entries:
        if e.get("pid") not in pids:
            pids.append(e.get("pid"))
    return ModelCallAudit(
        model_steps=len(steps),
        completed=sum(1 for s in steps if s.status == "completed"),
        attempts={s.activity_id: s.attempts for s in steps},
        ledger_calls=len(ledger_entries),
        duplicate_fingerprints={fp: n for fp, n in fingerprints.items() if n > 1},
        ledger_pids=pids,
        calls_per_step=dict(Counter(str(e.get("activity_id")) for e in ledger_entries)),
    )


def worker_identities(history: Any) -> list[str]:
    """Workers that completed steps, in order of first appearance."""
    seen: list[str] = []
    for step in activity_steps(history):
        if step.status == "completed" and step.identity and step.identity not in seen:
            seen.append(step.identity)
    return seen


def identity_pid(identity: str) -> int | None:
    """``"1234@host"`` -> 1234."""
    head = identity.split("@", 1)[0]
    return int(head) if head.isdigit() else None


@dataclass
class Recovery:
    killed_at: datetime
    restarted_at: datetime | None
    next_step: Step | None
    """The first activity that completed after the kill."""

    @property
    def seconds(self) -> float | None:
        """Kill -> next step completed (what a user waiting on the run feels)."""
        if self.next_step is None or self.next_step.closed_at is None:
            return None
        return (self.next_step.closed_at - self.killed_at).total_seconds()

    @property
    def after_restart_s(self) -> float | None:
        """Worker back up -> next step completed (what Temporal adds on top of the restart)."""
        if self.restarted_at is None or self.next_step is None or self.next_step.closed_at is None:
            return None
        return (self.next_step.closed_at - self.restarted_at).total_seconds()

    def line(self) -> str:
        if self.next_step is None:
            return "no step has completed since the kill"
        text = (
            f"kill -> next step completed ({self.next_step.kind}, attempt {self.next_step.attempts}): "
            f"{self.seconds:.1f}s"
        )
        if self.after_restart_s is not None:
            text += f"; worker ready -> that completion: {self.after_restart_s:.1f}s"
        return text


def recovery(history: Any, killed_at: datetime, restarted_at: datetime | None = None) -> Recovery:
    """Measure recovery from the server's own timestamps."""
    after = [s for s in activity_steps(history) if s.status == "completed" and s.closed_at and s.closed_at > killed_at]
    after.sort(key=lambda s: s.closed_at)
    return Recovery(killed_at, restarted_at, after[0] if after else None)


def now() -> datetime:
    """UTC now, comparable with history timestamps (same machine as the dev server)."""
    return datetime.now(timezone.utc)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now (for a second dev server)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
