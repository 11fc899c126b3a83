"""Follow a streamed run from outside: what a person should see, retries handled.

    async for update in follow(client, workflow_id):
        print(update.kind, update.view.render())

:class:`StreamReader` is the rule, with no I/O, so it can be tested on its own:

* A **snapshot** (published by the workflow at every durable step) replaces the view.
  Text before it is final.
* Raw model events after it are the model call in flight. ``response.created`` opens
  an attempt; its ``response.output_text.delta`` events grow the pending text.
* A second ``response.created`` before the next snapshot means that attempt was
  superseded (the worker died, the call timed out and was retried): its pending
  text is **withdrawn**, and the new attempt's text replaces it, never glued on.
  That includes an attempt that streamed to the end but whose result was lost.
* Text deltas with no open attempt (a superseded attempt's last batch arriving
  late) are ignored, and so are events out of the open attempt's numbering: every
  attempt numbers its events from 0 (``sequence_number``), and an attempt whose
  heartbeat timed out while the server was down can still be streaming beside its
  retry. Its words would otherwise be glued into the retry's text.
* A snapshot whose text does not continue what was shown (the attempt that counted
  streamed while this subscriber was cut off) withdraws the pending text too; one that
  does continue it (the retry wrote the same words) simply carries on.

:func:`follow` resumes from an offset (pass the last update's ``offset`` and its
``reader``), rides out a Temporal server restart, and gives one sentence for an
unknown run or one that does not stream.
"""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.common import RawValue
from temporalio.contrib.workflow_streams import WorkflowStreamClient
from temporalio.service import RPCError, RPCStatusCode

from recipes.core.errors import TutorialError
from recipes.core.scripts import OutageGrace
from recipes.streaming.transcript import MODEL_EVENTS_TOPIC, TRANSCRIPT_TOPIC, Snapshot, View

UpdateKind = Literal["snapshot", "delta", "withdrawn", "done", "failed"]

#: How long :func:`follow` waits out an unreachable Temporal server before giving up.
OUTAGE_GRACE_S = 60.0
#: Pause between polls once caught up. Each poll is an Update, two events in the run's
#: history, so this trades latency against history size; the SDK's default is 100 ms.
POLL_COOLDOWN = timedelta(milliseconds=50)


class StreamUnavailable(TutorialError):
    """There is no stream to follow under that id (unknown run, or one that does not stream)."""


@dataclass(frozen=True)
class Update:
    """One change to what is shown. ``offset`` is where to resume after it."""

    kind: UpdateKind
    offset: int
    view: View
    #: The delta's text, or the text withdrawn (``withdrawn``, or a snapshot that replaced it).
    text: str = ""
    at: float = field(default_factory=time.monotonic)


class StreamReader:
    """Turns stream items into :class:`Update` s (see the module docstring for the rule)."""

    def __init__(self) -> None:
        self.view = View()
        self.attempt_open = False
        #: The sequence number the open attempt's next event carries (``None``: events without numbers).
        self.next_number: int | None = None
        #: Attempts whose text was withdrawn, and what they had shown.
        self.withdrawn: list[str] = []
        self.offset = 0

    def apply(self, topic: str, data: Any, offset: int) -> Update | None:
        """Apply the item published at ``offset``; the update to show, or ``None``."""
        self.offset = offset + 1
        if topic == TRANSCRIPT_TOPIC:
            snapshot = data if isinstance(data, Snapshot) else Snapshot(**data)
            shown, pending = self.view.text, self.view.pending
            self.view = View(snapshot=snapshot)
            self.attempt_open = False
            # This subscriber may never have seen the attempt that counted (it streamed and
            # completed while the subscriber was cut off, and the log was truncated): if the
            # durable text does not continue what was shown, the pending text is withdrawn.
            replaced = pending if pending and not self.view.text.startswith(shown) else ""
            if replaced:
                self.withdrawn.append(replaced)
            kind: UpdateKind = {"done": "done", "failed": "failed"}.get(snapshot.status, "snapshot")  # type: ignore[assignment]
            return self._update(kind, replaced)
        if topic != MODEL_EVENTS_TOPIC or not isinstance(data, dict):
            return None
        event_type, number = data.get("type"), data.get("sequence_number")
        if event_type == "response.created":
            superseded = self.view.pending
            self.attempt_open = True
            self.next_number = number + 1 if isinstance(number, int) else None
            if superseded:
                self.withdrawn.append(superseded)
                self.view = View(snapshot=self.view.snapshot)
                return self._update("withdrawn", superseded)
            return None
        if not self.attempt_open:
            return None
        if self.next_number is not None and isinstance(number, int):
            # Each attempt numbers its events from 0. One out of turn is from an earlier attempt still
            # streaming after its retry began (its heartbeat timed out during an outage): not this one's.
            if number != self.next_number:
                return None
            self.next_number += 1
        if event_type == "response.output_text.delta":
            delta = str(data.get("delta") or "")
            if delta:
                self.view = View(snapshot=self.view.snapshot, pending=self.view.pending + delta)
                return self._update("delta", delta)
        return None

    def _update(self, kind: UpdateKind, text: str = "") -> Update:
        return Update(kind, self.offset, copy.copy(self.view), text)


