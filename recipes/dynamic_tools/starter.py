"""Ask the dynamic-tools agent one question.

    python -m recipes.dynamic_tools.starter "What is the capital of Texas?"

The workflow asks the worker which tools it has (``list_tools``), so the
answer depends on the worker's registry, not on the workflow code.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.dynamic_tools.workflows import TASK_QUEUE, DynamicToolsWorkflow, ToolAgentRequest
from recipes.core.settings import TemporalSettings, connect, run_script


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default="Convert 30 degrees C to Fahrenheit")
    args = parser.parse_args(argv)

    settings = TemporalSettings.load()
    client = await connect(settings, plugins=[OpenAIAgentsPlugin()])
    workflow_id = f"dynamic-tools-{uuid4().hex[:8]}"
    handle = await client.start_workflow(
        DynamicToolsWorkflow.run, ToolAgentRequest(args.question), id=workflow_id, task_queue=TASK_QUEUE
    )
    print(f"Started {workflow_id}; waiting for a worker on {TASK_QUEUE!r} ...", flush=True)
    answer = await handle.result()
    print(answer)
    print(f"Tools offered: {', '.join(await handle.query(DynamicToolsWorkflow.tool_names))}")
    print(f"Web UI: {settings.web_ui_url(workflow_id, handle.result_run_id)}")


if __name__ == "__main__":
    run_script(main())
