"""Changed copies of recipe workflows, for ``tests/test_replay.py``.

Each class is registered under the *recipe's* workflow type name (``name=...``), so a
``Replayer`` given it replays the recipe's stored history against the changed code --
what a worker deployed with that change would do with a run that is open. One change
per class; the docstring says which.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner, trace
    from temporalio.openai_agents.workflow import activity_as_tool

    from recipes.durability import workflows as durability
    from recipes.durability.activities import Notification, send_alert_notification
    from recipes.hello_temporal.activities import GreetingRequest, compose_greeting
    from recipes.parallel_agents import workflows as parallel
    from recipes.parallel_agents.workflows import BriefingRequest, BriefingResult
    from recipes.tools.alerts_tool import SEVERITY_LEVELS, explain_severity, weather_alerts_tool
    from recipes.weather.workflows import AGENT_NAME, build_agent

NEW_INSTRUCTIONS = "You are a terse weather bot. Answer in one line, in capital letters."


# --------------------------------------------------------------------------- weather
@workflow.defn(name="WeatherAgentWorkflow")
class WeatherNewInstructions:
    """The instructions rewritten (they are part of every model call's input)."""

    @workflow.run
    async def run(self, question: str) -> str:
        agent = Agent(name=AGENT_NAME, instructions=NEW_INSTRUCTIONS, tools=[weather_alerts_tool(), explain_severity])
        return str((await Runner.run(agent, question)).final_output)


@workflow.defn(name="WeatherAgentWorkflow")
class WeatherOtherModel:
    """Another model name on the agent (also part of the model call's input)."""

    @workflow.run
    async def run(self, question: str) -> str:
        return str((await Runner.run(build_agent().clone(model="another-model"), question)).final_output)


@workflow.defn(name="WeatherAgentWorkflow")
class WeatherMaxTurnsRaised:
    """``max_turns`` raised from the SDK's default 10 to 50."""

    @workflow.run
    async def run(self, question: str) -> str:
        return str((await Runner.run(build_agent(), question, max_turns=50)).final_output)


@workflow.defn(name="WeatherAgentWorkflow")
class WeatherMaxTurnsLowered:
    """``max_turns=1``: fewer turns than the stored run took (model, tool, model is two)."""

    @workflow.run
    async def run(self, question: str) -> str:
        return str((await Runner.run(build_agent(), question, max_turns=1)).final_output)


@workflow.defn(name="WeatherAgentWorkflow")
class WeatherTimerFirst:
    """A workflow-side step added before the agent: a durable timer (say, a rate limit)."""

    @workflow.run
    async def run(self, question: str) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return str((await Runner.run(build_agent(), question)).final_output)


@workflow.defn(name="WeatherAgentWorkflow")
class WeatherWithoutAlertsTool:
    """The activity tool taken off the agent (the stored model answer still calls it)."""

    @workflow.run
    async def run(self, question: str) -> str:
        agent = build_agent().clone(tools=[explain_severity])
        return str((await Runner.run(agent, question)).final_output)


@activity.defn(name="explain_severity")
async def explain_severity_activity(level: str) -> str:
    """Explain what a National Weather Service severity level means.

    Args:
        level: The severity level, e.g. Severe.
    """
    return f"{level}: {SEVERITY_LEVELS.get(level, SEVERITY_LEVELS['Unknown'])}"


explain_severity_activity.__name__ = "explain_severity"  # the tool keeps its name; only where it runs changes


@workflow.defn(name="WeatherAgentWorkflow")
class WeatherSeverityAsActivity:
    """``explain_severity`` moved from a workflow tool to an activity tool."""

    @workflow.run
    async def run(self, question: str) -> str:
        severity = activity_as_tool(explain_severity_activity, start_to_close_timeout=timedelta(seconds=5))
        agent = build_agent().clone(tools=[weather_alerts_tool(), severity])
        return str((await Runner.run(agent, question)).final_output)


# --------------------------------------------------------------------------- hello_temporal
@workflow.defn(name="HelloWorkflow")
class HelloOtherInput:
    """The activity called with another argument."""

    @workflow.run
    async def run(self, request: GreetingRequest) -> str:
        return await workflow.execute_activity(compose_greeting, GreetingRequest("Someone else", failures=0),
                                               start_to_close_timeout=timedelta(seconds=5))  # fmt: skip


@workflow.defn(name="HelloWorkflow")
class HelloOtherOptions:
    """The activity's timeouts, retry policy and summary changed."""

    @workflow.run
    async def run(self, request: GreetingRequest) -> str:
        return await workflow.execute_activity(compose_greeting, request, start_to_close_timeout=timedelta(minutes=2),
                                               retry_policy=RetryPolicy(maximum_attempts=1), summary="changed")  # fmt: skip


# --------------------------------------------------------------------------- durability
async def _notify(request: durability.BriefingRequest, body: str) -> str:
    return await workflow.execute_activity(
        send_alert_notification,
        Notification(channel=request.channel, subject="Storm briefing", body=body),
        start_to_close_timeout=timedelta(seconds=30),
    )


@workflow.defn(name="StormBriefingWorkflow")
class StormAlwaysNotify:
    """An activity step added after the agent: the briefing is always sent."""

    @workflow.run
    async def run(self, request: durability.BriefingRequest) -> durability.BriefingResult:
        answer = str((await Runner.run(durability.storm_agent(), request.question, max_turns=20)).final_output)
        return durability.BriefingResult(answer, await _notify(request, answer))


@workflow.defn(name="StormBriefingWorkflow")
class StormNeverNotify:
    """The notification step removed."""

    @workflow.run
    async def run(self, request: durability.BriefingRequest) -> durability.BriefingResult:
        answer = str((await Runner.run(durability.storm_agent(), request.question, max_turns=20)).final_output)
        return durability.BriefingResult(answer)


@workflow.defn(name="StormBriefingWorkflow")
class StormNotifyFirst:
    """Two steps of different types swapped: a heads-up notification before the agent runs."""

    @workflow.run
    async def run(self, request: durability.BriefingRequest) -> durability.BriefingResult:
        sent = await _notify(request, "A storm briefing is on its way.")
        answer = str((await Runner.run(durability.storm_agent(), request.question, max_turns=20)).final_output)
        return durability.BriefingResult(answer, sent)


# --------------------------------------------------------------------------- parallel agents
@workflow.defn(name="FanOutBriefingWorkflow")
class FanOutReversed:
    """The branches started in the opposite order: two activities of the same type swapped
    (each branch's first step is ``invoke_model_activity``), with different inputs."""

    @workflow.run
    async def run(self, request: BriefingRequest) -> BriefingResult:
        states = list(reversed(request.states))  # the one change: FanOutBriefingWorkflow.run otherwise
        with trace(f"Briefing ({request.mode})"):
            if request.mode == "parallel":
                outcomes = await asyncio.gather(*(parallel.run_branch(s) for s in states), return_exceptions=True)
            else:
                outcomes = []
                for state in states:
                    try:
                        outcomes.append(await parallel.run_branch(state))
                    except Exception as err:
                        outcomes.append(err)
            reports, failures = parallel._collect(states, list(outcomes))
            briefing = await parallel.write_briefing(reports, failures)
        return BriefingResult(request.mode, reports, failures, briefing.missing_branches, briefing.summary)
