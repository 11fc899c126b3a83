"""The neutral form every wire format is read into, and what the policy answers.

Chat Completions, the Responses API, Anthropic's Messages API and Gemini's
generateContent say the same things in different JSON: instructions, a
conversation of messages / tool calls / tool results, function tools, a tool
choice and an output schema. Parsing each into these dataclasses lets one
policy serve every API, and lets tests drive the policy without HTTP.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, Union

__all__ = [
    "Decision",
    "Item",
    "Message",
    "ModelRequest",
    "RequestError",
    "Tool",
    "ToolCall",
    "ToolResult",
    "Turn",
    "tool_choice_from_wire",
]


class RequestError(ValueError):
    """A request the real API would reject with HTTP 400 (``param`` names the field)."""

    def __init__(self, message: str, param: str | None = None) -> None:
        super().__init__(message)
        self.param = param


@dataclass
class Tool:
    name: str
    description: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)


@dataclass
class Message:
    role: Literal["user", "assistant"]
    text: str


@dataclass
class ToolCall:
    call_id: str
    name: str
    arguments: dict[str, Any]
    """The call's arguments (``{"_raw": text}`` when they were not a JSON object)."""


@dataclass
class ToolResult:
    call_id: str
    output: str


Item = Union[Message, ToolCall, ToolResult]


@dataclass
class ModelRequest:
    """One model request, whichever API it came through."""

    model: str
    instructions: str
    items: list[Item]
    tools: list[Tool]
    tool_choice: str = "auto"
    """``auto``, ``required``, ``none`` or the name of the one function that must be called."""
    parallel_tool_calls: bool | None = None
    output_schema: dict[str, Any] | None = None
    max_output_tokens: int | None = None
    stream: bool = False


@dataclass
class Turn:
    """The part of the conversation the policy acts on."""

    request: str
    """The last user message: what is being asked now."""
    earlier: list[Item]
    """Everything before it (previous turns, reports handed in as assistant messages)."""
    calls: list[ToolCall]
    """Tool calls already made since the request, in order."""
    results: dict[str, str]
    """call_id -> tool output, for the calls above that have one."""

    @classmethod
    def of(cls, items: list[Item]) -> Turn:
        users = [i for i, item in enumerate(items) if isinstance(item, Message) and item.role == "user"]
        last_user = max(users, default=-1)
        request = items[last_user].text if last_user >= 0 else ""  # type: ignore[union-attr]
        after = items[last_user + 1 :]
        calls = [item for item in after if isinstance(item, ToolCall)]
        results = {item.call_id: item.output for item in after if isinstance(item, ToolResult)}
        return cls(request, items[: max(last_user, 0)], calls, results)


@dataclass
class Decision:
    """What the double answers: exactly one tool call, or text, or JSON text."""

    kind: Literal["tool_call", "text", "json"]
    text: str = ""
    tool: str | None = None
    arguments: dict[str, Any] | None = None
    reason: str = ""
    """Why, in a few words (for the request log)."""
    raw_arguments: str | None = None
    """Arguments sent as this text instead of ``arguments`` (a model writing broken JSON; OpenAI's formats)."""

    @property
    def arguments_json(self) -> str:
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments or {}, ensure_ascii=False)


def tool_choice_from_wire(value: Any) -> str:
    """``"auto"|"required"|"none"`` or a function name, from either API's shape."""
    if value is None:
        return "auto"
    if isinstance(value, str):
        if value not in ("auto", "required", "none"):
            raise RequestError(f"Invalid value for 'tool_choice': {value!r}.", "tool_choice")
        return value
    if isinstance(value, dict) and value.get("type") == "function":
        name = (value.get("function") or {}).get("name") or value.get("name")  # chat | responses
        if isinstance(name, str) and name:
            return name
    raise RequestError(f"Unsupported 'tool_choice': {json.dumps(value)[:200]}", "tool_choice")
