"""``POST /v1beta/models/{model}:generateContent`` (and ``:streamGenerateContent``): Gemini's API.

Shapes follow Google's ``GenerateContentRequest`` / ``GenerateContentResponse``
and what LiteLLM's ``gemini/`` provider sends and reads
(``litellm/llms/vertex_ai/gemini``): ``contents`` of ``user`` / ``model`` turns
whose ``parts`` are ``text``, ``functionCall`` or ``functionResponse``;
``candidates[0].content.parts``, ``finishReason`` (``STOP``, ``MAX_TOKENS``),
``usageMetadata``. Streamed with ``?alt=sse``: ``data:`` chunks of the same
shape, the text in pieces, a function call whole in one chunk, the finish
reason and usage on the last (without ``alt=sse``, one JSON array of them).
Field names are read in camelCase or snake_case, as Google's JSON parser does
(LiteLLM writes ``function_call``, ``function_declarations``, ``response_mime_type``).

Function calls carry no id on Gemini's wire (before Gemini 3.5), so calls get
stable ids from their position (``gemini_<content>_<part>_<name>``) and a
``functionResponse`` without an id pairs with the oldest open call of its name.
Answers carry no id either, like Gemini 2.x; LiteLLM makes up its own.

Two accommodations for LiteLLM with a model name it does not know (``gemini/double-1``):
it merges the system prompt into the first user turn as leading text parts (no
``systemInstruction``), and it replaces a ``response_format`` by a user message
"Use this JSON schema: ```json ...```" plus ``responseMimeType: application/json``.
So, with no ``systemInstruction``, all but the last text part of a first user
turn of several parts are read as the instructions, and that schema message is
read as the output schema. For a known model LiteLLM sends ``systemInstruction``
and ``responseSchema`` / ``responseJsonSchema``, which are read as they are.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from typing import Any

from .conversation import Decision, Item, Message, ModelRequest, RequestError, Tool, ToolCall, ToolResult
from .errors import ErrorStyle
from .wire import Frame, completion_tokens, limit_output, text_pieces

__all__ = ["GOOGLE_ERRORS", "GoogleErrors", "parse_gemini", "render_gemini", "stream_gemini"]

_SCHEMA_PROMPT = re.compile(r"^\s*Use this JSON schema:\s*```json\s*(.+?)\s*```\s*$", re.S)
_JSON_TYPES = ("application/json", "text/x.enum")


def _field(d: dict[str, Any], camel: str) -> Any:
    """``d[camel]``, or the snake_case spelling of it."""
    if camel in d:
        return d[camel]
    return d.get(re.sub(r"(?<!^)(?=[A-Z])", "_", camel).lower())


def _json_schema(schema: Any) -> Any:
    """Gemini's OpenAPI-style schema (``"type": "STRING"``) as JSON Schema (``"string"``)."""
    if isinstance(schema, dict):
        out = {k: _json_schema(v) for k, v in schema.items() if k != "propertyOrdering"}
        if isinstance(out.get("type"), str):
            out["type"] = out["type"].lower()
        return out
    if isinstance(schema, list):
        return [_json_schema(v) for v in schema]
    return schema


def _response_text(response: Any) -> str:
    """A ``functionResponse.response`` as the tool's output text."""
    if isinstance(response, dict) and len(response) == 1:
        (value,) = response.values()  # {"content": ...} from LiteLLM, {"output"|"result": ...} from others
        if isinstance(value, str):
            return value
    return response if isinstance(response, str) else json.dumps(response, ensure_ascii=False)


def _turns(contents: Any) -> list[tuple[str, list[dict[str, Any]]]]:
    if not isinstance(contents, list) or not contents:
        raise RequestError("* GenerateContentRequest.contents: contents is not specified", "contents")
    turns = []
    for i, content in enumerate(contents):
        role = (content.get("role") or "user") if isinstance(content, dict) else None
        parts = content.get("parts") if isinstance(content, dict) else None
        if role not in ("user", "model", "function") or not isinstance(parts, list):
            raise RequestError(f"* GenerateContentRequest.contents[{i}]: a content needs a role (user or model) "
                               "and parts", f"contents[{i}]")  # fmt: skip
        turns.append(("model" if role == "model" else "user", [p for p in parts if isinstance(p, dict)]))
    return turns


def _schema_prompt(turns: list[tuple[str, list[dict[str, Any]]]]) -> dict[str, Any] | None:
    """LiteLLM's "Use this JSON schema" user part: removed, its schema returned."""
    for role, parts in reversed(turns):
        for part in parts:
            found = _SCHEMA_PROMPT.match(part.get("text") or "") if role == "user" else None
            if found:
                try:
                    schema = json.loads(found.group(1))
                except ValueError:
                    return None
                parts.remove(part)
                return schema if isinstance(schema, dict) else None
    return None


def _is_text(part: dict[str, Any]) -> bool:
    return isinstance(part.get("text"), str) and not part.get("thought")


