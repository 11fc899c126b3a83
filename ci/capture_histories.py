"""Capture the event histories that ``tests/test_replay.py`` replays against the current code.

    .venv/bin/python ci/capture_histories.py                 # every recipe
    .venv/bin/python ci/capture_histories.py weather streaming   # only these recipes' files

Each recipe's workflows run for real: its worker as a subprocess (``python -m
recipes.<recipe>.worker``, as in a terminal), the offline model, the local NWS
stand-in, the Temporal server at ``TEMPORAL_ADDRESS`` (a local dev server is started
if none answers, and stopped again). Every completed history is written to
``tests/histories/<recipe>/<WorkflowType>-<scenario>.json``: the history as
``WorkflowHistory.to_json_dict()`` gives it (``events``), plus ``workflow_id``,
``workflow_type`` and ``recipe`` -- replay needs the workflow id, which the bare
history does not carry.

When to run it
--------------
* After you add a recipe, a workflow or a scenario below.
* After an *intended* change to a workflow that you made safe for the runs that are
  open when you deploy it -- a ``workflow.patched(...)`` branch, or a new workflow
  type -- so the stored runs show the new shape. Keep the old file next to it
  (rename it, e.g. ``...-v1.json``) for as long as runs of the old shape may be
  open: the script rewrites only the files of its own scenarios and leaves every
  other file alone.

Not to make a failing replay test pass: a replay that fails means a run that is
open when the change is deployed fails the same way (see README.md, "Changing an
agent while runs are in flight").

The files hold no key and no absolute path: the offline model needs no key, and
the repository's and the virtualenv's paths are cut out of stack traces.
``tests/test_replay.py`` checks both.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from uuid import uuid4

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from temporalio.client import Client, WorkflowHandle, WorkflowHistory  # noqa: E402
from temporalio.openai_agents import OpenAIAgentsPlugin  # noqa: E402

from recipes.core.worker import READY_TEXT  # noqa: E402
from tutorial.nws_service import WeatherService  # noqa: E402
from tutorial.processes import python_module  # noqa: E402
from tutorial.temporal_server import ensure_server  # noqa: E402

HISTORIES = REPO_ROOT / "tests" / "histories"
REGENERATE = ".venv/bin/python ci/capture_histories.py"
SCENARIO_TIMEOUT_S = 90.0

#: (file stem, handle) pairs a scenario leaves behind, each a run that has completed.
Runs = list[tuple[str, WorkflowHandle]]


@dataclass
class Recipe:
    name: str
    queue_env: str
    scenarios: Callable[[Client, str], Awaitable[Runs]]
    env: dict[str, str] = field(default_factory=dict)
    agents: bool = True
    """Whether the worker (and so the client) carries ``OpenAIAgentsPlugin``."""
    worker_args: list[str] = field(default_factory=list)


def _id(stem: str) -> str:
    return f"capture-{stem.lower().replace('_', '-')}-{uuid4().hex[:6]}"


# --------------------------------------------------------------------------- scenarios
async def hello_temporal(client: Client, queue: str) -> Runs:
    from recipes.hello_temporal.activities import GreetingRequest
    from recipes.hello_temporal.workflows import HelloWorkflow

    # Two failed attempts, then success: retries leave one scheduled/started/completed triple.
    handle = await client.start_workflow(HelloWorkflow.run, GreetingRequest("Ada", failures=2),
                                         id=_id("hello"), task_queue=queue)  # fmt: skip
    await handle.result()
    return [("HelloWorkflow-retried", handle)]


async def weather(client: Client, queue: str) -> Runs:
    from recipes.weather.workflows import WeatherAgentWorkflow

    runs: Runs = []
    for scenario, question in [
        ("alerts_ca", "Any weather alerts in California?"),  # model -> tool -> model
        ("severity", "What does the severity level Severe mean?"),  # a workflow tool: no activity
        ("bad_state", "Any weather alerts for state code 'ZZ'?"),  # the tool fails, the model is told
    ]:
        handle = await client.start_workflow(WeatherAgentWorkflow.run, question, id=_id(scenario), task_queue=queue)
        await handle.result()
        runs.append((f"WeatherAgentWorkflow-{scenario}", handle))
    return runs


async def mcp(client: Client, queue: str) -> Runs:
    from recipes.mcp.workflows import McpAgentWorkflow

    runs: Runs = []
    for scenario, question in [
        ("alerts_ca", "Any weather alerts in California?"),  # list-tools -> model -> call-tool -> model
        ("bad_state", "Any weather alerts for state code 'ZZ'?"),  # the server's tool error, read by the model
    ]:
        handle = await client.start_workflow(McpAgentWorkflow.run, question, id=_id(scenario), task_queue=queue)
        await handle.result()
        runs.append((f"McpAgentWorkflow-{scenario}", handle))
    return runs


async def dynamic_tools(client: Client, queue: str) -> Runs:
    from recipes.dynamic_tools.registry import ToolRegistry
    from recipes.dynamic_tools.specs import ToolSpec
    from recipes.dynamic_tools.tools import BUILTIN_TOOLS
    from recipes.dynamic_tools.workflows import DynamicToolsWorkflow, ToolAgentRequest

    book_flight = ToolSpec("book_flight", "Book a flight to a destination city.", {
        "type": "object", "properties": {"destination": {"type": "string", "description": "Destination city"}},
        "required": ["destination"], "additionalProperties": False})  # fmt: skip
    runs: Runs = []
    for scenario, request in [
        # list_tools (the worker has extra_tools), then the dynamic activity serves get_state_capital
        ("capital_tx", ToolAgentRequest("What is the capital of Texas?")),
        # specs from the input, one the worker does not have: a tool error, not a stuck run
        ("unknown_tool", ToolAgentRequest("Book a flight to Denver", tools=[*ToolRegistry(BUILTIN_TOOLS).specs(), book_flight])),
    ]:
        handle = await client.start_workflow(DynamicToolsWorkflow.run, request, id=_id(scenario), task_queue=queue)
        await handle.result()
        runs.append((f"DynamicToolsWorkflow-{scenario}", handle))
    return runs


async def durability(client: Client, queue: str) -> Runs:
    from recipes.durability.starter import briefing_question
    from recipes.durability.workflows import BriefingRequest, StormBriefingWorkflow, WeatherAlertsWorkflow

    runs: Runs = []
    for scenario, request in [
        ("two_states", BriefingRequest(briefing_question(["California", "Texas"]))),  # model, tool, model, tool, model
        ("notify", BriefingRequest(briefing_question("Texas"), notify=True)),  # ... then send_alert_notification
    ]:
        handle = await client.start_workflow(StormBriefingWorkflow.run, request, id=_id(scenario), task_queue=queue)
        await handle.result()
        runs.append((f"StormBriefingWorkflow-{scenario}", handle))
    handle = await client.start_workflow(WeatherAlertsWorkflow.run, "Any weather alerts in Texas?",
                                         id=_id("texas"), task_queue=queue)  # fmt: skip
    await handle.result()
    return [*runs, ("WeatherAlertsWorkflow-texas", handle)]


CA_NOTICE = 'Broadcast a public notice for CA: "Flooding on Highway 1"'
TX_NOTICE = 'Broadcast a public notice for TX: "All clear on the interstate"'


async def chaining(client: Client, queue: str) -> Runs:
    from recipes.chaining.starter import start_pattern

    runs: Runs = []
    for pattern, scenario, question in [
        ("chain", "ChainedAgentsWorkflow-alerts_tx", "Are there any weather alerts in Texas?"),
        ("handoff", "HandoffWorkflow-forecast_fl", "Will it rain in Florida tomorrow? What is the forecast?"),
        ("agents-as-tools", "AgentsAsToolsWorkflow-alerts_and_forecast_ca", "Weather alerts and forecast for California"),
    ]:
        handle = await start_pattern(client, pattern, question, task_queue=queue)
        await handle.result()
        runs.append((scenario, handle))
    return runs


async def parallel_agents(client: Client, queue: str) -> Runs:
    from recipes.parallel_agents.starter import start_briefing

    runs: Runs = []
    for mode, scenario, states in [
        ("parallel", "FanOutBriefingWorkflow-parallel_ca_tx", ["CA", "TX"]),
        ("sequential", "FanOutBriefingWorkflow-sequential_ca_tx", ["CA", "TX"]),
        ("children", "ChildWorkflowBriefing-ca_zz", ["CA", "ZZ"]),  # ZZ: a branch that fails
    ]:
        handle = await start_briefing(client, states, mode=mode, task_queue=queue)
        await handle.result()
        runs.append((scenario, handle))
        if mode == "children":
            for state in states:
                child = client.get_workflow_handle(f"{handle.id}-{state}")
                runs.append((f"BranchAgentWorkflow-child_{state.lower()}", child))
    return runs


async def agent_session(client: Client, queue: str) -> Runs:
    from recipes.agent_session.client import Session
    from recipes.agent_session.workflows import SessionConfig

    runs: Runs = []
    # Updates (messages, approval decisions), queries, the end signal; one approved, one rejected.
    session = await Session.start(client, task_queue=queue)
    waiting = await session.send(CA_NOTICE)
    await session.pending()
    await session.approve(waiting.pending_approvals[0].request_id)
    second = await session.send(TX_NOTICE)
    await session.reject(second.pending_approvals[0].request_id, "not verified")
    await session.end("capture over")
    await session.result()
    runs.append(("ConversationSessionWorkflow-approvals", session.handle))

    # A durable timer: the recheck tool schedules a check, the timer fires, the check agent runs.
    session = await Session.start(client, config=SessionConfig(recheck_unit_seconds=0.5), task_queue=queue)
    await session.send("Check the alerts for Texas again in 1 hours")
    for _ in range(200):
        if any(turn.via == "timer" for turn in await session.conversation()):
            break
        await asyncio.sleep(0.1)
    else:
        raise RuntimeError(f"session {session.id}: the recheck timer did not fire within 20 s")
    await session.end("capture over")
    await session.result()
    runs.append(("ConversationSessionWorkflow-recheck_timer", session.handle))

    # Continue-as-new after every turn: one session, three runs (the last only ends), three histories.
    session = await Session.start(client, config=SessionConfig(max_turns_per_run=1), task_queue=queue)
    await session.send("Any weather alerts for California?")
    await session.send("And the forecast for Texas?")
    await session.end("capture over")
    await session.result()
    run_id: str | None = session.handle.result_run_id
    number = 0
    while run_id:  # follow the chain: each run's last event names the next run
        number += 1
        handle = client.get_workflow_handle(session.id, run_id=run_id)
        runs.append((f"ConversationSessionWorkflow-continue_as_new_run{number}", handle))
        last = (await handle.fetch_history()).events[-1]
        run_id = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id or None
    return runs


async def streaming(client: Client, queue: str) -> Runs:
    from recipes.streaming.subscriber import follow
    from recipes.streaming.workflows import start_run

    workflow_id = await start_run(client, "Any weather alerts in California?", task_queue=queue, workflow_id=_id("stream"))
    async for _ in follow(client, workflow_id):  # a subscriber: its polls are Updates in the history
        pass
    handle = client.get_workflow_handle(workflow_id)
    await handle.result()
    return [("StreamingWeatherWorkflow-alerts_ca", handle)]


async def cost(client: Client, queue: str) -> Runs:
    from recipes.cost.workflows import FLOOR_KINDS, CostAgentWorkflow, FloorWorkflow

    agent = await client.start_workflow(CostAgentWorkflow.run, "Any weather alerts in California?", id=_id("cost-agent"),
                                        task_queue=queue)  # fmt: skip
    runs: Runs = [("CostAgentWorkflow-alerts_ca", agent)]
    for kind in FLOOR_KINDS:
        runs.append((f"FloorWorkflow-{kind}", await client.start_workflow(FloorWorkflow.run, args=[kind, 3],
                                                                           id=_id(f"cost-floor-{kind}"), task_queue=queue)))  # fmt: skip
    for _, handle in runs:
        await handle.result()
    return runs


async def payloads(client: Client, queue: str) -> Runs:
    from recipes.payloads.workflows import AlertHistoryWorkflow

    # With payloads inline (the worker's PAYLOAD_STORE=off): the ~3 MB alert history is refused and the
    # model is told. By reference the commands are the same (model -> activity -> model), but replaying
    # that history would need its blob, which is not stored with the tests.
    runs: Runs = []
    for scenario, question in [("too_large_ca", "What has the alert history of California been like?"),
                               ("bad_state", "What has the alert history of state code 'ZZ' been like?")]:  # fmt: skip
        handle = await client.start_workflow(AlertHistoryWorkflow.run, question, id=_id(scenario), task_queue=queue)
        await handle.result()
        runs.append((f"AlertHistoryWorkflow-{scenario}", handle))
    return runs


async def shipping(client: Client, queue: str) -> Runs:
    from recipes.shipping.workflows import ReviewedAgentV1

    # Version 1's runs (the worker runs --code v1): what version 2 must still replay.
    runs: Runs = []
    for scenario, question in [("approved_tx", "Any weather alerts in Texas?"),
                               ("approved_severity", "What does the severity level Extreme mean?")]:  # fmt: skip
        handle = await client.start_workflow(ReviewedAgentV1.run, question, id=_id(scenario), task_queue=queue)
        await handle.signal(ReviewedAgentV1.approve)
        await handle.result()
        runs.append((f"ReviewedAgentWorkflow-v1-{scenario}", handle))
    return runs


async def coding_agent(client: Client, queue: str) -> Runs:
    from recipes.coding_agent.project import CodingTask
    from recipes.coding_agent.starter import start_task

    # read the test -> search -> read the code -> patch -> run the tests -> answer; every sandbox operation an activity
    handle = await start_task(client, CodingTask(), task_queue=queue, workflow_id=_id("coding"))
    await handle.result()
    return [("CodingAgentWorkflow-fix_pricing", handle)]


RECIPES = [
    Recipe("hello_temporal", "HELLO_TASK_QUEUE", hello_temporal, agents=False),
    Recipe("weather", "WEATHER_TASK_QUEUE", weather),
    Recipe("dynamic_tools", "DYNAMIC_TOOLS_TASK_QUEUE", dynamic_tools,
           env={"DYNAMIC_TOOL_MODULES": "recipes.dynamic_tools.extra_tools"}),
    Recipe("durability", "DURABILITY_TASK_QUEUE", durability, env={"DURABILITY_TOOL_SECONDS": "0"}),
    Recipe("chaining", "CHAINING_TASK_QUEUE", chaining),
    Recipe("parallel_agents", "PARALLEL_AGENTS_TASK_QUEUE", parallel_agents),
    Recipe("agent_session", "AGENT_SESSION_TASK_QUEUE", agent_session),
    Recipe("streaming", "STREAMING_TASK_QUEUE", streaming, env={"OFFLINE_MODEL_STREAM_PACE": "0"}),
    Recipe("cost", "COST_TASK_QUEUE", cost),
    Recipe("payloads", "PAYLOADS_TASK_QUEUE", payloads, env={"PAYLOAD_STORE": "off", "PAYLOAD_KEYRING": ""}),
    Recipe("shipping", "SHIPPING_TASK_QUEUE", shipping, worker_args=["--code", "v1"]),
    Recipe("mcp", "MCP_AGENT_TASK_QUEUE", mcp),
    Recipe("coding_agent", "CODING_AGENT_TASK_QUEUE", coding_agent),
]  # fmt: skip


# --------------------------------------------------------------------------- writing
def scrub(data: object, cut: list[str]) -> object:
    """``data`` with every string's local path prefixes cut (stack traces name source files)."""
    if isinstance(data, dict):
        return {key: scrub(value, cut) for key, value in data.items()}
    if isinstance(data, list):
        return [scrub(value, cut) for value in data]
    if isinstance(data, str):
        for prefix in cut:
            data = data.replace(prefix, "")
    return data


