"""Ask the weather-alert agent one question and print its answer.

    python -m recipes.weather.starter "Any weather alerts in California?"

Needs a worker (``python -m recipes.weather.worker``) on the same Temporal
server. Prints the answer and the link to the run in the Temporal Web UI.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.settings import TemporalSettings, connect, run_script
from recipes.weather.workflows import TASK_QUEUE, WeatherAgentWorkflow


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default="Any weather alerts in California?")
    args = parser.parse_args(argv)

    settings = TemporalSettings.load()
    # The plugin on the client sets the data converter the agent types need.
    client = await connect(settings, plugins=[OpenAIAgentsPlugin()])
    workflow_id = f"weather-{uuid4().hex[:8]}"
    handle = await client.start_workflow(
        WeatherAgentWorkflow.run, args.question, id=workflow_id, task_queue=TASK_QUEUE
    )
    print(f"Started {workflow_id}; waiting for a worker on {TASK_QUEUE!r} ...", flush=True)
    answer = await handle.result()
    print(answer)
    print(f"Web UI: {settings.web_ui_url(workflow_id, handle.result_run_id)}")


if __name__ == "__main__":
    run_script(main())
