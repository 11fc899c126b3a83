"""Tools and handoffs as the rules see them: their words, their schema, their score for a request."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from .words import _terms

# Words that appear in every handoff description, so they carry no signal.
_HANDOFF_GENERIC = frozenset(
    {"handoff", "transfer", "agent", "handle", "request", "assistant", "specialist"}
)


@dataclass(frozen=True)
class _ToolSpec:
    """A function tool or a handoff, reduced to what the rules read (hashable, so it can be cached)."""

    name: str
    description: str
    schema: Mapping[str, Any]
    schema_json: str
    name_terms: frozenset[str]
    other_terms: frozenset[str]
    is_handoff: bool = False
    agent_name: str = ""


def _param_text(schema: Mapping[str, Any], depth: int = 0) -> str:
    """Parameter names and descriptions (two levels deep)."""
    if depth > 2 or not isinstance(schema, Mapping):
        return ""
    parts = []
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for pname, p in props.items():
            parts.append(str(pname))
            if isinstance(p, Mapping):
                parts.append(str(p.get("description") or ""))
                parts.append(_param_text(p, depth + 1))
                if isinstance(p.get("items"), Mapping):
                    parts.append(_param_text(p["items"], depth + 1))
    for key in ("$defs", "definitions"):
        defs = schema.get(key)
        if isinstance(defs, Mapping) and depth == 0:
            for d in defs.values():
                parts.append(_param_text(d, depth + 1))
    return " ".join(x for x in parts if x)


def _ordered_json(obj: Any) -> str:
    """JSON that keeps key order: property order matters when filling arguments."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


@lru_cache(maxsize=1024)
def _tool_spec_cached(name: str, description: str, schema_json: str, is_handoff: bool, agent_name: str) -> _ToolSpec:
    schema = json.loads(schema_json) if schema_json else {}
    if is_handoff:
        name_terms = (_terms(agent_name) | _terms(name.removeprefix("transfer_to_"))) - _HANDOFF_GENERIC
        other_terms = (_terms(description) | _terms(_param_text(schema))) - _HANDOFF_GENERIC
    else:
        name_terms = _terms(name)
        other_terms = _terms(description) | _terms(_param_text(schema))
    return _ToolSpec(name, description, schema, schema_json, name_terms, other_terms, is_handoff, agent_name)


def _tool_spec(tool: Any) -> _ToolSpec | None:
    if isinstance(tool, _ToolSpec):
        return tool
    if isinstance(tool, Mapping):
        name = tool.get("name")
        desc = tool.get("description") or ""
        schema = tool.get("params_json_schema", tool.get("parameters"))
    else:
        name = getattr(tool, "name", None)
        desc = getattr(tool, "description", "") or ""
        schema = getattr(tool, "params_json_schema", None)
    if not isinstance(name, str) or not name or not isinstance(schema, Mapping):
        return None  # hosted tools, shell, computer use... are not callable by these rules
    return _tool_spec_cached(name, str(desc), _ordered_json(schema), False, "")


def _handoff_spec(h: Any) -> _ToolSpec | None:
    if isinstance(h, Mapping):
        name = h.get("tool_name")
        desc = h.get("tool_description") or ""
        schema = h.get("input_json_schema") or {}
        agent = h.get("agent_name") or ""
    else:
        name = getattr(h, "tool_name", None)
        desc = getattr(h, "tool_description", "") or ""
        schema = getattr(h, "input_json_schema", None) or {}
        agent = getattr(h, "agent_name", "") or ""
    if not isinstance(name, str) or not name:
        return None
    return _tool_spec_cached(name, str(desc), _ordered_json(schema), True, str(agent))


def _score(
    spec: _ToolSpec, request_terms: frozenset[str], df: Mapping[str, int]
) -> tuple[int, float, list[str]]:
    """(raw score, weighted score, matched words).

    Raw: 3 per request word in the tool's name, 1 per word only in its
    description/parameters. Weighted: the same divided by how many of the
    candidates (tools and handoffs) contain the word, so a word every tool
    shares ("weather") counts less than one only this tool has ("alerts").
    """
    raw = 0
    weighted = 0.0
    hits = []
    for t in sorted(request_terms):
        if t in spec.name_terms:
            w = 3
        elif t in spec.other_terms:
            w = 1
        else:
            continue
        raw += w
        weighted += w / max(1, df.get(t, 1))
        hits.append(t)
    return raw, weighted, hits


def _document_frequency(specs: Iterable[_ToolSpec], request_terms: frozenset[str]) -> dict[str, int]:
    df: dict[str, int] = {}
    for spec in specs:
        for t in request_terms:
            if t in spec.name_terms or t in spec.other_terms:
                df[t] = df.get(t, 0) + 1
    return df
