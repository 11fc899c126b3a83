"""An agent whose tools come from an MCP server, durably.

The workflow names the server (``temporal_mcp_server(MCP_SERVER)``); the worker
says how to reach it (``OpenAIAgentsPlugin(mcp_servers={MCP_SERVER: factory})``,
:mod:`recipes.mcp.connect`). Every MCP operation is an activity: the run's
``list-tools`` once (the list is kept in workflow state for the rest of the run),
then one ``call-tool`` per tool call, each recorded in the history -- so a worker
killed mid-run resumes from the history without calling a finished tool again,
and a tool added to the server is seen by the next run, with no change here.

MCP calls get the same timeouts and retries as the weather tool activity
(``recipes/tools/alerts_tool.py``): 15 s an attempt, 2 minutes in all, backoff
1 s -> 10 s, at most 5 attempts. The MCP activities do not heartbeat, so a call
on a worker that died is retried when its 15 s run out.

What fails how
--------------
* The server answers with a tool error (a bad state code, arguments its schema
  rejects, a tool that raised): the model reads the text and the run goes on.
* The server stops answering mid-run: the call is retried, then given up, and
  the model reads *that* as the tool's result (``mcp_tool_error``); the run
  completes.
* The server cannot be reached before the run has any tools (its command does
  not exist or exits at once, or its URL does not answer): the run fails with
  one sentence, after the bounded retries -- there is nothing useful to do
  without the tools.
"""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner
    from temporalio.exceptions import ActivityError, ApplicationError, CancelledError
    from temporalio.openai_agents import ModelActivityParameters
    from temporalio.openai_agents.workflow import temporal_mcp_server
    from temporalio.workflow import ActivityConfig

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.core.tool_errors import tool_error_text
    from recipes.tools.alerts_tool import (
        ALERTS_AGENT_INSTRUCTIONS,
        ALERTS_RETRY_POLICY,
        ALERTS_SCHEDULE_TO_CLOSE,
        ALERTS_START_TO_CLOSE,
    )

TASK_QUEUE = "mcp-weather-agent"
TASK_QUEUE_ENV = "MCP_AGENT_TASK_QUEUE"
#: The name the workflow and the worker's factory agree on.
MCP_SERVER = "weather"
AGENT_NAME = "Weather agent (MCP tools)"

#: Model calls as activities, as in the weather recipe (recipes/weather/workflows.py says why each number).
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)

#: Options of every MCP activity (list-tools, call-tool): those of the weather tool activity.
MCP_ACTIVITY_CONFIG = ActivityConfig(
    start_to_close_timeout=ALERTS_START_TO_CLOSE,
    schedule_to_close_timeout=ALERTS_SCHEDULE_TO_CLOSE,
    retry_policy=ALERTS_RETRY_POLICY,
)

__all__ = ["MCP_ACTIVITY_CONFIG", "MCP_SERVER", "MODEL_PARAMS", "TASK_QUEUE", "McpAgentWorkflow", "default_task_queue"]


def default_task_queue() -> str:
    """``$MCP_AGENT_TASK_QUEUE`` or ``mcp-weather-agent``."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def mcp_tool_error(ctx: Any, error: Exception) -> str:
    """``failure_error_function`` for MCP servers: an MCP call that failed for good (the server
    down past its retries, a refused request) becomes the tool's result text, worded as for
    activity tools. A cancelled call is not an error to report: it propagates."""
    cause: BaseException | None = error
    while cause is not None and not isinstance(cause, ActivityError):
        cause = cause.__cause__
    if isinstance(cause, ActivityError) and isinstance(cause.cause, CancelledError):
        raise error
    return tool_error_text(getattr(ctx, "tool_name", None) or "the MCP tool", cause or error)


@workflow.defn
class McpAgentWorkflow:
    """Answer one question with the tools an MCP server offers."""

    @workflow.run
    async def run(self, question: str) -> str:
        server = temporal_mcp_server(
            MCP_SERVER, activity_config=MCP_ACTIVITY_CONFIG, failure_error_function=mcp_tool_error
        )
        try:
            await server.list_tools()  # one activity; kept for the run, so the agent's turns reuse it
        except ActivityError as err:
            raise ApplicationError(f"The MCP server {MCP_SERVER!r} is not available: {_root(err)}",
                                   type="McpServerUnavailable", non_retryable=True) from err  # fmt: skip
        agent = Agent(name=AGENT_NAME, instructions=ALERTS_AGENT_INSTRUCTIONS, mcp_servers=[server])
        result = await Runner.run(agent, question)
        return str(result.final_output)


def _root(err: BaseException) -> str:
    while isinstance(err, ActivityError) and err.cause is not None:
        err = err.cause
    return getattr(err, "message", None) or str(err)
