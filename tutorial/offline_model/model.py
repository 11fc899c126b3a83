"""``OfflineModel`` and its provider: the Agents SDK ``Model`` interface around ``decide``.

Also the parts a real model would have: streaming events, a generation span,
usage (an estimate) and stable ids. The ledger line is the meter's (``tutorial.meter``).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from agents import AgentOutputSchemaBase, Handoff, ModelProvider, ModelResponse, ModelSettings, Tool
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from agents.tracing import generation_span
from agents.usage import Usage
from openai.types.responses.response_prompt_param import ResponsePromptParam

from tutorial.meter import estimate_tokens
from recipes.core.models import OFFLINE_MODEL_NAME

from .choose import Decision, _decide, _output_json_schema
from .specs import _handoff_spec, _tool_spec
from .turn import _canonical, _normalize_input, _plain

logger = logging.getLogger(__name__)

LATENCY_ENV_VAR = "OFFLINE_MODEL_LATENCY"
#: Seconds between streamed text deltas (one word each), so a stream is visible and can be
#: interrupted; 0 sends them back to back.
STREAM_PACE_ENV_VAR = "OFFLINE_MODEL_STREAM_PACE"
DEFAULT_STREAM_PACE_S = 0.02
_WORD_PIECE = re.compile(r"\s*\S+\s*")

DISCLAIMER = (
    "This run uses the offline stand-in model ('offline-rules'), not a real LLM. It is a small "
    "set of fixed rules: it picks the tools whose names and descriptions share keywords with "
    "your request, fills their arguments from words, numbers, US states and quoted strings in "
    "the request (and asks when one is missing), hands off to an agent whose description "
    "matches, and then answers by quoting what the tools returned. It does not understand "
    "language or reason, so phrase requests with the words the tools use. Token counts and "
    "costs it reports are estimates. Set an API key and a real model to see real LLM "
    "behaviour; the durable-execution mechanics shown here are the same either way."
)


def _input_json(system_instructions: str | None, items: list[dict[str, Any]]) -> str:
    return _canonical({"instructions": system_instructions or "", "input": items})


def fingerprint(system_instructions: str | None, input: str | Sequence[Any]) -> str:
    """Short sha256 of the canonical JSON of instructions + input items (16 hex chars)."""
    return _fingerprint_of(_input_json(system_instructions, _normalize_input(input)))


def _fingerprint_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _item_id(fp: str, *parts: Any) -> str:
    return hashlib.sha256(_canonical([fp, *parts]).encode("utf-8")).hexdigest()[:24]


def _output_items(decision: Decision, fp: str) -> list[Any]:
    if decision.calls:
        out = []
        for i, call in enumerate(decision.calls):
            h = _item_id(fp, i, call.name, call.arguments)
            out.append(
                function_call(call.name, call.arguments, call_id=f"call_{h}", item_id=f"fc_{h}")
            )
        return out
    return [assistant_message(decision.text or "", item_id=f"msg_{_item_id(fp, 'msg')}")]


def _output_text(decision: Decision) -> str:
    if decision.calls:
        return "".join(c.name + _canonical(c.arguments) for c in decision.calls)
    return decision.text or ""


def _seconds_from_env(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        return max(0.0, float(raw))
    except ValueError:
        logger.warning("Ignoring %s=%r: not a number of seconds", name, raw)
        return default


def _word_deltas(event: Any) -> list[Any]:
    """One ``response.output_text.delta`` event per word, in place of one for the whole text."""
    if getattr(event, "type", None) != "response.output_text.delta":
        return [event]
    pieces = _WORD_PIECE.findall(event.delta) or [event.delta]
    return [event.model_copy(update={"delta": piece}) for piece in pieces]


@dataclass
class _Prepared:
    decision: Decision
    items: list[Any]
    usage: Usage
    fingerprint: str
    response_id: str
    handoff_targets: list[str]
    input_items: list[dict[str, Any]]


class OfflineModel(Model):
    """The Agents SDK ``Model`` that answers with ``decide``'s rules. Stateless:
    two instances (or one after a restart) answer a call identically.

    Args:
        model_name: the name it reports (any name is accepted).
        latency_s: simulated latency awaited before each answer (default:
            ``$OFFLINE_MODEL_LATENCY`` or 0). Cancellable, so a worker can be
            killed mid-call.
        stream_pace_s: seconds between streamed words (default:
            ``$OFFLINE_MODEL_STREAM_PACE`` or 0.02, about a real model's pace).

    It records nothing itself: the model switch wraps it in the model-call
    meter (:mod:`tutorial.meter`), like every other backend. Its usage is an
    estimate (~4 characters per token), and the meter's ledger says so.
    """

    def __init__(
        self,
        model_name: str | None = None,
        *,
        latency_s: float | None = None,
        stream_pace_s: float | None = None,
    ) -> None:
        self.model_name = model_name or OFFLINE_MODEL_NAME
        self.latency_s = _seconds_from_env(LATENCY_ENV_VAR, 0.0) if latency_s is None else max(0.0, float(latency_s))
        self.stream_pace_s = (
            _seconds_from_env(STREAM_PACE_ENV_VAR, DEFAULT_STREAM_PACE_S)
            if stream_pace_s is None
            else max(0.0, float(stream_pace_s))
        )

    def __repr__(self) -> str:
        return f"OfflineModel({self.model_name!r}, latency_s={self.latency_s}, stream_pace_s={self.stream_pace_s})"

    # -- shared ------------------------------------------------------------
    def _prepare(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
    ) -> _Prepared:
        items_in = _normalize_input(input)
        decision, turn = _decide(items_in, tools, handoffs, output_schema, model_settings)
        canonical = _input_json(system_instructions, items_in)
        fp = _fingerprint_of(canonical)
        chars = len(canonical)
        for t in tools:
            spec = _tool_spec(t)
            if spec is not None:
                chars += len(spec.name) + len(spec.description) + len(spec.schema_json)
        for h in handoffs:
            spec = _handoff_spec(h)
            if spec is not None:
                chars += len(spec.name) + len(spec.description) + len(spec.schema_json)
        schema = _output_json_schema(output_schema)
        if schema is not None:
            chars += len(_canonical(schema))
        input_tokens = estimate_tokens(chars)
        output_tokens = estimate_tokens(_output_text(decision))
        usage = Usage(
            requests=1,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        return _Prepared(
            decision,
            _output_items(decision, fp),
            usage,
            fp,
            f"offline_{_item_id(fp, 'resp')}",
            turn.handoff_targets,
            items_in,
        )

    def _span(self, tracing: ModelTracing, p: _Prepared) -> Any:
        span = generation_span(
            model=self.model_name,
            model_config={"offline": True},
            disabled=tracing.is_disabled(),
        )
        if tracing.include_data():
            span.span_data.input = p.input_items
            span.span_data.output = [_plain(i) for i in p.items]
        span.span_data.usage = {"input_tokens": p.usage.input_tokens, "output_tokens": p.usage.output_tokens}
        return span

    # -- Model interface -----------------------------------------------------
    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        p = self._prepare(system_instructions, input, model_settings, tools, output_schema, handoffs)
        with self._span(tracing, p):
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
        return ModelResponse(output=list(p.items), usage=p.usage, response_id=p.response_id)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        p = self._prepare(system_instructions, input, model_settings, tools, output_schema, handoffs)
        with self._span(tracing, p):
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
        # A fresh one-step ScriptedModel per call turns the output items into a
        # correct Responses event stream (created, output_item.added, deltas,
        # done events, completed) without keeping any state here. Its text comes
        # as one delta; it is re-cut into words, sent at the stream pace.
        scripted = ScriptedModel([ModelStep(output=list(p.items), usage=p.usage, response_id=p.response_id)])
        sequence_number = 0
        async for scripted_event in scripted.stream_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            ModelTracing.DISABLED,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        ):
            response = getattr(scripted_event, "response", None)
            if response is not None and getattr(response, "model", None) == "scripted-model":
                response.model = self.model_name
            for event in _word_deltas(scripted_event):
                if event.type == "response.output_text.delta" and self.stream_pace_s:
                    await asyncio.sleep(self.stream_pace_s)
                yield event.model_copy(update={"sequence_number": sequence_number})
                sequence_number += 1


class OfflineModelProvider(ModelProvider):
    """Returns an ``OfflineModel`` for any model name."""

    def __init__(self, *, latency_s: float | None = None, stream_pace_s: float | None = None) -> None:
        self.latency_s = latency_s
        self.stream_pace_s = stream_pace_s

    def get_model(self, model_name: str | None) -> Model:
        return OfflineModel(model_name or OFFLINE_MODEL_NAME, latency_s=self.latency_s, stream_pace_s=self.stream_pace_s)
