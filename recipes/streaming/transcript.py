"""What a person watching a streamed run should see, as data both sides share.

The workflow publishes a :class:`Snapshot` on the ``transcript`` topic whenever
something durable happens (a model call or tool call completed, a tool started,
the run ended). The model activity publishes the model's raw stream events on
the ``model-events`` topic while a call is in flight. A subscriber shows
``snapshot.segments`` plus the text streamed since the last snapshot.

Pure data: imported by the workflow (inside its sandbox) and by subscribers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

#: Topic of the workflow's own snapshots.
TRANSCRIPT_TOPIC = "transcript"
#: Topic the model activity publishes raw model stream events to (``streaming_topic``).
MODEL_EVENTS_TOPIC = "model-events"

#: How much of a tool's output a snapshot carries: enough to read, not the whole payload.
TOOL_OUTPUT_PREVIEW_CHARS = 300

Status = Literal["thinking", "running_tool", "done", "failed"]


@dataclass(frozen=True)
class Segment:
    """One thing that happened, in order: model text, a tool call starting, its result.
    Segments are only ever appended, so what was shown stays a prefix of what is shown."""

    kind: Literal["text", "tool_call", "tool_result"]
    text: str = ""
    tool_name: str = ""
    call_id: str = ""
    #: The call's JSON arguments (``tool_call``); its output, clipped (``tool_result``).
    detail: str = ""


@dataclass(frozen=True)
class Snapshot:
    """Everything durable so far. Each one replaces the one before, so a subscriber that
    missed events (a reload, a truncated log) is whole again from the latest one."""

    segments: tuple[Segment, ...] = ()
    status: Status = "thinking"
    #: Model calls completed (each is one ``invoke_model_activity_streaming`` activity).
    model_calls: int = 0
    answer: str | None = None
    error: str | None = None
    #: Items published before this snapshot (the stream's global offset); all of them
    #: have been truncated from the log.
    events_before: int = 0

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def running_tools(self) -> list[str]:
        finished = {s.call_id for s in self.segments if s.kind == "tool_result"}
        return [s.call_id for s in self.segments if s.kind == "tool_call" and s.call_id not in finished]

    def appended(self, segment: Segment) -> Snapshot:
        if segment.kind == "text" and not segment.text:
            return self
        grown = replace(self, segments=(*self.segments, segment))
        return replace(grown, status="running_tool" if grown.running_tools() else "thinking")


def tool_result(tool_name: str, call_id: str, output: str) -> Segment:
    preview = output if len(output) <= TOOL_OUTPUT_PREVIEW_CHARS else output[:TOOL_OUTPUT_PREVIEW_CHARS] + "…"
    return Segment("tool_result", tool_name=tool_name, call_id=call_id, detail=preview)


@dataclass
class View:
    """What to show now: the latest snapshot, and the text of the model call in flight."""

    snapshot: Snapshot = field(default_factory=Snapshot)
    #: Text streamed by the current attempt of the model call in flight (not yet durable).
    pending: str = ""

    @property
    def text(self) -> str:
        """All the answer text shown: committed text segments, then the pending text."""
        return "".join(s.text for s in self.snapshot.segments if s.kind == "text") + self.pending

    def render(self) -> str:
        """Plain text: text as it came, a line per tool call."""
        out: list[str] = []
        for s in self.snapshot.segments:
            if s.kind == "text":
                out.append(s.text)
            elif s.kind == "tool_call":
                out.append(f"\n→ {s.tool_name}({s.detail})\n")
            else:
                out.append(f"← {s.tool_name}: {s.detail}\n")
        out.append(self.pending)
        if self.snapshot.error:
            out.append(f"\n[failed] {self.snapshot.error}")
        return "".join(out)
