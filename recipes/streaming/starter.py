"""Ask the streaming weather agent a question and watch the answer arrive.

    python -m recipes.streaming.starter "Any weather alerts in California?"
    python -m recipes.streaming.starter --follow stream-1a2b3c4d     # an existing run

Needs a worker (``python -m recipes.streaming.worker``) on the same Temporal server.
Text is printed as it streams; if a model call is retried mid-stream (the worker died),
the text of the superseded attempt is marked withdrawn before the new attempt's text.
Ctrl-C stops watching; the run goes on, and ``--follow`` picks it up again.
"""

from __future__ import annotations

import argparse
import sys

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.errors import ConfigurationError
from recipes.core.scripts import RunFailed, add_verbose_flag, run_script
from recipes.core.settings import connect, web_ui_url
from recipes.streaming.subscriber import follow, rendered_changes
from recipes.streaming.workflows import TASK_QUEUE_ENV, default_task_queue, start_run

EXAMPLE = "Any weather alerts in California?"


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default=EXAMPLE)
    parser.add_argument("--follow", metavar="WORKFLOW_ID", help="watch a run that is already going instead of starting one")
    parser.add_argument("--task-queue", default=None, help=f"default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")
    args = add_verbose_flag(parser).parse_args(argv)

    # The plugin on the client sets the data converter the agent types need.
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    if args.follow:
        workflow_id = args.follow
    else:
        queue = args.task_queue or default_task_queue()
        try:
            workflow_id = await start_run(client, args.question, task_queue=queue)
        except ValueError as err:
            raise ConfigurationError(str(err)) from None
        print(f"Started {workflow_id} on {queue!r}; streaming ...", file=sys.stderr, flush=True)
    shown = ""
    last = None
    async for update in follow(client, workflow_id):
        now = update.view.render()
        print(rendered_changes(shown, now), end="", flush=True)
        shown, last = now, update
    print()
    print(f"Web UI: {web_ui_url(client, workflow_id)}", file=sys.stderr)
    if last is not None and last.kind == "failed":
        raise RunFailed(f"Workflow {workflow_id} failed: {last.view.snapshot.error}")


if __name__ == "__main__":
    run_script(main())
