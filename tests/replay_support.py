"""Load the stored histories (``tests/histories/``) and replay them against the current code.

A replay runs the workflow code again, in this process and without a server, feeding it
the recorded events; Temporal's core compares each command the code issues with the
event recorded for it. Model and tool results come from the history, so no model and no
activity runs. What it compares (measured in ``tests/test_replay.py``): the *type* of each
command (activity, timer, child workflow, completion) and, for an activity, its type and
id -- never its input, its options or its summary.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import google.protobuf.json_format
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.worker import (
    ExecuteWorkflowInput,
    Interceptor,
    Replayer,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from ci.capture_histories import HISTORIES, REGENERATE, REPO_ROOT


class HistoryFileError(Exception):
    """A file under tests/histories/ is not a history this suite can replay."""


class ReplayFailed(AssertionError):
    """The current code does not replay a stored history (the message says where and why);
    ``error`` is the SDK's exception."""

    def __init__(self, message: str, error: BaseException) -> None:
        super().__init__(message)
        self.error = error


# --------------------------------------------------------------------------- recipes
def _recipes() -> dict[str, tuple[list[type], ModelActivityParameters | None]]:
    """recipe -> (the workflows its worker registers, the model parameters its plugin gets;
    None: the worker has no OpenAIAgentsPlugin)."""
    from recipes.cost.workflows import MODEL_PARAMS as COST_PARAMS
    from recipes.cost.workflows import CostAgentWorkflow, FloorWorkflow
    from recipes.durability.workflows import DURABILITY_WORKFLOWS
    from recipes.durability.workflows import MODEL_PARAMS as DURABILITY_PARAMS
    from recipes.dynamic_tools.workflows import MODEL_PARAMS as DYNAMIC_PARAMS
    from recipes.dynamic_tools.workflows import DynamicToolsWorkflow
    from recipes.hello_temporal.workflows import HELLO_WORKFLOWS
    from recipes.microagents.worker import MODEL_PARAMS as MICRO_PARAMS
    from recipes.payloads.workflows import MODEL_PARAMS as PAYLOADS_PARAMS
    from recipes.payloads.workflows import AlertHistoryWorkflow
    from recipes.microagents.worker import WORKFLOWS as MICRO_WORKFLOWS
    from recipes.streaming.workflows import StreamingWeatherWorkflow, model_params
    from recipes.weather.workflows import MODEL_PARAMS as WEATHER_PARAMS
    from recipes.weather.workflows import WeatherAgentWorkflow

    return {
        "hello_temporal": (list(HELLO_WORKFLOWS), None),
        "weather": ([WeatherAgentWorkflow], WEATHER_PARAMS),
        "dynamic_tools": ([DynamicToolsWorkflow], DYNAMIC_PARAMS),
        "durability": (list(DURABILITY_WORKFLOWS), DURABILITY_PARAMS),
        "microagents": (list(MICRO_WORKFLOWS), MICRO_PARAMS),
        # The streaming topic in these parameters is what makes model calls the streaming activity.
        "streaming": ([StreamingWeatherWorkflow], model_params()),
        # Histories from the default worker: model calls as activities (--local-model-calls
        # histories replay only with LOCAL_MODEL_PARAMS).
        "cost": ([CostAgentWorkflow, FloorWorkflow], COST_PARAMS),
        "payloads": ([AlertHistoryWorkflow], PAYLOADS_PARAMS),
    }


RECIPES = _recipes()


def recipe_plugins(recipe: str, **plugin_options: Any) -> list:
    """The plugins the recipe's worker has: ``OpenAIAgentsPlugin`` with its model parameters.
    No model provider: replay never calls the model."""
    params = RECIPES[recipe][1]
    return [] if params is None else [OpenAIAgentsPlugin(model_params=params, **plugin_options)]


# --------------------------------------------------------------------------- loading
@dataclass(frozen=True, repr=False)
class StoredHistory:
    path: Path
    recipe: str
    workflow_id: str
    workflow_type: str
    history: WorkflowHistory

    @property
    def name(self) -> str:
        return _shown(self.path)

    def __repr__(self) -> str:
        return f"<StoredHistory {self.name}: {self.workflow_type} {self.workflow_id}, {len(self.history.events)} events>"

    def event(self, event_id: int) -> Any:
        return self.history.events[event_id - 1]

    def activity_inputs(self, activity_type: str) -> list[str]:
        """The recorded input of every ``activity_type`` step, as text (JSON), in order."""
        return [
            payload.data.decode("utf-8")
            for event in self.history.events
            if event.HasField("activity_task_scheduled_event_attributes")
            and event.activity_task_scheduled_event_attributes.activity_type.name == activity_type
            for payload in event.activity_task_scheduled_event_attributes.input.payloads
        ]

    def recorded_result(self) -> Any:
        """The result the original run completed with, as JSON."""
        last = self.history.events[-1]
        if not last.HasField("workflow_execution_completed_event_attributes"):
            raise HistoryFileError(f"{self.name}: the run did not complete (last event {_event_type(last)}).")
        [payload] = last.workflow_execution_completed_event_attributes.result.payloads
        return json.loads(payload.data)


def stored_history_paths() -> list[Path]:
    return sorted(HISTORIES.glob("*/*.json"))


