"""A conversation that lives as long as it needs to: one workflow per session.

:class:`ConversationSessionWorkflow` is a long-running workflow you *talk to*:

* **update** ``send_message(UserMessage)`` -- runs one agent turn and returns
  the reply to the caller. A *validator* rejects malformed messages (empty, too
  long, sent while an approval is pending, after the end) *before* they are
  accepted, so a rejected message never enters the event history.
* **update** ``decide_approval(ApprovalDecision)`` -- approve or reject a tool
  call that waits for a person (``broadcast_public_notice``). The validator
  rejects unknown request ids. Returns the agent's reply after the decision.
* **queries** ``conversation()``, ``pending_approvals()``, ``status()``,
  ``last_reply()`` -- read state, never change it, never enter the history.
* **signal** ``end_session(reason)`` -- fire-and-forget: the session finishes.

Human approval uses the Agents SDK's own mechanism: the tool has
``needs_approval=True``, so ``Runner.run`` returns *before* calling it, with
the call in ``result.interruptions``. The workflow keeps the paused
``RunState`` in memory (a workflow's memory is durable: it is rebuilt by
replay), publishes the request through ``pending_approvals()`` and resumes
with ``state.approve(item)`` or ``state.reject(item, rejection_message=...)``.
A rejected call is never invoked, so its activity is never scheduled; the
model receives the rejection message as the tool's output and answers
accordingly.

Long waits: the ``recheck_in_hours`` tool records a check; the main loop
sleeps on a **durable timer** (``workflow.wait_condition(..., timeout=...)``)
until the earliest check is due -- hours or days, with no worker needed while it
waits -- then runs a small "Scheduled alerts check" agent. One "hour" lasts
``SessionConfig.recheck_unit_seconds`` (3600; the notebook uses a fraction
of a second because no time-skipping server is available offline).

Continue-as-new: every turn adds events (the update, its model and tool
activities, workflow tasks) and every model call's input carries the whole
conversation, so a session's history grows without bound. After
``max_turns_per_run`` user turns, or when the server says so
(``workflow.info().is_continue_as_new_suggested()``), the main loop waits
until no update handler is running and no approval is pending
(``workflow.all_handlers_finished()``) and continues as new, carrying the
conversation, the model input, the scheduled checks and the approval log. The
workflow id stays the same, so clients do not notice.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.openai_agents import ModelActivityParameters

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner, RunResult, RunState, ToolApprovalItem, trace

    from recipes.agent_session import team
    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.tools.us_states import AREA_NAMES

__all__ = [
    "MAX_MESSAGE_CHARS",
    "MODEL_PARAMS",
    "TASK_QUEUE",
    "ApprovalDecision",
    "ApprovalRecord",
    "ApprovalRequest",
    "ChatTurn",
    "ConversationSessionWorkflow",
    "Reply",
    "ScheduledCheck",
    "SessionConfig",
    "SessionInput",
    "SessionStatus",
    "SessionSummary",
    "UserMessage",
    "default_task_queue",
]

TASK_QUEUE = "agent-session"
TASK_QUEUE_ENV = "AGENT_SESSION_TASK_QUEUE"

#: Model calls: one minute per attempt (the plugin's model activity heartbeats
#: every 5 s, so a dead worker is noticed after 10 s), five minutes and five
#: attempts in all, backoff 1 s -> 20 s. The agent's name becomes each model
#: activity's summary by itself (the plugin sets it).
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


def default_task_queue() -> str:
    """``$AGENT_SESSION_TASK_QUEUE`` or ``agent-session``. Notebooks and tests pick a queue of
    their own, so a worker someone left running cannot take their runs."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE

MAX_MESSAGE_CHARS = 2000
MAX_RECHECK_HOURS = 24 * 14


@dataclass
class SessionConfig:
    max_turns_per_run: int = 50
    """User turns per run before continue-as-new (the server may suggest it earlier)."""
    recheck_unit_seconds: float = 3600.0
    """How long one "hour" of ``recheck_in_hours`` lasts. Shrink it for demos and tests."""


