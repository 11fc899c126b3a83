"""Ask the alert-history agent one question and print its answer.

    python -m recipes.payloads.starter "What has the alert history of California been like?"

Needs a worker (``python -m recipes.payloads.worker``) with the same ``PAYLOAD_*`` settings: the
starter reads them too (``PayloadsPlugin``), to encrypt the question and read the answer.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url
from recipes.payloads.settings import PayloadsPlugin
from recipes.payloads.workflows import TASK_QUEUE_ENV, AlertHistoryWorkflow, default_task_queue

EXAMPLE = "What has the alert history of California been like?"


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default=EXAMPLE)
    parser.add_argument("--task-queue", default=None, help=f"default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")
    args = add_verbose_flag(parser).parse_args(argv)
    question = require_text("question", args.question, EXAMPLE)
    queue = args.task_queue or default_task_queue()
    client = await connect(plugins=[PayloadsPlugin(), OpenAIAgentsPlugin()])
    workflow_id = f"alert-history-{uuid4().hex[:8]}"
    handle = await client.start_workflow(AlertHistoryWorkflow.run, question, id=workflow_id, task_queue=queue)
    ui_url = web_ui_url(client, workflow_id, handle.result_run_id)
    print(f"Started {workflow_id}; waiting for a worker on {queue!r} ...", flush=True)
    print(await wait_for_result(handle, ui_url=ui_url))
    print(f"Web UI: {ui_url}")


if __name__ == "__main__":
    run_script(main())
