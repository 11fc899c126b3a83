"""Replay stored histories against the current code: the check that catches a change which would
break runs already open, before it is deployed.

A replay runs the workflow code again, in this process and without a server, feeding it the
recorded events; Temporal's core compares each command the code issues with the event recorded
for it. Model and tool results come from the history, so no model and no activity runs. What it
compares: the *type* of each command (activity, timer, child workflow, completion) and, for an
activity, its type and id -- never its input, its options or its summary.

    save_history("histories/ReviewedAgentWorkflow-v1.json", await handle.fetch_history())   # once, from a real run
    history = load_history("histories/ReviewedAgentWorkflow-v1.json")
    await replay(history, workflows=[ReviewedAgentV2], plugins=[AgentsPlugin(model_params=...)])
    # raises ReplayFailed: "Replaying ... (ReviewedAgentWorkflow, workflow id ...) is not deterministic:
    #   ... The history has event 11, ActivityTaskScheduled invoke_model_activity (activity id 1) there. ..."

From a terminal (a project's CI step)::

    python -m recipes.shipping.replay recipes.shipping.workflows:ReviewedAgentV2 histories/*.json

A stored history is the JSON ``temporal workflow show --output json`` (or
``WorkflowHistory.to_json()``) prints; :func:`save_history` adds its ``workflow_id`` and
``workflow_type`` beside the ``events`` (without them, the id is read from the file name).
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import json
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google.protobuf.json_format
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.worker import Interceptor, Replayer

__all__ = ["HistoryFileError", "ReplayFailed", "StoredHistory", "describe_event", "explain", "failure_reason",
           "load_history", "replay", "save_history"]  # fmt: skip


class HistoryFileError(Exception):
    """A file that is not a history this module can replay (one sentence naming it)."""


class ReplayFailed(AssertionError):
    """The code does not replay a stored history (the message says where and why); ``error`` is the SDK's."""

    def __init__(self, message: str, error: BaseException) -> None:
        super().__init__(message)
        self.error = error


@dataclass(frozen=True, repr=False)
class StoredHistory:
    path: Path
    workflow_id: str
    workflow_type: str
    history: WorkflowHistory
    meta: dict[str, Any]
    """Other top-level keys of the file (e.g. which recipe wrote it, how to regenerate it)."""

    @property
    def name(self) -> str:
        return _shown(self.path)

    def __repr__(self) -> str:
        return f"<StoredHistory {self.name}: {self.workflow_type} {self.workflow_id}, {len(self.history.events)} events>"

    def event(self, event_id: int) -> Any:
        return self.history.events[event_id - 1]


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def _event_type(event: Any) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").title().replace("_", "")


def save_history(path: str | Path, history: WorkflowHistory, **meta: str) -> Path:
    """Store ``history`` as a fixture :func:`load_history` reads back: its events, its workflow id and
    type, and any ``meta`` (say, how to regenerate it)."""
    start = history.events[0].workflow_execution_started_event_attributes
    document = {"workflow_id": history.workflow_id, "workflow_type": start.workflow_type.name, **meta,
                **json.loads(history.to_json())}  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    return path


def load_history(path: str | Path, *, hint: str = "", require: Sequence[str] = ()) -> StoredHistory:
    """Read one stored history; a file that is not one raises :class:`HistoryFileError` with one
    sentence naming the file and what is wrong (``hint``: how such files are made, appended).
    ``require``: top-level keys the file must have beside its events (non-empty strings)."""
    path = Path(path)
    shown, hint = _shown(path), f" {hint}" if hint else ""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise HistoryFileError(f"{shown} is not a workflow history: it is not readable JSON ({err}).{hint}") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        what = f"a JSON {type(data).__name__}" if not isinstance(data, dict) else "an object without an 'events' list"
        raise HistoryFileError(f"{shown} is not a workflow history: it holds {what}, not an object with 'events'.{hint}")
    meta = {key: data.pop(key) for key in list(data) if key != "events"}
    missing = [key for key in require if not isinstance(meta.get(key), str) or not meta[key]]
    if missing:
        raise HistoryFileError(f"{shown} is not a stored history: it has no {', '.join(repr(m) for m in missing)}.{hint}")
    workflow_id = meta.get("workflow_id") if isinstance(meta.get("workflow_id"), str) else path.stem
    try:
        history = WorkflowHistory.from_json(workflow_id, data)
    except (ValueError, TypeError, KeyError, google.protobuf.json_format.ParseError) as err:
        raise HistoryFileError(f"{shown} is not a workflow history: its events do not parse ({err}).{hint}") from None
    if not history.events or not history.events[0].HasField("workflow_execution_started_event_attributes"):
        first = _event_type(history.events[0]) if history.events else "nothing"
        raise HistoryFileError(f"{shown} is not a whole workflow history: it starts with {first}, "
                               f"not WorkflowExecutionStarted.{hint}")  # fmt: skip
    started = history.events[0].workflow_execution_started_event_attributes.workflow_type.name
    if meta.get("workflow_type", started) != started:
        raise HistoryFileError(f"{shown} says workflow_type {meta['workflow_type']!r}, but its history starts {started!r}.{hint}")
    return StoredHistory(path, workflow_id, started, history, meta)


_CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')
_FAILURE_TYPE = re.compile(r'r#type: "(\w+)"')
_EVENT_REF = re.compile(r"HistoryEvent\(id: (\d+)")


def failure_reason(err: BaseException) -> str:
    """The one line that says what went wrong, out of the SDK's wrapped error text."""
    text = str(err)
    found = _CORE_MESSAGE.search(text)
    reason = found.group(1).encode().decode("unicode_escape") if found else text
    reason = reason.strip().splitlines()[0] if reason.strip() else type(err).__name__
    raised = _FAILURE_TYPE.search(text)
    return f"{raised.group(1)}: {reason}" if raised and not isinstance(err, workflow.NondeterminismError) else reason


def describe_event(stored: StoredHistory, event_id: int) -> str:
    """e.g. ``event 11, ActivityTaskScheduled get_weather_alerts (activity id 2)``."""
    if not 0 < event_id <= len(stored.history.events):
        return f"event {event_id}"
    event = stored.event(event_id)
    text = f"event {event_id}, {_event_type(event)}"
    if event.HasField("activity_task_scheduled_event_attributes"):
        attrs = event.activity_task_scheduled_event_attributes
        text += f" {attrs.activity_type.name} (activity id {attrs.activity_id})"
    elif event.HasField("timer_started_event_attributes"):
        text += f" (timer id {event.timer_started_event_attributes.timer_id})"
    elif event.HasField("start_child_workflow_execution_initiated_event_attributes"):
        attrs = event.start_child_workflow_execution_initiated_event_attributes
        text += f" {attrs.workflow_type.name} (id {attrs.workflow_id})"
    summary = event.user_metadata.summary.data if event.HasField("user_metadata") else b""
    if summary:
        text += f", summary {json.loads(summary)!r}"
    return text


def explain(stored: StoredHistory, err: BaseException, *, regenerate: str = "") -> str:
    """The failure message: which file and workflow, the first mismatch, what to do."""
    kind = "is not deterministic" if isinstance(err, workflow.NondeterminismError) else "fails"
    lines = [f"Replaying {stored.name} ({stored.workflow_type}, workflow id {stored.workflow_id}) against the current "
             f"code {kind}:", f"  {failure_reason(err)}"]  # fmt: skip
    for event_id in sorted({int(n) for n in _EVENT_REF.findall(str(err))}):
        lines.append(f"  The history has {describe_event(stored, event_id)} there.")
    if not isinstance(err, workflow.NondeterminismError):
        lines.append("  The workflow code raised this while replaying: a workflow task failure, which a worker retries,"
                     " so the run would hang rather than fail.")  # fmt: skip
    lines += [f"A run of {stored.workflow_type} that is open when this code is deployed would hit the same error.",
              "If the change is intended, keep open runs on the old path (workflow.patched(...)) or give the new code",
              "a new workflow type, or pin open runs to the workers that started them (Worker Versioning)"
              + (f"; then regenerate the stored histories: {regenerate}" if regenerate else ".")]  # fmt: skip
    return "\n".join(lines)


async def replay(
    stored: StoredHistory,
    *,
    workflows: Sequence[type],
    plugins: Sequence[Any] = (),
    interceptors: Sequence[Interceptor] = (),
    regenerate: str = "",
) -> None:
    """Replay ``stored`` with these workflow classes and plugins (the worker's: ``OpenAIAgentsPlugin``
    with its model parameters, no model provider needed); a failure raises :class:`ReplayFailed`."""
    replayer = Replayer(workflows=list(workflows), plugins=list(plugins), interceptors=list(interceptors))
    try:
        await replayer.replay_workflow(stored.history)
    except Exception as err:
        raise ReplayFailed(explain(stored, err, regenerate=regenerate), err) from None


def _import(spec: str) -> type:
    module, _, name = spec.partition(":")
    if not name:
        raise SystemExit(f"error: {spec!r}: name a workflow class as module:Class, e.g. recipes.shipping.workflows:ReviewedAgentV2")
    return getattr(importlib.import_module(module), name)


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("workflow", help="module:Class of the workflow to replay with (repeat with commas)")
    parser.add_argument("histories", nargs="+", type=Path)
    parser.add_argument("--model-params", default="", help="module:NAME of the ModelActivityParameters its worker uses")
    args = parser.parse_args(argv)
    workflows = [_import(spec) for spec in args.workflow.split(",")]
    plugins = []
    if args.model_params:
        from recipes.core.agent_failures import AgentsPlugin

        module, _, name = args.model_params.partition(":")
        plugins.append(AgentsPlugin(model_params=getattr(importlib.import_module(module), name)))
    failed = 0
    for path in args.histories:
        try:
            await replay(load_history(path), workflows=workflows, plugins=plugins)
            print(f"ok   {path}")
        except (HistoryFileError, ReplayFailed) as err:
            failed += 1
            print(f"FAIL {err}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
