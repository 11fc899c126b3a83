"""Ask the dynamic-tools agent one question.

    python -m recipes.dynamic_tools.starter "What is the capital of Texas?"

The workflow asks the worker which tools it has (``list_tools``), so the
answer depends on the worker's registry, not on the workflow code.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url
from recipes.dynamic_tools.workflows import DynamicToolsWorkflow, ToolAgentRequest, default_task_queue

EXAMPLE = "Convert 30 degrees C to Fahrenheit"


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default=EXAMPLE)
    args = add_verbose_flag(parser).parse_args(argv)
    question = require_text("question", args.question, EXAMPLE)
    queue = default_task_queue()

    client = await connect(plugins=[OpenAIAgentsPlugin()])
    workflow_id = f"dynamic-tools-{uuid4().hex[:8]}"
    handle = await client.start_workflow(
        DynamicToolsWorkflow.run, ToolAgentRequest(question), id=workflow_id, task_queue=queue
    )
    ui_url = web_ui_url(client, workflow_id, handle.result_run_id)
    print(f"Started {workflow_id}; waiting for a worker on {queue!r} ...", flush=True)
    answer = await wait_for_result(handle, ui_url=ui_url)
    print(answer)
    print(f"Tools offered: {', '.join(await handle.query(DynamicToolsWorkflow.tool_names))}")
    print(f"Web UI: {ui_url}")


if __name__ == "__main__":
    run_script(main())
