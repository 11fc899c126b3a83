"""Ask the weather-alert agent one question and print its answer.

    python -m recipes.weather.starter "Any weather alerts in California?"

Needs a worker (``python -m recipes.weather.worker``) on the same Temporal
server. Prints the answer and the link to the run in the Temporal Web UI; a
failed run prints its root cause. ``-v`` prints tracebacks.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url
from recipes.weather.workflows import TASK_QUEUE_ENV, WeatherAgentWorkflow, default_task_queue

EXAMPLE = "Any weather alerts in California?"


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default=EXAMPLE)
    parser.add_argument("--task-queue", default=None, help=f"default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")
    args = add_verbose_flag(parser).parse_args(argv)
    question = require_text("question", args.question, EXAMPLE)
    queue = args.task_queue or default_task_queue()

    # The plugin on the client sets the data converter the agent types need.
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    workflow_id = f"weather-{uuid4().hex[:8]}"
    handle = await client.start_workflow(WeatherAgentWorkflow.run, question, id=workflow_id, task_queue=queue)
    ui_url = web_ui_url(client, workflow_id, handle.result_run_id)
    print(f"Started {workflow_id}; waiting for a worker on {queue!r} ...", flush=True)
    answer = await wait_for_result(handle, ui_url=ui_url)
    print(answer)
    print(f"Web UI: {ui_url}")


if __name__ == "__main__":
    run_script(main())
