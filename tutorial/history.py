"""Read a workflow's event history back from the Temporal server and show it.

The event history is Temporal's source of truth: every activity scheduled,
started (with its attempt number and the worker's identity), completed or
failed is an event the server recorded. The notebooks read it back to *prove*
what happened instead of trusting print statements::

    from tutorial.history import fetch_history, event_rows, activity_steps, show_table

    history = await fetch_history(handle)          # handle = client.get_workflow_handle(...)
    show_table(event_rows(history))                # every event, one row each
    steps = activity_steps(history)                # one Step per activity execution
    model_and_tool_sequence(history)               # ["model", "tool:get_weather_alerts", "model"]

Everything here works on a :class:`temporalio.client.WorkflowHistory` or a plain
sequence of ``HistoryEvent`` protos; nothing needs pandas.

Two facts about histories that the helpers account for:

* Retries of an activity are *not* separate events. The server writes a single
  ``ActivityTaskStarted`` event when the activity finally completes or fails,
  carrying the number of the last ``attempt`` and the previous attempt's
  failure (``last_failure``). So ``Step.attempts == 3`` means two failed
  attempts and a third that ended the activity.
* Model calls made by ``OpenAIAgentsPlugin`` are activities of type
  ``invoke_model_activity`` (see :data:`MODEL_ACTIVITY_TYPES`); everything else
  an agent workflow runs as an activity is a tool.
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from temporalio.api.enums.v1 import EventType, RetryState
from temporalio.api.history.v1 import HistoryEvent

__all__ = [
    "EVENT_COLUMNS",
    "MODEL_ACTIVITY_TYPES",
    "STEP_COLUMNS",
    "Step",
    "activity_steps",
    "event_rows",
    "fetch_history",
    "model_and_tool_sequence",
    "render_table",
    "show_table",
    "step_rows",
]

#: Activity types the OpenAI Agents plugin uses for model calls.
MODEL_ACTIVITY_TYPES = frozenset({"invoke_model_activity", "invoke_model_activity_streaming"})

#: Columns of :func:`event_rows`, in display order.
EVENT_COLUMNS = ["event_id", "time", "type", "activity_type", "activity_id", "attempt", "identity", "detail"]

#: Columns of :func:`step_rows`, in display order.
STEP_COLUMNS = ["activity_id", "kind", "input", "attempts", "status", "duration_s", "identity", "detail"]

_DETAIL_WIDTH = 90


async def fetch_history(handle: Any) -> Any:
    """The workflow's full event history, as the server stores it.

    ``handle`` is a :class:`temporalio.client.WorkflowHandle`; the result is a
    :class:`temporalio.client.WorkflowHistory` (``.workflow_id``, ``.run_id``,
    ``.events``). Reading a running workflow is fine: you get the events so far.
    """
    return await handle.fetch_history()


# --------------------------------------------------------------------------- steps


@dataclass
class Step:
    """One activity execution (all its attempts), reconstructed from the history."""

    activity_id: str
    activity_type: str
    summary: str = ""
    scheduled_event_id: int = 0
    scheduled_at: datetime | None = None
    started_at: datetime | None = None
    closed_at: datetime | None = None
    attempts: int = 0
    """Attempt number of the last attempt started (0 while none has started)."""
    identity: str = ""
    """Worker that completed (or failed) the activity; while running, the one running it."""
    status: str = "running"
    """completed | failed | timed_out | canceled | running (scheduled or started, not closed)."""
    failure: str = ""
    """Why the activity failed, timed out or was canceled (empty when it completed)."""
    last_failure: str = ""
    """The failure of the attempt before the last one (why it was retried)."""
    result: str = ""
    """A short, human-readable preview of the result."""
    failure_type: str = ""
    """ApplicationError type of the failure, e.g. ``InvalidState`` (empty if none)."""
    non_retryable: bool = False
    task_queue: str = ""
    arguments: list[Any] = field(default_factory=list, repr=False)
    """The activity's decoded input arguments (JSON values), e.g. ``["CA"]``."""
    extra: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def is_model_call(self) -> bool:
        return self.activity_type in MODEL_ACTIVITY_TYPES

    @property
    def kind(self) -> str:
        """``"model"`` for a model call, else ``"tool:<activity type>"``."""
        return "model" if self.is_model_call else f"tool:{self.activity_type}"

    @property
    def input(self) -> str:
        """A short preview of the input (model calls: just the agent's name, the input is the whole conversation)."""
        if self.is_model_call:
            return f"({self.summary})" if self.summary else "(conversation)"
        return _clip(", ".join(json.dumps(a, default=str) for a in self.arguments), 40)

    @property
    def duration_s(self) -> float | None:
        """Seconds from scheduled to closed (retries and backoff included)."""
        if self.scheduled_at and self.closed_at:
            return (self.closed_at - self.scheduled_at).total_seconds()
        return None

    def as_row(self) -> dict[str, Any]:
        """A display row (see :data:`STEP_COLUMNS`)."""
        detail = self.failure or self.result
        if self.last_failure and self.status == "completed":
            detail = f"{detail}  (retried after: {self.last_failure})"
        duration = self.duration_s
        return {
            "activity_id": self.activity_id,
            "kind": self.kind,
            "input": self.input,
            "attempts": self.attempts,
            "status": self.status,
            "duration_s": "" if duration is None else f"{duration:.2f}",
            "identity": self.identity,
            "detail": _clip(detail),
        }

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("scheduled_at", "started_at", "closed_at"):
            if data[key] is not None:
                data[key] = data[key].isoformat()
        data.pop("extra", None)
        data["kind"] = self.kind
        data["input"] = self.input
        return data