def local_prefixes() -> list[str]:
    """Longest first: the virtualenv's site-packages, then the repository."""
    import temporalio

    site = str(Path(temporalio.__file__).resolve().parents[1]) + os.sep
    return sorted({site, str(REPO_ROOT) + os.sep}, key=len, reverse=True)


def history_document(history: WorkflowHistory, recipe: str) -> dict:
    start = history.events[0].workflow_execution_started_event_attributes
    return {
        "workflow_id": history.workflow_id,
        "workflow_type": start.workflow_type.name,
        "recipe": recipe,
        "regenerate": REGENERATE,
        **scrub(history.to_json_dict(), local_prefixes()),
    }


def write_history(path: Path, history: WorkflowHistory, recipe: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(history_document(history, recipe), indent=1, sort_keys=False) + "\n"
    path.write_text(text)


async def capture(recipe: Recipe, address: str, weather_url: str, tmp: Path) -> list[Path]:
    queue = f"capture-{recipe.name.replace('_', '-')}-{uuid4().hex[:6]}"
    env = {
        "TEMPORAL_ADDRESS": address,
        "AGENT_MODEL_BACKEND": "offline",
        "AGENT_MODEL_LEDGER": "off",
        "NWS_API_URL": weather_url,
        "MICROAGENTS_OUTBOX": str(tmp / "microagents-outbox.jsonl"),
        "DURABILITY_OUTBOX": str(tmp / "durability-outbox.sqlite"),
        recipe.queue_env: queue,
        **recipe.env,
    }
    worker = python_module(f"capture-{recipe.name}-worker", f"recipes.{recipe.name}.worker", *recipe.worker_args, env=env,
                           ready_text=READY_TEXT, log_path=tmp / f"{recipe.name}-worker.log")  # fmt: skip
    worker.start(timeout=60)
    try:
        client = await Client.connect(address, plugins=[OpenAIAgentsPlugin()] if recipe.agents else [])
        runs = await asyncio.wait_for(recipe.scenarios(client, queue), timeout=SCENARIO_TIMEOUT_S)
        written = []
        for stem, handle in runs:
            path = HISTORIES / recipe.name / f"{stem}.json"
            write_history(path, await handle.fetch_history(), recipe.name)
            written.append(path)
        return written
    except BaseException:
        print(f"{recipe.name}: the worker's last log lines:\n{worker.log_tail(15)}", file=sys.stderr)
        raise
    finally:
        worker.stop()


async def main(argv: list[str] | None = None) -> int:
    names = [r.name for r in RECIPES]
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("recipes", nargs="*", metavar="recipe", help=f"default: all of {', '.join(names)}")
    args = parser.parse_args(argv)
    unknown = [n for n in args.recipes if n not in names]
    if unknown:
        parser.error(f"unknown recipe {', '.join(unknown)}; choose from {', '.join(names)}")
    chosen = [r for r in RECIPES if not args.recipes or r.name in args.recipes]

    server = ensure_server()
    weather_service = WeatherService.start(port=0)
    started = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="capture-histories-") as tmp:
            for recipe in chosen:
                t0 = time.monotonic()
                paths = await capture(recipe, server.address, weather_service.url, Path(tmp))
                for path in paths:
                    events = len(json.loads(path.read_text())["events"])
                    print(f"  {path.relative_to(REPO_ROOT)}: {events} events, {path.stat().st_size / 1024:.1f} KiB")
                print(f"{recipe.name}: {len(paths)} histories in {time.monotonic() - t0:.1f} s", flush=True)
                kept = sorted(set((HISTORIES / recipe.name).glob("*.json")) - set(paths))
                for path in kept:
                    print(f"  kept (not a scenario of this script): {path.relative_to(REPO_ROOT)}")
    finally:
        weather_service.stop()
        if server.started_here:
            server.stop()
    print(f"Captured in {time.monotonic() - started:.1f} s. Replay them: .venv/bin/python -m pytest tests/test_replay.py")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
