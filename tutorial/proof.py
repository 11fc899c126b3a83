"""Wait for, measure and prove what happened to a run -- from the server, not from prints.

The notebooks never ``sleep`` and hope: they wait for a state the server
reports (``wait_for_tool_in_flight``), then read the event history
(:mod:`tutorial.history`) and the model-call ledger
(:mod:`tutorial.ledger`, written by the meter for any model) to show

* which steps completed, on which worker (``identity``), after how many attempts;
* that no model call that had completed was made again -- neither re-sent under
  the same activity (``model_call_audit``) nor scheduled again as a new activity
  with the same input (``repeated_model_inputs``);
* that every step completed before a kill is still there, unchanged
  (``changed_since``);
* how long the run needed to move on after a kill (``recovery``).

A person may press the live view's **Kill worker** / **Restart worker** buttons at
any moment; ``kill_mid_run`` and ``finish_run`` use such kills instead of
fighting them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowFailureError, WorkflowHandle

from recipes.core.errors import TutorialError
from tutorial.history import Step, activity_steps, fetch_history
from tutorial.live_view import pending_activities
from tutorial.notebook import wait_until
from tutorial.processes import Kill, ManagedProcess

# --------------------------------------------------------------------------- waiting


class RunEndedFirst(TutorialError):
    """The run closed before the moment a demo waited for: its model planned fewer tool calls."""


def _ended_first(status: str, steps: list[Step], after_model_calls: int, model: str | None) -> RunEndedFirst:
    models = sum(1 for s in steps if s.is_model_call)
    tools = sum(1 for s in steps if not s.is_model_call)
    who = model or "the model"
    if not tools:
        what = f"{who} answered without calling a tool, so there was no tool run to interrupt; this lesson needs a model that calls tools"
    else:
        what = (f"{who} called {tools} tool(s) and no tool ran after {after_model_calls} completed model call(s); "
                f"wait for fewer model calls (1 works for any model that calls a tool)")
    return RunEndedFirst(f"The run ended ({status}) after {models} model call(s): {what}.")


async def wait_for_tool_in_flight(
    handle: WorkflowHandle,
    *,
    after_model_calls: int = 1,
    tool: str | None = None,
    model: str | None = None,
    timeout: float = 60.0,
) -> dict[str, Any]:
    """Wait until at least ``after_model_calls`` model calls have completed and a
    tool activity (``tool``, or any non-model activity) is running on a worker.
    Returns that pending activity's row (see :func:`pending_activities`);
    :class:`RunEndedFirst` (naming ``model``) if the run ends without getting there."""

    what = f"{after_model_calls} completed model call(s) and a running {tool or 'tool'} activity"
    return await wait_until(lambda: _tool_in_flight(handle, after_model_calls, tool, model), timeout=timeout, what=what)


async def _tool_in_flight(handle: WorkflowHandle, after_model_calls: int, tool: str | None,
                          model: str | None = None) -> dict[str, Any] | None:  # fmt: skip
    """The running tool's row once ``after_model_calls`` model calls have completed; None before that;
    :class:`RunEndedFirst` if the run has closed without getting there."""
    history = await fetch_history(handle)
    steps = activity_steps(history)
    done = sum(1 for s in steps if s.is_model_call and s.status == "completed")
    if done >= after_model_calls:
        for p in await pending_activities(handle):
            is_tool = p["activity_type"] == tool if tool else not p["activity_type"].startswith("invoke_model")
            if is_tool and p["state"] == "started":
                return p
    closed = _closed_status(history)
    if closed:
        raise _ended_first(closed, steps, after_model_calls, model)
    return None


def _closed_status(history) -> str | None:
    """COMPLETED, FAILED, ... if the history's last event closes the run; None while it runs."""
    last = EventType.Name(history.events[-1].event_type) if history.events else ""
    prefix = "EVENT_TYPE_WORKFLOW_EXECUTION_"
    state = last[len(prefix):] if last.startswith(prefix) else ""
    return state if state in ("COMPLETED", "FAILED", "TIMED_OUT", "CANCELED", "TERMINATED", "CONTINUED_AS_NEW") else None


async def status(handle: WorkflowHandle) -> str:
    """RUNNING, COMPLETED, FAILED, ... as the server reports it."""
    desc = await handle.describe()
    return desc.status.name if desc.status is not None else "UNKNOWN"