def _shown(path: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def _event_type(event: Any) -> str:
    return EventType.Name(event.event_type).removeprefix("EVENT_TYPE_").title().replace("_", "")


def load_history(path: Path) -> StoredHistory:
    """Read one stored history; a file that is not one raises :class:`HistoryFileError`
    with one sentence naming the file and what is wrong."""
    shown = _shown(path)
    hint = f"Files under tests/histories/ are written by `{REGENERATE}`."
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as err:
        raise HistoryFileError(f"{shown} is not a workflow history: it is not readable JSON ({err}). {hint}") from None
    if not isinstance(data, dict) or not isinstance(data.get("events"), list):
        what = f"a JSON {type(data).__name__}" if not isinstance(data, dict) else "an object without an 'events' list"
        raise HistoryFileError(f"{shown} is not a workflow history: it holds {what}, not an object with 'events'. {hint}")
    meta = {key: data.pop(key, None) for key in ("workflow_id", "workflow_type", "recipe", "regenerate")}
    missing = [key for key in ("workflow_id", "workflow_type", "recipe") if not isinstance(meta[key], str) or not meta[key]]
    if missing:
        raise HistoryFileError(f"{shown} is not a stored history: it has no {', '.join(repr(m) for m in missing)}"
                               f" (replay needs the workflow id, and the recipe picks the workflow classes). {hint}")  # fmt: skip
    try:
        history = WorkflowHistory.from_json(meta["workflow_id"], data)
    except (ValueError, TypeError, KeyError, google.protobuf.json_format.ParseError) as err:
        raise HistoryFileError(f"{shown} is not a workflow history: its events do not parse ({err}). {hint}") from None
    if not history.events or not history.events[0].HasField("workflow_execution_started_event_attributes"):
        first = _event_type(history.events[0]) if history.events else "nothing"
        raise HistoryFileError(f"{shown} is not a whole workflow history: it starts with {first}, "
                               f"not WorkflowExecutionStarted. {hint}")  # fmt: skip
    started = history.events[0].workflow_execution_started_event_attributes.workflow_type.name
    if started != meta["workflow_type"]:
        raise HistoryFileError(f"{shown} says workflow_type {meta['workflow_type']!r}, but its history starts {started!r}. {hint}")
    if meta["recipe"] not in RECIPES:
        raise HistoryFileError(f"{shown} names recipe {meta['recipe']!r}, which tests/replay_support.py does not know "
                               f"(known: {', '.join(RECIPES)}).")  # fmt: skip
    return StoredHistory(Path(path), meta["recipe"], meta["workflow_id"], started, history)


# --------------------------------------------------------------------------- replaying
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


def explain(stored: StoredHistory, err: BaseException) -> str:
    """The assertion message: which file and workflow, the first mismatch, what to do."""
    reason = failure_reason(err)
    kind = "is not deterministic" if isinstance(err, workflow.NondeterminismError) else "fails"
    lines = [
        f"Replaying {stored.name} ({stored.workflow_type}, workflow id {stored.workflow_id}) "
        f"against the current code {kind}:",
        f"  {reason}",
    ]
    refs = sorted({int(n) for n in _EVENT_REF.findall(str(err))})
    for event_id in refs:
        lines.append(f"  The history has {describe_event(stored, event_id)} there.")
    if not isinstance(err, workflow.NondeterminismError):
        lines.append("  The workflow code raised this while replaying: a workflow task failure, which a worker retries,"
                     " so the run would hang rather than fail.")  # fmt: skip
    lines += [
        f"A run of {stored.workflow_type} that is open when this code is deployed would hit the same error.",
        "If the change is intended, keep open runs on the old path (workflow.patched(...)) or give the new code",
        f"a new workflow type; then regenerate the stored histories: {REGENERATE}",
    ]
    return "\n".join(lines)


async def replay(
    stored: StoredHistory,
    *,
    workflows: Sequence[type] | None = None,
    plugins: Sequence[Any] | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> None:
    """Replay ``stored`` with the recipe's workflows and plugins (or the ones given);
    a failure raises :class:`ReplayFailed` with :func:`explain`'s message."""
    replayer = Replayer(
        workflows=list(RECIPES[stored.recipe][0] if workflows is None else workflows),
        plugins=list(recipe_plugins(stored.recipe) if plugins is None else plugins),
        interceptors=list(interceptors),
    )
    try:
        await replayer.replay_workflow(stored.history)
    except Exception as err:
        raise ReplayFailed(explain(stored, err), err) from None


# --------------------------------------------------------------------------- results
#: workflow id -> what the replayed workflow returned (filled by :class:`RecordResults`).
REPLAYED_RESULTS: dict[str, Any] = {}


class _RecordingInbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        result = await super().execute_workflow(input)
        REPLAYED_RESULTS[workflow.info().workflow_id] = result
        return result


class RecordResults(Interceptor):
    """Keeps what each replayed workflow returned: replay does not compare it with the
    recorded result, so a test that wants to know has to look."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _RecordingInbound


def as_json(value: Any) -> Any:
    """``value`` as the recipes' data converter writes it into a history."""
    return json.loads(pydantic_data_converter.payload_converter.to_payloads([value])[0].data)


async def replayed_result(stored: StoredHistory, **replay_options: Callable | Any) -> Any:
    """Replay ``stored`` (as :func:`replay`) and return what the workflow returned, as JSON."""
    REPLAYED_RESULTS.pop(stored.workflow_id, None)
    await replay(stored, interceptors=[RecordResults()], **replay_options)
    if stored.workflow_id not in REPLAYED_RESULTS:
        raise AssertionError(f"{stored.name}: the replayed workflow returned nothing (did it complete?)")
    return as_json(REPLAYED_RESULTS.pop(stored.workflow_id))


def stored(recipe: str, stem: str) -> StoredHistory:
    """The stored history ``tests/histories/<recipe>/<stem>.json``."""
    return load_history(HISTORIES / recipe / f"{stem}.json")
