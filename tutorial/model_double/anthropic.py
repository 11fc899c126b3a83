"""``POST /v1/messages``: Anthropic's Messages API, parsed, rendered and streamed.

Shapes follow Anthropic's API reference and what LiteLLM's ``anthropic/``
provider sends and reads (``litellm/llms/anthropic/chat``): a ``message`` with
``text`` / ``tool_use`` content blocks, ``stop_reason`` (``end_turn``,
``tool_use``, ``max_tokens``) and ``usage``; streamed, the named events
``message_start``, ``content_block_start``, ``ping``, ``content_block_delta``
(``text_delta`` / ``input_json_delta``), ``content_block_stop``,
``message_delta`` (stop reason and output tokens), ``message_stop``.

Requests: ``x-api-key`` and ``anthropic-version`` headers; ``max_tokens`` is
required, as on the real API. Tool results arrive as ``tool_result`` blocks in
a *user* message: they are results, not a new request.

Structured output: LiteLLM sends an OpenAI ``response_format`` to Anthropic as
a tool named ``json_tool_call`` (its ``RESPONSE_FORMAT_TOOL_NAME``) whose
``input_schema`` is the schema, forced through ``tool_choice`` (unforced, with
a description, when the model will think). That tool is read as the output
schema, and the policy's JSON answer comes back as its ``tool_use`` input, which
LiteLLM turns back into the message text. Anthropic's native ``output_format`` /
``output_config.format`` (``json_schema``) is read too; its answer is text.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from .conversation import Decision, Item, Message, ModelRequest, RequestError, Tool, ToolCall, ToolResult
from .errors import ErrorStyle
from .wire import Frame, arguments_pieces, completion_tokens, content_text, limit_output, text_pieces

__all__ = ["ANTHROPIC_ERRORS", "JSON_TOOL", "AnthropicErrors", "parse_anthropic", "render_anthropic",
           "stream_anthropic"]  # fmt: skip

#: The tool LiteLLM uses to carry a ``response_format`` to Anthropic.
JSON_TOOL = "json_tool_call"
_ID_CHARS = 24


def _text(content: Any) -> str:
    """Text of a string or of a list of content blocks (``text`` blocks; others carry nothing we read)."""
    return content_text(content)


def _tool_result_text(block: dict[str, Any]) -> str:
    content = block.get("content")
    text = content if isinstance(content, str) else _text(content)
    if block.get("is_error") and not text.lower().startswith("error"):
        text = f"Error: {text}"  # the policy explains errors; Anthropic flags them instead of wording them
    return text


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if not isinstance(content, list) or not all(isinstance(b, dict) for b in content):
        raise RequestError(f"{where}.content: Input should be a valid string or a list of content blocks", where)
    return content


def _messages(messages: Any) -> list[Item]:
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages: at least one message is required", "messages")
    items: list[Item] = []
    for i, msg in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(msg, dict) or msg.get("role") not in ("user", "assistant"):
            raise RequestError(f"{where}.role: Input should be 'user' or 'assistant'", where)
        texts: list[str] = []

        def flush(role: str) -> None:
            if any(texts):
                items.append(Message(role, "\n".join(t for t in texts if t)))  # type: ignore[arg-type]
            texts.clear()

        for j, block in enumerate(_blocks(msg.get("content"), where)):
            kind = block.get("type")
            if kind == "text":
                texts.append(str(block.get("text", "")))
            elif kind == "tool_use" and msg["role"] == "assistant":
                flush("assistant")
                arguments = block.get("input") if isinstance(block.get("input"), dict) else {}
                items.append(ToolCall(str(block.get("id", "")), str(block.get("name", "")), arguments))
            elif kind == "tool_result" and msg["role"] == "user":
                if not block.get("tool_use_id"):
                    raise RequestError(f"{where}.content.{j}.tool_use_id: Field required", where)
                flush("user")
                items.append(ToolResult(str(block["tool_use_id"]), _tool_result_text(block)))
            # images, documents, thinking blocks: nothing the policy reads
        flush(msg["role"])
    return items


def _tools(body: dict[str, Any]) -> tuple[list[Tool], dict[str, Any] | None]:
    """The function tools, and LiteLLM's response-format tool's schema (if it sent one)."""
    tools, schema = [], None
    raw = body.get("tools") or []
    if not isinstance(raw, list):
        raise RequestError("tools: Input should be a valid list", "tools")
    for i, tool in enumerate(raw):
        if not isinstance(tool, dict) or not tool.get("name"):
            raise RequestError(f"tools.{i}.name: Field required", f"tools.{i}")
        if tool.get("type") not in (None, "custom"):
            continue  # a server tool (web search, code execution): the double runs none
        if not isinstance(tool.get("input_schema"), dict):
            raise RequestError(f"tools.{i}.custom.input_schema: Field required", f"tools.{i}")
        if tool["name"] == JSON_TOOL:
            schema = tool["input_schema"]
            continue
        tools.append(Tool(tool["name"], tool.get("description") or "", tool["input_schema"]))
    return tools, schema


def _tool_choice(value: Any) -> tuple[str, bool | None]:
    """``auto|required|none|<name>`` and whether parallel tool use is allowed."""
    if value is None:
        return "auto", None
    if not isinstance(value, dict) or value.get("type") not in ("auto", "any", "tool", "none"):
        raise RequestError(f"tool_choice: unsupported value {json.dumps(value)[:200]}", "tool_choice")
    parallel = None if "disable_parallel_tool_use" not in value else not value["disable_parallel_tool_use"]
    kind = value["type"]
    if kind == "tool":
        if not value.get("name"):
            raise RequestError("tool_choice.tool.name: Field required", "tool_choice")
        return str(value["name"]), parallel
    return {"auto": "auto", "any": "required", "none": "none"}[kind], parallel


def _native_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("output_format") or (body.get("output_config") or {}).get("format") or {}
    return fmt.get("schema") if isinstance(fmt, dict) and fmt.get("type") == "json_schema" else None


def parse_anthropic(body: dict[str, Any], headers: Any = None) -> ModelRequest:
    """The neutral request from a Messages API body (400-worthy problems raise RequestError)."""
    if headers is not None and not headers.get("anthropic-version"):
        raise RequestError("anthropic-version: header is required", "anthropic-version")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise RequestError("model: Field required", "model")
    limit = body.get("max_tokens")
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise RequestError("max_tokens: Field required" if limit is None else "max_tokens: must be at least 1",
                           "max_tokens")  # fmt: skip
    system = body.get("system")
    instructions = system if isinstance(system, str) else _text(system)
    items = _messages(body.get("messages"))
    tools, json_schema = _tools(body)
    tool_choice, parallel = _tool_choice(body.get("tool_choice"))
    if tool_choice == JSON_TOOL:
        tool_choice = "none"  # forced to answer with the schema: no other tool can be called
    return ModelRequest(
        model=model,
        instructions=instructions,
        items=items,
        tools=tools,
        tool_choice=tool_choice,
        parallel_tool_calls=parallel,
        output_schema=json_schema if json_schema is not None else _native_schema(body),
        max_output_tokens=limit,
        stream=bool(body.get("stream")),
    )


def _id(prefix: str) -> str:
    return f"{prefix}_01{uuid.uuid4().hex[:_ID_CHARS - 2]}"


def _block(body: dict[str, Any], request: ModelRequest, decision: Decision) -> tuple[dict[str, Any], str, bool]:
    """The one content block, its stop reason, and whether the text was cut."""
    if decision.kind == "tool_call":
        block = {"type": "tool_use", "id": _id("toolu"), "name": decision.tool, "input": decision.arguments or {}}
        return block, "tool_use", False
    if decision.kind == "json" and any(t.get("name") == JSON_TOOL for t in body.get("tools") or []):
        value = json.loads(decision.text)
        if isinstance(value, dict):  # the schema LiteLLM sends is an object: its fields are the tool's input
            return {"type": "tool_use", "id": _id("toolu"), "name": JSON_TOOL, "input": value}, "tool_use", False
    text, truncated = limit_output(decision.text, request.max_output_tokens)
    return {"type": "text", "text": text}, ("max_tokens" if truncated else "end_turn"), truncated


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"input_tokens": prompt, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
            "output_tokens": completion, "service_tier": "standard"}  # fmt: skip


def _message(request: ModelRequest, content: list[dict[str, Any]], stop: str | None, usage: dict[str, Any]) -> dict:
    return {"id": _id("msg"), "type": "message", "role": "assistant", "model": request.model, "content": content,
            "stop_reason": stop, "stop_sequence": None, "usage": usage}  # fmt: skip


def render_anthropic(body: dict[str, Any], request: ModelRequest, decision: Decision, prompt_tokens: int) -> dict:
    """The non-streamed ``message`` object."""
    block, stop, _ = _block(body, request, decision)
    usage = _usage(prompt_tokens, completion_tokens(decision, request.max_output_tokens))
    return _message(request, [block], stop, usage)


def stream_anthropic(
    body: dict[str, Any], request: ModelRequest, decision: Decision, prompt_tokens: int
) -> Iterator[Frame]:
    """The Messages API event stream for one message (``event:`` lines, as Anthropic sends them)."""
    block, stop, _ = _block(body, request, decision)

    def event(kind: str, *, paced: bool = False, **fields: Any) -> Frame:
        return Frame(kind, {"type": kind, **fields}, delta=paced)

    start = _message(request, [], None, {**_usage(prompt_tokens, 1)})
    yield event("message_start", message=start)
    if block["type"] == "tool_use":
        yield event("content_block_start", index=0, content_block={**block, "input": {}})
        yield event("ping")
        pieces = ["", *arguments_pieces(json.dumps(block["input"], ensure_ascii=False))]
        for piece in pieces:
            yield event("content_block_delta", paced=bool(piece), index=0,
                        delta={"type": "input_json_delta", "partial_json": piece})  # fmt: skip
    else:
        yield event("content_block_start", index=0, content_block={"type": "text", "text": ""})
        yield event("ping")
        for piece in text_pieces(block["text"]):
            yield event("content_block_delta", paced=True, index=0, delta={"type": "text_delta", "text": piece})
    yield event("content_block_stop", index=0)
    output = completion_tokens(decision, request.max_output_tokens)
    yield event("message_delta", delta={"stop_reason": stop, "stop_sequence": None}, usage={"output_tokens": output})
    yield event("message_stop")


# --------------------------------------------------------------------------- errors

_TYPES = {400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error",
          413: "request_too_large", 429: "rate_limit_error", 500: "api_error", 529: "overloaded_error"}  # fmt: skip
_FAULTS = {
    429: "This request would exceed the rate limit for your organization. (injected by the model double)",
    500: "Internal server error (injected by the model double)",
    503: "Service unavailable (injected by the model double)",
    529: "Overloaded (injected by the model double)",
}


class AnthropicErrors(ErrorStyle):
    """``{"type": "error", "error": {"type", "message"}, "request_id"}``: 401 authentication_error,
    429 rate_limit_error, 500 api_error, 529 overloaded_error, other 4xx invalid_request_error."""

    provider = "anthropic"

    def body(self, status: int, message: str, *, kind: str | None = None, param: str | None = None) -> dict[str, Any]:
        kind = kind or _TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
        return {"type": "error", "error": {"type": kind, "message": message}, "request_id": _id("req")}

    def fault(self, status: int, retry_after_s: float | None) -> dict[str, Any]:
        return self.body(status, _FAULTS.get(status, f"Injected fault: HTTP {status}."))

    def unauthorized(self, auth: str) -> tuple[int, dict[str, Any]]:
        message = "x-api-key header is required" if auth == "missing" else "invalid x-api-key"
        return 401, self.body(401, message)

    def not_found(self, message: str) -> dict[str, Any]:
        return self.body(404, message)


ANTHROPIC_ERRORS = AnthropicErrors()