async def follow(
    client: Client,
    workflow_id: str,
    *,
    from_offset: int = 0,
    reader: StreamReader | None = None,
    poll_cooldown: timedelta = POLL_COOLDOWN,
    outage_grace_s: float = OUTAGE_GRACE_S,
) -> AsyncIterator[Update]:
    """Yield what to show for the run ``workflow_id`` until it finishes.

    The last update is ``done`` (with ``view.snapshot.answer``) or ``failed``. To resume
    after a disconnect, pass the last update's ``offset`` and the same ``reader``.
    """
    reader = reader or StreamReader()
    await _check_run(client, workflow_id)
    stream = WorkflowStreamClient.create(client, workflow_id)
    converter = client.data_converter.payload_converter
    offset = from_offset
    outage = OutageGrace(outage_grace_s)
    while True:
        try:
            async for item in stream.subscribe(
                [TRANSCRIPT_TOPIC, MODEL_EVENTS_TOPIC], from_offset=offset, result_type=RawValue, poll_cooldown=poll_cooldown
            ):
                outage.reset()
                payload = item.data.payload
                data = converter.from_payload(payload, Snapshot) if item.topic == TRANSCRIPT_TOPIC else converter.from_payload(payload)
                update = reader.apply(item.topic, data, item.offset)
                offset = reader.offset
                if update is not None:
                    yield update
                    if update.kind in ("done", "failed"):
                        return
            # The run closed without a final snapshot (terminated, timed out, or a worker
            # too old to publish one): say how it ended.
            yield await _closed_without_snapshot(client, workflow_id, reader)
            return
        except WorkflowUpdateFailedError as err:
            raise StreamUnavailable(
                f"Run {workflow_id!r} does not publish a stream ({err.cause or err}); "
                "it must be a workflow that hosts a WorkflowStream, like StreamingWeatherWorkflow."
            ) from None
        except RPCError as err:
            outage.tolerate(err, f"following {workflow_id}; the run goes on on the server: "
                                 "follow it again once the server is back.")  # fmt: skip
            await asyncio.sleep(1.0)


async def _check_run(client: Client, workflow_id: str) -> None:
    try:
        await client.get_workflow_handle(workflow_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise StreamUnavailable(
                f"No run with id {workflow_id!r} in namespace {client.namespace!r} on this Temporal server: "
                "check the id (the starter prints it; the page has it in its address)."
            ) from None
        raise


async def _closed_without_snapshot(client: Client, workflow_id: str, reader: StreamReader) -> Update:
    description = await client.get_workflow_handle(workflow_id).describe()
    status = description.status.name.lower() if description.status else "unknown"
    if description.status == WorkflowExecutionStatus.COMPLETED:
        result = await client.get_workflow_handle(workflow_id).result()
        snapshot = Snapshot(segments=reader.view.snapshot.segments, status="done", answer=str(result))
        kind: UpdateKind = "done"
    else:
        snapshot = Snapshot(segments=reader.view.snapshot.segments, status="failed", error=f"The run ended {status}.")
        kind = "failed"
    reader.view = View(snapshot=snapshot)
    return Update(kind, reader.offset, copy.copy(reader.view))


def rendered_changes(before: str, after: str) -> str:
    """What to print to go from showing ``before`` to showing ``after`` on a terminal that
    can only append: the new suffix, or a withdrawal note and the text from where they differ."""
    if after.startswith(before):
        return after[len(before) :]
    common = 0
    for a, b in zip(before, after):
        if a != b:
            break
        common += 1
    return f"\n[withdrawn: {before[common:]!r} — a retried attempt replaces it]\n{after[common:]}"
