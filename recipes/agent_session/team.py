"""The session's two agents and their tools, one factory each. The session workflow
(:mod:`recipes.agent_session.workflows`) builds them; nothing here runs anything.

Words matter twice. A real LLM picks tools from their names and
descriptions; the offline stand-in model (``tutorial.offline_model``)
does the same by plain word overlap. So each tool description uses the
words a user would use for it ("alerts", "warnings", "forecast", "rain",
"broadcast", "notice", "recheck ... hours") and avoids the others' words.

Tools that do I/O are activities (``activity_as_tool``): the alerts and forecast tools
are shared (``recipes/tools``), the broadcast is built here, with one attempt and a
person's approval. ``recheck_in_hours`` is the one
*workflow* tool: it only records a request in workflow state, which the
session workflow turns into a durable timer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from agents import Agent, FunctionTool, function_tool
from temporalio.common import RetryPolicy
from temporalio.openai_agents.workflow import activity_as_tool

from recipes.agent_session.activities import broadcast_public_notice
from recipes.core.tool_errors import errors_as_tool_results
from recipes.tools.alerts_tool import weather_alerts_tool
from recipes.tools.forecast import forecast_tool

__all__ = [
    "broadcast_tool",
    "recheck_tool",
    "scheduled_check_agent",
    "session_agent",
]

BROADCAST_TIMEOUT = timedelta(seconds=15)


# --------------------------------------------------------------------- tools


def broadcast_tool() -> FunctionTool:
    """``broadcast_public_notice`` as an activity tool that needs a person's approval.

    ``needs_approval=True`` makes the Agents SDK stop the run *before* calling
    the tool and return the call as an interruption; the run continues only
    once the call is approved or rejected (see the session workflow). A
    rejected call never reaches ``on_invoke_tool``, so no activity is scheduled.
    """
    tool = activity_as_tool(
        broadcast_public_notice,
        start_to_close_timeout=BROADCAST_TIMEOUT,
        # A broadcast is not idempotent: one attempt, never an automatic retry.
        retry_policy=RetryPolicy(maximum_attempts=1),
    )
    assert isinstance(tool, FunctionTool)
    tool = errors_as_tool_results(tool)
    tool.needs_approval = True
    return tool


def recheck_tool(on_recheck: Callable[[str, float], Awaitable[str]]) -> FunctionTool:
    """A workflow tool: ``recheck_in_hours(state, hours)`` calls ``on_recheck``.

    The session workflow passes a callback that records the request; its main
    loop then waits on a durable timer. The tool itself does no I/O, so it runs
    inline in the workflow (no activity).
    """

    @function_tool
    async def recheck_in_hours(state: str, hours: float) -> str:
        """Schedule a recheck: look at the weather alerts for a US state again after a number of hours.

        Args:
            state: Two-letter US state code, e.g. CA, TX or NY.
            hours: How many hours from now to look again.
        """
        return await on_recheck(state, hours)

    return recheck_in_hours


# --------------------------------------------------------------------- agents


def session_agent(on_recheck: Callable[[str, float], Awaitable[str]]) -> Agent:
    """The conversation agent of the long-running session."""
    return Agent(
        name="Weather desk",
        instructions=(
            "You are a weather desk in a long conversation. Use get_weather_alerts for alerts, "
            "get_forecast for forecasts, recheck_in_hours when the user wants the alerts looked at "
            "again later, and broadcast_public_notice only when the user asks to broadcast a notice "
            "(a person approves each broadcast; if it is rejected, say it was not sent and why)."
        ),
        tools=[weather_alerts_tool(), forecast_tool(), broadcast_tool(), recheck_tool(on_recheck)],
    )


def scheduled_check_agent() -> Agent:
    """Runs when a recheck timer fires: one job, one tool."""
    return Agent(
        name="Scheduled alerts check",
        instructions=(
            "You look up the active weather alerts for a US state with get_weather_alerts. "
            "Answer in two or three sentences and quote what the tool returned."
        ),
        tools=[weather_alerts_tool()],
    )

