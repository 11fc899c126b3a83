"""One question, three ways to split it between small agents.

* :class:`ChainedAgentsWorkflow` -- **chaining in workflow code**. The triage
  agent returns a structured ``WeatherQuestion``; the *workflow* reads it and
  starts the reporter with a prompt built from it. Two agents, two separate
  agentic loops (two ``Runner.run`` calls); your code sits between them and can
  validate, branch, retry or stop.
* :class:`HandoffWorkflow` -- **handoffs**. One ``Runner.run``. The router's
  model calls ``transfer_to_<specialist>``; the SDK switches the running agent
  and the specialist continues *the same loop* with the whole conversation.
* :class:`AgentsAsToolsWorkflow` -- **agents as tools**. The desk agent keeps
  the conversation and calls each specialist like a tool
  (``Agent.as_tool``); each call is a nested run of the specialist's own loop,
  and its final answer comes back as the tool's result.

Every model call is the activity ``invoke_model_activity`` whose *summary*
is the agent's name, so the event history shows which agent made each call.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.openai_agents import ModelActivityParameters

with workflow.unsafe.imports_passed_through():
    from agents import Runner, trace

    from recipes.chaining import team
    from recipes.core.models import MODEL_RETRY_POLICY

__all__ = [
    "MODEL_PARAMS",
    "TASK_QUEUE",
    "AgentsAsToolsWorkflow",
    "ChainedAgentsWorkflow",
    "DeskAnswer",
    "HandoffWorkflow",
    "default_task_queue",
]

TASK_QUEUE = "chaining"
TASK_QUEUE_ENV = "CHAINING_TASK_QUEUE"

#: Model calls: one minute per attempt (the plugin's model activity heartbeats
#: every 5 s, so a dead worker is noticed after 10 s), five minutes and five
#: attempts in all, backoff 1 s -> 20 s. The agent's name becomes each model
#: activity's summary by itself (the plugin sets it).
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


def default_task_queue() -> str:
    """``$CHAINING_TASK_QUEUE`` or ``chaining``. Notebooks and tests pick a queue of their
    own, so a worker someone left running cannot take their runs."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


@dataclass
class DeskAnswer:
    """What each pattern returns: the answer and who produced it."""

    pattern: str
    answer: str
    answered_by: str
    """The agent whose output is the final answer (``RunResult.last_agent``)."""
    agent_runs: list[str] = field(default_factory=list)
    """The ``Runner.run`` calls the workflow made, by starting agent, in order."""
    extracted: dict | None = None
    """Chaining only: the triage agent's structured output."""


@workflow.defn
class ChainedAgentsWorkflow:
    """Triage (structured output) -> reporter: two loops joined by workflow code."""

    @workflow.run
    async def run(self, question: str) -> DeskAnswer:
        with trace("Chained agents"):
            triage = await Runner.run(team.triage_extractor(), question)
            asked: team.WeatherQuestion = triage.final_output
            # Plain code between the agents: check the extraction before paying for step 2.
            state = asked.state.strip().upper()
            prompt = f"Write a short {team.TOPIC_LABEL[asked.topic]} report for {state}."
            report = await Runner.run(team.weather_reporter(), prompt)
        return DeskAnswer(
            pattern="chaining",
            answer=str(report.final_output),
            answered_by=report.last_agent.name,
            agent_runs=[triage.last_agent.name, report.last_agent.name],
            extracted=asked.model_dump(),
        )


@workflow.defn
class HandoffWorkflow:
    """Router -> specialist inside one run: the specialist takes over the loop."""

    @workflow.run
    async def run(self, question: str) -> DeskAnswer:
        with trace("Handoff"):
            result = await Runner.run(team.triage_router(), question)
        return DeskAnswer(
            pattern="handoff",
            answer=str(result.final_output),
            answered_by=result.last_agent.name,
            agent_runs=["Triage router"],
        )


@workflow.defn
class AgentsAsToolsWorkflow:
    """The desk calls specialists as tools and writes the reply itself."""

    @workflow.run
    async def run(self, question: str) -> DeskAnswer:
        with trace("Agents as tools"):
            result = await Runner.run(team.orchestrator_with_agent_tools(), question)
        return DeskAnswer(
            pattern="agents-as-tools",
            answer=str(result.final_output),
            answered_by=result.last_agent.name,
            agent_runs=["Weather desk"],
        )
