"""Microagents, the parts that need no server: routing words, error text, timing maths, the approval panel."""

from __future__ import annotations

import asyncio
import pytest
from temporalio.exceptions import ApplicationError

from recipes.microagents import team
from recipes.tools.forecast import get_forecast
from tutorial.approval_panel import ApprovalPanel, check_auto
from tutorial.evidence import agent_trace
from recipes.microagents.session import ApprovalRequest
from recipes.core.errors import ConfigurationError, TutorialError
from tutorial.offline_model import decide


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


def test_forecast_is_deterministic_and_rejects_bad_codes():
    first = asyncio.run(get_forecast("ca"))
    assert first == asyncio.run(get_forecast("CA")) and first.startswith("Forecast for CA:")
    with pytest.raises(ApplicationError) as info:
        asyncio.run(get_forecast("ZZ"))
    assert info.value.type == "InvalidState" and info.value.non_retryable


def test_agent_trace_folds_temporal_spans():
    spans = [
        {"trace_id": "t", "trace_name": "x", "span_id": "1", "parent_id": None, "started_at": "1",
         "data": {"type": "agent", "name": "A"}, "error": None},
        {"trace_id": "t", "trace_name": "x", "span_id": "2", "parent_id": "1", "started_at": "2",
         "data": {"type": "custom", "name": "temporal:startActivity"}, "error": None},
        {"trace_id": "t", "trace_name": "x", "span_id": "3", "parent_id": "2", "started_at": "3",
         "data": {"type": "generation", "model": "m"}, "error": None},
    ]
    text = agent_trace(spans)
    assert "temporal:" not in text
    assert text.splitlines()[1:] == ["  └─ agent A", "    └─ model call (m)"]


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
    from recipes.microagents.session import Reply

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
