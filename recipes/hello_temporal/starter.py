"""Start one HelloWorkflow and wait for its result.

    python -m recipes.hello_temporal.starter Ada            # needs the worker running
    python -m recipes.hello_temporal.starter Ada --failures 4

Prints the result and the link to the run in the Temporal Web UI, where the
event history shows the activity's attempts. With ``--failures 5`` or more the
retries run out and the run fails: one line names the cause (``-v`` for tracebacks).
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url
from recipes.hello_temporal.activities import GreetingRequest
from recipes.hello_temporal.workflows import HelloWorkflow, default_task_queue


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("name", nargs="?", default="Temporal")
    parser.add_argument("--failures", type=int, default=2, help="attempts that fail before one succeeds")
    args = add_verbose_flag(parser).parse_args(argv)
    name = require_text("name", args.name, "Ada")
    queue = default_task_queue()

    client = await connect()
    workflow_id = f"hello-{uuid4().hex[:8]}"
    handle = await client.start_workflow(
        HelloWorkflow.run,
        GreetingRequest(name, failures=args.failures),
        id=workflow_id,
        task_queue=queue,
    )
    ui_url = web_ui_url(client, workflow_id, handle.result_run_id)
    print(f"Started {workflow_id}; waiting for a worker on {queue!r} ...", flush=True)
    result = await wait_for_result(handle, ui_url=ui_url)
    print(result)
    print(f"Web UI: {ui_url}")


if __name__ == "__main__":
    run_script(main())