@dataclass
class ChatTurn:
    role: str
    """``user`` or ``assistant``."""
    text: str
    agent: str = ""
    via: str = ""
    """How the turn came in: ``update``, ``approval`` or ``timer``."""
    at: str = ""
    """Workflow time (ISO 8601) when it was recorded."""
    run: int = 1
    """Which run of the session (1 + number of continue-as-new) recorded it."""


@dataclass
class ApprovalRequest:
    request_id: str
    tool: str
    arguments: dict[str, Any]
    requested_at: str
    turn: int


@dataclass
class ApprovalDecision:
    request_id: str
    approve: bool
    reason: str = ""


@dataclass
class ApprovalRecord:
    request: ApprovalRequest
    approved: bool
    reason: str
    decided_at: str


@dataclass
class ScheduledCheck:
    check_id: str
    state: str
    hours: float
    due_at: str


@dataclass
class SessionInput:
    """What a session starts with: a config, and on continue-as-new everything carried over."""

    config: SessionConfig = field(default_factory=SessionConfig)
    turns: list[ChatTurn] = field(default_factory=list)
    model_input: list[dict[str, Any]] = field(default_factory=list)
    checks: list[ScheduledCheck] = field(default_factory=list)
    approvals: list[ApprovalRecord] = field(default_factory=list)
    run_number: int = 1
    user_turns: int = 0
    next_ids: dict[str, int] = field(default_factory=dict)
    """Counters for request ids (``approval-N``, ``check-N``), carried so ids never repeat."""


@dataclass
class UserMessage:
    text: str


@dataclass
class Reply:
    text: str
    agent: str
    pending_approvals: list[ApprovalRequest] = field(default_factory=list)
    user_turn: int = 0
    run: int = 1


@dataclass
class SessionStatus:
    run_number: int
    turns_this_run: int
    user_turns: int
    max_turns_per_run: int
    history_length: int
    history_size_bytes: int
    continue_as_new_suggested: bool
    pending_approvals: list[ApprovalRequest]
    scheduled_checks: list[ScheduledCheck]
    ended: bool


@dataclass
class SessionSummary:
    reason: str
    run_number: int
    user_turns: int
    turns: int
    approvals: list[ApprovalRecord]
    abandoned_approvals: list[ApprovalRequest]
    cancelled_checks: list[ScheduledCheck]


