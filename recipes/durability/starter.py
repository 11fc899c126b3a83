"""Start the durability recipe's workflows (and, from a terminal, wait for them).

    python -m recipes.durability.starter briefing California Texas Florida
    python -m recipes.durability.starter briefing Texas --notify
    python -m recipes.durability.starter weather "Any weather alerts in Kansas?"

Needs ``python -m recipes.durability.worker`` running (a second terminal). Kill
that worker with Ctrl-\\ or ``kill -9`` while a briefing runs, start it again,
and the starter still prints the answer; it also waits out a Temporal server
restart of up to 30 s. A failed run prints its root cause; ``-v`` prints tracebacks.
"""

from __future__ import annotations

import argparse
import os
from datetime import timedelta
from uuid import uuid4

from temporalio.client import Client, WorkflowHandle
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.errors import ConfigurationError
from recipes.core.scripts import add_verbose_flag, require_text, run_script, wait_for_result
from recipes.core.settings import HasConnectConfig, connect, web_ui_url
from recipes.durability.workflows import (
    TASK_QUEUE,
    BriefingRequest,
    StormBriefingWorkflow,
    WeatherAlertsWorkflow,
)

#: How long the server waits for a worker to finish a *workflow* task before
#: giving it to another worker. The default is 10 s; a workflow task of these
#: agents takes milliseconds, so 5 s still leaves a wide margin and halves the
#: wait when a worker dies holding one.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=5)


def briefing_question(states: list[str] | tuple[str, ...] | str) -> str:
    """The request the storm agent gets, e.g. for ["California", "Texas"]."""
    if isinstance(states, str):
        states = [states]
    states = [s.strip() for s in states if s.strip()]
    if not states:
        raise ConfigurationError("Name at least one US state for the briefing, e.g. California Texas.")
    listed = states[0] if len(states) == 1 else ", ".join(states[:-1]) + " and " + states[-1]
    return f"Storm briefing: get the storm reports for {listed}."


async def agent_client(where: str | HasConnectConfig | None = None) -> Client:
    """A client that can start agent workflows (the plugin brings the data converter); ``where`` as for
    :func:`~recipes.core.settings.connect`."""
    return await connect(where, plugins=[OpenAIAgentsPlugin()])


async def start_briefing(
    client: Client,
    states: list[str] | tuple[str, ...] | str,
    *,
    notify: bool = False,
    task_queue: str = TASK_QUEUE,
    workflow_id: str | None = None,
) -> WorkflowHandle:
    """Start a StormBriefingWorkflow; returns its handle without waiting."""
    return await client.start_workflow(
        StormBriefingWorkflow.run,
        BriefingRequest(briefing_question(states), notify=notify),
        id=workflow_id or f"storm-briefing-{uuid4().hex[:8]}",
        task_queue=task_queue,
        task_timeout=WORKFLOW_TASK_TIMEOUT,
    )


async def start_weather_question(
    client: Client,
    question: str,
    *,
    task_queue: str = TASK_QUEUE,
    workflow_id: str | None = None,
) -> WorkflowHandle:
    """Start a WeatherAlertsWorkflow (the agent with the HTTP weather tool)."""
    return await client.start_workflow(
        WeatherAlertsWorkflow.run,
        require_text("question", question, "Any weather alerts in Kansas?"),
        id=workflow_id or f"weather-alerts-{uuid4().hex[:8]}",
        task_queue=task_queue,
        task_timeout=WORKFLOW_TASK_TIMEOUT,
    )


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    brief = sub.add_parser("briefing", help="storm briefing over several states (several model calls)")
    brief.add_argument("states", nargs="+", help='US states, e.g. California Texas "New York"')
    brief.add_argument("--notify", action="store_true", help="send the briefing as a notification (outbox)")
    weather = sub.add_parser("weather", help="one question to the weather agent (HTTP tool)")
    weather.add_argument("question")
    parser.add_argument("--task-queue", default=os.environ.get("DURABILITY_TASK_QUEUE") or TASK_QUEUE)
    args = add_verbose_flag(parser).parse_args(argv)
    # Bad input is one sentence before anything is started.
    if args.command == "briefing":
        briefing_question(args.states)
    else:
        require_text("question", args.question, "Any weather alerts in Kansas?")

    client = await agent_client()
    if args.command == "briefing":
        handle = await start_briefing(client, args.states, notify=args.notify, task_queue=args.task_queue)
    else:
        handle = await start_weather_question(client, args.question, task_queue=args.task_queue)
    ui_url = web_ui_url(client, handle.id, handle.result_run_id)
    print(f"Started {handle.id} on {args.task_queue!r}", flush=True)
    print(f"Web UI: {ui_url}", flush=True)
    result = await wait_for_result(handle, ui_url=ui_url)
    if hasattr(result, "answer"):
        print(result.answer)
        if result.notification:
            print(f"Notification: {result.notification}")
    else:
        print(result)


if __name__ == "__main__":
    run_script(main())