async def kill_mid_run(
    worker: ManagedProcess,
    handle: WorkflowHandle,
    *,
    since: datetime,
    after_model_calls: int = 1,
    model: str | None = None,
    timeout: float = 600.0,
) -> Kill:
    """The first kill of ``worker`` since ``since`` (the run's start): one a person
    already made with the Kill button, or else one made here as soon as
    ``after_model_calls`` model calls have completed and a tool is running.
    :class:`RunEndedFirst` says in one sentence (naming ``model``) when the run
    ends without getting there; ``timeout`` only bounds a run that stops moving."""

    async def kill_or_found() -> Kill | None:
        made = worker.kills_since(since)
        if made:
            return made[0]
        in_flight = await _tool_in_flight(handle, after_model_calls, None, model)
        if in_flight is None or worker.kills_since(since):
            return None  # (a button press between the two reads is picked up next round)
        worker.kill(by="code", context={"run_status": "RUNNING", "in_flight": [in_flight]})
        return worker.kills_since(since)[0]

    what = f"{after_model_calls} completed model call(s) and a running tool (or a kill from the button)"
    return await wait_until(kill_or_found, timeout=timeout, what=what)


async def finish_run(handle: WorkflowHandle, worker: ManagedProcess, *, timeout: float = 180.0,
                     dead_grace_s: float = 3.0) -> Any:  # fmt: skip
    """Start the worker unless it runs, and wait for the run's result. If the worker
    is killed meanwhile (the live view's button) and nobody restarts it within
    ``dead_grace_s``, it is started here, so the run always finishes."""
    await asyncio.to_thread(worker.ensure_running, 60)
    result_task = asyncio.ensure_future(handle.result())
    deadline = time.monotonic() + timeout
    dead_since: float | None = None
    try:
        while not result_task.done():
            if time.monotonic() > deadline:
                raise TimeoutError(f"run {handle.id} did not finish within {timeout:.0f}s")
            if worker.running:
                dead_since = None
            else:
                dead_since = dead_since or time.monotonic()
                if time.monotonic() - dead_since > dead_grace_s:
                    print(f"(the worker was killed and not restarted within {dead_grace_s:g}s; starting it: pid {worker.pid} -> ", end="", flush=True)
                    await asyncio.to_thread(worker.ensure_running, 60)
                    print(f"{worker.pid})", flush=True)
                    dead_since = None
            await asyncio.wait({result_task}, timeout=0.25)
        return result_task.result()
    finally:
        result_task.cancel()


# --------------------------------------------------------------------------- proof


@dataclass
class Outcome:
    """How a run ended, from the server: its answer or its failure (type and sentence), and what it tried."""

    status: str
    answer: str | None
    failure_type: str | None
    failure: str | None
    model_calls: int
    model_attempts: int
    tool_calls: int

    def row(self) -> dict[str, Any]:
        ended = self.answer if self.failure is None else f"{self.failure_type}: {self.failure}"
        return {"status": self.status, "model calls (attempts)": f"{self.model_calls} ({self.model_attempts})",
                "tool calls": self.tool_calls, "answer, or why it failed": (ended or "(empty)")[:160]}  # fmt: skip


