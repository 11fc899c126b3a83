"""The client side: start a session, and talk to it while it runs.

A conversation session::

    session = await Session.start(client, config=SessionConfig(max_turns_per_run=3))
    reply = await session.send("Any weather alerts for California?")   # an update
    await session.pending()                                             # a query
    reply = await session.approve("approval-1")                         # an update
    await session.end()                                                 # a signal

Every mistake a caller can make comes back as one sentence (a
:class:`~recipes.core.errors.TutorialError`), and none of them harms the
session: a message the validator rejects never enters the history; an update to
a finished session, an approval for an unknown id and a query that has nothing
to show yet are refused, and the workflow carries on.
"""

from __future__ import annotations

from uuid import uuid4

from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.service import RPCError, RPCStatusCode

from recipes.agent_session.workflows import (
    ApprovalDecision,
    ApprovalRequest,
    ChatTurn,
    ConversationSessionWorkflow,
    Reply,
    SessionConfig,
    SessionInput,
    SessionStatus,
    SessionSummary,
    UserMessage,
    default_task_queue,
)
from recipes.core.errors import TutorialError

__all__ = [
    "MessageRejected",
    "NothingToShow",
    "Session",
    "SessionClosed",
    "SessionError",
]

class SessionError(TutorialError):
    """A request to a session was refused; the session itself is unaffected."""


class MessageRejected(SessionError):
    """The workflow's validator refused the update; nothing entered the history."""


class SessionClosed(SessionError):
    """The session workflow has finished; it accepts no more updates or signals."""


class NothingToShow(SessionError):
    """A query had nothing to return yet (e.g. last_reply before the first turn)."""


def _root_message(err: BaseException) -> str:
    cause = getattr(err, "cause", None)
    while getattr(cause, "cause", None) is not None:
        cause = cause.cause
    message = getattr(cause, "message", None) or (str(cause) if cause else str(err))
    return message


class Session:
    """A handle on one :class:`ConversationSessionWorkflow` (its latest run)."""

    def __init__(self, handle: WorkflowHandle) -> None:
        self.handle = handle

    @property
    def id(self) -> str:
        return self.handle.id

    @classmethod
    async def start(
        cls,
        client: Client,
        *,
        config: SessionConfig | None = None,
        session_id: str | None = None,
        task_queue: str | None = None,
    ) -> Session:
        handle = await client.start_workflow(
            ConversationSessionWorkflow.run,
            SessionInput(config=config or SessionConfig()),
            id=session_id or f"session-{uuid4().hex[:8]}",
            task_queue=task_queue or default_task_queue(),
        )
        return cls(handle)

    @classmethod
    def attach(cls, client: Client, session_id: str) -> Session:
        """A session someone else started (always its latest run, across continue-as-new)."""
        return cls(client.get_workflow_handle_for(ConversationSessionWorkflow.run, session_id))

    # updates ------------------------------------------------------------------
    async def send(self, text: str) -> Reply:
        """One user turn; returns the agent's reply (or the approvals it waits for)."""
        return await self._update(ConversationSessionWorkflow.send_message, UserMessage(text))

    async def approve(self, request_id: str, reason: str = "") -> Reply:
        return await self.decide(request_id, True, reason)

    async def reject(self, request_id: str, reason: str = "") -> Reply:
        return await self.decide(request_id, False, reason)

    async def decide(self, request_id: str, approve: bool, reason: str = "") -> Reply:
        return await self._update(ConversationSessionWorkflow.decide_approval, ApprovalDecision(request_id, approve, reason))

    async def _update(self, update, arg) -> Reply:
        try:
            return await self.handle.execute_update(update, arg)
        except WorkflowUpdateFailedError as err:
            raise MessageRejected(f"Session {self.id} refused the update: {_root_message(err)}") from None
        except RPCError as err:
            raise self._closed_or(err) from None

    # queries --------------------------------------------------------------------
    async def conversation(self) -> list[ChatTurn]:
        return await self._query(ConversationSessionWorkflow.conversation)

    async def pending(self) -> list[ApprovalRequest]:
        return await self._query(ConversationSessionWorkflow.pending_approvals)

    async def status(self) -> SessionStatus:
        return await self._query(ConversationSessionWorkflow.status)

    async def last_reply(self) -> ChatTurn:
        return await self._query(ConversationSessionWorkflow.last_reply)

    async def _query(self, query):
        try:
            return await self.handle.query(query)
        except WorkflowQueryFailedError as err:
            raise NothingToShow(f"Session {self.id}: {err.message}") from None
        except RPCError as err:
            raise self._closed_or(err) from None

    # signal / end ---------------------------------------------------------------
    async def end(self, reason: str = "") -> None:
        try:
            await self.handle.signal(ConversationSessionWorkflow.end_session, reason)
        except RPCError as err:
            raise self._closed_or(err) from None

    async def result(self) -> SessionSummary:
        return await self.handle.result()

    async def history_length(self) -> int:
        """Events in the current run's history, as the server has them."""
        history = await self.handle.fetch_history()
        return len(history.events)

    def _closed_or(self, err: RPCError) -> Exception:
        if err.status == RPCStatusCode.NOT_FOUND:
            if "completed" in err.message or "closed" in err.message:
                return SessionClosed(
                    f"Session {self.id} has finished, so it takes no more messages ({err.message}); start a new session."
                )
            return SessionError(f"There is no session {self.id!r} on this Temporal server ({err.message}); check the id.")
        return err

    def __repr__(self) -> str:
        return f"Session({self.id!r})"
