"""The double's decision policy: which one tool to call next, or what to answer.

Deliberately its own rules, not the offline stand-in's, so a notebook check
that only holds for one rule set gets caught:

* **One tool call per response, always**, even when parallel calls are
  allowed. Several things asked for ("California and Texas") become one call
  per response, in the order mentioned, then the answer.
* A tool is picked by word overlap between the request and the tool's name
  (worth most), description, parameter descriptions and the clause of the
  instructions that names it. Tools are taken greedily: the best one first,
  then others only for request words it does not cover. A tool matching no
  request word well enough is never called.
* Arguments come from the request only (see :mod:`.arguments`); a required one
  that cannot be filled is asked for, not invented.
* A call already made this turn (same tool, same arguments) is not made again;
  at most one handoff per turn. An agent with only handoffs whose instructions
  say to route or hand off hands off to its best match even without a match.
* ``tool_choice`` forcing a function (or ``"required"``) always gets a call,
  as the API guarantees: the next planned one, else the best-fitting tool
  with what the request gives (so without the SDK's ``reset_tool_choice`` it
  repeats, like a real model would).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from . import answer, coding
from . import extract as ex
from .arguments import Filled, fill_arguments, forced_arguments, param_kind, resolve
from .conversation import Decision, ModelRequest, RequestError, Tool, Turn

__all__ = ["HANDOFF_PREFIX", "Plan", "decide", "plan_calls"]

HANDOFF_PREFIX = "transfer_to_"
NAME_WEIGHT = 3
INSTRUCTION_WEIGHT = 2
TEXT_WEIGHT = 1
RELEVANT = 2
"""The score a tool needs to be called: one word of its name or of the instructions' clause
about it, or two of its description."""
# Verbs that start many tool names and say nothing about what the tool is for.
_NAME_VERBS = {"get", "ask", "transfer", "fetch", "lookup", "look", "run", "call", "find", "do"}
# A clause about one tool ends with its sentence, a semicolon, or a "then" that starts the next step.
_CLAUSE_END = re.compile(r"(?<=[.!?])\s|\n|;|,?\s+then\b")
_HANDOFF_HINTS = re.compile(r"\b(hand(?:s|ed)? (?:off|over|it|the|them|to)|handoff|route|transfer|delegate)", re.I)


@dataclass
class _Profile:
    tool: Tool
    name_words: set[str]
    instruction_words: set[str]
    text_words: set[str]

    @property
    def is_handoff(self) -> bool:
        return self.tool.name.startswith(HANDOFF_PREFIX)

    def weight(self, word: str) -> int:
        if word in self.name_words or any(len(word) >= 4 and n.endswith(word) for n in self.name_words):
            return NAME_WEIGHT  # "check" also hits "recheck"
        if word in self.instruction_words:
            return INSTRUCTION_WEIGHT
        return TEXT_WEIGHT if word in self.text_words else 0


@dataclass
class Planned:
    tool: str
    arguments: dict
    reason: str


@dataclass
class Plan:
    calls: list[Planned] = field(default_factory=list)
    asks: list[tuple[str, list[tuple[str, str]]]] = field(default_factory=list)
    """(tool name, its missing required parameters) for tools that fit but cannot be called yet."""
    best: Tool | None = None
    """The best-scoring tool even if it does not fit well enough (for ``tool_choice="required"``)."""


def _mentions(tool: Tool) -> list[str]:
    """How instructions may refer to a tool: its name, spaced out, or the agent it stands for."""
    spaced = tool.name.replace("_", " ")
    out = [tool.name, spaced]
    for prefix in (HANDOFF_PREFIX, "ask_"):
        if tool.name.startswith(prefix):
            out.append(tool.name[len(prefix) :].replace("_", " "))
    return out


def _instruction_clauses(instructions: str, tools: list[Tool]) -> dict[str, str]:
    """For each tool the instructions name: the words from that mention to the next tool's or the clause's end."""
    spots: list[tuple[int, int, str]] = []
    for tool in tools:
        for phrase in _mentions(tool):
            for m in re.finditer(rf"(?<![\w]){re.escape(phrase)}(?![\w])", instructions, re.I):
                spots.append((m.start(), m.end(), tool.name))
    spots.sort()
    clauses: dict[str, str] = {}
    for i, (_, end, name) in enumerate(spots):
        stop = min([s for s, _, other in spots[i + 1 :] if other != name and s >= end] or [len(instructions)])
        clause = _CLAUSE_END.split(instructions[end:stop], maxsplit=1)[0]
        clauses[name] = clauses.get(name, "") + " " + clause
    return clauses


def _profiles(request: ModelRequest, tools: list[Tool]) -> list[_Profile]:
    clauses = _instruction_clauses(request.instructions, tools)
    profiles = []
    for tool in tools:
        root = tool.parameters or {}
        props = (root.get("properties") or {}).items()
        params = " ".join(f"{name} {resolve(prop, root).get('description', '')}" for name, prop in props)
        name = tool.name[len(HANDOFF_PREFIX) :] if tool.name.startswith(HANDOFF_PREFIX) else tool.name
        name_words = set(ex.split_words(name)) - _NAME_VERBS
        instruction_words = set(ex.split_words(clauses.get(tool.name, "")))
        text_words = set(ex.split_words(f"{tool.description} {params}"))
        profiles.append(_Profile(tool, name_words, instruction_words, text_words))
    return profiles


def _select(
    profiles: list[_Profile], words: list[ex.Mention], instructions: str
) -> tuple[list[_Profile], _Profile | None]:
    """Greedy cover of the request's words: the best tool first, then tools for what is left."""
    distinct = list(dict.fromkeys(m.value for m in words))

    def gain(p: _Profile, left: set[str]) -> int:
        return sum(p.weight(w) for w in distinct if w in left)

    ranked = sorted(profiles, key=lambda p: -gain(p, set(distinct)))  # stable: ties keep the tools' order
    best = ranked[0] if ranked else None
    selected: list[_Profile] = []
    left = set(distinct)
    while True:
        pool = [p for p in ranked if p not in selected and not (selected and p.is_handoff)]  # handoffs go alone
        top = max(pool, key=lambda p: gain(p, left), default=None)
        if top is None or gain(top, left) < RELEVANT:
            break
        selected.append(top)
        left -= {w for w in distinct if top.weight(w)}
        if top.is_handoff:
            break  # a handoff ends this agent's part: nothing else to plan
    if not selected and profiles and all(p.is_handoff for p in profiles) and _HANDOFF_HINTS.search(instructions):
        selected = [best] if best is not None else []  # a pure router hands off to its best match

    def first_mention(p: _Profile) -> int:
        return min((m.position for m in words if p.weight(m.value)), default=10**9)

    selected.sort(key=first_mention)
    return selected, best


