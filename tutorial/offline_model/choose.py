"""The decision: hand off, call tools, or answer -- a pure function of the call's arguments."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .answer import _final_text
from .coding import Call, answer_text, is_coding_agent, next_step, report
from .request import _Evidence
from .schema_fill import _Filler, _Need
from .sources import _Sources
from .specs import _document_frequency, _handoff_spec, _score, _tool_spec
from .turn import _canonical, _content_text, _earlier_messages, _handoff_target, _normalize_input, _parse_output, _read_turn, _Turn
from .words import _short, _terms

MIN_SCORE = 2  # a tool "clearly matches" with a name word, or two description words (raw score)
RELATIVE_SCORE = 0.5  # ...and has at least half the best tool's weighted score
MAX_CALLS_PER_TOOL = 5
MAX_CALLS_PER_TURN = 8


@dataclass(frozen=True)
class PlannedCall:
    """One function call the model emits: a tool or a handoff's ``transfer_to_...``."""

    name: str
    arguments: dict[str, Any]
    is_handoff: bool = False

    def key(self) -> tuple[str, str]:
        return (self.name, _canonical(self.arguments))


@dataclass(frozen=True)
class Decision:
    """What the offline model answers. ``kind`` is one of ``"tool_calls"``, ``"handoff"``,
    ``"final_text"``, ``"final_json"``; ``text`` is the final text or JSON string."""

    kind: str
    request: str
    calls: tuple[PlannedCall, ...] = ()
    text: str | None = None
    reason: str = ""
    scores: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "request": self.request,
            "calls": [
                {"name": c.name, "arguments": c.arguments, "is_handoff": c.is_handoff}
                for c in self.calls
            ],
            "text": self.text,
            "reason": self.reason,
            "scores": dict(self.scores),
        }


def _setting(model_settings: Any, name: str) -> Any:
    if model_settings is None:
        return None
    if isinstance(model_settings, Mapping):
        return model_settings.get(name)
    return getattr(model_settings, name, None)


def _forced_tool_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "required", "none"):
        return tool_choice
    if isinstance(tool_choice, Mapping):
        name = tool_choice.get("name")
        return name if isinstance(name, str) else None
    name = getattr(tool_choice, "name", None)
    return name if isinstance(name, str) else None


def _output_json_schema(output_schema: Any) -> dict[str, Any] | None:
    if output_schema is None:
        return None
    if isinstance(output_schema, Mapping):
        return dict(output_schema)
    try:
        if output_schema.is_plain_text():
            return None
        return dict(output_schema.json_schema())
    except Exception:
        return None


def decide(
    system_instructions: str | None,
    input: str | Sequence[Any],
    *,
    tools: Sequence[Any] = (),
    handoffs: Sequence[Any] = (),
    output_schema: Any = None,
    model_settings: Any = None,
) -> Decision:
    """The offline model's whole behaviour, as a pure function of the call's arguments.

    ``tools`` may be SDK ``FunctionTool`` objects (or anything with ``name``,
    ``description``, ``params_json_schema``) or dicts with ``name``/``description``/
    ``parameters``; ``handoffs`` SDK ``Handoff`` objects or dicts with
    ``tool_name``/``tool_description``/``agent_name``/``input_json_schema``;
    ``output_schema`` an ``AgentOutputSchemaBase`` or a JSON-schema dict.
    ``system_instructions`` is accepted for the interface's sake; the rules
    do not read it.
    """
    return _decide(_normalize_input(input), tools, handoffs, output_schema, model_settings)[0]


