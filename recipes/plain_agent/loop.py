"""Make the agentic loop visible: what the model decided, what the tools
returned, in the order the Runner went through them."""

from __future__ import annotations

from agents import (
    HandoffCallItem,
    HandoffOutputItem,
    MessageOutputItem,
    RunResult,
    ToolCallItem,
    ToolCallOutputItem,
)
from agents.items import ItemHelpers


def _short(text: object, limit: int = 90) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def loop_steps(result: RunResult) -> list[tuple[str, str, str]]:
    """(agent, step kind, detail) for every item the run produced, in order.

    Kinds: "tool call" (the model asked), "tool output" (fed back into the
    conversation), "handoff", "answer".
    """
    rows = []
    for item in result.new_items:
        agent = item.agent.name
        raw = item.raw_item
        if isinstance(item, ToolCallItem):
            rows.append((agent, "tool call", f"{raw.name}({raw.arguments})"))
        elif isinstance(item, ToolCallOutputItem):
            rows.append((agent, "tool output", _short(item.output)))
        elif isinstance(item, HandoffCallItem):
            rows.append((agent, "handoff", raw.name))
        elif isinstance(item, HandoffOutputItem):
            rows.append((agent, "handoff done", f"{item.source_agent.name} -> {item.target_agent.name}"))
        elif isinstance(item, MessageOutputItem):
            rows.append((agent, "answer", _short(ItemHelpers.text_message_output(item))))
    return rows


def print_loop(result: RunResult) -> None:
    """Print the loop as numbered model turns (one per model response)."""
    print(f"{len(result.raw_responses)} model calls; items in order:")
    for i, (agent, kind, detail) in enumerate(loop_steps(result), 1):
        print(f"  {i:>2}. [{agent}] {kind:<12} {detail}")
