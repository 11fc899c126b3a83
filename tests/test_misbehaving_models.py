"""Whatever the model does, every recipe's run ends: each of the model double's misbehaviours (cued per
request with ``#misbehave:``), met through the real-model wire path (``openai-compatible``), either
completes (an answer that is wrong but well formed) or fails the run with one sentence -- never leaves it
Running with a workflow task that fails and retries forever (the plugin's behaviour without ``AgentsPlugin``).

Each recipe's own worker process (``python -m recipes.<name>.worker``) runs its own agent workflow (in the
agent session, the agent runs in an update: that turn is what must end). A run that is stuck is caught at
its first failed workflow task, with the reason, not by waiting out a timeout.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError, WorkflowHandle, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.openai_agents import OpenAIAgentsPlugin

from recipes.core.worker import READY_TEXT
from tutorial.model_double import serving
from tutorial.model_double.misbehaviour import SERVER_ERROR_MESSAGE
from tutorial.processes import python_module

# slow: each run waits out a model server's 500s through the retry policy (15-30 s, mostly waiting), so
# these start first, beside the CPU-bound notebooks, rather than at the end of the suite.
pytestmark = [pytest.mark.integration, pytest.mark.slow]

KEY = f"sk-misbehave-{uuid.uuid4().hex[:8]}"
#: How long one run may take to end, on a busy machine: max_turns (10) model and tool steps of a few
#: hundred milliseconds each, or the first failed workflow task of a stuck run; or, for #misbehave:slow,
#: up to four model calls (a handoff, a tool call, a review) of 2 s + their tokens at 5 a second, each
#: under the hosted 60 s start-to-close.
RUN_BOUND_S = 240.0

Start = Callable[[Client, str, str], Awaitable[WorkflowHandle]]
#: What a run's agent ends with, given the started workflow and the question: by default the run's result.
Outcome = Callable[[WorkflowHandle, str], Awaitable[object]]


async def _weather(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.weather.workflows import WeatherAgentWorkflow

    return await client.start_workflow(WeatherAgentWorkflow.run, question, id=_id("weather"), task_queue=queue)


async def _dynamic_tools(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.dynamic_tools.workflows import DynamicToolsWorkflow, ToolAgentRequest

    return await client.start_workflow(DynamicToolsWorkflow.run, ToolAgentRequest(question), id=_id("dynamic"),
                                       task_queue=queue)  # fmt: skip


async def _durability(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.durability.workflows import BriefingRequest, StormBriefingWorkflow

    return await client.start_workflow(StormBriefingWorkflow.run, BriefingRequest(question), id=_id("durability"),
                                       task_queue=queue)  # fmt: skip


async def _chaining(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.chaining.starter import start_pattern

    return await start_pattern(client, "handoff", question, task_queue=queue)


async def _parallel_agents(client: Client, queue: str, question: str) -> WorkflowHandle:
    """One branch, as ChildWorkflowBriefing runs each: BranchAgentWorkflow. Its only input is a state code,
    which the branch prompt quotes (``Weather alerts for "TX"``), so the cue rides after the closing quote."""
    from recipes.parallel_agents.workflows import BranchAgentWorkflow

    code, cue = question.split(" ", 1)
    return await client.start_workflow(BranchAgentWorkflow.run, f'{code}" {cue}', id=_id("branch"), task_queue=queue)


async def _agent_session(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.agent_session.client import Session

    return (await Session.start(client, task_queue=queue)).handle


async def _session_turn(handle: WorkflowHandle, question: str) -> object:
    """The session's agent runs inside an update: the turn's outcome is the update's (the session goes on)."""
    from recipes.agent_session.workflows import ConversationSessionWorkflow, UserMessage

    try:
        return await handle.execute_update(ConversationSessionWorkflow.send_message, UserMessage(question))
    finally:
        await handle.signal(ConversationSessionWorkflow.end_session, "test over")