async def outcome(handle: WorkflowHandle, *, timeout: float = 600.0) -> Outcome:
    """Wait for the run to end (``timeout`` bounds a stuck run) and read how it ended."""
    answer = failure_type = failure = None
    try:
        answer = str(await asyncio.wait_for(handle.result(), timeout))
    except WorkflowFailureError as err:
        failure_type = getattr(err.cause, "type", None) or type(err.cause).__name__
        failure = getattr(err.cause, "message", None) or str(err.cause)
    history = await fetch_history(handle)  # the run has ended: its last event says how
    steps = activity_steps(history)
    models = [s for s in steps if s.is_model_call]
    return Outcome(_closed_status(history) or "RUNNING", answer, failure_type, failure, len(models),
                   sum(s.attempts for s in models), sum(1 for s in steps if not s.is_model_call))  # fmt: skip



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
    """Model requests the meter recorded for this workflow (any backend)."""
    duplicate_fingerprints: dict[str, int]
    """Requests recorded more than once (same instructions + input) -> how many times.
    A lost attempt retried is one such repeat; a completed call made again is another."""
    ledger_pids: list[int] = field(default_factory=list)
    """Processes that made the calls, in order of first appearance."""
    calls_per_step: dict[str, int] = field(default_factory=dict)
    """activity id -> model requests the ledger recorded for it."""
    activities_per_fingerprint: dict[str, set[str]] = field(default_factory=dict)
    """fingerprint -> the model activities that sent that request."""
    repeated_inputs: list[str] = field(default_factory=list)
    """Model activities whose input equals an earlier model activity's (see
    :func:`repeated_model_inputs`): the loop asked again what it had been answered."""

    @property
    def repeated_completed_calls(self) -> int:
        """Model requests beyond one per attempt of their activity: a call re-sent
        although its activity had completed. With Temporal this is 0: a completed
        activity's result is in the history, and a restarted worker replays it."""
        return sum(max(0, n - self.attempts.get(a, 0)) for a, n in self.calls_per_step.items())

    @property
    def resent_as_new_activity(self) -> list[str]:
        """Requests sent again under another activity id -- a completed call made
        again as a new step, which per-activity counting cannot see."""
        return sorted(fp for fp, ids in self.activities_per_fingerprint.items() if len(ids) > 1)

    @property
    def calls_made_again(self) -> int:
        """Everything above, counted: 0 means no completed model call was made again."""
        return self.repeated_completed_calls + len(self.resent_as_new_activity) + len(self.repeated_inputs)

    def lines(self) -> list[str]:
        retried = {k: v for k, v in self.attempts.items() if v > 1}
        return [
            f"model activities in the history: {self.model_steps}, completed: {self.completed}",
            f"completed on attempt: {dict(self.attempts)}" + (f"  (retried: {retried})" if retried else ""),
            f"model requests in the ledger: {self.ledger_calls}, from pids {self.ledger_pids}",
            f"requests sent more than once: {self.duplicate_fingerprints or 'none'}; "
            f"completed calls made again: {self.calls_made_again}",
        ]


def repeated_model_inputs(history: Any) -> list[str]:
    """Model activities scheduled with exactly the input of an earlier one.

    Every model call of an agent loop sees a longer conversation than the one
    before, so two model activities with the same input mean the workflow made a
    completed call again under a new activity id (e.g. the loop started over).
    Read from the history alone: it holds for any model, offline or real.
    """
    seen: dict[str, str] = {}
    repeated = []
    for step in activity_steps(history):
        if not step.is_model_call:
            continue
        key = json.dumps(step.arguments, sort_keys=True, default=str)
        if key in seen:
            repeated.append(step.activity_id)
        else:
            seen[key] = step.activity_id
    return repeated


def model_call_audit(history: Any, ledger_entries: Sequence[dict[str, Any]]) -> ModelCallAudit:
    steps = [s for s in activity_steps(history) if s.is_model_call]
    fingerprints = Counter(e.get("fingerprint") for e in ledger_entries)
    per_fingerprint: dict[str, set[str]] = defaultdict(set)
    pids: list[int] = []
    for e in ledger_entries:
        per_fingerprint[str(e.get("fingerprint"))].add(str(e.get("activity_id")))
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
        activities_per_fingerprint=dict(per_fingerprint),
        repeated_inputs=repeated_model_inputs(history),
    )


def entries_before(entries: Sequence[dict[str, Any]], moment: datetime) -> list[dict[str, Any]]:
    """Ledger entries written before ``moment`` (the meter writes one when a request ends)."""
    return [e for e in entries if datetime.fromisoformat(e["ts"]) <= moment]


def completed_before(history: Any, moment: datetime) -> list[Step]:
    """The steps that had completed at ``moment`` (server timestamps)."""
    return [s for s in activity_steps(history) if s.status == "completed" and s.closed_at and s.closed_at <= moment]


def open_at(history: Any, moment: datetime) -> list[Step]:
    """The steps scheduled by ``moment`` that had not finished by then: running, or
    waiting for a worker. A kill at ``moment`` can only have interrupted these."""
    return [s for s in activity_steps(history)
            if s.scheduled_at and s.scheduled_at <= moment and not (s.closed_at and s.closed_at <= moment)]  # fmt: skip


def changed_since(before: Sequence[Step], history: Any) -> list[str]:
    """For steps read from an earlier copy of the history: what differs now
    (activity id, type, result, attempts, worker). Empty: nothing done was redone."""
    now = {s.activity_id: s for s in activity_steps(history)}
    problems = []
    for old in before:
        new = now.get(old.activity_id)
        if new is None:
            problems.append(f"{old.activity_id} ({old.kind}) is gone")
            continue
        for name in ("activity_type", "status", "result", "attempts", "identity"):
            if getattr(old, name) != getattr(new, name):
                problems.append(f"{old.activity_id} ({old.kind}): {name} {getattr(old, name)!r} -> {getattr(new, name)!r}")
    return problems


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
