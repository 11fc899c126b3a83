"""Ask the coding agent to fix the sample project's failing test; print its answer.

    python -m recipes.coding_agent.starter
    python -m recipes.coding_agent.starter "test_pricing.py fails: find out why and fix pricing.py."

Needs a worker (``python -m recipes.coding_agent.worker``) on the same Temporal server. Prints the
answer and the link to the run in the Temporal Web UI; a failed run prints its root cause.
``-v`` prints tracebacks.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from temporalio.client import Client, WorkflowHandle
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.coding_agent.project import SAMPLE_QUESTION, CodingTask
from recipes.coding_agent.workflows import TASK_QUEUE_ENV, CodingAgentWorkflow, default_task_queue
from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url


async def start_task(client: Client, task: CodingTask, *, task_queue: str | None = None,
                     workflow_id: str | None = None) -> WorkflowHandle:  # fmt: skip
    """Start one coding run (the notebooks use this too)."""
    return await client.start_workflow(CodingAgentWorkflow.run, task, id=workflow_id or f"coding-{uuid4().hex[:8]}",
                                       task_queue=task_queue or default_task_queue())  # fmt: skip


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default=SAMPLE_QUESTION)
    parser.add_argument("--task-queue", default=None, help=f"default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")
    args = add_verbose_flag(parser).parse_args(argv)
    question = require_text("question", args.question, SAMPLE_QUESTION)

    # The plugin on the client sets the data converter the agent types need.
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    handle = await start_task(client, CodingTask(question), task_queue=args.task_queue)
    ui_url = web_ui_url(client, handle.id, handle.result_run_id)
    print(f"Started {handle.id}; waiting for a worker on {args.task_queue or default_task_queue()!r} ...", flush=True)
    answer = await wait_for_result(handle, ui_url=ui_url)
    print(answer)
    print(f"Web UI: {ui_url}")


if __name__ == "__main__":
    run_script(main())
