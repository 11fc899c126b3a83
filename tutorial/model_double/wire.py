"""What the wire formats share: SSE frames, delta pieces, content text, token budgets."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .conversation import Decision, Message, ModelRequest, ToolCall, ToolResult

__all__ = [
    "FINGERPRINT",
    "Frame",
    "arguments_pieces",
    "completion_tokens",
    "content_text",
    "count_tokens",
    "encode_frame",
    "limit_output",
    "parse_arguments",
    "prompt_tokens",
    "text_pieces",
]

#: Shown where a provider names its backend build: this is no model at all.
FINGERPRINT = "fp_openai_double_not_an_llm"
_ARGUMENT_PIECE = 8


@dataclass(frozen=True)
class Frame:
    """One server-sent event: ``data=None`` is the Chat Completions ``[DONE]`` sentinel."""

    event: str | None
    data: dict[str, Any] | None
    delta: bool = False
    """Whether this frame carries a piece of text or arguments (the stream pace applies after it)."""


def encode_frame(frame: Frame) -> bytes:
    head = f"event: {frame.event}\n" if frame.event else ""
    body = "[DONE]" if frame.data is None else json.dumps(frame.data, ensure_ascii=False, separators=(",", ":"))
    return f"{head}data: {body}\n\n".encode()


def parse_arguments(raw: Any) -> dict[str, Any]:
    """A tool call's arguments as sent (a JSON string, or already an object); what does not
    parse to an object is kept as ``{"_raw": ...}`` for the policy to see."""
    if isinstance(raw, dict):
        return raw
    try:
        value = json.loads(raw or "{}")
    except (TypeError, ValueError):
        return {"_raw": str(raw)}
    return value if isinstance(value, dict) else {"_raw": str(raw)}


def content_text(content: Any) -> str:
    """Text of a message's content: a string, or the text of its parts (input_text, output_text, text)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        texts = [str(p.get("text", "")) for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)]
        texts += [str(p.get("refusal", "")) for p in content if isinstance(p, dict) and p.get("type") == "refusal"]
        return "\n".join(t for t in texts if t)
    return ""


def text_pieces(text: str) -> Iterator[str]:
    """Word by word (each with its trailing whitespace), as a model streams tokens."""
    yield from re.findall(r"\s*\S+\s*", text) or ([text] if text else [])


def arguments_pieces(arguments: str) -> Iterator[str]:
    for start in range(0, len(arguments), _ARGUMENT_PIECE):
        yield arguments[start : start + _ARGUMENT_PIECE]


_TOKEN = re.compile(r"[A-Za-z]+|\d+|[^\sA-Za-z\d]")


def count_tokens(*texts: str) -> int:
    """Our own token estimate: runs of letters, runs of digits and single symbols.

    Not a tokenizer, but within a small factor of one on English and JSON, which
    is all the tutorial needs from "provider-reported" usage.
    """
    return sum(len(_TOKEN.findall(text)) for text in texts)


def limit_output(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """``text`` cut after ``max_tokens`` of our tokens, and whether it was cut (finish_reason "length")."""
    if max_tokens is None or count_tokens(text) <= max_tokens:
        return text, False
    ends = [m.end() for m in _TOKEN.finditer(text)]
    return text[: ends[max_tokens - 1]], True


def completion_tokens(decision: Decision, max_tokens: int | None) -> int:
    """Output tokens: the call's name and arguments, or the (possibly cut) text."""
    if decision.kind == "tool_call":
        return count_tokens(str(decision.tool), decision.arguments_json)
    return count_tokens(limit_output(decision.text, max_tokens)[0])


def prompt_tokens(request: ModelRequest) -> int:
    """Input tokens as a provider would bill them: instructions, every item, the tool schemas."""
    total = count_tokens(request.instructions) + 3
    for item in request.items:
        if isinstance(item, Message):
            total += count_tokens(item.text) + 3
        elif isinstance(item, ToolCall):
            total += count_tokens(item.name, json.dumps(item.arguments)) + 3
        elif isinstance(item, ToolResult):
            total += count_tokens(item.output) + 3
    for tool in request.tools:
        total += count_tokens(tool.name, tool.description, json.dumps(tool.parameters))
    if request.output_schema is not None:
        total += count_tokens(json.dumps(request.output_schema))
    return total
