"""The ``litellm`` backend of the model switch: Claude and Gemini through LiteLLM.

``AGENT_MODEL_BACKEND=litellm`` with ``LITELLM_MODEL=anthropic/claude-...`` or
``gemini/gemini-...``. The key comes from the provider's own variable
(``ANTHROPIC_API_KEY``, ``GEMINI_API_KEY``); ``LITELLM_API_BASE`` optionally points
LiteLLM at another server that speaks the provider's format (a gateway, a regional
endpoint, the tutorial's wire-format double).

Inside Temporal the model is named by a string and built on the worker (a
``LitellmModel`` object given to an ``Agent`` in a workflow fails: its model name
must be a string, temporalio/sdk-python#1134), so this backend is a
``ModelProvider`` the plugin calls with that name.

Temporal owns the retries, as on the other backends: LiteLLM's own are off
(``num_retries=0``). LiteLLM's errors lose the HTTP headers the plugin reads for
``Retry-After`` (they keep them in ``litellm_response_headers``), so
:class:`ProviderErrors` turns each failed call into the activity error Temporal
should see: 408/409/429/5xx and Anthropic's 529 "overloaded" retried, after the
server's ``Retry-After`` when it sends one; a rejected key, an unknown model or a
refused request failed at once, with one sentence.
"""

from __future__ import annotations

import logging
import os
import warnings
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any, NoReturn

from agents import AgentOutputSchemaBase, Handoff, Model, ModelProvider, ModelResponse, ModelSettings, Tool
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import ModelTracing
from temporalio.exceptions import ApplicationError

from recipes.core.errors import ConfigurationError

__all__ = [
    "PROVIDER_KEYS",
    "LitellmBackendProvider",
    "ProviderErrors",
    "check_litellm_model",
]

#: The providers this tutorial tests through LiteLLM, and where each one's key comes from.
PROVIDER_KEYS = {"anthropic": "ANTHROPIC_API_KEY", "gemini": "GEMINI_API_KEY"}
EXAMPLES = "anthropic/claude-sonnet-4-5 or gemini/gemini-2.5-flash"
#: HTTP statuses worth another attempt (529 is Anthropic's "overloaded").
RETRYABLE_STATUS = frozenset({408, 409, 429})


def check_litellm_model(model: str) -> str:
    """The provider prefix of ``model`` (``anthropic/claude-...`` -> ``anthropic``), once the
    model string and the provider's key are usable; else one sentence saying what to set."""
    provider, _, name = model.partition("/")
    if not name:
        raise ConfigurationError(
            f"LiteLLM model {model!r} names no provider; write it as provider/model, e.g. {EXAMPLES}."
        )
    if provider not in PROVIDER_KEYS:
        supported = ", ".join(f"{p} (key in {key})" for p, key in PROVIDER_KEYS.items())
        raise ConfigurationError(
            f"LiteLLM provider {provider!r} (from {model!r}) is not one this tutorial supports: {supported}."
        )
    if not os.environ.get(PROVIDER_KEYS[provider]):
        raise ConfigurationError(
            f"The litellm backend with {model!r} needs {PROVIDER_KEYS[provider]}; set it, or use model='offline'."
        )
    return provider


def _litellm() -> Any:
    # LiteLLM fetches a price list from the internet at import unless told to use its bundled copy.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    # LiteLLM's Gemini types make pydantic warn about TypedDict ReadOnly items, once per type: noise.
    warnings.filterwarnings("ignore", message=r".*on TypedDict class .* `ReadOnly` qualifier", category=UserWarning)
    import litellm

    litellm.suppress_debug_info = True  # no "Give Feedback / Get Help" banner on every error
    # drop_params is on by choice (see _litellm_settings); LiteLLM would warn about it on every call.
    logging.getLogger("LiteLLM").addFilter(_not_dropped_params)  # the same filter object: added once
    return litellm


def _not_dropped_params(record: logging.LogRecord) -> bool:
    return not str(record.msg).startswith("Dropping ")


class LitellmBackendProvider(ModelProvider):
    """Hands out LiteLLM models by name (``anthropic/...``), each behind :class:`ProviderErrors`."""

    def __init__(self, base_url: str | None = None) -> None:
        self.base_url = base_url
        # Import LiteLLM now, when the worker starts, not in its first model activity: the import takes
        # seconds (more on a busy machine) and blocks the event loop, so the activity's heartbeats stop
        # and Temporal retries a model call that was never lost.
        _litellm()
        from agents.extensions.models.litellm_model import LitellmModel

        self._model_class = LitellmModel

    def get_model(self, model_name: str | None) -> Model:
        if not model_name:
            raise ConfigurationError(f"The litellm backend needs a model, e.g. LITELLM_MODEL={EXAMPLES}.")
        provider = check_litellm_model(model_name)

        # The key is read here, on the worker, from the provider's variable: never an argument of anything.
        inner = self._model_class(model_name, base_url=self.base_url, api_key=os.environ[PROVIDER_KEYS[provider]])
        return ProviderErrors(inner, provider)