def activity_steps(history: Any) -> list[Step]:
    """One :class:`Step` per scheduled activity, in the order they were scheduled."""
    steps: dict[int, Step] = {}
    for event in _events(history):
        name = event.WhichOneof("attributes")
        if name is None:
            continue
        attrs = getattr(event, name)
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            steps[event.event_id] = Step(
                activity_id=attrs.activity_id,
                activity_type=attrs.activity_type.name,
                summary=_summary(event),
                scheduled_event_id=event.event_id,
                scheduled_at=_time(event),
                task_queue=attrs.task_queue.name,
                arguments=[_payload_value(p) for p in attrs.input.payloads] if attrs.HasField("input") else [],
            )
            continue
        step = steps.get(getattr(attrs, "scheduled_event_id", 0)) if _is_activity_event(event) else None
        if step is None:
            continue
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            step.started_at = _time(event)
            step.attempts = attrs.attempt
            step.identity = attrs.identity
            if attrs.HasField("last_failure"):
                step.last_failure = _failure_text(attrs.last_failure)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            step.status = "completed"
            step.closed_at = _time(event)
            step.identity = attrs.identity or step.identity
            step.result = _result_preview(step.activity_type, attrs.result.payloads if attrs.HasField("result") else [])
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
            step.status = "failed"
            step.closed_at = _time(event)
            step.identity = attrs.identity or step.identity
            _set_failure(step, attrs.failure)
            step.extra["retry_state"] = _retry_state(attrs.retry_state)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
            step.status = "timed_out"
            step.closed_at = _time(event)
            _set_failure(step, attrs.failure)
            step.extra["retry_state"] = _retry_state(attrs.retry_state)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
            step.status = "canceled"
            step.closed_at = _time(event)
            step.identity = attrs.identity or step.identity
            step.failure = "canceled"
    return list(steps.values())


def model_and_tool_sequence(history: Any) -> list[str]:
    """The agent's steps in order: ``"model"`` per model call, ``"tool:<name>"`` per tool activity."""
    return [step.kind for step in activity_steps(history)]


def step_rows(history_or_steps: Any) -> list[dict[str, Any]]:
    """Display rows, one per activity (accepts a history or a list of steps)."""
    steps = history_or_steps
    if not (isinstance(steps, list) and all(isinstance(s, Step) for s in steps)):
        steps = activity_steps(history_or_steps)
    return [step.as_row() for step in steps]


# --------------------------------------------------------------------------- events


