"""Whatever the model does, the run ends: an Agents SDK error fails the run with one sentence.

In a workflow, an exception that is not a Temporal failure fails the *workflow task*, which Temporal retries
forever: the run stays Running. The Agents SDK raises its own errors (``AgentsException``: ``MaxTurnsExceeded``,
``ModelBehaviorError`` for a tool that does not exist or arguments that are not JSON, a guardrail's tripwire
...) and replaying the same history raises them again, so no retry can succeed. :class:`AgentsPlugin` is
``OpenAIAgentsPlugin`` plus an interceptor that turns one leaving a run, signal or update handler into a
non-retryable ``ApplicationError``: its message is one sentence saying what the model did (:func:`describe`),
its ``type`` the SDK's class name. A model call Temporal gave up retrying (HTTP 500 on every attempt) is one
sentence too, type ``ModelCallFailed``. Errors the SDK handles on purpose are better handled there:
``Runner.run(..., error_handlers={"max_turns": ...})`` turns a run past ``max_turns`` into an answer.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Awaitable
from typing import Any, NoReturn

from agents import (
    AgentsException,
    InputGuardrailTripwireTriggered,
    MaxTurnsExceeded,
    ModelBehaviorError,
    OutputGuardrailTripwireTriggered,
    ToolInputGuardrailTripwireTriggered,
    ToolOutputGuardrailTripwireTriggered,
    UserError,
)
from agents.exceptions import ModelRefusalError, ModelTimeoutError, ToolTimeoutError
from agents.items import HandoffCallItem, ToolCallItem
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import (
    ExecuteWorkflowInput,
    HandleSignalInput,
    HandleUpdateInput,
    Interceptor,
    ReplayerConfig,
    WorkerConfig,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from recipes.core.scripts import root_cause

_LONGEST = 200


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _LONGEST else text[: _LONGEST - 1] + "…"


def _calls(err: AgentsException) -> list[str]:
    """The tools the model called in this run, in order (handoffs as ``transfer_to_...``)."""
    items = err.run_data.new_items if err.run_data else []
    return [item.tool_name or "a tool" if isinstance(item, ToolCallItem) else getattr(item.raw_item, "name", "a handoff")
            for item in items if isinstance(item, (ToolCallItem, HandoffCallItem))]  # fmt: skip


def _agent(err: AgentsException) -> str:
    return f" (agent {err.run_data.last_agent.name})" if err.run_data else ""


def describe(err: AgentsException) -> str:
    """One sentence for what the model (or the agent's set-up) did to end the run."""
    if isinstance(err, MaxTurnsExceeded):
        limit = re.search(r"\((\d+)\)", err.message)
        what = f"max_turns ({limit.group(1)})" if limit else "max_turns"
        calls = _calls(err)
        if not calls:
            return f"{what} exceeded: the model never gave a final answer{_agent(err)}."
        tool, times = Counter(calls).most_common(1)[0]
        return f"{what} exceeded: the model kept calling {tool} ({times} of {len(calls)} tool calls) without answering{_agent(err)}."
    if isinstance(err, ModelBehaviorError):
        missing = re.match(r"Tool (\S+) not found in agent (.+)", err.message)
        if missing and err.run_data:
            tools = ", ".join(sorted(getattr(t, "name", "?") for t in err.run_data.last_agent.tools)) or "no tools"
            return f"The model called a tool that does not exist: {missing.group(1)} (agent {missing.group(2)} has {tools})."
        if "JSON" in err.message:
            return f"The model sent tool arguments that are not valid JSON{_agent(err)}: {_clip(err.message)}"
        return f"The model broke the tool-calling protocol{_agent(err)}: {_clip(err.message)}"
    if isinstance(err, ModelRefusalError):
        return f"The model refused{_agent(err)}: {_clip(err.refusal)}"
    if isinstance(err, ModelTimeoutError):
        return f"The model did not answer within {err.timeout_seconds:g} s{_agent(err)}."
    if isinstance(err, ToolTimeoutError):
        return f"The tool {err.tool_name} did not finish within {err.timeout_seconds:g} s{_agent(err)}."
    if isinstance(err, (InputGuardrailTripwireTriggered, OutputGuardrailTripwireTriggered)):
        side = "input" if isinstance(err, InputGuardrailTripwireTriggered) else "output"
        guardrail = err.guardrail_result.guardrail
        name = guardrail.get_name() if hasattr(guardrail, "get_name") else type(guardrail).__name__
        return f"The {side} guardrail {name} stopped the run{_agent(err)}."
    if isinstance(err, (ToolInputGuardrailTripwireTriggered, ToolOutputGuardrailTripwireTriggered)):
        side = "input" if isinstance(err, ToolInputGuardrailTripwireTriggered) else "output"
        return f"The tool {side} guardrail {err.guardrail.get_name()} stopped a tool call{_agent(err)}."
    if isinstance(err, UserError):
        return f"The agent is set up wrong{_agent(err)}: {_clip(err.message)}"
    return f"{type(err).__name__}{_agent(err)}: {_clip(str(err))}"


def describe_model_call_failure(err: ActivityError) -> str:
    """One sentence for a model call Temporal stopped retrying (its attempts or time ran out)."""
    why = {RetryState.MAXIMUM_ATTEMPTS_REACHED: "its attempts ran out", RetryState.TIMEOUT: "its time ran out",
           RetryState.NON_RETRYABLE_FAILURE: "the failure cannot be retried"}.get(err.retry_state, "it was not retried")  # fmt: skip
    return f"The model call failed and Temporal stopped retrying it ({why}): {_clip(root_cause(err))}"


def _is_model_call(err: BaseException) -> bool:
    return isinstance(err, ActivityError) and err.activity_type.startswith("invoke_model_activity")


def _end(err: BaseException) -> NoReturn:
    if isinstance(err, AgentsException):
        # Not chained to the SDK's error: the run's root cause is the sentence, not a traceback of the loop.
        raise ApplicationError(describe(err), type=type(err).__name__, non_retryable=True) from None
    # A model call given up on: the sentence first, Temporal's own failure (attempts, cause) kept as its cause.
    raise ApplicationError(describe_model_call_failure(err), type="ModelCallFailed", non_retryable=True) from err


async def _ending_the_run(handling: Awaitable[Any]) -> Any:
    try:
        return await handling
    except (AgentsException, ActivityError) as err:
        if isinstance(err, AgentsException) or _is_model_call(err):
            _end(err)
        raise


class _Inbound(WorkflowInboundInterceptor):
    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        return await _ending_the_run(super().execute_workflow(input))

    async def handle_signal(self, input: HandleSignalInput) -> None:
        return await _ending_the_run(super().handle_signal(input))

    async def handle_update_handler(self, input: HandleUpdateInput) -> Any:
        return await _ending_the_run(super().handle_update_handler(input))


class EndRunsOnAgentErrors(Interceptor):
    """A worker interceptor: an ``AgentsException`` leaving a workflow ends it (see the module)."""

    def workflow_interceptor_class(self, input: WorkflowInterceptorClassInput) -> type[WorkflowInboundInterceptor]:
        return _Inbound


class AgentsPlugin(OpenAIAgentsPlugin):
    """``OpenAIAgentsPlugin`` whose workers and replayers also end a run on an Agents SDK error, with one
    sentence (:class:`EndRunsOnAgentErrors`). Same arguments."""

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        config = super().configure_worker(config)
        config["interceptors"] = [*config.get("interceptors", []), EndRunsOnAgentErrors()]
        return config

    def configure_replayer(self, config: ReplayerConfig) -> ReplayerConfig:
        config = super().configure_replayer(config)
        config["interceptors"] = [*config.get("interceptors", []), EndRunsOnAgentErrors()]
        return config

