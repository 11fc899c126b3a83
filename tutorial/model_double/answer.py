"""The double's answers: its own wording, built from what the tools returned.

Facts from tool outputs survive (alert names, capitals, numbers: each output
line is kept, shortened at word boundaries); errors and rejections are
explained in plain words instead of echoing text meant for the model. With an
output schema the answer is JSON valid against it, filled from the request and
the conversation.
"""

from __future__ import annotations

import json
import re
from typing import Any

from . import extract as ex
from .arguments import is_state_like, resolve, schema_words
from .conversation import Message, Tool, ToolCall, ToolResult, Turn

__all__ = ["OPENER", "json_output", "reply", "result_sentence"]

OPENER = "Here is what I found."
OPENER_NO_RESULT = "Here is what happened."
IDENTITY = "a wire-format test double (fixed rules, not a language model)"
_PIECE_CHARS = 140
_RESULT_CHARS = 1200
# Before a numbered list item ("2. Wind Advisory") or a new sentence.
_PIECE_BREAK = re.compile(r"\s+(?=\d+\.\s+[A-Z])|(?<=[.!?…])\s+(?=[A-Z])")
_ACTION_VERBS = {"broadcast", "send", "post", "notify", "publish", "email", "message", "page"}
_SUMMARY_WORDS = {
    "summary", "answer", "text", "report", "briefing", "description", "message", "reply", "explanation", "content",
}  # fmt: skip
_MODEL_DIRECTIONS = re.compile(
    r"\s*(?:Check the arguments or tell the user\.?|Please try again\.?|Do not retry\.?|Tell the user[^.]*\.?)", re.I
)
_ERROR_HEAD = re.compile(
    r"^(?:Tool \S+ failed:\s*|An error occurred while running the tool\.?\s*(?:Error:\s*)?|Error:\s*)", re.I
)
_ECHO = re.compile(r"\s*(?:please\s+)?(?:reply|respond|answer|say)(?: only)? with\s+(.+?)\s*[.!]?\s*$", re.I | re.S)
_ERROR_TYPES = re.compile(r"\s*\((?:[A-Z][A-Za-z]+(?:Error|State|Timeout|Rejected|Limited)?)(?:;[^)]*)?\)")


def _human(name: str) -> str:
    for prefix in ("get_", "ask_", "fetch_"):
        if name.startswith(prefix):
            name = name[len(prefix) :]
    return name.replace("_", " ")


def _label(call: ToolCall) -> str:
    shown = [ex.shorten(str(v), 40) for v in call.arguments.values() if v not in (None, "", [], {})]
    base = _human(call.name)
    return (base[:1].upper() + base[1:]) + (f" ({', '.join(shown)})" if shown else "")


def _compact(output: str) -> str:
    """An output on one line: its own opener dropped, each line, list item and sentence
    shortened on its own (so every item's name survives), the whole capped."""
    text = output.replace(OPENER, " ").replace(OPENER_NO_RESULT, " ").strip()
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) > 4:  # keep the list's own lines (events, names); drop indented details
        lines = [line for line in lines if not line.startswith((" ", "\t"))] or lines
    pieces = [p for line in lines for p in _PIECE_BREAK.split(line.strip().lstrip("- ")) if p]
    return ex.shorten(" ".join(ex.shorten(p, _PIECE_CHARS) for p in pieces), _RESULT_CHARS)


def _is_error(output: str) -> bool:
    text = output.strip()
    return bool(_ERROR_HEAD.match(text)) or "is not a US state code" in text or text.startswith("Not scheduled:")


def _is_rejection(output: str) -> bool:
    low = output.lower()
    return "was not approved" in low or ("rejected" in low and "not run" in low)


def result_sentence(call: ToolCall, output: str) -> str:
    """One sentence about one tool result, in words for the user."""
    label = _label(call)
    if _is_rejection(output):
        reason = re.search(r"Reason:\s*(.+)", output, re.S)
        why = ex.shorten(reason.group(1), 200).rstrip(".") if reason else "a person did not approve it"
        return f"{label}: not sent. A person rejected it; reason: {why}."
    if _is_error(output):
        message = _ERROR_TYPES.sub("", _MODEL_DIRECTIONS.sub("", _ERROR_HEAD.sub("", output.strip())))
        message = ex.shorten(message, 300).rstrip(" .")
        return f"{label}: I could not get that: {message}."
    sent = " Sent." if set(ex.split_words(call.name)) & _ACTION_VERBS else ""
    body = _compact(output)
    return f"{label}:{sent} {body}" + ("" if body.endswith((".", "!", "?", "…")) else ".")


def _answered(turn: Turn) -> list[tuple[ToolCall, str]]:
    return [
        (call, turn.results[call.call_id])
        for call in turn.calls
        if call.call_id in turn.results and not call.name.startswith("transfer_to_")
    ]


def _ask_sentence(tool: str, missing: list[tuple[str, str]]) -> str:
    wanted = "; ".join(f"{name.replace('_', ' ')} ({desc.rstrip('.')})" for name, desc in missing)
    return f"To use {_human(tool)} I need this from you: {wanted}. Please tell me and I will go ahead."