def event_rows(history: Any) -> list[dict[str, Any]]:
    """One display row per history event (see :data:`EVENT_COLUMNS`).

    ``type`` is the short event name (``ActivityTaskScheduled``); activity events
    carry the activity's type and id; ``attempt`` is filled on
    ``ActivityTaskStarted``; ``identity`` is the worker that reported the event.
    """
    scheduled: dict[int, tuple[str, str]] = {}
    rows = []
    for event in _events(history):
        name = event.WhichOneof("attributes")
        attrs = getattr(event, name) if name else None
        row: dict[str, Any] = {
            "event_id": event.event_id,
            "time": _time(event).strftime("%H:%M:%S.%f")[:-3],
            "type": short_event_type(event.event_type),
            "activity_type": "",
            "activity_id": "",
            "attempt": "",
            "identity": "",
            "detail": "",
        }
        if attrs is not None and "identity" in attrs.DESCRIPTOR.fields_by_name:
            row["identity"] = attrs.identity
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled[event.event_id] = (attrs.activity_type.name, attrs.activity_id)
        if _is_activity_event(event) and attrs is not None:
            key = event.event_id if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED else attrs.scheduled_event_id
            row["activity_type"], row["activity_id"] = scheduled.get(key, ("", ""))
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
            row["attempt"] = attrs.attempt
        row["detail"] = _clip(_event_detail(event, attrs, row["activity_type"]))
        rows.append(row)
    return rows


def short_event_type(event_type: int) -> str:
    """``EVENT_TYPE_ACTIVITY_TASK_SCHEDULED`` -> ``ActivityTaskScheduled``."""
    try:
        full = EventType.Name(event_type)
    except ValueError:
        return str(event_type)
    return "".join(part.capitalize() for part in full.removeprefix("EVENT_TYPE_").split("_"))


def _event_detail(event: HistoryEvent, attrs: Any, activity_type: str) -> str:
    et = event.event_type
    if attrs is None:
        return ""
    if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED:
        return f"workflow {attrs.workflow_type.name} on queue {attrs.task_queue.name}"
    if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED:
        return "result: " + _result_preview("", attrs.result.payloads if attrs.HasField("result") else [])
    if et in (
        EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED,
        EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
        EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    ):
        return _failure_text(attrs.failure) if attrs.HasField("failure") else ""
    if et == EventType.EVENT_TYPE_WORKFLOW_TASK_TIMED_OUT:
        return "workflow task timed out (worker gone?)"
    if et == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
        summary = _summary(event)
        timeout = attrs.start_to_close_timeout.ToTimedelta().total_seconds() if attrs.HasField("start_to_close_timeout") else 0
        parts = [summary] if summary else []
        parts.append(f"queue {attrs.task_queue.name}")
        if timeout:
            parts.append(f"start_to_close {timeout:g}s")
        if attrs.HasField("retry_policy") and attrs.retry_policy.maximum_attempts:
            parts.append(f"max attempts {attrs.retry_policy.maximum_attempts}")
        return ", ".join(parts)
    if et == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        if attrs.HasField("last_failure"):
            return "previous attempt failed: " + _failure_text(attrs.last_failure)
        return ""
    if et == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        return _result_preview(activity_type, attrs.result.payloads if attrs.HasField("result") else [])
    if et == EventType.EVENT_TYPE_TIMER_STARTED:
        return f"timer {attrs.start_to_fire_timeout.ToTimedelta().total_seconds():g}s"
    if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED:
        return f"signal {attrs.signal_name}"
    if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
        return f"update {attrs.accepted_request.input.name}"
    if et == EventType.EVENT_TYPE_MARKER_RECORDED:
        return f"marker {attrs.marker_name}"
    if et == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_TERMINATED:
        return attrs.reason
    return ""


# --------------------------------------------------------------------------- tables


