"""Filling a function tool's arguments from its JSON schema and the request.

Each parameter is classified by its name, type and description (a US state, an
enum, a number, free text, a place, an agent-as-tool ``input``) and filled
from what the request actually says. What cannot be filled is reported as
missing instead of invented: the policy then asks the user for it.
"""

from __future__ import annotations

import re
from typing import Any

from . import extract as ex
from .conversation import Tool

__all__ = [
    "Filled",
    "fill_arguments",
    "forced_arguments",
    "is_state_like",
    "param_kind",
    "placeholder",
    "resolve",
    "schema_words",
]

_TEXT_WORDS = {"message", "text", "body", "note", "content", "notice", "comment", "reason", "subject", "title"}
_PLACE_WORDS = {"destination", "city", "location", "place", "town", "country", "address", "airport", "where", "name"}
# "input" is what Agent.as_tool names its one parameter: the nested agent gets the request.
_STATE_DESCRIPTION = re.compile(r"\b(US|U\.S\.) state\b|\bstate code\b", re.I)
_QUERY_WORDS = {"query", "question", "request", "prompt", "input", "search"}


def schema_words(text: str) -> set[str]:
    """Stemmed words of a parameter's name or description (stopwords kept: 'state' matters here)."""
    return {ex.stem(w) for w in re.findall(r"[A-Za-z]+", re.sub(r"([a-z])([A-Z])", r"\1 \2", text.replace("_", " ")))}


def resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    """Follow ``$ref`` and pick the non-null branch of ``anyOf``/``oneOf`` (pydantic's Optional)."""
    seen = 0
    while isinstance(schema, dict) and seen < 20:
        seen += 1
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = root
            for part in ref[2:].split("/"):
                target = target.get(part, {}) if isinstance(target, dict) else {}
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            continue
        branches = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(branches, list) and branches:
            chosen = next((b for b in branches if isinstance(b, dict) and b.get("type") != "null"), branches[0])
            schema = {**{k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}, **chosen}
            continue
        return schema
    return schema if isinstance(schema, dict) else {}


def is_state_like(name: str, prop: dict[str, Any]) -> bool:
    return "state" in schema_words(name) or bool(_STATE_DESCRIPTION.search(prop.get("description", "")))


def param_kind(name: str, prop: dict[str, Any]) -> str:
    """One of: enum, number, integer, boolean, array, object, state, text, place, query, string."""
    if "enum" in prop:
        return "enum"
    kind = prop.get("type")
    if kind in ("number", "integer", "boolean", "array", "object"):
        return str(kind)
    words = schema_words(name) | schema_words(prop.get("description", ""))
    if is_state_like(name, prop):
        return "state"
    name_words = schema_words(name)
    if name_words & _TEXT_WORDS:
        return "text"
    if name_words & _PLACE_WORDS:
        return "place"
    if name_words & _QUERY_WORDS:
        return "query"
    if words & _TEXT_WORDS:
        return "text"
    if words & _PLACE_WORDS:
        return "place"
    return "string"


def placeholder(prop: dict[str, Any]) -> Any:
    """A value valid for ``prop`` when the request gives none (only for forced calls and defaults)."""
    if "default" in prop:
        return prop["default"]
    if prop.get("enum"):
        return prop["enum"][0]
    return {"number": 0, "integer": 0, "boolean": False, "array": [], "object": {}, "null": None}.get(
        str(prop.get("type")), ""
    )


class Filled:
    """The arguments for one call, and the required parameters nobody gave."""

    def __init__(self) -> None:
        self.arguments: dict[str, Any] = {}
        self.missing: list[tuple[str, str]] = []
        """(parameter name, its description) for each required parameter left empty."""


def fill_arguments(tool: Tool, request: str, state: str | None, anchors: set[str]) -> Filled:
    """Arguments for ``tool`` from ``request``; ``state`` is the state this call is for.

    ``anchors`` are the request words that picked the tool: a place or name is
    read from the words after the last of them ("a flight to Denver").
    """
    root = tool.parameters or {}
    props: dict[str, Any] = root.get("properties") or {}
    required = set(root.get("required") or [])
    numbers = iter(ex.find_numbers(request))
    texts = [q.value for q in ex.quoted(request) if len(q.value) > 3]
    out = Filled()
    for name, raw in props.items():
        prop = resolve(raw, root)
        optional = name not in required or "default" in prop
        value = _value(name, prop, root, request, state, numbers, texts, anchors)
        if value is None:
            if optional:
                if "default" in prop or prop.get("enum"):
                    out.arguments[name] = placeholder(prop)  # the schema's own choice, not ours
                continue
            out.missing.append((name, prop.get("description") or name.replace("_", " ")))
            continue
        out.arguments[name] = value
    return out


def forced_arguments(tool: Tool, request: str) -> dict[str, Any]:
    """Arguments for a call the API forces: what the request gives, schema placeholders for the rest."""
    root = tool.parameters or {}
    states = ex.find_states(request)
    filled = fill_arguments(tool, request, states[0].value if states else None, set(ex.split_words(request)))
    props = root.get("properties") or {}
    for name, _ in filled.missing:
        filled.arguments[name] = placeholder(resolve(props[name], root))
    return filled.arguments


def _value(
    name: str,
    prop: dict[str, Any],
    root: dict[str, Any],
    request: str,
    state: str | None,
    numbers: Any,
    texts: list[str],
    anchors: set[str],
) -> Any:
    kind = param_kind(name, prop)
    if kind == "enum":
        values = [str(v) for v in prop["enum"]]
        found = ex.enum_mention(request, values, prop.get("description", ""))
        return next((v for v in prop["enum"] if str(v) == found), None) if found else None
    if kind in ("number", "integer"):
        number = next(numbers, None)
        if number is None:
            return None
        return int(number) if kind == "integer" or float(number).is_integer() else number
    if kind == "boolean":
        return True if schema_words(name) & set(ex.split_words(request)) else None
    if kind == "array":
        items = resolve(prop.get("items") or {}, root)
        if is_state_like(name, prop) or is_state_like(name, items):
            return [m.value for m in ex.find_states(request)] or None
        return texts or None
    if kind == "state":
        return state
    if kind == "text":
        return texts[0] if texts else None
    if kind == "query":
        return request.strip() or None
    if kind == "place":
        return ex.phrase_after(request, anchors | schema_words(name))
    return texts[0] if texts else ex.phrase_after(request, anchors)