def _merged_instructions(turns: list[tuple[str, list[dict[str, Any]]]]) -> str:
    """The system prompt LiteLLM put in front of the first user turn (see the module docs)."""
    if not turns or turns[0][0] != "user":
        return ""
    parts = turns[0][1]
    texts = [p for p in parts if _is_text(p)]
    if len(texts) < 2 or len(texts) != len(parts):
        return ""
    for part in texts[:-1]:
        parts.remove(part)
    return "\n".join(p["text"] for p in texts[:-1] if p["text"])


def _items(turns: list[tuple[str, list[dict[str, Any]]]]) -> list[Item]:
    items: list[Item] = []
    open_calls: list[ToolCall] = []
    for ci, (role, parts) in enumerate(turns):
        texts: list[str] = []

        def flush() -> None:
            if any(t.strip() for t in texts):
                items.append(Message("assistant" if role == "model" else "user", "\n".join(t for t in texts if t)))
            texts.clear()

        for pi, part in enumerate(parts):
            call, response = _field(part, "functionCall"), _field(part, "functionResponse")
            if _is_text(part):
                texts.append(part["text"])
            elif isinstance(call, dict) and role == "model":
                flush()
                name = str(call.get("name", ""))
                args = call.get("args") if isinstance(call.get("args"), dict) else {}
                made = ToolCall(str(call.get("id") or f"gemini_{ci}_{pi}_{name}"), name, args)
                items.append(made)
                open_calls.append(made)
            elif isinstance(response, dict):
                flush()
                name = str(response.get("name", ""))
                match = next((c for c in open_calls if c.call_id == response.get("id")), None)
                match = match or next((c for c in open_calls if c.name == name), None)
                if match is not None:
                    open_calls.remove(match)
                call_id = match.call_id if match else str(response.get("id") or f"gemini_{ci}_{pi}_{name}")
                items.append(ToolResult(call_id, _response_text(response.get("response"))))
        flush()
    return items


def _tools(body: dict[str, Any]) -> list[Tool]:
    tools = []
    raw = body.get("tools") or []
    for entry in raw if isinstance(raw, list) else []:
        for i, decl in enumerate(_field(entry, "functionDeclarations") or [] if isinstance(entry, dict) else []):
            if not isinstance(decl, dict) or not decl.get("name"):
                raise RequestError(f"* GenerateContentRequest.tools[0].function_declarations[{i}].name: "
                                   "Name cannot be empty.", "tools")  # fmt: skip
            schema = _field(decl, "parametersJsonSchema") or _json_schema(decl.get("parameters") or {})
            tools.append(Tool(decl["name"], decl.get("description") or "", schema))
        # googleSearch, codeExecution, urlContext: the double runs none
    return tools


def _tool_choice(body: dict[str, Any], tools: list[Tool]) -> tuple[str, list[Tool]]:
    config = _field(_field(body, "toolConfig") or {}, "functionCallingConfig") or {}
    mode = str(config.get("mode") or "AUTO").upper()
    allowed = _field(config, "allowedFunctionNames") or []
    if mode == "NONE":
        return "none", tools
    if mode != "ANY":
        return "auto", tools  # AUTO, VALIDATED, MODE_UNSPECIFIED
    if len(allowed) == 1:
        return str(allowed[0]), tools
    return "required", [t for t in tools if t.name in allowed] if allowed else tools


def parse_gemini(body: dict[str, Any], model: str, stream: bool) -> ModelRequest:
    """The neutral request from a ``generateContent`` body (400-worthy problems raise RequestError)."""
    turns = _turns(body.get("contents"))
    config = _field(body, "generationConfig") or {}
    schema = _field(config, "responseJsonSchema") or _json_schema(_field(config, "responseSchema"))
    prompt_schema = _schema_prompt(turns)
    if schema is None and prompt_schema is not None:
        schema = _json_schema(prompt_schema)
    if schema is None and _field(config, "responseMimeType") in _JSON_TYPES:
        schema = {"type": "object"}  # JSON mode without a schema: an object, as Gemini would answer
    system = _field(body, "systemInstruction")
    if isinstance(system, dict):
        instructions = "\n".join(p["text"] for p in system.get("parts") or [] if isinstance(p, dict) and _is_text(p))
    else:
        instructions = system if isinstance(system, str) else _merged_instructions(turns)
    tools = _tools(body)
    tool_choice, tools = _tool_choice(body, tools)
    limit = _field(config, "maxOutputTokens")
    return ModelRequest(
        model=model,
        instructions=instructions,
        items=_items(turns),
        tools=tools,
        tool_choice=tool_choice,
        output_schema=schema,
        max_output_tokens=limit if isinstance(limit, int) and limit > 0 else None,
        stream=stream,
    )