def render_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """A plain-text table (for terminals and papermill logs). Empty columns are kept."""
    rows = list(rows)
    if not rows:
        return "(no rows)"
    cols = list(columns) if columns else _columns(rows)
    cells = [[_cell(row.get(col, "")) for col in cols] for row in rows]
    widths = [max(len(col), *(len(r[i]) for r in cells)) for i, col in enumerate(cols)]
    lines = ["  ".join(col.ljust(w) for col, w in zip(cols, widths)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in cells]
    return "\n".join(lines)


def render_html(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> str:
    """The same table as HTML (what :func:`show_table` shows in Jupyter)."""
    rows = list(rows)
    if not rows:
        return "<p><em>(no rows)</em></p>"
    cols = list(columns) if columns else _columns(rows)
    head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in cols)
    body = "".join(
        "<tr>" + "".join(f"<td style='text-align:left'>{html.escape(_cell(r.get(c, '')))}</td>" for c in cols) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def show_table(rows: Sequence[dict[str, Any]], columns: Sequence[str] | None = None) -> None:
    """Display rows as an HTML table in Jupyter (plain text elsewhere).

    The output carries both representations, so papermill logs and text
    front-ends still get a readable table.
    """
    rows = list(rows)
    text = render_table(rows, columns)
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython is installed with Jupyter
        print(text)
        return
    if get_ipython() is None:
        print(text)
        return
    display({"text/plain": text, "text/html": render_html(rows, columns)}, raw=True)


# --------------------------------------------------------------------------- helpers


def _events(history: Any) -> Iterable[HistoryEvent]:
    return history.events if hasattr(history, "events") else history


def _columns(rows: Sequence[dict[str, Any]]) -> list[str]:
    cols: list[str] = []
    for row in rows:
        cols += [k for k in row if k not in cols]
    return cols


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value).replace("\n", " ")


def _clip(text: str, width: int = _DETAIL_WIDTH) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def _time(event: HistoryEvent) -> datetime:
    return event.event_time.ToDatetime(tzinfo=timezone.utc)


_ACTIVITY_EVENTS = {
    EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCEL_REQUESTED,
    EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED,
}


def _is_activity_event(event: HistoryEvent) -> bool:
    return event.event_type in _ACTIVITY_EVENTS


def _retry_state(value: int) -> str:
    try:
        return RetryState.Name(value).removeprefix("RETRY_STATE_").lower()
    except ValueError:
        return str(value)


def _set_failure(step: Step, failure: Any) -> None:
    step.failure = _failure_text(failure)
    info = _innermost(failure)
    if info.HasField("application_failure_info"):
        step.failure_type = info.application_failure_info.type
        step.non_retryable = info.application_failure_info.non_retryable


def _innermost(failure: Any) -> Any:
    while failure.HasField("cause"):
        failure = failure.cause
    return failure


def _failure_text(failure: Any) -> str:
    """``Type: message`` of the root cause (timeouts say which timeout)."""
    root = _innermost(failure)
    if root.HasField("timeout_failure_info"):
        from temporalio.api.enums.v1 import TimeoutType

        kind = TimeoutType.Name(root.timeout_failure_info.timeout_type).removeprefix("TIMEOUT_TYPE_").lower()
        return f"{kind} timeout" + (f": {root.message}" if root.message and "timeout" not in root.message else "")
    kind = root.application_failure_info.type if root.HasField("application_failure_info") else ""
    message = root.message or failure.message
    return f"{kind}: {message}" if kind else message


def _payload_value(payload: Any) -> Any:
    encoding = payload.metadata.get("encoding", b"").decode(errors="replace")
    data = payload.data
    if encoding.startswith("json"):
        try:
            return json.loads(data)
        except ValueError:
            return data.decode(errors="replace")
    if encoding == "binary/plain":
        return data.decode(errors="replace")
    if encoding == "binary/null":
        return None
    return f"<{encoding or 'payload'} {len(data)} bytes>"


def _summary(event: HistoryEvent) -> str:
    if event.HasField("user_metadata") and event.user_metadata.HasField("summary"):
        value = _payload_value(event.user_metadata.summary)
        return value if isinstance(value, str) else json.dumps(value)
    return ""


def _result_preview(activity_type: str, payloads: Sequence[Any]) -> str:
    if not payloads:
        return ""
    value = _payload_value(payloads[0])
    if activity_type in MODEL_ACTIVITY_TYPES and isinstance(value, dict):
        return _model_response_preview(value)
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(v, dict) and "name" in v for v in value):
        return "[" + ", ".join(str(v["name"]) for v in value) + "]"  # e.g. a list of tool specs
    return json.dumps(value, default=str)


def _model_response_preview(response: dict[str, Any]) -> str:
    """A ModelResponse in a few words: which tools it calls, or the start of its answer."""
    calls, texts = [], []
    for item in response.get("output") or []:
        if not isinstance(item, dict):
            continue
        if item.get("type") == "function_call":
            calls.append(f"{item.get('name')}({item.get('arguments', '')})")
        elif item.get("type") == "message":
            for part in item.get("content") or []:
                if isinstance(part, dict) and part.get("text"):
                    texts.append(part["text"])
    if calls:
        return "calls " + ", ".join(calls)
    if texts:
        return "answers: " + " ".join(texts)
    return json.dumps(response, default=str)
