"""``POST /v1/chat/completions``: request parsing and JSON / SSE rendering.

Shapes follow the ``openai`` client's types (``chat.completion`` and
``chat.completion.chunk``) and what the Agents SDK's
``OpenAIChatCompletionsModel`` and ``ChatCmplStreamHandler`` read: the first
choice's ``message`` (content, ``tool_calls``), ``finish_reason``, ``usage``;
streamed, a role delta, content pieces, a tool call's id/name then argument
pieces, a final chunk with ``finish_reason``, a usage chunk when asked, ``[DONE]``.
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
from .wire import (
    FINGERPRINT,
    Frame,
    arguments_pieces,
    completion_tokens,
    content_text,
    limit_output,
    parse_arguments,
    text_pieces,
)

__all__ = ["parse_chat", "render_chat", "stream_chat"]


def parse_chat(body: dict[str, Any]) -> ModelRequest:
    """The neutral request from a Chat Completions body (400-worthy problems raise RequestError)."""
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("you must provide a model parameter", "model")
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("'messages' must be a non-empty array.", "messages")
    instructions: list[str] = []
    items: list[Item] = []
    for i, msg in enumerate(messages):
        if not isinstance(msg, dict) or msg.get("role") not in ("system", "developer", "user", "assistant", "tool"):
            raise RequestError(f"Invalid message at messages[{i}].", f"messages[{i}]")
        role, text = msg["role"], content_text(msg.get("content"))
        if role in ("system", "developer"):
            instructions.append(text)
        elif role == "user":
            items.append(Message("user", text))
        elif role == "assistant":
            if text:
                items.append(Message("assistant", text))
            for call in msg.get("tool_calls") or []:
                fn = call.get("function") or {}
                name, arguments = str(fn.get("name", "")), parse_arguments(fn.get("arguments"))
                items.append(ToolCall(str(call.get("id", "")), name, arguments))
        else:
            if not msg.get("tool_call_id"):
                raise RequestError(f"messages[{i}]: a tool message needs 'tool_call_id'.", f"messages[{i}]")
            items.append(ToolResult(str(msg["tool_call_id"]), text))
    tools = []
    for i, tool in enumerate(body.get("tools") or []):
        fn = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else None
        if not isinstance(fn, dict) or not fn.get("name"):
            raise RequestError(f"tools[{i}] must be a function tool with a name.", f"tools[{i}]")
        tools.append(Tool(fn["name"], fn.get("description") or "", fn.get("parameters") or {}))
    fmt = body.get("response_format") or {}
    schema = None
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema") or {}
    limit = body.get("max_completion_tokens", body.get("max_tokens"))
    return ModelRequest(
        model=model,
        instructions="\n".join(t for t in instructions if t),
        items=items,
        tools=tools,
        tool_choice=tool_choice_from_wire(body.get("tool_choice")),
        parallel_tool_calls=body.get("parallel_tool_calls"),
        output_schema=schema,
        max_output_tokens=limit if isinstance(limit, int) and limit > 0 else None,
        stream=bool(body.get("stream")),
    )


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
        "completion_tokens_details": {
            "reasoning_tokens": 0,
            "audio_tokens": 0,
            "accepted_prediction_tokens": 0,
            "rejected_prediction_tokens": 0,
        },
    }


def _head(request: ModelRequest, completion_id: str, created: int, kind: str) -> dict[str, Any]:
    return {"id": completion_id, "object": kind, "created": created, "model": request.model,
            "system_fingerprint": FINGERPRINT}  # fmt: skip


def render_chat(request: ModelRequest, decision: Decision, prompt_tokens: int) -> dict[str, Any]:
    """The non-streamed ``chat.completion`` object."""
    completion_id = f"chatcmpl-{uuid.uuid4().hex}"
    if decision.kind == "tool_call":
        arguments = decision.arguments_json
        message: dict[str, Any] = {
            "role": "assistant",
            "content": None,
            "refusal": None,
            "annotations": [],
            "tool_calls": [{"id": f"call_{uuid.uuid4().hex[:24]}", "type": "function",
                            "function": {"name": decision.tool, "arguments": arguments}}],
        }  # fmt: skip
        finish = "tool_calls"
    else:
        text, truncated = limit_output(decision.text, request.max_output_tokens)
        message = {"role": "assistant", "content": text, "refusal": None, "annotations": []}
        finish = "length" if truncated else "stop"
    return {
        **_head(request, completion_id, int(time.time()), "chat.completion"),
        "choices": [{"index": 0, "message": message, "logprobs": None, "finish_reason": finish}],
        "usage": _usage(prompt_tokens, completion_tokens(decision, request.max_output_tokens)),
        "service_tier": "default",
    }


def stream_chat(request: ModelRequest, decision: Decision, prompt_tokens: int, include_usage: bool) -> Iterator[Frame]:
    """The ``chat.completion.chunk`` frames, ending with ``[DONE]``."""
    head = _head(request, f"chatcmpl-{uuid.uuid4().hex}", int(time.time()), "chat.completion.chunk")
    usage = _usage(prompt_tokens, completion_tokens(decision, request.max_output_tokens))
    extra = {"usage": None} if include_usage else {}

    def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
        return {**head, "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}], **extra}

    if decision.kind == "tool_call":
        arguments = decision.arguments_json
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        yield Frame(None, chunk({"role": "assistant", "content": None}))
        yield Frame(None, chunk({"tool_calls": [{"index": 0, "id": call_id, "type": "function",
                                                 "function": {"name": decision.tool, "arguments": ""}}]}))  # fmt: skip
        for piece in arguments_pieces(arguments):
            yield Frame(None, chunk({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]}), delta=True)
        finish = "tool_calls"
    else:
        text, truncated = limit_output(decision.text, request.max_output_tokens)
        yield Frame(None, chunk({"role": "assistant", "content": "", "refusal": None}))
        for piece in text_pieces(text):
            yield Frame(None, chunk({"content": piece}), delta=True)
        finish = "length" if truncated else "stop"
    yield Frame(None, chunk({}, finish))
    if include_usage:
        yield Frame(None, {**head, "choices": [], "usage": usage})
    yield Frame(None, None)