def _usage(prompt: int, completion: int) -> dict[str, Any]:
    return {"promptTokenCount": prompt, "candidatesTokenCount": completion, "totalTokenCount": prompt + completion,
            "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}]}  # fmt: skip


class _Reply:
    def __init__(self, request: ModelRequest, decision: Decision, prompt_tokens: int) -> None:
        self.request, self.decision = request, decision
        self.response_id = uuid.uuid4().hex[:22]
        self.usage = _usage(prompt_tokens, completion_tokens(decision, request.max_output_tokens))
        if decision.kind == "tool_call":
            self.text, self.finish = "", "STOP"
        else:
            self.text, truncated = limit_output(decision.text, request.max_output_tokens)
            self.finish = "MAX_TOKENS" if truncated else "STOP"

    def chunk(self, parts: list[dict[str, Any]], final: bool) -> dict[str, Any]:
        candidate: dict[str, Any] = {"content": {"parts": parts, "role": "model"}, "index": 0}
        if final:
            candidate["finishReason"] = self.finish
        out: dict[str, Any] = {"candidates": [candidate]}
        if final:
            out["usageMetadata"] = self.usage
        return {**out, "modelVersion": self.request.model, "responseId": self.response_id}

    def call_part(self) -> dict[str, Any]:
        return {"functionCall": {"name": self.decision.tool, "args": self.decision.arguments or {}}}


def render_gemini(request: ModelRequest, decision: Decision, prompt_tokens: int) -> dict[str, Any]:
    """The non-streamed ``GenerateContentResponse``."""
    reply = _Reply(request, decision, prompt_tokens)
    part = reply.call_part() if decision.kind == "tool_call" else {"text": reply.text}
    return reply.chunk([part], final=True)


def stream_gemini(request: ModelRequest, decision: Decision, prompt_tokens: int) -> Iterator[Frame]:
    """``streamGenerateContent`` chunks (SSE ``data:`` frames with no event name)."""
    reply = _Reply(request, decision, prompt_tokens)
    if decision.kind == "tool_call":
        yield Frame(None, reply.chunk([reply.call_part()], final=True), delta=True)
        return
    pieces = list(text_pieces(reply.text)) or [""]
    for i, piece in enumerate(pieces):
        yield Frame(None, reply.chunk([{"text": piece}], final=i == len(pieces) - 1), delta=True)


# --------------------------------------------------------------------------- errors

_STATUS = {400: "INVALID_ARGUMENT", 401: "UNAUTHENTICATED", 403: "PERMISSION_DENIED", 404: "NOT_FOUND",
           409: "ABORTED", 429: "RESOURCE_EXHAUSTED", 499: "CANCELLED", 500: "INTERNAL", 501: "UNIMPLEMENTED",
           503: "UNAVAILABLE", 504: "DEADLINE_EXCEEDED"}  # fmt: skip
_INJECTED = " (injected by the model double)"
_FAULTS = {
    429: "You exceeded your current quota, please check your plan and billing details. For more information on "
         "this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.",
    500: "An internal error has occurred. Please retry or report in "
         "https://developers.generativeai.google/guide/troubleshooting",
    503: "The model is overloaded. Please try again later.",
}  # fmt: skip
_KEY_INVALID = "API key not valid. Please pass a valid API key."
_NO_KEY = ("Method doesn't allow unregistered callers (callers without established identity). "
           "Please use API Key or other form of API consumer identity to call this API.")  # fmt: skip


class GoogleErrors(ErrorStyle):
    """``{"error": {"code", "message", "status"[, "details"]}}`` (google.rpc.Status).

    A wrong key is what Google answers: HTTP 400 INVALID_ARGUMENT "API key not valid..." with an
    ``ErrorInfo`` of reason ``API_KEY_INVALID``; no key at all is HTTP 403 PERMISSION_DENIED.
    """

    provider = "gemini"

    def body(
        self, status: int, message: str, *, kind: str | None = None, param: str | None = None,
        details: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        kind = kind or _STATUS.get(status, "INVALID_ARGUMENT" if status < 500 else "INTERNAL")
        error: dict[str, Any] = {"code": status, "message": message, "status": kind}
        if details:
            error["details"] = details
        return {"error": error}

    def fault(self, status: int, retry_after_s: float | None) -> dict[str, Any]:
        details = None
        if status == 429 and retry_after_s is not None:
            details = [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": f"{retry_after_s:g}s"}]
        return self.body(status, _FAULTS.get(status, f"Injected fault: HTTP {status}.") + _INJECTED, details=details)

    def unauthorized(self, auth: str) -> tuple[int, dict[str, Any]]:
        if auth == "missing":
            return 403, self.body(403, _NO_KEY)
        details = [
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "API_KEY_INVALID",
             "domain": "googleapis.com", "metadata": {"service": "generativelanguage.googleapis.com"}},
            {"@type": "type.googleapis.com/google.rpc.LocalizedMessage", "locale": "en-US", "message": _KEY_INVALID},
        ]  # fmt: skip
        return 400, self.body(400, _KEY_INVALID, details=details)

    def bad_json(self) -> dict[str, Any]:
        return self.bad_request("Invalid JSON payload received. Unexpected token.")


GOOGLE_ERRORS = GoogleErrors()
