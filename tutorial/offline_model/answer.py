"""The final answer: what the tools of this turn returned, quoted (or why nothing was called)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from .schema_fill import _Need
from .sources import _row
from .specs import _ToolSpec
from .turn import _parse_output
from .words import _STOPWORDS, _dedupe, _label, _short, _words

_EMPTY_REQUEST_ANSWER = "Your message is empty: what would you like to ask?"
_STATE_QUESTION = "Which US state do you mean? Give its name or two-letter code."

# Error texts a tool hands the model: the Agents SDK's own, and recipes.core.tool_errors'
# "Tool <name> failed: <why> (<Type>; <retry note>). Check the arguments or tell the user."
_ERROR_PREFIXES = (
    "An error occurred while running the tool",
    "An error occurred while parsing tool arguments",
    "Error:",
    "error:",
)
_TOOL_FAILED_RE = re.compile(
    r"Tool \S+ failed: (?P<why>.*?)(?: \((?:[A-Z]\w*|gave up|not retried)[^()]*\))?\.?"
    r" Check the arguments or tell the user\.?",
    re.S,
)
_TOOL_VERBS = frozenset(
    """get fetch find search list look lookup check recheck book create add update delete remove
    cancel send post broadcast ask convert compute calculate schedule set read write run start stop
    translate summarize query""".split()
)
_JOINERS = frozenset("in on at for to from of by with about".split())
_LABEL_KEYS = ("event", "name", "title", "headline", "label", "id")
_AREA_KEYS = ("areaDesc", "area", "location", "city", "region", "state")
_DETAIL_KEYS = (
    "severity", "status", "temperature", "temperatureUnit", "windSpeed", "shortForecast",
    "detailedForecast", "summary", "description", "value", "price", "date", "time",
)  # fmt: skip


def _fmt_scalar(v: Any, limit: int = 80) -> str:
    if isinstance(v, str):
        return f'"{_short(v, limit)}"'
    return json.dumps(v, ensure_ascii=False, default=str)


def _fmt_args(args: Any) -> str:
    if isinstance(args, Mapping):
        return ", ".join(f"{k}={_fmt_scalar(v, 40)}" for k, v in args.items())
    return _fmt_scalar(args, 40)


def _noun(tool_name: str) -> str:
    words = [w for w in _words(tool_name) if w not in _STOPWORDS]
    if not words:
        return "results"
    w = words[-1]
    return w if w.endswith("s") else (w[:-1] + "ies" if w.endswith("y") and len(w) > 2 else w + "s")


def _action(tool_name: str) -> str:
    """What calling the tool does, for a sentence: get_weather_alerts -> "get the weather alerts"."""
    words = _label(tool_name).split()
    if len(words) > 1 and words[0] in _TOOL_VERBS:
        article = "" if words[1] in _JOINERS else "the "
        return f"{words[0]} {article}{' '.join(words[1:])}"
    return f"use {tool_name}"


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _error_reason(value: Any) -> str | None:
    """Why a tool failed, worded for the user: without the instructions meant for the model
    and the error type list. None when ``value`` is not an error."""
    if isinstance(value, str):
        text = value.strip()
        if m := _TOOL_FAILED_RE.fullmatch(text):
            why = m.group("why")
        elif text.startswith(_ERROR_PREFIXES):
            why = (text.split("Error:", 1)[1].strip() if "Error:" in text else "") or text
        else:
            return None
    elif isinstance(value, Mapping):
        err = value.get("error") or value.get("detail") if len(value) <= 3 else value.get("error")
        if not (isinstance(err, (str, Mapping)) and err and ("error" in value or "status" in value)):
            return None
        why = err if isinstance(err, str) else json.dumps(err)
    else:
        return None
    why = _short(why, 240)
    return why if why.endswith((".", "!", "?", "…")) else why + "."


def _ask_for(missing: list[tuple[str, list[_Need]]]) -> str:
    """One question for the values a tool needs and the request does not give: asked, not invented."""
    needs = [(path, kind) for _, tool_needs in missing for path, kind in tool_needs]
    if all(kind == "state" for _, kind in needs):
        return _STATE_QUESTION
    labels = _dedupe(
        "US state (its name or two-letter code)" if kind == "state" else _label([p for p in path if p != "[]"][-1])
        for path, kind in needs
    )
    return f"What {_join(labels)} should I use to {_join(_dedupe(_action(name) for name, _ in missing))}?"


def _brief_row(row: Mapping[str, Any]) -> str:
    label = next((row[k] for k in _LABEL_KEYS if isinstance(row.get(k), (str, int, float)) and row.get(k) != ""), None)
    area = next((row[k] for k in _AREA_KEYS if isinstance(row.get(k), str) and row.get(k)), None)
    parts = []
    if label is not None:
        parts.append(_short(str(label), 80))
    if area is not None and area != label:
        parts.append(f"for {_short(area, 80)}" if parts else _short(area, 80))
    details = []
    for k in _DETAIL_KEYS:
        v = row.get(k)
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and v != "" and v not in (label, area):
            details.append(f"{k}: {_short(str(v), 60)}")
        if len(details) >= 2:
            break
    if not parts:
        scalars = [(k, v) for k, v in row.items() if isinstance(v, (str, int, float, bool))][:3]
        return ", ".join(f"{k}: {_fmt_scalar(v, 40)}" for k, v in scalars) or "{…}"
    return " ".join(parts) + (f" ({'; '.join(details)})" if details else "")


def _summarize(value: Any, noun: str, depth: int = 0) -> str:
    if isinstance(value, str):
        return f'"{_short(value, 400)}"'
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, Mapping):
        features = value.get("features")
        if isinstance(features, list):
            return _summarize_rows(features, noun, title=value.get("title"))
        if depth < 2:
            # A dict wrapping one list of records (e.g. forecast periods): describe the list.
            for k, v in value.items():
                if isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
                    head = _dict_scalars(value, 3)
                    return (head + "; " if head else "") + f"{k}: " + _summarize_rows(v, k)
            for k, v in value.items():
                if isinstance(v, Mapping) and any(
                    isinstance(x, list) and x and all(isinstance(y, Mapping) for y in x)
                    for x in v.values()
                ):
                    head = _dict_scalars(value, 3)
                    inner = _summarize(v, noun, depth + 1)
                    return (head + "; " if head else "") + inner
        return _dict_scalars(value, 8) or "an empty object"
    if isinstance(value, (list, tuple)):
        if not value:
            return f"there are no {noun} (the result is empty)"
        if all(isinstance(x, Mapping) for x in value):
            return _summarize_rows(list(value), noun)
        shown = ", ".join(_fmt_scalar(x, 60) for x in value[:8])
        more = f", and {len(value) - 8} more" if len(value) > 8 else ""
        return f"{len(value)} item(s): {shown}{more}"
    return _short(str(value), 200)


def _dict_scalars(value: Mapping[str, Any], limit: int) -> str:
    parts = []
    for k, v in value.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            parts.append(f"{k}: {_fmt_scalar(v)}")
        elif isinstance(v, Mapping):
            for k2, v2 in v.items():
                if isinstance(v2, (str, int, float, bool)):
                    parts.append(f"{k}.{k2}: {_fmt_scalar(v2)}")
        elif isinstance(v, list):
            parts.append(f"{k}: {len(v)} item(s)")
        if len(parts) >= limit:
            break
    return "; ".join(parts[:limit])


def _summarize_rows(rows: list[Any], noun: str, title: Any = None) -> str:
    if not rows:
        extra = f" ({_short(title, 100)})" if isinstance(title, str) and title else ""
        return f"there are no {noun}{extra} - the result is empty"
    briefs = [_brief_row(_row(r)) if isinstance(r, Mapping) else _fmt_scalar(r) for r in rows[:5]]
    more = f"; and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"{len(rows)} {noun if len(rows) != 1 else noun.rstrip('s') or noun}: " + "; ".join(briefs) + more


def _results_text(results: list[tuple[str, Any, Any]]) -> str:
    """What each call returned; a failed call as what could not be done, and why."""
    done, failed = [], []
    for name, args, output in results:
        parsed = _parse_output(output)
        reason = _error_reason(parsed)
        if reason is None:
            done.append(f"{name}({_fmt_args(args)}): {_summarize(parsed, _noun(name))}")
        elif len(results) == 1:
            failed.append(f"I could not {_action(name)}: {reason}")
        else:
            failed.append(f"I could not {_action(name)} ({_fmt_args(args)}): {reason}")
    if len(done) == 1 and not failed:
        return f"Result of {done[0]}"
    lines = ["Results:", *(f"- {line}" for line in done)] if done else []
    return "\n".join(lines + failed)


def _final_text(
    request: str,
    results: list[tuple[str, Any, Any]],
    tools: list[_ToolSpec],
    handoffs: list[_ToolSpec],
    handoff_targets: list[str],
    missing: list[tuple[str, list[_Need]]],
) -> str:
    parts = ([_results_text(results)] if results else []) + ([_ask_for(missing)] if missing else [])
    if parts:
        return "\n".join(parts)
    if not request:
        return _EMPTY_REQUEST_ANSWER
    what = []
    if tools:
        what.append("tools available here: " + ", ".join(t.name for t in tools))
    if handoffs:
        what.append("agents I can hand off to: " + ", ".join(h.agent_name or h.name for h in handoffs))
    capabilities = "; ".join(what) if what else "this agent has no tools or handoffs"
    received = " (this request was handed to me by another agent)" if handoff_targets else ""
    return (
        f'Offline stand-in model, not an LLM: no tool or handoff matched the words in "{_short(request, 120)}"'
        f"{received}, and I cannot answer from knowledge. I can call a tool whose name or description "
        f"shares keywords with the request, hand off to an agent whose description matches, and fill a "
        f"structured output schema. {capabilities[0].upper() + capabilities[1:]}."
    )
