"""Whatever the model does, the run ends: an Agents SDK error fails the run with one sentence.

In a workflow, an exception that is not a Temporal failure fails the *workflow task*, which Temporal retries
forever: the run stays Running. The Agents SDK's own errors (``MaxTurnsExceeded``, ``ModelBehaviorError`` for
a tool that does not exist or arguments that are not JSON, a guardrail's tripwire ...) come back on every
replay, so no retry can succeed. :class:`AgentsPlugin` is ``OpenAIAgentsPlugin`` plus an interceptor that
turns one leaving a run, signal or update into a non-retryable ``ApplicationError`` whose message says what
the model did (:func:`describe`) and whose ``type`` is the SDK's class name; a model call Temporal gave up on
is ``ModelCallFailed``. What the SDK can handle is better handled there: ``Runner.run(...,
error_handlers={"max_turns": ...})`` turns a run past ``max_turns`` into an answer.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from agents import AgentsException, MaxTurnsExceeded, ModelBehaviorError, UserError
from agents.exceptions import ModelRefusalError, ModelTimeoutError, ToolTimeoutError
from agents.items import HandoffCallItem, ToolCallItem
from temporalio import worker as tw
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.scripts import root_cause


def _clip(text: str, longest: int = 200) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= longest else text[: longest - 1] + "…"


def describe(err: AgentsException) -> str:
    """One sentence for what the model (or the agent's set-up) did to end the run."""
    agent = f" (agent {err.run_data.last_agent.name})" if err.run_data else ""
    if isinstance(err, MaxTurnsExceeded):
        limit = re.search(r"\((\d+)\)", err.message)
        what = f"max_turns ({limit.group(1)})" if limit else "max_turns"
        calls = [item.tool_name or "a tool" if isinstance(item, ToolCallItem) else getattr(item.raw_item, "name", "a handoff")
                 for item in (err.run_data.new_items if err.run_data else []) if isinstance(item, (ToolCallItem, HandoffCallItem))]  # fmt: skip
        if not calls:
            return f"{what} exceeded: the model never gave a final answer{agent}."
        tool, times = Counter(calls).most_common(1)[0]
        return f"{what} exceeded: the model kept calling {tool} ({times} of {len(calls)} tool calls) without answering{agent}."
    if isinstance(err, ModelBehaviorError):
        if (missing := re.match(r"Tool (\S+) not found in agent (.+)", err.message)) and err.run_data:
            tools = ", ".join(sorted(getattr(t, "name", "?") for t in err.run_data.last_agent.tools)) or "no tools"
            return f"The model called a tool that does not exist: {missing.group(1)} (agent {missing.group(2)} has {tools})."
        if "JSON" in err.message:
            return f"The model sent tool arguments that are not valid JSON{agent}: {_clip(err.message)}"
        return f"The model broke the tool-calling protocol{agent}: {_clip(err.message)}"
    if isinstance(err, ModelRefusalError):
        return f"The model refused{agent}: {_clip(err.refusal)}"
    if isinstance(err, ModelTimeoutError):
        return f"The model did not answer within {err.timeout_seconds:g} s{agent}."
    if isinstance(err, ToolTimeoutError):
        return f"The tool {err.tool_name} did not finish within {err.timeout_seconds:g} s{agent}."
    if guardrail := getattr(err, "guardrail_result", None) or getattr(err, "guardrail", None):  # the four tripwires
        guardrail = getattr(guardrail, "guardrail", guardrail)
        name = guardrail.get_name() if hasattr(guardrail, "get_name") else type(guardrail).__name__
        return f"The guardrail {name} stopped the run ({type(err).__name__}){agent}."
    if isinstance(err, UserError):
        return f"The agent is set up wrong{agent}: {_clip(err.message)}"
    return f"{type(err).__name__}{agent}: {_clip(str(err))}"


async def _ending_the_run(handling: Any) -> Any:
    try:
        return await handling
    except AgentsException as err:
        # Not chained: the run's root cause is the sentence, not a traceback of the loop.
        raise ApplicationError(describe(err), type=type(err).__name__, non_retryable=True) from None
    except ActivityError as err:
        if not err.activity_type.startswith("invoke_model_activity"):
            raise
        why = {RetryState.MAXIMUM_ATTEMPTS_REACHED: "its attempts ran out", RetryState.TIMEOUT: "its time ran out",
               RetryState.NON_RETRYABLE_FAILURE: "the failure cannot be retried"}.get(err.retry_state, "it was not retried")  # fmt: skip
        raise ApplicationError(f"The model call failed and Temporal stopped retrying it ({why}): {_clip(root_cause(err))}",
                               type="ModelCallFailed", non_retryable=True) from err  # fmt: skip


class _Inbound(tw.WorkflowInboundInterceptor):
    async def execute_workflow(self, input: tw.ExecuteWorkflowInput) -> Any:
        return await _ending_the_run(super().execute_workflow(input))

    async def handle_signal(self, input: tw.HandleSignalInput) -> None:
        return await _ending_the_run(super().handle_signal(input))

    async def handle_update_handler(self, input: tw.HandleUpdateInput) -> Any:
        return await _ending_the_run(super().handle_update_handler(input))


class EndRunsOnAgentErrors(tw.Interceptor):
    """A worker interceptor: an Agents SDK error leaving a workflow ends it (see the module)."""

    def workflow_interceptor_class(self, input: tw.WorkflowInterceptorClassInput) -> type[tw.WorkflowInboundInterceptor]:
        return _Inbound


class AgentsPlugin(OpenAIAgentsPlugin):
    """``OpenAIAgentsPlugin`` whose workers and replayers also end a run on an Agents SDK error, with one
    sentence (:class:`EndRunsOnAgentErrors`). Same arguments."""

    def configure_worker(self, config: tw.WorkerConfig) -> tw.WorkerConfig:
        config = super().configure_worker(config)
        return {**config, "interceptors": [*config.get("interceptors", []), EndRunsOnAgentErrors()]}

    def configure_replayer(self, config: tw.ReplayerConfig) -> tw.ReplayerConfig:
        config = super().configure_replayer(config)
        return {**config, "interceptors": [*config.get("interceptors", []), EndRunsOnAgentErrors()]}
