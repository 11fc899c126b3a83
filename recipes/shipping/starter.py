"""Ask the reviewed agent a question, approve it, print the answer.

    python -m recipes.shipping.starter "Any weather alerts in California?"            # start, approve, wait
    python -m recipes.shipping.starter "Any weather alerts in Texas?" --no-approve    # start; it waits
    python -m recipes.shipping.starter --approve reviewed-1a2b3c4d                    # approve a waiting run

Needs a worker (``python -m recipes.shipping.worker --code v1``, or ``v2``) on ``$SHIPPING_TASK_QUEUE``.
"""

from __future__ import annotations

import argparse
from uuid import uuid4

from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url
from recipes.shipping.workflows import TASK_QUEUE_ENV, ReviewedAgentV1, default_task_queue

EXAMPLE = "Any weather alerts in California?"


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("question", nargs="?", default=EXAMPLE)
    parser.add_argument("--no-approve", action="store_true", help="start it and leave it waiting for approval")
    parser.add_argument("--approve", metavar="WORKFLOW_ID", help="approve a run that is waiting, and wait for it")
    parser.add_argument("--task-queue", default=None, help=f"default: ${TASK_QUEUE_ENV} or {default_task_queue()!r}")
    args = add_verbose_flag(parser).parse_args(argv)
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    if args.approve:
        handle = client.get_workflow_handle_for(ReviewedAgentV1.run, args.approve)
    else:
        question = require_text("question", args.question, EXAMPLE)
        # Approved at once: the signal goes with the start (signal-with-start), so it arrives even if
        # the run ends first (version 2's screen can refuse it without asking anyone).
        handle = await client.start_workflow(ReviewedAgentV1.run, question, id=f"reviewed-{uuid4().hex[:8]}",
                                             task_queue=args.task_queue or default_task_queue(),
                                             start_signal=None if args.no_approve else "approve")  # fmt: skip
        if args.no_approve:
            print(f"Started {handle.id}; it waits for approval: python -m recipes.shipping.starter --approve {handle.id}")
            return
    if args.approve:
        await handle.signal(ReviewedAgentV1.approve)
    ui_url = web_ui_url(client, handle.id)
    result = await wait_for_result(handle, ui_url=ui_url)
    print(f"Refused by the screen: {result.refused}" if result.refused else result.answer)
    print(f"Screened: {result.screened}. Web UI: {ui_url}")


if __name__ == "__main__":
    run_script(main())
