"""Worker for the coding agent.

    python -m recipes.coding_agent.worker

Polls the ``coding-agent`` task queue (``$CODING_AGENT_TASK_QUEUE`` to change it) and runs the agent
workflow, the model activity and the sandbox's activities: the plugin registers them for each
``SandboxClientProvider`` it is given. Both providers share one ``UnixLocalSandboxClient``: the
workspaces are temporary directories on this machine (under ``$TMPDIR``), and the commands the agent
runs see only the variables the client lets through (PATH, locale, TMPDIR, ...) and the task's own,
never this worker's keys.
"""

from __future__ import annotations

from pathlib import Path

from agents.sandbox.sandboxes.unix_local import UnixLocalSandboxClient
from temporalio.openai_agents import SandboxClientProvider
from temporalio.worker import Worker

from recipes.coding_agent.tools import SANDBOX, TEST_RUNNER
from recipes.coding_agent.workflows import MODEL_PARAMS, CodingAgentWorkflow, default_task_queue
from recipes.core.scripts import run_script
from recipes.core.settings import connect
from recipes.core.worker import agents_plugin, serve, worker_identity


class LocalWorkspaces(UnixLocalSandboxClient):
    """``UnixLocalSandboxClient`` that resumes as Docker's client does: a session whose directory is still
    on this disk keeps its files. A worker that replaces a dead one resumes the run's session from the
    state in the activity's input, and the Agents SDK then starts it again (it is not "running" in this
    process); the plain client would write the manifest's files again on that start -- the project as
    given, over the agent's patch. (``_set_start_state_preserved`` is the hook Docker's client calls.)"""

    async def resume(self, state):
        session = await super().resume(state)
        session._inner._set_start_state_preserved(Path(state.manifest.root).is_dir())
        return session


def sandbox_providers() -> list[SandboxClientProvider]:
    """The run's sandbox and its test runner: two names, one client, the same workspaces."""
    local = LocalWorkspaces(inherit_host_environment=False)
    return [SandboxClientProvider(SANDBOX, local), SandboxClientProvider(TEST_RUNNER, local)]


async def main() -> None:
    plugin, model = agents_plugin(MODEL_PARAMS, sandbox_clients=sandbox_providers())
    client = await connect(plugins=[plugin])
    worker = Worker(
        client,
        task_queue=default_task_queue(),
        workflows=[CodingAgentWorkflow],
        activities=[],  # the plugin adds the model activity and every sandbox activity
        identity=worker_identity(),
    )
    await serve(worker, model=model)


if __name__ == "__main__":
    run_script(main())
