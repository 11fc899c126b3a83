"""Which wire format a request speaks, told by its path: one :class:`Api` per format.

=============  ===============================================  =====================  ===========
``api``        route                                            key                    error style
=============  ===============================================  =====================  ===========
chat           ``POST /v1/chat/completions``                    ``Authorization``      OpenAI
responses      ``POST /v1/responses``                           ``Authorization``      OpenAI
anthropic      ``POST /v1/messages``                            ``x-api-key``          Anthropic
gemini         ``POST /v1beta/models/{model}:generateContent``  ``x-goog-api-key`` or  Google
               ``POST /v1beta/models/{model}:streamGenerate``   ``?key=``
               ``Content`` (also under ``/v1/``)
=============  ===============================================  =====================  ===========

Each :class:`Api` bundles the format's parse / render / stream functions, how it
carries the key, its error style and what the request log records of a body, so
the server handles every format with the same code.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from .anthropic import ANTHROPIC_ERRORS, parse_anthropic, render_anthropic, stream_anthropic
from .chat import parse_chat, render_chat, stream_chat
from .conversation import Decision, ModelRequest
from .errors import OPENAI_ERRORS, ErrorStyle
from .gemini import GOOGLE_ERRORS, parse_gemini, render_gemini, stream_gemini
from .responses import parse_responses, render_responses, stream_responses
from .wire import Frame

__all__ = ["ANTHROPIC", "API_KEY_HEADERS", "CHAT", "GEMINI", "RESPONSES", "Api", "Route", "find_route",
           "style_for_path"]  # fmt: skip

#: Headers that carry a key: never copied into a :class:`Route`.
API_KEY_HEADERS = ("authorization", "x-api-key", "x-goog-api-key")
_GEMINI = re.compile(r"^/(v1beta|v1)/models/(?P<model>[^/:]+):(?P<method>generateContent|streamGenerateContent)$")


@dataclass(frozen=True)
class Route:
    """What the path and headers say about one request (no key in here)."""

    api: Api
    model: str | None = None
    """The model named in the path (Gemini), else None: it is in the body."""
    stream: bool | None = None
    """Streamed because of the path (Gemini), else None: the body says."""
    sse: bool = True
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Api:
    name: str
    parse: Callable[[dict[str, Any], Route], ModelRequest]
    render: Callable[[dict[str, Any], ModelRequest, Decision, int], Any]
    stream: Callable[[dict[str, Any], ModelRequest, Decision, int], Iterator[Frame]]
    key: Callable[[Mapping[str, str], dict[str, list[str]]], str | None]
    errors: ErrorStyle
    summary: Callable[[dict[str, Any], Route], dict[str, Any]]
    """``stream``, ``model``, ``tools``, ``tool_choice``, ``parallel_tool_calls`` for the request log."""


def _bearer(headers: Mapping[str, str], query: dict[str, list[str]]) -> str | None:
    given = headers.get("Authorization") or ""
    return given[7:].strip() or None if given.startswith("Bearer ") else None


def _openai_summary(body: dict[str, Any], route: Route) -> dict[str, Any]:
    names = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            name = (tool.get("function") or {}).get("name") if "function" in tool else tool.get("name")
            if name:
                names.append(str(name))
    return {"stream": bool(body.get("stream")), "model": body.get("model"), "tools": names,
            "tool_choice": body.get("tool_choice"), "parallel_tool_calls": body.get("parallel_tool_calls")}  # fmt: skip


def _anthropic_summary(body: dict[str, Any], route: Route) -> dict[str, Any]:
    choice = body.get("tool_choice")
    disabled = choice.get("disable_parallel_tool_use") if isinstance(choice, dict) else None
    return {**_openai_summary(body, route), "parallel_tool_calls": None if disabled is None else not disabled}


def _gemini_summary(body: dict[str, Any], route: Route) -> dict[str, Any]:
    names = [
        str(decl.get("name"))
        for entry in body.get("tools") or []
        if isinstance(entry, dict)
        for decl in entry.get("functionDeclarations") or entry.get("function_declarations") or []
        if isinstance(decl, dict) and decl.get("name")
    ]
    config = body.get("toolConfig") or body.get("tool_config")
    config = config if isinstance(config, dict) else {}
    choice = config.get("functionCallingConfig") or config.get("function_calling_config")
    return {"stream": bool(route.stream), "model": route.model, "tools": names, "tool_choice": choice,
            "parallel_tool_calls": None}  # fmt: skip


CHAT = Api(
    "chat",
    parse=lambda body, route: parse_chat(body),
    render=lambda body, request, decision, tokens: render_chat(request, decision, tokens),
    stream=lambda body, request, decision, tokens: stream_chat(
        request, decision, tokens, bool((body.get("stream_options") or {}).get("include_usage"))
    ),
    key=_bearer,
    errors=OPENAI_ERRORS,
    summary=_openai_summary,
)
RESPONSES = Api(
    "responses",
    parse=lambda body, route: parse_responses(body),
    render=render_responses,
    stream=stream_responses,
    key=_bearer,
    errors=OPENAI_ERRORS,
    summary=_openai_summary,
)
ANTHROPIC = Api(
    "anthropic",
    parse=lambda body, route: parse_anthropic(body, route.headers),
    render=render_anthropic,
    stream=stream_anthropic,
    key=lambda headers, query: headers.get("x-api-key") or None,
    errors=ANTHROPIC_ERRORS,
    summary=_anthropic_summary,
)
GEMINI = Api(
    "gemini",
    parse=lambda body, route: parse_gemini(body, route.model or "", bool(route.stream)),
    render=lambda body, request, decision, tokens: render_gemini(request, decision, tokens),
    stream=lambda body, request, decision, tokens: stream_gemini(request, decision, tokens),
    key=lambda headers, query: headers.get("x-goog-api-key") or (query.get("key") or [None])[0] or None,
    errors=GOOGLE_ERRORS,
    summary=_gemini_summary,
)
_FIXED = {"/v1/chat/completions": CHAT, "/v1/responses": RESPONSES, "/v1/messages": ANTHROPIC}


def find_route(method: str, path: str, query: str, headers: Mapping[str, str]) -> Route | None:
    """The model API a request is for, or None (not a model request)."""
    if method != "POST":
        return None
    safe = {k.lower(): v for k, v in headers.items() if k.lower() not in API_KEY_HEADERS}
    api = _FIXED.get(path.rstrip("/"))
    if api is not None:
        return Route(api, headers=safe)
    found = _GEMINI.match(path)
    if found is None:
        return None
    stream = found["method"] == "streamGenerateContent"
    sse = "sse" in parse_qs(query).get("alt", [])
    return Route(GEMINI, model=found["model"], stream=stream, sse=sse, headers=safe)


def style_for_path(path: str) -> ErrorStyle:
    """Whose error body an unknown path gets: the provider its prefix belongs to."""
    if path.startswith("/v1beta/") or _GEMINI.match(path):
        return GOOGLE_ERRORS
    if path.startswith("/v1/messages"):
        return ANTHROPIC_ERRORS
    return OPENAI_ERRORS
