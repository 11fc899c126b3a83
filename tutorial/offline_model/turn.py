"""Reading the input items: the request, and the calls and outputs since the last user message."""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .words import _NUMBER_RE


def _plain(item: Any) -> Any:
    """Dicts/pydantic models/lists to plain JSON-able data without None values."""
    if hasattr(item, "model_dump"):
        try:
            item = item.model_dump(exclude_none=True, mode="json")
        except Exception:  # pragma: no cover - defensive
            item = item.model_dump()
    if isinstance(item, Mapping):
        return {str(k): _plain(v) for k, v in item.items() if v is not None}
    if isinstance(item, (list, tuple)):
        return [_plain(v) for v in item]
    return item


def _normalize_input(input: str | Sequence[Any] | None) -> list[dict[str, Any]]:
    if input is None:
        return []
    if isinstance(input, str):
        return [{"role": "user", "content": input}]
    out = []
    for item in input:
        p = _plain(item)
        if isinstance(p, dict):
            out.append(p)
    return out


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text") or part.get("refusal")
                if isinstance(text, str):
                    parts.append(text)
        return "\n".join(parts)
    return "" if content is None else str(content)


def _is_message(item: Mapping[str, Any], role: str) -> bool:
    return item.get("role") == role and item.get("type", "message") == "message"


def _parse_json_args(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
    return raw


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _parse_output(raw: Any) -> Any:
    """A tool output as data: JSON, else a Python literal (tools returning dicts are
    str()-ed by the SDK), else the text."""
    if isinstance(raw, list):
        raw = _content_text(raw)
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text[:1] in "{[\"" or text in ("true", "false", "null") or _NUMBER_RE.fullmatch(text):
        try:
            return json.loads(text)
        except ValueError:
            pass
    if text[:1] in "{[(" and len(text) < 200_000:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
    return raw


def _handoff_target(output: Any) -> str | None:
    """The agent named by a handoff's transfer message ``{"assistant": "<name>"}``."""
    parsed = _parse_output(output)
    if isinstance(parsed, dict) and set(parsed) == {"assistant"} and isinstance(parsed["assistant"], str):
        return parsed["assistant"]
    return None


@dataclass
class _Turn:
    items: list[dict[str, Any]]
    request: str
    calls: list[tuple[str, Any, str]]  # (name, parsed args, call_id) since the last user message
    outputs: dict[str, Any]  # call_id -> raw output
    handoff_targets: list[str]

    def made(self) -> set[tuple[str, str]]:
        return {(name, _canonical(args)) for name, args, _ in self.calls}


def _earlier_messages(items: list[dict[str, Any]]) -> list[str]:
    """Texts of the messages before the last user message (material the request refers to)."""
    last_user = max((i for i, it in enumerate(items) if _is_message(it, "user")), default=-1)
    texts = []
    for it in items[: max(last_user, 0)]:
        if "content" in it and it.get("type", "message") == "message":
            text = " ".join(_content_text(it.get("content")).split())
            if text:
                texts.append(text)
    return texts


def _read_turn(items: list[dict[str, Any]], handoff_names: set[str]) -> _Turn:
    last_user = -1
    for i in range(len(items) - 1, -1, -1):
        if _is_message(items[i], "user"):
            last_user = i
            break
    if last_user >= 0:
        request = _content_text(items[last_user].get("content"))
    else:
        # No user message (e.g. a nested/summarised history): use the last message text.
        request = ""
        for it in reversed(items):
            if "content" in it and it.get("type", "message") == "message":
                request = _content_text(it.get("content"))
                break
    calls: list[tuple[str, Any, str]] = []
    outputs: dict[str, Any] = {}
    targets: list[str] = []
    handoff_call_ids: set[str] = set()
    for it in items[last_user + 1 :]:
        typ = it.get("type")
        if typ == "function_call":
            name = str(it.get("name", ""))
            call_id = str(it.get("call_id") or it.get("id") or "")
            calls.append((name, _parse_json_args(it.get("arguments", "")), call_id))
            if name in handoff_names or name.startswith("transfer_to_"):
                handoff_call_ids.add(call_id)
        elif typ == "function_call_output":
            call_id = str(it.get("call_id", ""))
            outputs[call_id] = it.get("output")
            target = _handoff_target(it.get("output"))
            if target is not None:
                targets.append(target)
                handoff_call_ids.add(call_id)
    for cid in handoff_call_ids:
        if cid in outputs and _handoff_target(outputs[cid]) is None:
            targets.append("")
    return _Turn(items, request.strip(), calls, outputs, targets)
