"""The double as a coding agent's model: the offline stand-in's coding plan (``tutorial.offline_model.coding``),
one tool call a response as always, and its own words for the answer."""

from __future__ import annotations

from tutorial.offline_model.coding import Call, is_coding_agent, next_step, report

from .conversation import Decision, Turn

__all__ = ["decide", "is_coding_agent"]


def decide(turn: Turn) -> Decision:
    """The plan's next call, or the answer once it has none."""
    calls = [Call(c.name, c.arguments, turn.results.get(c.call_id)) for c in turn.calls]
    step = next_step(turn.request, calls)
    if step is not None:
        return Decision("tool_call", tool=step.tool, arguments=step.arguments, reason=f"coding plan: {step.why}")
    found = report(turn.request, calls)
    tests = {None: "Tests not run.", True: f"Tests pass: {found.test_summary}.",
             False: f"Tests still failing: {found.test_summary}."}[found.tests_passed]  # fmt: skip
    if found.changed:
        path, old, new = found.changed
        return Decision("text", text=f"Fixed {path}: `{old}` is now `{new}`. {tests}", reason="coding plan: the answer")
    return Decision("text", text=f"Nothing changed ({found.problem}). {tests}", reason="coding plan: no fix")
