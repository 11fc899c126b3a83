"""The durable coding agent: a ``SandboxAgent`` inside a Temporal workflow.

The agent gets a workspace made from the task's files (a ``Manifest``) and four tools
(:mod:`recipes.coding_agent.tools`). ``RunConfig(sandbox=SandboxRunConfig(client=temporal_sandbox_client(...)))``
makes every sandbox operation an activity on the worker: creating the workspace, writing the
project's files into it (``start``), each read, search, write and test run, and at the end
``stop``, ``shutdown`` and ``delete`` -- which the Agents SDK runs however the run ends (an answer,
a failure, a cancellation), so the workspace is removed from the worker's disk.

After a worker dies mid-run, the next worker replays the history: completed reads, writes and test
runs are not run again (their results come from the history), and the interrupted operation runs
again on the new worker. The session state in each activity's input (the workspace's directory and
manifest) is what lets the new worker pick up the same directory -- on the same machine: the unix
local sandbox keeps the workspace on the worker's disk.

Model calls: ``MODEL_PARAMS``, the weather recipe's (60 s an attempt, heartbeat 10 s, 5 minutes in
all, ``MODEL_RETRY_POLICY``).
"""

from __future__ import annotations

import os
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import RunConfig, Runner
    from agents.sandbox import SandboxAgent, SandboxRunConfig
    from agents.sandbox.sandboxes.unix_local import UnixLocalSandboxClientOptions
    from agents.sandbox.snapshot import NoopSnapshotSpec
    from temporalio.openai_agents import ModelActivityParameters
    from temporalio.openai_agents.workflow import temporal_sandbox_client

    from recipes.coding_agent.project import CodingTask
    from recipes.coding_agent.tools import SANDBOX, SANDBOX_OPS, CodingTools
    from recipes.core.models import MODEL_RETRY_POLICY

TASK_QUEUE = "coding-agent"
TASK_QUEUE_ENV = "CODING_AGENT_TASK_QUEUE"
AGENT_NAME = "Coding agent"

INSTRUCTIONS = (
    "You fix failing tests in a small Python project. Read the failing test and the code it tests, "
    "make the smallest change that fixes the code (never change a test to make it pass), run the tests, "
    "and answer in one or two sentences: what you changed, and whether the tests pass now."
)

MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)


def default_task_queue() -> str:
    """``$CODING_AGENT_TASK_QUEUE`` or ``coding-agent``."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def build_agent(task: CodingTask) -> SandboxAgent:
    """The agent: the task's files as its workspace, and the four coding tools as its only capability."""
    return SandboxAgent(
        name=AGENT_NAME,
        instructions=INSTRUCTIONS,
        default_manifest=task.manifest(),
        capabilities=[CodingTools(test_command=task.test_command, test_run_seconds=task.test_run_seconds)],
    )


def sandbox_config() -> SandboxRunConfig:
    """Every sandbox operation an activity on the worker's ``SANDBOX`` provider, whose client is a
    ``UnixLocalSandboxClient`` (the integration's client cannot pick default options: name the
    backend's, here with no ports exposed). No snapshot: the
    SDK's default would tar the workspace into the worker's home directory when the run ends, and
    keep it there; a snapshot is for starting a later run from this workspace, not for resuming
    this one (it is written only at the end)."""
    return SandboxRunConfig(client=temporal_sandbox_client(SANDBOX, SANDBOX_OPS), options=UnixLocalSandboxClientOptions(),
                            snapshot=NoopSnapshotSpec())


@workflow.defn
class CodingAgentWorkflow:
    """Fix a failing test in the task's project; return the agent's answer."""

    @workflow.run
    async def run(self, task: CodingTask) -> str:
        result = await Runner.run(build_agent(task), task.question, run_config=RunConfig(sandbox=sandbox_config()),
                                  max_turns=task.max_turns)
        return str(result.final_output)
