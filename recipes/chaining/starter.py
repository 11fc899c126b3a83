"""Ask one question through one of the three patterns (a worker must be running:
``python -m recipes.chaining.worker``).

    python -m recipes.chaining.starter chain "Are there any weather alerts in Texas?"
    python -m recipes.chaining.starter handoff "Will it rain in Florida tomorrow? Forecast please."
    python -m recipes.chaining.starter agents-as-tools "Weather alerts and forecast for California"

From code: ``handle = await start_pattern(client, "handoff", question)``, then
``await handle.result()`` is a ``DeskAnswer``.
"""

from __future__ import annotations

import argparse
import sys
from uuid import uuid4

from temporalio.client import Client, WorkflowHandle
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.chaining.workflows import AgentsAsToolsWorkflow, ChainedAgentsWorkflow, HandoffWorkflow, default_task_queue
from recipes.core.errors import TutorialError
from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import connect, web_ui_url

__all__ = ["PATTERNS", "start_pattern"]

PATTERNS = {
    "chain": ChainedAgentsWorkflow,
    "handoff": HandoffWorkflow,
    "agents-as-tools": AgentsAsToolsWorkflow,
}


async def start_pattern(client: Client, pattern: str, question: str, *, task_queue: str | None = None) -> WorkflowHandle:
    """Start one of the three patterns on ``question``."""
    if pattern not in PATTERNS:
        raise TutorialError(f"Unknown pattern {pattern!r}; choose one of {', '.join(PATTERNS)}.")
    return await client.start_workflow(
        PATTERNS[pattern].run, question, id=f"chaining-{pattern}-{uuid4().hex[:8]}",
        task_queue=task_queue or default_task_queue(),
    )


async def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("pattern", choices=sorted(PATTERNS))
    parser.add_argument("question")
    args = add_verbose_flag(parser).parse_args(argv)
    require_text("question", args.question, "Are there any weather alerts in Texas?")  # before anything starts
    client = await connect(plugins=[OpenAIAgentsPlugin()])
    handle = await start_pattern(client, args.pattern, args.question.strip())
    answer = await wait_for_result(handle, ui_url=web_ui_url(client, handle.id))
    print(f"[{answer.pattern}] answered by {answer.answered_by} (runs: {', '.join(answer.agent_runs)})")
    print(answer.answer)
    print("Web UI:", web_ui_url(client, handle.id))
    return 0


if __name__ == "__main__":
    sys.exit(run_script(main()))
