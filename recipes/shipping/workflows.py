"""One agent workflow in two versions, to change while runs are in flight.

``ReviewedAgentWorkflow`` answers a weather question after a person approves it (the ``approve``
signal): a run started today may wait hours mid-run, and the code can change meanwhile. Version 2
adds a step -- the ``screen_question`` guardrail activity, as soon as the question arrives, before a
person is asked to approve it -- which a run started on version 1 has never recorded. Two ways to
ship it without breaking those runs:

* **``workflow.patched``** (:class:`ReviewedAgentV2`): one worker fleet, new code everywhere. A run
  that passed this point before the deployment -- it is waiting for its approval, unscreened --
  replays without the step (``patched`` is false while replaying a history that has no marker for
  it); new runs take it and record the marker. (A run that had *not* reached the point yet would
  take the new path too: ``patched`` is true wherever the code runs for the first time.)
  When no run started on version 1 is open any more, ``workflow.deprecate_patch`` and then plain
  code replace the branch.
* **Worker Versioning** (:class:`ReviewedAgentV2Pinned`): each worker belongs to a deployment
  version (deployment name + build id) and the workflow is **pinned**: a run stays on the version
  that started it, so version 2 needs no branch at all. New runs go to the deployment's *current*
  version; the old version's workers drain and retire (``recipes/shipping/versions.py``).

All three classes are the same workflow type, ``ReviewedAgentWorkflow``: a worker registers one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import timedelta

from temporalio import workflow
from temporalio.common import VersioningBehavior

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner
    from temporalio.openai_agents import ModelActivityParameters

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.shipping.activities import ScreenVerdict, screen_question
    from recipes.tools.alerts_tool import ALERTS_AGENT_INSTRUCTIONS, explain_severity, weather_alerts_tool

WORKFLOW_TYPE = "ReviewedAgentWorkflow"
SCREEN_PATCH = "screen-question"
TASK_QUEUE = "shipping-agent"
TASK_QUEUE_ENV = "SHIPPING_TASK_QUEUE"

MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


def default_task_queue() -> str:
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


@dataclass
class ReviewedAnswer:
    answer: str
    screened: bool
    """Whether this run took the screening step (version 2's path)."""
    refused: str = ""
    """Why the screen refused the question (the model was not asked)."""


class _Reviewed:
    """What every version shares: wait for a person's approval, then ask the agent."""

    def __init__(self) -> None:
        self.approved = False

    @workflow.signal
    def approve(self) -> None:
        self.approved = True

    @workflow.query
    def waiting_for_approval(self) -> bool:
        return not self.approved

    async def _wait_for_approval(self) -> None:
        await workflow.wait_condition(lambda: self.approved)

    async def _ask(self, question: str, *, screened: bool) -> ReviewedAnswer:
        agent = Agent(name="Weather agent", instructions=ALERTS_AGENT_INSTRUCTIONS,
                      tools=[weather_alerts_tool(), explain_severity])  # fmt: skip
        result = await Runner.run(agent, question)
        return ReviewedAnswer(str(result.final_output), screened)

    async def _screen(self, question: str) -> ScreenVerdict:
        return await workflow.execute_activity(screen_question, question, start_to_close_timeout=timedelta(seconds=10))


@workflow.defn(name=WORKFLOW_TYPE)
class ReviewedAgentV1(_Reviewed):
    """Version 1: approval, then the agent."""

    @workflow.run
    async def run(self, question: str) -> ReviewedAnswer:
        await self._wait_for_approval()
        return await self._ask(question, screened=False)


@workflow.defn(name=WORKFLOW_TYPE)
class ReviewedAgentV2(_Reviewed):
    """Version 2 for one fleet: the screen, behind ``workflow.patched`` so version 1's runs replay."""

    @workflow.run
    async def run(self, question: str) -> ReviewedAnswer:
        screened = workflow.patched(SCREEN_PATCH)
        if screened:
            verdict = await self._screen(question)
            if not verdict.allowed:
                return ReviewedAnswer("", screened=True, refused=verdict.reason)
        await self._wait_for_approval()
        return await self._ask(question, screened=screened)


@workflow.defn(name=WORKFLOW_TYPE, versioning_behavior=VersioningBehavior.PINNED)
class ReviewedAgentV2Pinned(_Reviewed):
    """Version 2 for Worker Versioning: pinned runs never meet other code, so no branch is needed."""

    @workflow.run
    async def run(self, question: str) -> ReviewedAnswer:
        verdict = await self._screen(question)
        if not verdict.allowed:
            return ReviewedAnswer("", screened=True, refused=verdict.reason)
        await self._wait_for_approval()
        return await self._ask(question, screened=True)


#: The worker's ``--code`` choices.
CODE_VERSIONS = {"v1": ReviewedAgentV1, "v2": ReviewedAgentV2, "v2-pinned": ReviewedAgentV2Pinned}
