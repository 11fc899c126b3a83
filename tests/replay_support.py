"""The tutorial's stored histories (``tests/histories/<recipe>/``), replayed against the current code
of the recipe that wrote them, with :mod:`recipes.shipping.replay` (how a replay works, and what it
compares, is said there and measured in ``tests/test_replay.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.openai_agents import ModelActivityParameters
from temporalio.worker import ExecuteWorkflowInput, Interceptor, WorkflowInboundInterceptor, WorkflowInterceptorClassInput

from ci.capture_histories import HISTORIES, REGENERATE, REPO_ROOT
from recipes.core.agent_failures import AgentsPlugin
from recipes.shipping.replay import HistoryFileError, ReplayFailed, StoredHistory
from recipes.shipping.replay import load_history as _load_history
from recipes.shipping.replay import replay as _replay


# --------------------------------------------------------------------------- recipes
def _recipes() -> dict[str, tuple[list[type], ModelActivityParameters | None]]:
    """recipe -> (the workflows its worker registers, the model parameters its plugin gets;
    None: the worker has no OpenAIAgentsPlugin)."""
    from recipes.agent_session.workflows import MODEL_PARAMS as SESSION_PARAMS
    from recipes.agent_session.workflows import ConversationSessionWorkflow
    from recipes.coding_agent.workflows import MODEL_PARAMS as CODING_PARAMS
    from recipes.coding_agent.workflows import CodingAgentWorkflow
    from recipes.chaining.workflows import MODEL_PARAMS as CHAINING_PARAMS
    from recipes.chaining.workflows import AgentsAsToolsWorkflow, ChainedAgentsWorkflow, HandoffWorkflow
    from recipes.cost.workflows import MODEL_PARAMS as COST_PARAMS
    from recipes.cost.workflows import CostAgentWorkflow, FloorWorkflow
    from recipes.durability.workflows import DURABILITY_WORKFLOWS
    from recipes.durability.workflows import MODEL_PARAMS as DURABILITY_PARAMS
    from recipes.dynamic_tools.workflows import MODEL_PARAMS as DYNAMIC_PARAMS
    from recipes.dynamic_tools.workflows import DynamicToolsWorkflow
    from recipes.hello_temporal.workflows import HELLO_WORKFLOWS
    from recipes.mcp.workflows import MODEL_PARAMS as MCP_PARAMS
    from recipes.mcp.workflows import McpAgentWorkflow
    from recipes.parallel_agents.workflows import MODEL_PARAMS as PARALLEL_PARAMS
    from recipes.parallel_agents.workflows import BranchAgentWorkflow, ChildWorkflowBriefing, FanOutBriefingWorkflow
    from recipes.payloads.workflows import MODEL_PARAMS as PAYLOADS_PARAMS
    from recipes.payloads.workflows import AlertHistoryWorkflow
    from recipes.shipping.workflows import MODEL_PARAMS as SHIPPING_PARAMS
    from recipes.shipping.workflows import ReviewedAgentV2
    from recipes.streaming.workflows import StreamingWeatherWorkflow, model_params
    from recipes.weather.workflows import MODEL_PARAMS as WEATHER_PARAMS
    from recipes.weather.workflows import WeatherAgentWorkflow

    return {
        "hello_temporal": (list(HELLO_WORKFLOWS), None),
        "weather": ([WeatherAgentWorkflow], WEATHER_PARAMS),
        "dynamic_tools": ([DynamicToolsWorkflow], DYNAMIC_PARAMS),
        "durability": (list(DURABILITY_WORKFLOWS), DURABILITY_PARAMS),
        "chaining": ([ChainedAgentsWorkflow, HandoffWorkflow, AgentsAsToolsWorkflow], CHAINING_PARAMS),
        "parallel_agents": ([FanOutBriefingWorkflow, ChildWorkflowBriefing, BranchAgentWorkflow], PARALLEL_PARAMS),
        "agent_session": ([ConversationSessionWorkflow], SESSION_PARAMS),
        # The streaming topic in these parameters is what makes model calls the streaming activity.
        "streaming": ([StreamingWeatherWorkflow], model_params()),
        # Histories from the default worker: model calls as activities (--local-model-calls
        # histories replay only with LOCAL_MODEL_PARAMS).
        "cost": ([CostAgentWorkflow, FloorWorkflow], COST_PARAMS),
        "payloads": ([AlertHistoryWorkflow], PAYLOADS_PARAMS),
        # The current code is version 2 (patched); the stored runs are version 1's.
        "shipping": ([ReviewedAgentV2], SHIPPING_PARAMS),
        # MCP operations are activities named after the server: replay needs no MCP server.
        "mcp": ([McpAgentWorkflow], MCP_PARAMS),
        # Sandbox operations are activities named after the worker's providers: replay needs no sandbox.
        "coding_agent": ([CodingAgentWorkflow], CODING_PARAMS),
    }


RECIPES = _recipes()


def recipe_plugins(recipe: str, **plugin_options: Any) -> list:
    """The plugins the recipe's worker has: ``OpenAIAgentsPlugin`` with its model parameters.
    No model provider: replay never calls the model."""
    params = RECIPES[recipe][1]
    return [] if params is None else [AgentsPlugin(model_params=params, **plugin_options)]


# --------------------------------------------------------------------------- loading
@dataclass(frozen=True, repr=False)
class RecipeHistory(StoredHistory):
    """A stored history of one of the tutorial's recipes (the file names the recipe)."""

    recipe: str = ""

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
            raise HistoryFileError(f"{self.name}: the run did not complete (last event {last.event_type}).")
        [payload] = last.workflow_execution_completed_event_attributes.result.payloads
        return json.loads(payload.data)