def plan_calls(request: ModelRequest, turn: Turn, tools: list[Tool]) -> Plan:
    """Every call the request asks for, in order (made or not), and what is missing."""
    profiles = _profiles(request, tools)
    words = ex.keywords(turn.request)
    selected, best = _select(profiles, words, request.instructions)
    plan = Plan(best=best.tool if best else None)
    states = [m.value for m in ex.find_states(turn.request)]
    for profile in selected:
        tool = profile.tool
        anchors = {m.value for m in words if profile.weight(m.value)}
        root = tool.parameters or {}
        per_state = any(
            param_kind(name, resolve(prop, root)) == "state" for name, prop in (root.get("properties") or {}).items()
        )
        missing: list[tuple[str, str]] = []
        for state in (states or [None]) if per_state else [None]:
            filled: Filled = fill_arguments(tool, turn.request, state, anchors)
            if filled.missing:
                missing = missing or filled.missing
                continue
            why = f"{tool.name} matched on {', '.join(sorted(anchors)) or 'the instructions'}"
            plan.calls.append(Planned(tool.name, filled.arguments, why))
        if missing:
            plan.asks.append((tool.name, missing))
    return plan


def _key(name: str, arguments: dict) -> str:
    return name + json.dumps(arguments, sort_keys=True, ensure_ascii=False)


def decide(request: ModelRequest) -> Decision:
    """The next response: one tool call, or the answer (text, or JSON for an output schema)."""
    turn = Turn.of(request.items)
    tools = [] if request.tool_choice == "none" else request.tools
    forced = request.tool_choice not in ("auto", "none")
    if forced and request.tool_choice != "required":
        tools = [t for t in tools if t.name == request.tool_choice]
        if not tools:
            raise RequestError(f"Tool choice '{request.tool_choice}' not found in 'tools' parameter.", "tool_choice")
    if not forced and turn.request and coding.is_coding_agent({t.name for t in tools}):
        return coding.decide(turn)
    plan = plan_calls(request, turn, tools)
    made = {_key(c.name, c.arguments) for c in turn.calls}
    handed_off = any(c.name.startswith(HANDOFF_PREFIX) for c in turn.calls)
    for call in plan.calls:
        if _key(call.tool, call.arguments) in made or (handed_off and call.tool.startswith(HANDOFF_PREFIX)):
            continue
        return Decision("tool_call", tool=call.tool, arguments=call.arguments, reason=call.reason)
    if forced and tools:
        # The API guarantees a call here; fill what the request gives and the schema's placeholders.
        if plan.calls:
            call = plan.calls[0]
            return Decision("tool_call", tool=call.tool, arguments=call.arguments, reason=f"forced; {call.reason}")
        tool = plan.best or tools[0]
        return Decision(
            "tool_call",
            tool=tool.name,
            arguments=forced_arguments(tool, turn.request),
            reason=f"tool_choice={request.tool_choice!r} forces a call; {tool.name} fits best",
        )
    if request.output_schema is not None:
        return Decision("json", text=answer.json_output(request.output_schema, turn), reason="output schema filled")
    text, why = answer.reply(turn, request.tools, plan.asks)
    return Decision("text", text=text, reason=why)
