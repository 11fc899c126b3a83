"""``POST /v1/responses``: request parsing and JSON / SSE rendering.

Shapes follow the ``openai`` client's ``Response`` and ``Response*Event`` types
and what the Agents SDK's ``OpenAIResponsesModel`` reads: ``output`` items
(``message`` with ``output_text`` parts, ``function_call`` with ``call_id``),
``usage`` with its details objects, ``status``; streamed, the event sequence
from ``response.created`` to ``response.completed`` (or ``response.incomplete``
when ``max_output_tokens`` cut the text), each with a ``sequence_number``.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

from .conversation import (
    Decision,
    Item,
    Message,
    ModelRequest,
    RequestError,
    Tool,
    ToolCall,
    ToolResult,
    tool_choice_from_wire,
)
from .wire import Frame, arguments_pieces, completion_tokens, content_text, limit_output, parse_arguments, text_pieces

__all__ = ["parse_responses", "render_responses", "stream_responses"]


def parse_responses(body: dict[str, Any]) -> ModelRequest:
    """The neutral request from a Responses API body (400-worthy problems raise RequestError)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("Missing required parameter: 'model'.", "model")
    raw_input = body.get("input")
    instructions = [body["instructions"]] if isinstance(body.get("instructions"), str) else []
    items: list[Item] = []
    if isinstance(raw_input, str):
        items.append(Message("user", raw_input))
    elif isinstance(raw_input, list):
        for i, item in enumerate(raw_input):
            if not isinstance(item, dict):
                raise RequestError(f"Invalid input item at input[{i}].", f"input[{i}]")
            kind = item.get("type", "message")
            if kind == "message":
                role, text = item.get("role"), content_text(item.get("content"))
                if role in ("system", "developer"):
                    instructions.append(text)
                elif role in ("user", "assistant"):
                    items.append(Message(role, text))
                else:
                    raise RequestError(f"Invalid role at input[{i}]: {role!r}.", f"input[{i}].role")
            elif kind == "function_call":
                name, arguments = str(item.get("name", "")), parse_arguments(item.get("arguments"))
                items.append(ToolCall(str(item.get("call_id", "")), name, arguments))
            elif kind == "function_call_output":
                if not item.get("call_id"):
                    raise RequestError(f"input[{i}]: a function_call_output needs 'call_id'.", f"input[{i}].call_id")
                output = item.get("output")
                text = output if isinstance(output, str) else content_text(output)
                items.append(ToolResult(str(item["call_id"]), text))
            # Other item kinds (reasoning, hosted tool calls) carry nothing the policy reads.
    elif raw_input is not None:
        raise RequestError("'input' must be a string or an array of input items.", "input")
    tools = [
        Tool(t["name"], t.get("description") or "", t.get("parameters") or {})
        for t in body.get("tools") or []
        if isinstance(t, dict) and t.get("type") == "function" and t.get("name")
    ]
    fmt = (body.get("text") or {}).get("format") or {}
    limit = body.get("max_output_tokens")
    return ModelRequest(
        model=model,
        instructions="\n".join(t for t in instructions if t),
        items=items,
        tools=tools,
        tool_choice=tool_choice_from_wire(body.get("tool_choice")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        output_schema=(fmt.get("schema") or {}) if fmt.get("type") == "json_schema" else None,
        max_output_tokens=limit if isinstance(limit, int) and limit > 0 else None,
        stream=bool(body.get("stream")),
    )


class _Reply:
    """One response being built: its ids, its output item, its envelope."""

    def __init__(self, body: dict[str, Any], request: ModelRequest, decision: Decision, prompt_tokens: int) -> None:
        self.body, self.request, self.decision = body, request, decision
        self.id = f"resp_{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.prompt_tokens = prompt_tokens
        if decision.kind == "tool_call":
            self.arguments = decision.arguments_json
            self.item: dict[str, Any] = {"id": f"fc_{uuid.uuid4().hex}", "type": "function_call", "status": "completed",
                                         "call_id": f"call_{uuid.uuid4().hex[:24]}", "name": decision.tool,
                                         "arguments": self.arguments}  # fmt: skip
            self.truncated = False
        else:
            self.text, self.truncated = limit_output(decision.text, request.max_output_tokens)
            self.item = {"id": f"msg_{uuid.uuid4().hex}", "type": "message", "status": self.status,
                         "role": "assistant", "content": [self.part(self.text)]}  # fmt: skip
        self.completion_tokens = completion_tokens(decision, request.max_output_tokens)

    @staticmethod
    def part(text: str) -> dict[str, Any]:
        return {"type": "output_text", "text": text, "annotations": [], "logprobs": []}

    @property
    def status(self) -> str:
        return "incomplete" if self.truncated else "completed"

    def envelope(self, status: str, output: list[dict[str, Any]], usage: bool) -> dict[str, Any]:
        b = self.body
        return {
            "id": self.id, "object": "response", "created_at": self.created, "status": status,
            "background": False, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None,
            "instructions": b.get("instructions"), "max_output_tokens": b.get("max_output_tokens"),
            "max_tool_calls": None, "model": self.request.model, "output": output,
            "parallel_tool_calls": b.get("parallel_tool_calls", True), "previous_response_id": None,
            "reasoning": {"effort": None, "summary": None}, "service_tier": "default", "store": b.get("store", True),
            "temperature": b.get("temperature", 1.0), "text": b.get("text") or {"format": {"type": "text"}},
            "tool_choice": b.get("tool_choice", "auto"), "tools": b.get("tools") or [], "top_p": b.get("top_p", 1.0),
            "truncation": b.get("truncation", "disabled"), "user": None, "metadata": b.get("metadata") or {},
            "usage": self.usage() if usage else None,
            "completed_at": int(time.time()) if status == "completed" else None,
        }  # fmt: skip

    def usage(self) -> dict[str, Any]:
        return {
            "input_tokens": self.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": self.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }


def render_responses(
    body: dict[str, Any], request: ModelRequest, decision: Decision, prompt_tokens: int
) -> dict[str, Any]:
    """The non-streamed ``response`` object."""
    reply = _Reply(body, request, decision, prompt_tokens)
    return reply.envelope(reply.status, [reply.item], usage=True)


def stream_responses(
    body: dict[str, Any], request: ModelRequest, decision: Decision, prompt_tokens: int
) -> Iterator[Frame]:
    """The Responses API event stream for one response."""
    reply = _Reply(body, request, decision, prompt_tokens)
    sequence = iter(range(10**9))

    def event(kind: str, *, paced: bool = False, **fields: Any) -> Frame:
        return Frame(kind, {"type": kind, "sequence_number": next(sequence), **fields}, delta=paced)

    item, item_id = reply.item, reply.item["id"]
    yield event("response.created", response=reply.envelope("in_progress", [], usage=False))
    yield event("response.in_progress", response=reply.envelope("in_progress", [], usage=False))
    if decision.kind == "tool_call":
        started = {**item, "status": "in_progress", "arguments": ""}
        yield event("response.output_item.added", output_index=0, item=started)
        for piece in arguments_pieces(reply.arguments):
            yield event("response.function_call_arguments.delta", paced=True, item_id=item_id, output_index=0,
                        delta=piece)  # fmt: skip
        yield event("response.function_call_arguments.done", item_id=item_id, output_index=0, arguments=reply.arguments,
                    name=decision.tool)  # fmt: skip
    else:
        yield event("response.output_item.added", output_index=0, item={**item, "status": "in_progress", "content": []})
        at = {"item_id": item_id, "output_index": 0, "content_index": 0}
        yield event("response.content_part.added", **at, part=reply.part(""))
        for piece in text_pieces(reply.text):
            yield event("response.output_text.delta", paced=True, **at, delta=piece, logprobs=[])
        yield event("response.output_text.done", **at, text=reply.text, logprobs=[])
        yield event("response.content_part.done", **at, part=reply.part(reply.text))
    yield event("response.output_item.done", output_index=0, item=item)
    final = "response.incomplete" if reply.truncated else "response.completed"
    yield event(final, response=reply.envelope(reply.status, [item], usage=True))
