"""Fan out one small agent per state, gather, then summarize.

:class:`FanOutBriefingWorkflow`
    All branch agents run **inside one workflow**: ``asyncio.gather`` of
    ``Runner.run`` calls. That is ordinary, allowed workflow code: Temporal runs
    workflow coroutines on its own deterministic event loop, tasks are started in
    the order they are created, and each model/tool call is an activity whose
    result is replayed from the history -- so the interleaving cannot change on
    replay. ``mode="sequential"`` runs the same branches one after another, for
    comparison.

:class:`ChildWorkflowBriefing`
    One **child workflow per branch** (:class:`BranchAgentWorkflow`). Each
    agent then has its own event history, its own id you can look up, cancel or
    reset, and its own history-size budget; a branch that fails fails only its
    child.

A failed branch. Branch agents get the alerts tool *without* error
reporting, so a bad state code (a non-retryable ``InvalidState``) ends that
branch's run. Both workflows gather with ``return_exceptions=True``: the other
branches keep their results, the failure is recorded in ``failures``, and the
briefing writer is told which branch has no report.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import timedelta

from temporalio import workflow
from temporalio.exceptions import ApplicationError
from temporalio.openai_agents import ModelActivityParameters

with workflow.unsafe.imports_passed_through():
    from agents import Runner, trace

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.parallel_agents import team

__all__ = [
    "MODEL_PARAMS",
    "TASK_QUEUE",
    "BranchAgentWorkflow",
    "BriefingRequest",
    "BriefingResult",
    "ChildWorkflowBriefing",
    "FanOutBriefingWorkflow",
    "default_task_queue",
    "failure_text",
]

TASK_QUEUE = "parallel-agents"
TASK_QUEUE_ENV = "PARALLEL_AGENTS_TASK_QUEUE"

#: Model calls: one minute per attempt (the plugin's model activity heartbeats
#: every 5 s, so a dead worker is noticed after 10 s), five minutes and five
#: attempts in all, backoff 1 s -> 20 s. The agent's name becomes each model
#: activity's summary by itself (the plugin sets it), so the history tells the
#: branches apart.
MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


def default_task_queue() -> str:
    """``$PARALLEL_AGENTS_TASK_QUEUE`` or ``parallel-agents``. Notebooks and tests pick a queue
    of their own, so a worker someone left running cannot take their runs."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


@dataclass
class BriefingRequest:
    states: list[str]
    """One branch agent per entry (two-letter US state codes; a bad one makes its branch fail)."""
    mode: str = "parallel"
    """``parallel`` (asyncio.gather) or ``sequential`` (one after another). FanOut only."""


@dataclass
class BriefingResult:
    mode: str
    reports: dict[str, str] = field(default_factory=dict)
    """State -> that branch agent's final answer."""
    failures: dict[str, str] = field(default_factory=dict)
    """State -> why its branch produced no report."""
    missing_branches: list[str] = field(default_factory=list)
    """What the briefing writer listed as missing (from its structured output)."""
    summary: str = ""


def branch_prompt(state: str) -> str:
    # Quoting the code makes the request unambiguous -- to a real model and to the
    # offline stand-in, which fills a quoted string into the `state` argument as is.
    return f'Weather alerts for "{state}"'


def failure_text(error: BaseException) -> str:
    """The root cause of a failed branch in one line, e.g. ``InvalidState: 'ZZ' is not ...``.

    A branch's error is a chain (AgentsWorkflowError -> ActivityError ->
    ApplicationError; in a child workflow, ChildWorkflowError on top): the
    innermost ApplicationError says what really went wrong.
    """
    found: ApplicationError | None = None
    cause: BaseException | None = error
    seen: set[int] = set()
    while cause is not None and id(cause) not in seen:
        seen.add(id(cause))
        if isinstance(cause, ApplicationError):
            found = cause
        cause = getattr(cause, "cause", None) or cause.__cause__
    if found is not None:
        return f"{found.type}: {found.message}" if found.type else found.message
    return f"{type(error).__name__}: {error}"


async def run_branch(state: str) -> str:
    result = await Runner.run(team.branch_agent(state), branch_prompt(state))
    return str(result.final_output)


async def write_briefing(reports: dict[str, str], failures: dict[str, str]) -> team.Briefing:
    """The gather step: the writer sees every report, and which branches have none."""
    items: list[dict] = [
        {"role": "assistant", "content": f"Report for {state}: {text}"} for state, text in reports.items()
    ]
    missing = ", ".join(f'"{state}"' for state in failures) or "none"
    items.append(
        {
            "role": "user",
            "content": f"Write the briefing from the {len(reports)} reports above. States with no report: {missing}.",
        }
    )
    result = await Runner.run(team.briefing_writer(), items)
    return result.final_output


def _collect(states: list[str], outcomes: list[object]) -> tuple[dict[str, str], dict[str, str]]:
    reports: dict[str, str] = {}
    failures: dict[str, str] = {}
    for state, outcome in zip(states, outcomes):
        if isinstance(outcome, BaseException):
            failures[state] = failure_text(outcome)
        else:
            reports[state] = str(outcome)
    return reports, failures


@workflow.defn
class FanOutBriefingWorkflow:
    """Branch agents in one workflow, concurrently or one after another."""

    @workflow.run
    async def run(self, request: BriefingRequest) -> BriefingResult:
        if request.mode not in ("parallel", "sequential"):
            raise ApplicationError(f"mode must be 'parallel' or 'sequential', not {request.mode!r}", non_retryable=True)
        with trace(f"Briefing ({request.mode})"):
            if request.mode == "parallel":
                # Every branch's first model call is scheduled in the same workflow task.
                outcomes = await asyncio.gather(
                    *(run_branch(state) for state in request.states), return_exceptions=True
                )
            else:
                outcomes = []
                for state in request.states:
                    try:
                        outcomes.append(await run_branch(state))
                    except Exception as err:  # the same capture gather does
                        outcomes.append(err)
            reports, failures = _collect(request.states, list(outcomes))
            briefing = await write_briefing(reports, failures)
        return BriefingResult(request.mode, reports, failures, briefing.missing_branches, briefing.summary)


@workflow.defn
class BranchAgentWorkflow:
    """One branch as its own workflow: its own history, id and failure."""

    @workflow.run
    async def run(self, state: str) -> str:
        with trace(f"Branch {state}"):
            return await run_branch(state)


@workflow.defn
class ChildWorkflowBriefing:
    """One child workflow per branch, then the same gather step."""

    @workflow.run
    async def run(self, request: BriefingRequest) -> BriefingResult:
        parent = workflow.info().workflow_id
        outcomes = await asyncio.gather(
            *(
                workflow.execute_child_workflow(
                    BranchAgentWorkflow.run,
                    state,
                    id=f"{parent}-{state}",
                    # Child workflows are not retried by default, so a failed branch fails
                    # once (its activities had their own retries); the timeout bounds a stuck one.
                    execution_timeout=timedelta(minutes=5),
                )
                for state in request.states
            ),
            return_exceptions=True,
        )
        reports, failures = _collect(request.states, list(outcomes))
        with trace("Briefing (children)"):
            briefing = await write_briefing(reports, failures)
        return BriefingResult("children", reports, failures, briefing.missing_branches, briefing.summary)