def stored_history_paths() -> list[Path]:
    return sorted(HISTORIES.glob("*/*.json"))


def load_history(path: Path) -> RecipeHistory:
    """Read one stored history (:func:`recipes.shipping.replay.load_history`), which must name a
    recipe this module knows; else :class:`HistoryFileError` in one sentence."""
    hint = f"Files under tests/histories/ are written by `{REGENERATE}`."
    base = _load_history(path, hint=hint, require=("workflow_id", "workflow_type", "recipe"))
    recipe = base.meta["recipe"]
    if recipe not in RECIPES:
        raise HistoryFileError(f"{base.name} names recipe {recipe!r}, which tests/replay_support.py does not know "
                               f"(known: {', '.join(RECIPES)}).")  # fmt: skip
    return RecipeHistory(base.path, base.workflow_id, base.workflow_type, base.history, base.meta, recipe)


# --------------------------------------------------------------------------- replaying
async def replay(
    stored: RecipeHistory,
    *,
    workflows: Sequence[type] | None = None,
    plugins: Sequence[Any] | None = None,
    interceptors: Sequence[Interceptor] = (),
) -> None:
    """Replay ``stored`` with its recipe's workflows and plugins (or the ones given);
    a failure raises :class:`ReplayFailed`, naming the file, the workflow and the first mismatch."""
    await _replay(stored, workflows=RECIPES[stored.recipe][0] if workflows is None else workflows,
                  plugins=recipe_plugins(stored.recipe) if plugins is None else plugins,
                  interceptors=interceptors, regenerate=REGENERATE)  # fmt: skip


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


async def replayed_result(stored: RecipeHistory, **replay_options: Callable | Any) -> Any:
    """Replay ``stored`` (as :func:`replay`) and return what the workflow returned, as JSON."""
    REPLAYED_RESULTS.pop(stored.workflow_id, None)
    await replay(stored, interceptors=[RecordResults()], **replay_options)
    if stored.workflow_id not in REPLAYED_RESULTS:
        raise AssertionError(f"{stored.name}: the replayed workflow returned nothing (did it complete?)")
    return as_json(REPLAYED_RESULTS.pop(stored.workflow_id))


def stored(recipe: str, stem: str) -> RecipeHistory:
    """The stored history ``tests/histories/<recipe>/<stem>.json``."""
    return load_history(HISTORIES / recipe / f"{stem}.json")
