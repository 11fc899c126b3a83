"""Start a multi-state briefing (a worker must be running: ``python -m recipes.parallel_agents.worker``).

    python -m recipes.parallel_agents.starter CA TX NY                     # parallel, in one workflow
    python -m recipes.parallel_agents.starter CA TX NY --mode sequential   # the same branches one by one
    python -m recipes.parallel_agents.starter CA ZZ --mode children        # a child workflow per branch; ZZ fails

From code: ``handle = await start_briefing(client, ["CA", "TX"], mode="parallel")``, then
``await handle.result()`` is a ``BriefingResult``.
"""

from __future__ import annotations

import argparse
import sys
from uuid import uuid4

from temporalio.client import Client, WorkflowHandle
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.errors import TutorialError
from recipes.core.scripts import add_verbose_flag, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url
from recipes.parallel_agents.workflows import BriefingRequest, ChildWorkflowBriefing, FanOutBriefingWorkflow, default_task_queue

__all__ = ["MODES", "start_briefing"]

MODES = ("parallel", "sequential", "children")


async def start_briefing(
    client: Client, states: list[str], *, mode: str = "parallel", task_queue: str | None = None
) -> WorkflowHandle:
    """Start the briefing: ``mode`` is ``parallel``, ``sequential`` or ``children``."""
    if mode not in MODES:
        raise TutorialError(f"Unknown mode {mode!r}; choose parallel, sequential or children.")
    if not states:
        raise TutorialError("Give at least one state for the briefing.")
    workflow = ChildWorkflowBriefing if mode == "children" else FanOutBriefingWorkflow
    return await client.start_workflow(
        workflow.run,
        BriefingRequest(list(states), "parallel" if mode == "children" else mode),
        id=f"briefing-{mode}-{uuid4().hex[:8]}",
        task_queue=task_queue or default_task_queue(),
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("states", nargs="+", help="two-letter US state codes, one branch agent each")
    parser.add_argument("--mode", default="parallel", choices=MODES)
    args = add_verbose_flag(parser).parse_args(argv)
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    handle = await start_briefing(client, args.states, mode=args.mode)
    result = await wait_for_result(handle, ui_url=web_ui_url(client, handle.id))
    for state, text in result.reports.items():
        print(f"{state}: {text}")
    for state, why in result.failures.items():
        print(f"{state}: FAILED - {why}")
    print("Missing (per the briefing writer):", result.missing_branches or "none")
    print("Summary:", result.summary)
    print("Web UI:", web_ui_url(client, handle.id))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main()))