@workflow.defn
class ConversationSessionWorkflow:
    @workflow.init
    def __init__(self, start: SessionInput) -> None:
        self.config = start.config
        self.turns: list[ChatTurn] = list(start.turns)
        self.model_input: list[Any] = list(start.model_input)
        self.checks: list[ScheduledCheck] = list(start.checks)
        self.approvals: list[ApprovalRecord] = list(start.approvals)
        self.run_number = start.run_number
        self.user_turns = start.user_turns
        self.next_ids: dict[str, int] = dict(start.next_ids)
        self.turns_this_run = 0
        self.lock = asyncio.Lock()  # one agent turn at a time
        self.ended = False
        self.end_reason = ""
        self.checks_changed = False
        self.paused: RunState | None = None  # a run waiting for approval decisions
        self.pending: dict[str, tuple[ApprovalRequest, ToolApprovalItem]] = {}
        self.notes_while_paused: list[dict[str, Any]] = []
        self._agent: Agent | None = None

    # ------------------------------------------------------------------ main loop
    @workflow.run
    async def run(self, start: SessionInput) -> SessionSummary:
        while not self.ended:
            wait = self._seconds_to_next_check()
            if wait is None or wait > 0:
                try:
                    await workflow.wait_condition(
                        lambda: self.ended or self.checks_changed or self._ready_for_new_run(),
                        timeout=wait,
                        timeout_summary="next scheduled check" if wait is not None else None,
                    )
                except asyncio.TimeoutError:
                    pass  # the timer fired: a check is due
            self.checks_changed = False
            if self.ended:
                break
            await self._run_due_checks()
            if self._ready_for_new_run():
                # Let every running update handler finish (and return its reply) first.
                await workflow.wait_condition(workflow.all_handlers_finished)
                if self._ready_for_new_run():
                    workflow.continue_as_new(self._carry_over())
        await workflow.wait_condition(workflow.all_handlers_finished)
        return SessionSummary(
            reason=self.end_reason,
            run_number=self.run_number,
            user_turns=self.user_turns,
            turns=len(self.turns),
            approvals=self.approvals,
            abandoned_approvals=[req for req, _ in self.pending.values()],
            cancelled_checks=self.checks,
        )

    def _ready_for_new_run(self) -> bool:
        if self.pending or self.lock.locked():
            return False  # a paused run cannot be carried over; an active turn must finish
        if self.turns_this_run >= self.config.max_turns_per_run:
            return True
        return workflow.info().is_continue_as_new_suggested()

    def _carry_over(self) -> SessionInput:
        return SessionInput(
            config=self.config,
            turns=self.turns,
            model_input=self.model_input,
            checks=self.checks,
            approvals=self.approvals,
            run_number=self.run_number + 1,
            user_turns=self.user_turns,
            next_ids=self.next_ids,
        )

    # ------------------------------------------------------------------ messages
    @workflow.update
    async def send_message(self, message: UserMessage) -> Reply:
        async with self.lock:
            self.user_turns += 1
            self.turns_this_run += 1
            self._record("user", message.text.strip(), via="update")
            with trace(f"Session turn {self.user_turns}"):
                result = await Runner.run(
                    self._session_agent(), [*self.model_input, {"role": "user", "content": message.text.strip()}]
                )
            return self._after_run(result, via="update")

    @send_message.validator
    def _validate_message(self, message: UserMessage) -> None:
        text = message.text if isinstance(message.text, str) else None
        if self.ended:
            raise ValueError("This session has ended; start a new one.")
        if text is None or not text.strip():
            raise ValueError("The message is empty; send some text.")
        if len(text) > MAX_MESSAGE_CHARS:
            raise ValueError(f"The message has {len(text)} characters; the limit is {MAX_MESSAGE_CHARS}.")
        if self.pending:
            ids = ", ".join(self.pending)
            raise ValueError(f"Approval {ids} is waiting for a decision; approve or reject it before sending more.")

    # ------------------------------------------------------------------ approvals
    @workflow.update
    async def decide_approval(self, decision: ApprovalDecision) -> Reply:
        async with self.lock:
            if decision.request_id not in self.pending or self.paused is None:
                # Only reachable if two decisions for one request raced past the validator.
                raise ApplicationError(f"Approval {decision.request_id} was already decided.", non_retryable=True)
            request, item = self.pending.pop(decision.request_id)
            reason = decision.reason.strip() or ("approved" if decision.approve else "rejected by a person")
            self.approvals.append(ApprovalRecord(request, decision.approve, reason, workflow.now().isoformat()))
            if decision.approve:
                self.paused.approve(item)
            else:
                self.paused.reject(
                    item,
                    rejection_message=f"A person rejected this {request.tool} call, so it was not run. Reason: {reason}",
                )
            if self.pending:  # several calls in one turn: wait until all are decided
                left = ", ".join(self.pending)
                return Reply(f"Decision recorded; still waiting for {left}.", "", self._pending_list(),
                             self.user_turns, self.run_number)
            state, self.paused = self.paused, None
            with trace(f"Session turn {self.user_turns} (after approval)"):
                result = await Runner.run(self._session_agent(), state)
            return self._after_run(result, via="approval")

    @decide_approval.validator
    def _validate_decision(self, decision: ApprovalDecision) -> None:
        if decision.request_id not in self.pending:
            pending = ", ".join(self.pending) or "none"
            raise ValueError(f"No approval {decision.request_id!r} is waiting (pending: {pending}).")

    # ------------------------------------------------------------------ queries / signal
    @workflow.query
    def conversation(self) -> list[ChatTurn]:
        return self.turns

    @workflow.query
    def pending_approvals(self) -> list[ApprovalRequest]:
        return self._pending_list()

    @workflow.query
    def last_reply(self) -> ChatTurn:
        for turn in reversed(self.turns):
            if turn.role == "assistant":
                return turn
        raise ApplicationError("No reply yet: this session has not had a turn; send a message first.")

    @workflow.query
    def status(self) -> SessionStatus:
        info = workflow.info()
        return SessionStatus(
            run_number=self.run_number,
            turns_this_run=self.turns_this_run,
            user_turns=self.user_turns,
            max_turns_per_run=self.config.max_turns_per_run,
            history_length=info.get_current_history_length(),
            history_size_bytes=info.get_current_history_size(),
            continue_as_new_suggested=info.is_continue_as_new_suggested(),
            pending_approvals=self._pending_list(),
            scheduled_checks=self.checks,
            ended=self.ended,
        )

    @workflow.signal
    def end_session(self, reason: str = "") -> None:
        self.ended = True
        self.end_reason = reason or "ended by the user"

    # ------------------------------------------------------------------ internals
    def _session_agent(self) -> Agent:
        if self._agent is None:  # one agent per run: a paused RunState refers to it
            self._agent = team.session_agent(self._schedule_recheck)
        return self._agent

    def _record(self, role: str, text: str, agent: str = "", via: str = "") -> ChatTurn:
        turn = ChatTurn(role, text, agent, via, workflow.now().isoformat(), self.run_number)
        self.turns.append(turn)
        return turn

    def _new_id(self, prefix: str) -> str:
        number = self.next_ids.get(prefix, 1)
        self.next_ids[prefix] = number + 1
        return f"{prefix}-{number}"

    def _pending_list(self) -> list[ApprovalRequest]:
        return [req for req, _ in self.pending.values()]

    def _after_run(self, result: RunResult, via: str) -> Reply:
        agent = result.last_agent.name
        if result.interruptions:
            self.paused = result.to_state()
            for item in result.interruptions:
                try:
                    arguments = json.loads(item.arguments or "{}")
                except ValueError:
                    arguments = {"raw": item.arguments}
                request = ApprovalRequest(
                    self._new_id("approval"), item.name or "?", arguments, workflow.now().isoformat(), self.user_turns
                )
                self.pending[request.request_id] = (request, item)
            asks = "; ".join(f"{r.tool}({_args_text(r.arguments)}) [{r.request_id}]" for r in self._pending_list())
            text = f"Waiting for a person to approve: {asks}"
            self._record("assistant", text, agent, via)
            return Reply(text, agent, self._pending_list(), self.user_turns, self.run_number)
        self.model_input = [*result.to_input_list(), *self.notes_while_paused]
        self.notes_while_paused = []
        text = str(result.final_output)
        self._record("assistant", text, agent, via)
        return Reply(text, agent, [], self.user_turns, self.run_number)

    async def _schedule_recheck(self, state: str, hours: float) -> str:
        """The ``recheck_in_hours`` tool (runs in the workflow: no I/O, deterministic)."""
        code = str(state).strip().upper()
        if code not in AREA_NAMES:
            return f"Not scheduled: {state!r} is not a US state code; use a two-letter code such as CA."
        if not 0 < hours <= MAX_RECHECK_HOURS:
            return f"Not scheduled: hours must be more than 0 and at most {MAX_RECHECK_HOURS}."
        due = workflow.now() + timedelta(seconds=hours * self.config.recheck_unit_seconds)
        check = ScheduledCheck(self._new_id("check"), code, hours, due.isoformat())
        self.checks.append(check)
        self.checks_changed = True  # wake the main loop so it sets the timer
        return f"Scheduled {check.check_id}: I will look at the weather alerts for {code} again in {hours:g} hours."

    def _seconds_to_next_check(self) -> float | None:
        if not self.checks:
            return None
        due = min(datetime.fromisoformat(c.due_at) for c in self.checks)
        return max(0.0, (due - workflow.now()).total_seconds())

    async def _run_due_checks(self) -> None:
        while True:
            now = workflow.now()
            due = [c for c in self.checks if datetime.fromisoformat(c.due_at) <= now]
            if not due or self.ended:
                return
            check = min(due, key=lambda c: c.due_at)
            async with self.lock:
                self.checks.remove(check)
                with trace(f"Scheduled check {check.check_id}"):
                    result = await Runner.run(team.scheduled_check_agent(), f"Weather alerts for {check.state}")
                text = f"({check.check_id}, {check.hours:g} hours later) {result.final_output}"
                self._record("assistant", text, result.last_agent.name, "timer")
                note = {"role": "assistant", "content": text}
                if self.paused is not None:
                    self.notes_while_paused.append(note)  # the paused run's input is fixed; add it after
                else:
                    self.model_input.append(note)


def _args_text(arguments: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in arguments.items())