class ProviderErrors(Model):
    """A LiteLLM model whose failures reach Temporal as the right kind of activity error."""

    def __init__(self, inner: Model, provider: str) -> None:
        self.inner = inner
        self.provider = provider

    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        **kwargs: Any,
    ) -> ModelResponse:
        try:
            return await self.inner.get_response(
                system_instructions, input, _litellm_settings(model_settings), tools, output_schema, handoffs,
                tracing, **kwargs,
            )  # fmt: skip
        except Exception as err:
            self._raise_translated(err)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        **kwargs: Any,
    ) -> AsyncIterator[TResponseStreamEvent]:
        try:
            async for event in self.inner.stream_response(
                system_instructions, input, _litellm_settings(model_settings), tools, output_schema, handoffs,
                tracing, **kwargs,
            ):  # fmt: skip
                yield event
        except Exception as err:
            self._raise_translated(err)

    def get_retry_advice(self, request: Any) -> Any:
        return self.inner.get_retry_advice(request)

    async def close(self) -> None:
        await self.inner.close()

    def _raise_translated(self, err: Exception) -> NoReturn:
        translated = self.translate(err)
        if translated is err:
            raise err
        # Not chained: the history's root cause is then this sentence, not LiteLLM's wrapper.
        raise translated from None

    def translate(self, err: Exception) -> Exception:
        """The error to raise for ``err``: itself unless it carries an HTTP status from LiteLLM."""
        status = _status_of(err)
        if status is None or not type(err).__module__.startswith("litellm"):
            return err
        key = PROVIDER_KEYS[self.provider]
        unreachable = _connection_failure(err)
        if unreachable is not None:  # no answer at all (LiteLLM calls it a 500)
            return ApplicationError(f"Cannot reach {self.provider}: {unreachable}", type="ModelUnreachable")
        detail = _first_line(getattr(err, "message", None) or str(err))
        if status in (401, 403) or (status == 400 and "api key" in detail.lower()):
            return ApplicationError(
                f"{self.provider} rejected the API key in {key} (HTTP {status}); set the right key.",
                type="ModelAuthenticationError", non_retryable=True,
            )  # fmt: skip
        if status == 404:
            return ApplicationError(
                f"{self.provider} does not know the model (HTTP 404); set LITELLM_MODEL to one it serves.",
                type="ModelNotFound", non_retryable=True,
            )  # fmt: skip
        retryable = status in RETRYABLE_STATUS or status >= 500
        delay = _retry_after(err) if retryable else None
        then = f"; retrying after {delay.total_seconds():g} s as it asked" if delay else ""
        return ApplicationError(
            f"{self.provider} answered HTTP {status}: {detail}{then}",
            type=f"ModelHTTP{status}", non_retryable=not retryable, next_retry_delay=delay,
        )  # fmt: skip


def _litellm_settings(settings: ModelSettings) -> ModelSettings:
    """``settings`` with LiteLLM's own retries off (Temporal's retry policy is the only one), and
    with what a provider does not take dropped rather than refused: the Agents SDK sends OpenAI's
    parameters (``reasoning_effort`` among them), which Claude and Gemini models may not accept."""
    return settings.resolve(ModelSettings(extra_args={"num_retries": 0, "drop_params": True}))


def _status_of(err: Exception) -> int | None:
    # LiteLLM reports Anthropic's 529 "overloaded" as a 500, keeping what the provider said aside.
    for status in (getattr(err, "provider_status_code", None), getattr(err, "status_code", None)):
        if isinstance(status, int):
            return status
    return None


def _connection_failure(err: BaseException) -> str | None:
    """What kept the request from reaching the server (refused, unresolvable, reset), if that was it."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, OSError) or type(seen).__name__ in ("ConnectError", "APIConnectionError"):
            return _first_line(str(seen)) or type(seen).__name__
        seen = seen.__cause__ or seen.__context__
    return None


def _retry_after(err: Exception) -> timedelta | None:
    headers = {str(k).lower(): v for k, v in dict(getattr(err, "litellm_response_headers", None) or {}).items()}
    try:
        if "retry-after-ms" in headers:
            return timedelta(milliseconds=float(headers["retry-after-ms"]))
        if "retry-after" in headers:
            return timedelta(seconds=float(headers["retry-after"]))
    except (TypeError, ValueError):  # an HTTP date, or garbage: fall back to the retry policy's backoff
        return None
    return None


def _first_line(text: str, limit: int = 200) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= limit else line[: limit - 1] + "…"
