"""A meter for model calls, whatever the backend: one ledger line per model request.

The tutorial's, not the recipes': :func:`meter` is registered (pyproject.toml) in the
model switch's provider-wrapper entry point group, so the switch
(``recipes/core/models.py``, which names no module of the tutorial) wraps every
provider it hands out -- offline, OpenAI, any OpenAI-compatible server, LiteLLM --
in a :class:`MeteredProvider`, in the notebooks and in every worker run from this
installed project. A copied recipe has no meter. :class:`MeteredProvider` hands out
:class:`MeteredModel` s. Each request they make appends one line to the ledger
(:mod:`tutorial.ledger`) when it ends -- answered, failed or cancelled:

    {"ts", "pid", "backend", "model", "agent", "agent_source", "kind", "tool_calls",
     "request", "fingerprint", "input_tokens", "output_tokens", "tokens_source",
     "streamed", "outcome", "error", "latency_s",
     "workflow_id", "run_id", "activity_id", "attempt"}

* ``fingerprint`` -- sha256 (16 hex) of the canonical JSON of the instructions and
  the input items: the same request sent twice has the same fingerprint.
* ``tokens_source`` -- ``"provider"`` when the response carried the provider's
  usage, ``"estimate"`` otherwise (~4 characters per token of the request), and
  always for the offline stand-in, whose usage is its own estimate.
* ``outcome`` -- ``"ok"``, ``"error"`` (``error`` names it) or ``"cancelled"``.
  A process SIGKILLed in the middle of a request writes no line for it (a hosted
  provider would still bill it).
* ``workflow_id`` ... ``attempt`` -- set when the call runs inside a Temporal
  activity (the integration's model activity), else ``null``.
* ``agent`` -- from the Agents SDK span when the call runs in a plain
  ``Runner.run`` (``agent_source: "trace"``). Inside Temporal's model activity the
  agent's name does not reach the activity (the plugin passes it only as the
  activity's summary); there it is the target of a handoff earlier in the turn
  (``"handoff"``), else a short label from the instructions (``"instructions"``).

Nothing secret is recorded: not the key, not the endpoint's credentials; the
request text is truncated. Turn the meter off with ``AGENT_MODEL_LEDGER=off``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from agents import AgentOutputSchemaBase, Handoff, Model, ModelProvider, ModelResponse, ModelSettings, Tool
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import ModelTracing

from tutorial.ledger import Ledger, ledger_disabled

if TYPE_CHECKING:
    from recipes.core.models import ModelChoice

__all__ = ["MeteredModel", "MeteredProvider", "estimate_tokens", "fingerprint", "meter"]

logger = logging.getLogger(__name__)

REQUEST_CHARS = 200


def estimate_tokens(text_or_chars: str | int) -> int:
    """~4 characters per token (at least 1 for non-empty text)."""
    n = text_or_chars if isinstance(text_or_chars, int) else len(text_or_chars)
    return max(1, math.ceil(n / 4)) if n else 0


def _plain(value: Any) -> Any:
    """Pydantic models and dataclasses as plain JSON-able data."""
    if hasattr(value, "model_dump"):
        return value.model_dump(exclude_unset=True, mode="json")
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _input_items(input: str | Sequence[Any]) -> list[Any]:
    if isinstance(input, str):
        return [{"role": "user", "content": input}]
    return [_plain(item) for item in input]


def _request_json(system_instructions: str | None, items: list[Any]) -> str:
    return _canonical({"instructions": system_instructions or "", "input": items})


def _fingerprint_of(request_json: str) -> str:
    return hashlib.sha256(request_json.encode("utf-8")).hexdigest()[:16]


def fingerprint(system_instructions: str | None, input: str | Sequence[Any]) -> str:
    """Short sha256 of the canonical JSON of instructions + input items (16 hex chars)."""
    return _fingerprint_of(_request_json(system_instructions, _input_items(input)))


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def _last_user_text(items: list[Any]) -> str:
    for item in reversed(items):
        if isinstance(item, Mapping) and item.get("role") == "user":
            return _content_text(item.get("content"))
    return ""


def _short(text: str, limit: int = REQUEST_CHARS) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0]
    return cut + "…"


def _instructions_label(instructions: str | None) -> str:
    """"You are a weather assistant. Use ..." -> "weather assistant"."""
    if not instructions:
        return "unknown agent"
    first = re.split(r"(?<=[.!?\n])\s", instructions.strip(), maxsplit=1)[0]
    first = re.sub(r"^(you are|you're|act as|as)\s+(an?|the)?\s*", "", first.strip(), flags=re.I)
    words = first.strip(" .!?:").split()
    return (" ".join(words[:5]) + ("…" if len(words) > 5 else "")) or "unknown agent"


def _handoff_target(items: list[Any]) -> str | None:
    """The agent a handoff in this turn transferred to: the SDK's transfer output
    is ``{"assistant": "<agent name>"}`` (the last one since the user spoke wins)."""
    target = None
    for item in items:
        if isinstance(item, Mapping) and item.get("role") == "user":
            target = None
        elif isinstance(item, Mapping) and item.get("type") == "function_call_output":
            try:
                output = json.loads(item.get("output") or "")
            except (TypeError, ValueError):
                continue
            if isinstance(output, Mapping) and set(output) == {"assistant"} and isinstance(output["assistant"], str):
                target = output["assistant"]
    return target


def _current_agent(instructions: str | None, items: list[Any]) -> tuple[str, str]:
    """(agent name, where it came from): the SDK's current span in a plain run; else,
    inside Temporal's model activity, a handoff's target or a label from the instructions."""
    try:
        from agents.tracing import get_current_span
        from agents.tracing.span_data import AgentSpanData, TurnSpanData

        data = getattr(get_current_span(), "span_data", None)
        if isinstance(data, TurnSpanData) and data.agent_name:
            return data.agent_name, "trace"
        if isinstance(data, AgentSpanData) and data.name:
            return data.name, "trace"
    except Exception:  # pragma: no cover - the meter must never break a call
        pass
    target = _handoff_target(items)
    if target:
        return target, "handoff"
    return _instructions_label(instructions), "instructions"


def _temporal_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {"workflow_id": None, "run_id": None, "activity_id": None, "attempt": None}
    try:
        from temporalio import activity

        if activity.in_activity():
            info = activity.info()
            fields.update(workflow_id=info.workflow_id, run_id=info.workflow_run_id,
                          activity_id=info.activity_id, attempt=info.attempt)  # fmt: skip
    except Exception:  # pragma: no cover - outside Temporal, or temporalio missing
        pass
    return fields


def _arguments(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw)
        except ValueError:
            return raw
    return raw


def _decision(output: Sequence[Any], handoffs: Sequence[Any], output_schema: Any) -> tuple[str, list[dict[str, Any]]]:
    """What the model decided: kind and tool calls, read from its output items."""
    calls = []
    for item in output:
        data = _plain(item)
        if isinstance(data, Mapping) and data.get("type") == "function_call":
            calls.append({"name": data.get("name"), "arguments": _arguments(data.get("arguments"))})
    if calls:
        handoff_names = {getattr(h, "tool_name", None) for h in handoffs}
        return ("handoff" if any(c["name"] in handoff_names for c in calls) else "tool_calls"), calls
    plain_text = output_schema is None or output_schema.is_plain_text()
    return ("final_text" if plain_text else "final_json"), calls


def _output_chars(output: Sequence[Any]) -> int:
    return len(_canonical([_plain(item) for item in output]))


@dataclass
class _Call:
    """One request in flight: what its ledger line needs, filled in as the call goes."""

    system_instructions: str | None
    input: str | list[TResponseInputItem]
    handoffs: Sequence[Any]
    output_schema: Any
    streamed: bool
    started: float = field(default_factory=time.monotonic)
    response: ModelResponse | None = None
    outcome: str = "cancelled"  # until it answers ("ok") or fails ("error")
    error: BaseException | None = None


class MeteredModel(Model):
    """A ``Model`` that records every request of the model it wraps in the ledger.

    Args:
        inner: the model that really answers.
        backend: the switch's backend name, recorded in every line.
        model_name: the model name recorded in every line.
        ledger: where to write (default: :class:`Ledger()` at each call, so
            ``AGENT_MODEL_LEDGER`` set later still counts).
        usage_is_estimate: the inner model's usage is an estimate (the offline stand-in).
    """

    def __init__(
        self,
        inner: Model,
        *,
        backend: str,
        model_name: str,
        ledger: Ledger | None = None,
        usage_is_estimate: bool = False,
    ) -> None:
        self.inner = inner
        self.backend = backend
        self.model_name = model_name
        self._ledger = ledger
        self._usage_is_estimate = usage_is_estimate

    def __repr__(self) -> str:
        return f"MeteredModel({self.inner!r})"

    # -- recording ----------------------------------------------------------------
    @contextmanager
    def _metered(self, call: _Call) -> Iterator[_Call]:
        """Around one request: whatever way it ends, one ledger line."""
        try:
            yield call
            call.outcome = "ok"
        except Exception as err:
            call.outcome, call.error = "error", err
            raise
        finally:
            self._record(call)

    def _record(self, call: _Call) -> None:
        if self._ledger is None and ledger_disabled():
            return
        try:
            items = _input_items(call.input)
            request_json = _request_json(call.system_instructions, items)
            agent, source = _current_agent(call.system_instructions, items)
            response = call.response
            kind, calls = ("none", [])
            input_tokens = output_tokens = 0
            tokens_source = "estimate"
            if response is not None:
                kind, calls = _decision(response.output, call.handoffs, call.output_schema)
                usage = response.usage
                if usage is not None and (usage.input_tokens or usage.output_tokens):
                    input_tokens, output_tokens = usage.input_tokens, usage.output_tokens
                    tokens_source = "estimate" if self._usage_is_estimate else "provider"
                else:
                    output_tokens = estimate_tokens(_output_chars(response.output))
            if not input_tokens:
                input_tokens = estimate_tokens(len(request_json))
            entry = {
                "backend": self.backend,
                "model": self.model_name,
                "agent": agent,
                "agent_source": source,
                "kind": kind,
                "tool_calls": calls,
                "request": _short(_last_user_text(items)),
                "fingerprint": _fingerprint_of(request_json),
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "tokens_source": tokens_source,
                "streamed": call.streamed,
                "outcome": call.outcome,
                "error": f"{type(call.error).__name__}: {_short(str(call.error), 160)}" if call.error else None,
                "latency_s": round(time.monotonic() - call.started, 3),
                **_temporal_fields(),
            }
            (self._ledger or Ledger()).append(entry)
        except Exception:  # the meter is for seeing; never fail a model call over it
            logger.warning("model meter: could not write the ledger entry", exc_info=True)

    # -- Model interface ---------------------------------------------------------
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
        prompt: Any = None,
    ) -> ModelResponse:
        with self._metered(_Call(system_instructions, input, handoffs, output_schema, streamed=False)) as call:
            call.response = await self.inner.get_response(
                system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
                previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt,
            )  # fmt: skip
            return call.response

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
        prompt: Any = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        with self._metered(_Call(system_instructions, input, handoffs, output_schema, streamed=True)) as call:
            async for event in self.inner.stream_response(
                system_instructions, input, model_settings, tools, output_schema, handoffs, tracing,
                previous_response_id=previous_response_id, conversation_id=conversation_id, prompt=prompt,
            ):  # fmt: skip
                if getattr(event, "type", None) == "response.completed":
                    call.response = _response_from_completed(event)
                yield event

    def get_retry_advice(self, request: Any) -> Any:
        return self.inner.get_retry_advice(request)

    async def close(self) -> None:
        await self.inner.close()

    async def _cleanup_on_run_end(self, owner: object) -> None:
        await self.inner._cleanup_on_run_end(owner)


def _response_from_completed(event: Any) -> ModelResponse | None:
    """The ModelResponse a ``response.completed`` stream event describes."""
    from agents.usage import Usage

    raw = getattr(event, "response", None)
    if raw is None:
        return None
    usage = getattr(raw, "usage", None)
    return ModelResponse(
        output=list(getattr(raw, "output", None) or []),
        usage=Usage(requests=1, input_tokens=getattr(usage, "input_tokens", 0) or 0,
                    output_tokens=getattr(usage, "output_tokens", 0) or 0,
                    total_tokens=getattr(usage, "total_tokens", 0) or 0),  # fmt: skip
        response_id=getattr(raw, "id", None),
    )


class MeteredProvider(ModelProvider):
    """Wraps a ``ModelProvider`` so every model it hands out is metered."""

    def __init__(
        self,
        inner: ModelProvider,
        *,
        backend: str,
        default_model: str,
        ledger: Ledger | None = None,
        usage_is_estimate: bool = False,
    ) -> None:
        self.inner = inner
        self.backend = backend
        self.default_model = default_model
        self._ledger = ledger
        self._usage_is_estimate = usage_is_estimate

    def get_model(self, model_name: str | None) -> Model:
        name = model_name or self.default_model
        return MeteredModel(self.inner.get_model(name), backend=self.backend, model_name=name,
                            ledger=self._ledger, usage_is_estimate=self._usage_is_estimate)  # fmt: skip

    async def aclose(self) -> None:
        await self.inner.aclose()


def meter(provider: ModelProvider, choice: ModelChoice, *, ledger: Ledger | None = None) -> MeteredProvider:
    """``provider`` metered: every request of every model it hands out is one ledger line.

    The model switch calls it for every provider it hands out (the ``meter`` entry point of
    ``durable_agents.model_provider_wrappers``), with the choice that provider serves. Code that keeps its own
    ledger calls it itself: ``meter(choice.provider(), choice, ledger=Ledger(path))``; the switch's own meter
    is then replaced, not stacked, so each request is still one line, in ``ledger``."""
    if isinstance(provider, MeteredProvider):
        provider = provider.inner
    # The offline stand-in's usage is its own estimate, and its lines say so.
    return MeteredProvider(provider, backend=choice.backend, default_model=choice.model, ledger=ledger,
                           usage_is_estimate=choice.backend == "offline")  # fmt: skip