def _decide(
    items: list[dict[str, Any]],
    tools: Sequence[Any],
    handoffs: Sequence[Any],
    output_schema: Any,
    model_settings: Any,
) -> tuple[Decision, _Turn]:
    tool_specs = [s for s in (_tool_spec(t) for t in tools) if s is not None]
    handoff_specs = [s for s in (_handoff_spec(h) for h in handoffs) if s is not None]
    turn = _read_turn(items, {h.name for h in handoff_specs})
    request = turn.request
    ev = _Evidence(request)
    request_terms = _terms(request)

    tool_choice = _setting(model_settings, "tool_choice")
    if tool_choice == "none":
        tool_specs, handoff_specs = [], []
    forced = _forced_tool_name(tool_choice)

    df = _document_frequency([*tool_specs, *handoff_specs], request_terms)
    scored = [(spec, *_score(spec, request_terms, df)) for spec in tool_specs]
    scores = {spec.name: raw for spec, raw, _, _ in scored}
    candidates = [x for x in scored if x[1] >= MIN_SCORE]
    best_tool = max((w for _, _, w, _ in candidates), default=0.0)
    made = turn.made()

    # 0. A coding agent (the coding recipe's tools) follows its fixed plan.
    if request and is_coding_agent(scores):
        return _coding(request, turn, scores), turn

    # 1. Handoff, at most once per user message, when it beats every tool.
    if handoff_specs and not turn.handoff_targets and forced is None:
        h_scored = [(spec, *_score(spec, request_terms, df)) for spec in handoff_specs]
        for spec, raw, _, _ in h_scored:
            scores[spec.name] = raw
        h_scored = [x for x in h_scored if x[1] >= MIN_SCORE]
        if h_scored:
            h_best, h_raw, h_weighted, h_hits = max(h_scored, key=lambda x: x[2])
            if h_weighted > best_tool:
                args = _Filler(h_best.schema, ev).fill(h_best.schema) if h_best.schema.get("properties") else {}
                call = PlannedCall(h_best.name, args, is_handoff=True)
                if call.key() not in made:
                    return Decision(
                        "handoff",
                        request,
                        (call,),
                        reason=f"handoff {h_best.name} matched on {', '.join(h_hits)} (score {h_raw})",
                        scores=scores,
                    ), turn

    # 2. The tool plan: every clearly matching tool, one call per asked-for value. An empty
    # request asks for nothing; a tool whose required value the request lacks is not called.
    if not request:
        selected = []
    elif forced is not None:
        selected = [(spec, 99, 99.0, ["tool_choice"]) for spec, *_ in scored if spec.name == forced]
    else:
        selected = [x for x in candidates if x[2] >= RELATIVE_SCORE * best_tool]
        if not selected and tool_choice == "required" and scored and not turn.calls:
            selected = [max(scored, key=lambda x: x[2])]
    selected.sort(key=lambda x: -x[2])  # stable: ties keep the tools' order
    plan: list[PlannedCall] = []
    missing: list[tuple[str, list[_Need]]] = []
    # Words that only pick the tools are no free text: "ask the forecast specialist" asks nothing.
    tool_words = frozenset().union(*(spec.name_terms | spec.other_terms for spec, *_ in selected))
    says_more = bool(request_terms - tool_words or ev.numbers)
    for spec, *_ in selected:
        calls, needs = _Filler(spec.schema, ev).expansions(spec.schema, MAX_CALLS_PER_TOOL, free_text=says_more)
        if needs:
            missing.append((spec.name, needs))
        else:
            plan.extend(PlannedCall(spec.name, args) for args in calls)
    plan = plan[:MAX_CALLS_PER_TURN]
    remaining = [c for c in plan if c.key() not in made]
    if remaining:
        if _setting(model_settings, "parallel_tool_calls") is False:
            remaining = remaining[:1]
        why = "; ".join(f"{s.name} matched on {', '.join(h)} (score {raw})" for s, raw, _, h in selected)
        if missing:
            why += "; " + _lacking(missing)
        return Decision("tool_calls", request, tuple(remaining), reason=why, scores=scores), turn

    # 3. Final answer from this turn's tool outputs.
    results = []
    for name, args, call_id in turn.calls:
        if call_id in turn.outputs and _handoff_target(turn.outputs[call_id]) is None and not (
            name.startswith("transfer_to_") and name not in {t.name for t in tool_specs}
        ):
            results.append((name, args, turn.outputs[call_id]))
    text = _final_text(request, results, tool_specs, handoff_specs, turn.handoff_targets, missing)
    schema = _output_json_schema(output_schema)
    if schema is not None:
        parsed = [_parse_output(out) for _, _, out in results]
        if results or missing or not request:
            summary = text
        elif earlier := _earlier_messages(items):
            # e.g. a summarizer given other agents' reports as earlier messages
            summary = "From the conversation: " + " | ".join(_short(t, 160) for t in earlier[-6:])
        else:
            summary = f'Filled by the offline stand-in from the request "{request}".'
        obj = _Filler(schema, ev, _Sources(parsed, summary)).fill(schema)
        return Decision(
            "final_json",
            request,
            text=json.dumps(obj, ensure_ascii=False),
            reason=f"output schema filled from the request and {len(results)} tool output(s)",
            scores=scores,
        ), turn
    return Decision(
        "final_text",
        request,
        text=text,
        reason=_reason(results, missing, request),
        scores=scores,
    ), turn


def _coding(request: str, turn: _Turn, scores: dict[str, int]) -> Decision:
    calls = [Call(name, args if isinstance(args, dict) else {}, None if call_id not in turn.outputs else
                  _content_text(turn.outputs[call_id])) for name, args, call_id in turn.calls]  # fmt: skip
    step = next_step(request, calls)
    if step is not None:
        return Decision("tool_calls", request, (PlannedCall(step.tool, step.arguments),),
                        reason=f"coding plan: {step.why}", scores=scores)  # fmt: skip
    return Decision("final_text", request, text=answer_text(report(request, calls)), reason="coding plan: the answer",
                    scores=scores)  # fmt: skip


def _lacking(missing: list[tuple[str, list[_Need]]]) -> str:
    return "; ".join(
        f"{name} not called: the request gives no {', '.join('.'.join(path) for path, _ in needs)}"
        for name, needs in missing
    )


def _reason(results: list[Any], missing: list[tuple[str, list[_Need]]], request: str) -> str:
    if missing:
        return _lacking(missing) + (f"; answer from {len(results)} tool output(s)" if results else "")
    if results:
        return f"answer from {len(results)} tool output(s)"
    return "the request is empty" if not request else "no tool matched"
