"""The agent-session recipe: updates, validators, queries, signals, approvals, timers, continue-as-new
(offline model, local NWS service, a real Temporal server, a worker in this process); and, with no
server, the session agent's tool choice and the notebook's approval panel."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.worker import Replayer

from recipes.agent_session import team
from recipes.agent_session.activities import OUTBOX_ENV, read_outbox
from recipes.agent_session.client import MessageRejected, NothingToShow, Session, SessionClosed
from recipes.agent_session.worker import build_worker
from recipes.agent_session.workflows import ApprovalRequest, ConversationSessionWorkflow, Reply, SessionConfig
from recipes.core.errors import ConfigurationError, TutorialError
from tutorial.approval_panel import ApprovalPanel, check_auto
from tutorial.history import activity_steps, event_rows, fetch_history
from tutorial.offline_model import OfflineModelProvider, decide
from tutorial.nws_service import WeatherService

CA_NOTICE = 'Broadcast a public notice for CA: "Flooding on Highway 1"'
TX_NOTICE = 'Broadcast a public notice for TX: "All clear on the interstate"'


@pytest.fixture(scope="module", autouse=True)
def environment(tmp_path_factory):
    svc = WeatherService.start(port=0)
    saved = {k: os.environ.get(k) for k in ("NWS_API_URL", OUTBOX_ENV)}
    os.environ["NWS_API_URL"] = svc.url
    os.environ[OUTBOX_ENV] = str(tmp_path_factory.mktemp("outbox") / "outbox.jsonl")
    try:
        yield svc
    finally:
        svc.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def plugin() -> OpenAIAgentsPlugin:
    return OpenAIAgentsPlugin(
        model_provider=OfflineModelProvider(),
        model_params=ModelActivityParameters(start_to_close_timeout=timedelta(seconds=30)),
    )


def with_session(address: str, scenario, config: SessionConfig | None = None):
    """Start a worker and a session; run ``scenario(session, client, queue)``."""

    async def main():
        client = await Client.connect(address, plugins=[plugin()])
        queue = f"test-session-{uuid.uuid4().hex[:8]}"
        async with build_worker(client, task_queue=queue):
            session = await Session.start(client, config=config or SessionConfig(), task_queue=queue)
            return await asyncio.wait_for(scenario(session, client, queue), timeout=60)

    return asyncio.run(main())


def test_updates_queries_validators_and_the_end_signal(temporal_server):
    async def scenario(session: Session, client, queue):
        out = {}
        with pytest.raises(NothingToShow, match="No reply yet"):
            await session.last_reply()
        reply = await session.send("Any weather alerts for California?")
        out["reply"] = reply
        out["last"] = await session.last_reply()
        before = await session.history_length()
        errors = []
        for bad in ("", "   ", "x" * 2001):
            with pytest.raises(MessageRejected) as info:
                await session.send(bad)
            errors.append(str(info.value))
        out["errors"] = errors
        out["unchanged"] = (before, await session.history_length())
        await session.end("test over")
        out["summary"] = await session.result()
        with pytest.raises(SessionClosed, match="has finished"):
            await session.send("hello again")
        with pytest.raises(SessionClosed):
            await session.end()
        out["conversation"] = await session.conversation()  # queries still work on a closed workflow
        out["status"] = (await session.handle.describe()).status
        return out

    out = with_session(temporal_server.address, scenario)
    assert out["reply"].agent == "Weather desk" and "3 active weather alerts for CA" in out["reply"].text
    assert out["last"].text == out["reply"].text and out["last"].via == "update"
    assert "empty" in out["errors"][0] and "empty" in out["errors"][1] and "2001 characters" in out["errors"][2]
    before, after = out["unchanged"]
    assert before == after, "rejected updates must not enter the history"
    assert out["summary"].reason == "test over" and out["summary"].user_turns == 1
    assert [t.role for t in out["conversation"]] == ["user", "assistant"]
    assert out["status"] == WorkflowExecutionStatus.COMPLETED


def test_approval_runs_the_tool_rejection_never_does_and_the_history_replays(temporal_server):
    async def scenario(session: Session, client, queue):
        out = {}
        waiting = await session.send(CA_NOTICE)
        out["waiting"] = waiting
        out["pending"] = await session.pending()
        with pytest.raises(MessageRejected, match="waiting for a decision"):
            await session.send("Any weather alerts for Texas?")
        before = await session.history_length()
        with pytest.raises(MessageRejected, match="No approval 'approval-9'"):
            await session.approve("approval-9")
        out["unknown_unchanged"] = (before, await session.history_length())
        out["approved"] = await session.approve(waiting.pending_approvals[0].request_id)
        with pytest.raises(MessageRejected, match="No approval 'approval-1'"):
            await session.approve("approval-1")  # already decided
        second = await session.send(TX_NOTICE)
        out["rejected"] = await session.reject(second.pending_approvals[0].request_id, "not verified")
        out["history"] = await fetch_history(session.handle)
        await session.end()
        out["summary"] = await session.result()
        return out

    out = with_session(temporal_server.address, scenario)
    assert out["waiting"].text.startswith("Waiting for a person to approve: broadcast_public_notice")
    [request] = out["pending"]
    assert request.request_id == "approval-1" and request.arguments == {"state": "CA", "message": "Flooding on Highway 1"}
    assert out["unknown_unchanged"][0] == out["unknown_unchanged"][1]
    assert "Broadcast notice" in out["approved"].text
    assert "rejected" in out["rejected"].text and "not verified" in out["rejected"].text
    steps = activity_steps(out["history"])
    broadcasts = [s for s in steps if s.activity_type == "broadcast_public_notice"]
    assert [s.arguments for s in broadcasts] == [["CA", "Flooding on Highway 1"]]  # only the approved one ran
    session_id = out["history"].workflow_id
    assert [(o["state"], o["message"]) for o in read_outbox(session_id)] == [("CA", "Flooding on Highway 1")]
    last_model_input = json.dumps([s.arguments for s in steps if s.is_model_call][-1])
    assert "A person rejected this broadcast_public_notice call" in last_model_input  # the model was told
    assert [(r.request.request_id, r.approved) for r in out["summary"].approvals] == [("approval-1", True), ("approval-2", False)]

    async def replay():  # the paused RunState and both resumes are deterministic
        await Replayer(workflows=[ConversationSessionWorkflow], plugins=[plugin()]).replay_workflow(out["history"])

    asyncio.run(replay())


def test_continue_as_new_carries_the_conversation(temporal_server):
    async def scenario(session: Session, client, queue):
        texts = ["Any weather alerts for California?", "And the forecast for Texas?", "Any weather alerts for Texas?"]
        replies = [await session.send(t) for t in texts]
        status = await session.status()
        conversation = await session.conversation()
        first = await fetch_history(client.get_workflow_handle(session.id, run_id=session.handle.result_run_id))
        await session.end()
        return replies, status, conversation, first, await session.result()

    replies, status, conversation, first, summary = with_session(
        temporal_server.address, scenario, SessionConfig(max_turns_per_run=2)
    )
    assert [r.run for r in replies] == [1, 1, 2]
    assert status.run_number == 2 and status.turns_this_run == 1 and status.user_turns == 3
    assert [t.run for t in conversation] == [1, 1, 1, 1, 2, 2]
    assert conversation[0].text == "Any weather alerts for California?"
    assert event_rows(first)[-1]["type"] == "WorkflowExecutionContinuedAsNew"
    assert summary.run_number == 2 and summary.user_turns == 3
    assert "Forecast for TX" in replies[1].text  # the model input carried into run 2 still works


def test_a_long_wait_is_a_durable_timer(temporal_server):
    async def scenario(session: Session, client, queue):
        reply = await session.send("Check the alerts for Texas again in 6 hours")
        checks = (await session.status()).scheduled_checks
        for _ in range(100):
            turns = await session.conversation()
            if any(t.via == "timer" for t in turns):
                break
            await asyncio.sleep(0.1)
        status = await session.status()
        history = await fetch_history(session.handle)
        await session.end()
        return reply, checks, turns, status, history

    reply, checks, turns, status, history = with_session(
        temporal_server.address, scenario, SessionConfig(recheck_unit_seconds=0.1)
    )
    assert "Scheduled check-1" in reply.text
    assert [(c.state, c.hours) for c in checks] == [("TX", 6.0)]
    [timer_turn] = [t for t in turns if t.via == "timer"]
    assert timer_turn.agent == "Scheduled alerts check" and "2 active weather alerts for TX" in timer_turn.text
    assert timer_turn.at >= checks[0].due_at
    assert status.scheduled_checks == []
    types = [r["type"] for r in event_rows(history)]
    assert "TimerStarted" in types and "TimerFired" in types
    timer_detail = [r["detail"] for r in event_rows(history) if r["type"] == "TimerStarted"][0]
    assert timer_detail == "timer 0.6s"


def test_a_recheck_for_a_bad_state_is_refused_by_the_tool(temporal_server):
    async def scenario(session: Session, client, queue):
        reply = await session.send('Recheck the alerts for "ZZ" in 2 hours')
        status = await session.status()
        await session.end()
        return reply, status

    reply, status = with_session(temporal_server.address, scenario)
    assert "Not scheduled" in reply.text and status.scheduled_checks == []


def test_a_session_that_does_not_exist_says_so(temporal_server):
    from recipes.agent_session.client import SessionError

    async def main():
        client = await Client.connect(temporal_server.address, plugins=[plugin()])
        session = Session.attach(client, f"no-such-session-{uuid.uuid4().hex[:8]}")
        with pytest.raises(SessionError, match="There is no session") as info:
            await session.send("hello")
        assert not isinstance(info.value, SessionClosed)

    asyncio.run(main())


def test_two_calls_in_one_turn_wait_for_both_decisions(temporal_server):
    async def scenario(session: Session, client, queue):
        waiting = await session.send('Broadcast a public notice for CA and TX: "Storm tonight"')
        ids = [p.request_id for p in waiting.pending_approvals]
        partial = await session.approve(ids[0])
        final = await session.reject(ids[1], "TX is fine")
        history = await fetch_history(session.handle)
        await session.end()
        return waiting, partial, final, history

    waiting, partial, final, history = with_session(temporal_server.address, scenario)
    assert [p.arguments["state"] for p in waiting.pending_approvals] == ["CA", "TX"]
    assert partial.text.startswith("Decision recorded; still waiting for approval-2")
    assert "Broadcast notice" in final.text and "TX is fine" in final.text
    broadcasts = [s.arguments for s in activity_steps(history) if s.activity_type == "broadcast_public_notice"]
    assert broadcasts == [["CA", "Storm tonight"]]


# --------------------------------------------------------------------------- no server: tool choice, the approval panel


async def _noop_recheck(state: str, hours: float) -> str:
    return "ok"


SESSION_TOOLS = team.session_agent(_noop_recheck).tools


@pytest.mark.parametrize(
    ("request_text", "tool", "arguments"),
    [
        ("Any weather alerts for California?", "get_weather_alerts", {"state": "CA"}),
        ("And the forecast for Texas?", "get_forecast", {"state": "TX"}),
        ('Broadcast a public notice for CA: "Avoid the coast road"', "broadcast_public_notice",
         {"state": "CA", "message": "Avoid the coast road"}),
        ("Check the alerts for Texas again in 6 hours", "recheck_in_hours", {"state": "TX", "hours": 6.0}),
    ],
)
def test_the_session_agent_picks_one_tool_per_request(request_text, tool, arguments):
    """The offline stand-in must make the intended choice: descriptions are written for it (and for LLMs)."""
    decision = decide(None, request_text, tools=SESSION_TOOLS)
    assert decision.kind == "tool_calls"
    assert [(c.name, c.arguments) for c in decision.calls] == [(tool, arguments)]


def test_auto_approve_values_are_checked():
    assert check_auto("") == "" and check_auto("approve") == "approve"
    with pytest.raises(ConfigurationError):
        check_auto(True)


def test_the_panel_says_click_first_instead_of_waiting():
    request = ApprovalRequest("approval-1", "broadcast_public_notice", {"state": "CA"}, "", 1)
    panel = ApprovalPanel(session=None, request=request)  # type: ignore[arg-type]
    with pytest.raises(TutorialError, match="click Approve or Reject"):
        asyncio.run(panel.reply())


def test_a_click_sends_the_decision_once_and_auto_decides_at_once():
    class FakeSession:
        def __init__(self):
            self.calls = []

        async def decide(self, request_id, approve, reason=""):
            self.calls.append((request_id, approve, reason))
            return Reply("ok" if approve else "not sent", "Weather desk")

    request = ApprovalRequest("approval-1", "broadcast_public_notice", {"state": "CA"}, "", 1)

    async def main():
        clicked = FakeSession()
        panel = ApprovalPanel(clicked, request, reason="not verified").show()  # type: ignore[arg-type]
        reject_button = panel._buttons[1]
        reject_button.click()
        reject_button.click()  # a second click (or the other button) changes nothing
        panel._buttons[0].click()
        reply = await panel.reply(timeout=5)
        auto = FakeSession()
        auto_reply = await ApprovalPanel(auto, request, auto="approve").show().reply(timeout=5)  # type: ignore[arg-type]
        return clicked.calls, reply, auto.calls, auto_reply

    clicked_calls, reply, auto_calls, auto_reply = asyncio.run(main())
    assert clicked_calls == [("approval-1", False, "not verified")] and reply.text == "not sent"
    assert auto_calls == [("approval-1", True, "approved automatically (auto_approve)")] and auto_reply.text == "ok"
