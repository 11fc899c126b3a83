"""Start one HelloWorkflow and wait for its result.

    python -m recipes.hello_temporal.starter Ada            # needs the worker running
    python -m recipes.hello_temporal.starter Ada --failures 4

Prints the result and the link to the run in the Temporal Web UI, where the
event history shows the activity's attempts.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from recipes.hello_temporal.activities import GreetingRequest
from recipes.hello_temporal.workflows import TASK_QUEUE, HelloWorkflow
from recipes.core.settings import TemporalSettings, connect, run_script


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", default="Temporal")
    parser.add_argument("--failures", type=int, default=2, help="attempts that fail before one succeeds")
    args = parser.parse_args(argv)

    settings = TemporalSettings.load()
    client = await connect(settings)
    workflow_id = f"hello-{uuid4().hex[:8]}"
    handle = await client.start_workflow(
        HelloWorkflow.run,
        GreetingRequest(args.name, failures=args.failures),
        id=workflow_id,
        task_queue=TASK_QUEUE,
    )
    print(f"Started {workflow_id}; waiting for a worker on {TASK_QUEUE!r} ...", flush=True)
    result = await handle.result()
    print(result)
    print(f"Web UI: {settings.web_ui_url(workflow_id, handle.result_run_id)}")


if __name__ == "__main__":
    run_script(main())