def reply(turn: Turn, tools: list[Tool], asks: list[tuple[str, list[tuple[str, str]]]]) -> tuple[str, str]:
    """The text answer and why it says what it says."""
    done = _answered(turn)
    parts: list[str] = []
    if done:
        found = any(not (_is_error(output) or _is_rejection(output)) for _, output in done)
        parts.append(OPENER if found else OPENER_NO_RESULT)
        parts += [f"- {result_sentence(call, output)}" for call, output in done]
    parts += [_ask_sentence(tool, missing) for tool, missing in asks]
    if parts:
        why = f"answer from {len(done)} tool result(s)" + (f", asking for {len(asks)} argument(s)" if asks else "")
        return "\n".join(parts), why
    echo = _ECHO.match(turn.request)
    if echo and not tools:
        return echo.group(1).strip("\"'"), "asked to reply with given text"
    usable = [t.name for t in tools if not t.name.startswith("transfer_to_")]
    if usable:
        return (
            f"I cannot look that up: none of my tools ({', '.join(usable)}) fits "
            f"\"{ex.shorten(turn.request, 120)}\". I am {IDENTITY}, so I do not answer from memory."
        ), "no tool fits the request"
    if tools:
        asked = ex.shorten(turn.request, 120)
        return f"I cannot tell who should take \"{asked}\", so I am not handing it on.", "no handoff fits"
    return f"Hello! I am {IDENTITY}; with no tools here, all I can do is say hello.", "no tools and no output schema"


# --------------------------------------------------------------------------- JSON output


def _reports(turn: Turn) -> list[str]:
    """Facts to summarise: reports handed in as assistant messages, then this turn's tool results."""
    out = [_compact(item.text) for item in turn.earlier if isinstance(item, Message) and item.role == "assistant"]
    out += [result_sentence(call, output) for call, output in _answered(turn)]
    return [text for text in out if text]


def _conversation_text(turn: Turn) -> str:
    parts = [i.text for i in turn.earlier if isinstance(i, Message)]
    parts += [i.output for i in turn.earlier if isinstance(i, ToolResult)]
    return " ".join(parts)


class _Filler:
    """Fills one output schema from one turn."""

    def __init__(self, schema: dict[str, Any], turn: Turn) -> None:
        self.root = schema
        self.turn = turn
        self.numbers = iter(ex.find_numbers(turn.request))
        self.lists: list[str] = []
        """Sentences like "States with no report: ZZ." for the lists filled, echoed in summaries."""

    def value(self, name: str, raw: Any) -> Any:
        prop = resolve(raw, self.root)
        kind = prop.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if "enum" in prop:
            found = ex.enum_mention(self.turn.request, [str(v) for v in prop["enum"]], prop.get("description", ""))
            return next((v for v in prop["enum"] if str(v) == found), prop["enum"][0])
        if "const" in prop:
            return prop["const"]
        if kind == "object" or "properties" in prop:
            props = prop.get("properties") or {}
            return {key: self.value(key, sub) for key, sub in props.items()}
        if kind == "array":
            return self.array(name, prop)
        if kind in ("number", "integer"):
            number = next(self.numbers, prop.get("minimum", 0))
            return int(number) if kind == "integer" else number
        if kind == "boolean":
            return bool(schema_words(name) & set(ex.split_words(self.turn.request)))
        if kind == "null":
            return None
        return self.string(name, prop)

    def array(self, name: str, prop: dict[str, Any]) -> list[Any]:
        items = resolve(prop.get("items") or {}, self.root)
        label_words = set(ex.split_words(f"{name} {prop.get('description', '')}"))
        found = ex.labelled_list(self.turn.request, label_words)
        if found is not None:
            label, values = found
            self.lists.append(f"{label}: {', '.join(values) if values else 'none'}.")
            return [self._coerce(v, items) for v in values]
        if is_state_like(name, prop) or is_state_like(name, items):
            return [m.value for m in ex.find_states(self.turn.request)]
        return []

    def _coerce(self, value: str, items: dict[str, Any]) -> Any:
        if items.get("type") in ("number", "integer"):
            numbers = ex.find_numbers(value)
            return (int(numbers[0]) if items.get("type") == "integer" else numbers[0]) if numbers else 0
        return value

    def string(self, name: str, prop: dict[str, Any]) -> str:
        if is_state_like(name, prop):
            states = ex.find_states(self.turn.request) or ex.find_states(_conversation_text(self.turn))
            return states[0].value if states else ""
        if schema_words(name) & _SUMMARY_WORDS:
            return self.summary()
        quoted = [q.value for q in ex.quoted(self.turn.request)]
        return quoted[0] if quoted else ex.shorten(self.turn.request, 200)

    def summary(self) -> str:
        reports = _reports(self.turn)
        head = f"Summary of {len(reports)} report{'s' if len(reports) != 1 else ''}." if reports else "No reports."
        return " ".join([head, *reports, *self.lists])


def json_output(schema: dict[str, Any], turn: Turn) -> str:
    """JSON text valid against ``schema``: lists and strings filled first, summaries last (they echo the lists)."""
    filler = _Filler(schema, turn)
    root = resolve(schema, schema)
    props = root.get("properties") or {}
    if not props:
        return json.dumps(filler.value("output", root), ensure_ascii=False)
    later = [
        k for k, v in props.items() if schema_words(k) & _SUMMARY_WORDS and resolve(v, schema).get("type") == "string"
    ]
    values = {k: filler.value(k, v) for k, v in props.items() if k not in later}
    values |= {k: filler.value(k, props[k]) for k in later}
    return json.dumps({k: values[k] for k in props}, ensure_ascii=False)