async def _streaming(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.streaming.workflows import start_run

    return client.get_workflow_handle(await start_run(client, question, task_queue=queue, workflow_id=_id("stream")))


async def _cost(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.cost.workflows import CostAgentWorkflow

    return await client.start_workflow(CostAgentWorkflow.run, question, id=_id("cost"), task_queue=queue)


async def _payloads(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.payloads.workflows import AlertHistoryWorkflow

    return await client.start_workflow(AlertHistoryWorkflow.run, question, id=_id("payloads"), task_queue=queue)


async def _shipping(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.shipping.workflows import ReviewedAgentV2

    handle = await client.start_workflow(ReviewedAgentV2.run, question, id=_id("shipping"), task_queue=queue)
    await handle.signal(ReviewedAgentV2.approve)
    return handle


async def _mcp(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.mcp.workflows import McpAgentWorkflow

    return await client.start_workflow(McpAgentWorkflow.run, question, id=_id("mcp"), task_queue=queue)


async def _coding_agent(client: Client, queue: str, question: str) -> WorkflowHandle:
    from recipes.coding_agent.project import CodingTask
    from recipes.coding_agent.starter import start_task

    return await start_task(client, CodingTask(question), task_queue=queue, workflow_id=_id("coding"))


def _id(recipe: str) -> str:
    return f"misbehave-{recipe}-{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True)
class Recipe:
    name: str
    queue_env: str
    start: Start
    question: str = "Any weather alerts in Texas?"
    env: dict[str, str] = field(default_factory=dict)
    worker_args: tuple[str, ...] = ()
    outcome: Outcome | None = None
    """How the agent's end is awaited when it is not the run's result (a session's turn is an update)."""
    expected: dict[str, tuple[str, str] | None] = field(default_factory=dict)
    """Where the recipe's end differs from EXPECTED, and why (see the entry)."""


RECIPES = [
    Recipe("weather", "WEATHER_TASK_QUEUE", _weather),
    Recipe("dynamic_tools", "DYNAMIC_TOOLS_TASK_QUEUE", _dynamic_tools, "What is the capital of Texas?"),
    Recipe("durability", "DURABILITY_TASK_QUEUE", _durability, env={"DURABILITY_TOOL_SECONDS": "0"}),
    Recipe("chaining", "CHAINING_TASK_QUEUE", _chaining, "Are there any weather alerts in Texas?"),
    # A branch's tool reports no error to the model (a bad call ends the branch, which the briefing records):
    # arguments that are not JSON end the run at once, with the tool's own words, instead of going back to the
    # model until max_turns.
    Recipe("parallel_agents", "PARALLEL_AGENTS_TASK_QUEUE", _parallel_agents, "TX",
           expected={"bad_json": ("AgentsWorkflowError", "Invalid JSON input for tool get_weather_alerts")}),
    Recipe("agent_session", "AGENT_SESSION_TASK_QUEUE", _agent_session, "Any weather alerts for Texas?",
           outcome=_session_turn),
    Recipe("streaming", "STREAMING_TASK_QUEUE", _streaming),
    Recipe("cost", "COST_TASK_QUEUE", _cost),
    Recipe("payloads", "PAYLOADS_TASK_QUEUE", _payloads, "What has the alert history of Texas been like?",
           env={"PAYLOAD_STORE": "off", "PAYLOAD_KEYRING": ""}),
    Recipe("shipping", "SHIPPING_TASK_QUEUE", _shipping, worker_args=("--code", "v2")),
    Recipe("mcp", "MCP_AGENT_TASK_QUEUE", _mcp),
    Recipe("coding_agent", "CODING_AGENT_TASK_QUEUE", _coding_agent,
           "test_pricing.py fails: `percent / 10` should be `percent / 100`. Fix the code and run the tests."),
]  # fmt: skip

#: behaviour -> how the run ends: failed with (the error's type, words of its one sentence), or completed
#: (None): a well-formed wrong answer -- a tool call written as text, no text at all -- is the model's own.
EXPECTED: dict[str, tuple[str, str] | None] = {
    "repeat_tool": ("MaxTurnsExceeded", "exceeded: the model kept calling"),
    "invented_tool": ("ModelBehaviorError", "The model called a tool that does not exist: get_stock_price"),
    # Arguments that are not JSON go back to the model as a tool error; it calls again, and again.
    "bad_json": ("MaxTurnsExceeded", "exceeded: the model kept calling"),
    # HTTP 500 on every attempt: Temporal retries the model call until its retry policy gives up.
    "server_error": ("ModelCallFailed", "The model call failed and Temporal stopped retrying it"),
    "text_tool_call": None,
    "empty_answer": None,
    # One tool call, then the answer, at 5 tokens a second: slow, alive, within the hosted timeouts.
    "slow": None,
}


def worker_env(server, double, weather, extra: dict[str, str], **more: str) -> dict[str, str]:
    """A recipe worker's environment: this Temporal server, the double on Chat Completions, the NWS stand-in."""
    return {"TEMPORAL_ADDRESS": server.address, "AGENT_MODEL_BACKEND": "openai-compatible",
            "OPENAI_BASE_URL": double.url, "OPENAI_API_KEY": KEY, "OPENAI_DEFAULT_MODEL": "double-1",
            "AGENT_MODEL_LEDGER": "off", "NWS_API_URL": weather.url, **extra, **more}  # fmt: skip


@pytest.fixture(scope="module")
def double():
    with serving(api_key=KEY) as server:
        yield server


async def _stuck(handle: WorkflowHandle) -> str | None:
    """The failure of the run's first failed workflow task, if one failed: such a run never ends."""
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            return event.workflow_task_failed_event_attributes.failure.message
    return None


async def unless_stuck(awaitable: Awaitable, handle: WorkflowHandle):
    """``awaitable``'s outcome, unless the run gets stuck (a failed workflow task: the test fails at once,
    with the reason) or takes over ``RUN_BOUND_S``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + RUN_BOUND_S
    task = asyncio.ensure_future(awaitable)
    try:
        while not task.done():
            if (reason := await _stuck(handle)) is not None:
                pytest.fail(f"{handle.id}: a workflow task failed and will retry forever, the run stays Running: {reason}")
            if loop.time() > deadline:
                pytest.fail(f"{handle.id}: still running after {RUN_BOUND_S:g} s")
            await asyncio.wait([task], timeout=0.5)
        return task.result()
    finally:
        task.cancel()


async def ends_with(handle: WorkflowHandle, outcome: Awaitable[object] | None = None) -> BaseException | object:
    """What the run (or ``outcome``, a turn of it) ended with: its result, or its failure's cause."""
    try:
        return await unless_stuck(handle.result() if outcome is None else outcome, handle)
    except (WorkflowFailureError, WorkflowUpdateFailedError) as err:
        return err.cause


@pytest.mark.parametrize("recipe", RECIPES, ids=lambda r: r.name)
def test_a_misbehaving_model_ends_the_run_with_one_sentence(recipe, temporal_server, weather, double, tmp_path,
                                                            record_property):  # fmt: skip
    queue = f"misbehave-{recipe.name}-{uuid.uuid4().hex[:6]}"
    expected_outcomes = {**EXPECTED, **recipe.expected}
    env = worker_env(temporal_server, double, weather, {recipe.queue_env: queue, **recipe.env},
                     DURABILITY_OUTBOX=str(tmp_path / "outbox.sqlite"), MICROAGENTS_OUTBOX=str(tmp_path / "outbox.jsonl"))
    worker = python_module(f"misbehave-{recipe.name}", f"recipes.{recipe.name}.worker", *recipe.worker_args, env=env,
                           ready_text=READY_TEXT, log_path=tmp_path / "worker.log")  # fmt: skip

    async def scenario() -> dict[str, BaseException | str]:
        client = await Client.connect(temporal_server.address, plugins=[OpenAIAgentsPlugin()])
        questions = {b: f"{recipe.question} #misbehave:{b}" for b in EXPECTED}
        handles = {b: await recipe.start(client, queue, question) for b, question in questions.items()}
        # A turn of a session starts now too, so the behaviours run side by side as the other recipes' runs do.
        turns = {b: asyncio.ensure_future(recipe.outcome(handle, questions[b])) for b, handle in handles.items()
                 } if recipe.outcome else {}  # fmt: skip
        return {b: await ends_with(handle, turns.get(b)) for b, handle in handles.items()}

    worker.start(timeout=60)
    try:
        outcomes = asyncio.run(scenario())
    finally:
        worker.stop()
    record_property("figures", f"misbehaving model, {recipe.name}: " + "; ".join(
        f"{b} -> " + (f"failed {o.type}: {o.message[:70]}" if isinstance(o, ApplicationError) else
                      f"failed {o!r:.70}" if isinstance(o, BaseException) else f"completed {str(o)[:40]!r}")
        for b, o in outcomes.items()))  # fmt: skip
    for behaviour, expected in expected_outcomes.items():
        outcome = outcomes[behaviour]
        if expected is None:
            assert not isinstance(outcome, BaseException), (
                f"{recipe.name}, #misbehave:{behaviour}: the run should complete with the model's answer; it ended with {outcome!r}")
            continue
        error_type, words = expected
        assert isinstance(outcome, ApplicationError), (
            f"{recipe.name}, #misbehave:{behaviour}: the run should fail with one sentence, and ended with {outcome!r}")
        # AgentsWorkflowError is the Temporal plugin's own (a Temporal failure caused the SDK's error): it fails the
        # run, which nothing retries (no workflow retry policy), without marking itself non-retryable.
        ends = outcome.non_retryable or outcome.type == "AgentsWorkflowError"
        assert outcome.type == error_type and words in outcome.message and ends, (
            f"{recipe.name}, #misbehave:{behaviour}: expected a {error_type} saying '{words}…', got "
            f"{outcome.type}: {outcome.message}")
        assert "\n" not in outcome.message, outcome.message
    assert SERVER_ERROR_MESSAGE[:40] in outcomes["server_error"].message, "the server's own words reach the sentence"


def test_in_a_session_the_turn_fails_with_one_sentence_and_the_session_goes_on(temporal_server, weather, double, tmp_path):
    """An agent run inside an update handler: that update fails with the sentence; the session keeps running."""
    from recipes.agent_session.client import MessageRejected, Session

    queue = f"misbehave-session-{uuid.uuid4().hex[:6]}"
    env = worker_env(temporal_server, double, weather, {"AGENT_SESSION_TASK_QUEUE": queue},
                     MICROAGENTS_OUTBOX=str(tmp_path / "outbox.jsonl"))
    worker = python_module("misbehave-session", "recipes.agent_session.worker", env=env, ready_text=READY_TEXT,
                           log_path=tmp_path / "worker.log")  # fmt: skip

    async def scenario():
        client = await Client.connect(temporal_server.address, plugins=[OpenAIAgentsPlugin()])
        session = await Session.start(client, task_queue=queue)
        with pytest.raises(MessageRejected) as refused:
            await unless_stuck(session.send("Any weather alerts for Texas? #misbehave:repeat_tool"), session.handle)
        reply = await unless_stuck(session.send("Any weather alerts for California?"), session.handle)
        await session.end("test over")
        await session.result()
        return str(refused.value), reply, await _stuck(session.handle)

    worker.start(timeout=60)
    try:
        refused, reply, stuck = asyncio.run(scenario())
    finally:
        worker.stop()
    assert "max_turns (" in refused and "exceeded: the model kept calling" in refused, refused
    assert stuck is None, f"a workflow task failed in the session: {stuck}"
    assert reply.text, f"the session's next turn got no answer: {reply}"
