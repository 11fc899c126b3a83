"""The model switch: which LLM the agents talk to, chosen by settings alone (the README's table says more).

``AGENT_MODEL_BACKEND`` (or a notebook's ``model`` parameter), else what is set: ``OPENAI_BASE_URL`` ->
``openai-compatible`` (Chat Completions: Ollama, vLLM, a LiteLLM proxy), ``OPENAI_API_KEY`` -> ``openai``
(the Responses API; with ``OPENAI_BASE_URL`` too, at that server), ``LITELLM_MODEL`` -> ``litellm`` (Claude,
Gemini ... on their own APIs; :mod:`recipes.core.litellm_backend`, imported only when chosen), nothing ->
``offline``: a stand-in another installed package registers (the tutorial's; a copied recipe has none). The
model name is ``OPENAI_DEFAULT_MODEL`` (``LITELLM_MODEL``). Every OpenAI client has ``max_retries=0``: a model
call is an activity and Temporal owns its retries. Installed packages may wrap every provider (the tutorial's
meter does).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from datetime import timedelta
from importlib.metadata import entry_points
from typing import Any

from agents import Model, ModelProvider
from temporalio.common import RetryPolicy

from recipes.core.errors import ConfigurationError

#: Retries of one model call, owned by Temporal: 1 s, 2 s, 4 s ... capped at 20 s, at most 5 attempts. The
#: plugin marks HTTP 429/5xx/408/409 retryable (honouring Retry-After), other 4xx not: a wrong key fails fast.
MODEL_RETRY_POLICY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2.0,
                                 maximum_interval=timedelta(seconds=20), maximum_attempts=5)  # fmt: skip

BACKEND_ENV, BACKENDS = "AGENT_MODEL_BACKEND", ("offline", "openai", "openai-compatible", "litellm")
#: Entry point groups: a backend by name (called, returns a ModelProvider), and wrappers
#: ``(provider, choice) -> provider`` put around every provider, in name order.
BACKEND_ENTRY_POINTS = "durable_agents.model_backends"
PROVIDER_WRAPPER_ENTRY_POINTS = "durable_agents.model_provider_wrappers"
OFFLINE_MODEL_NAME = "offline-rules"
LITELLM_MODEL_ENV, LITELLM_BASE_ENV = "LITELLM_MODEL", "LITELLM_API_BASE"

logger = logging.getLogger(__name__)
_gone: set[str] = set()  # registered entries whose module is gone, said once per process


def registered(group: str, name: str | None = None) -> list[Any]:
    """What installed packages register in entry point ``group`` (``name`` only), in name order. An entry
    whose package's metadata outlived its code (a stale install beside a copied recipe) is left out, said
    once; any other import error is the entry's own and is raised."""
    found = []
    for entry in sorted(entry_points(group=group), key=lambda e: e.name):
        try:
            found += [entry.load()] if name in (None, entry.name) else []
        except ModuleNotFoundError as err:
            if not (entry.module == err.name or entry.module.startswith(f"{err.name}.")):
                raise
            if entry.value not in _gone:
                _gone.add(entry.value)
                logger.warning("%s %r (%s) is registered but its module is not here; going on without it.", group, entry.name, entry.value)
    return found


@dataclass(frozen=True)
class ModelChoice:
    """Which backend and model the agents use (``base_url`` ``None`` for ``openai``: OpenAI's own API)."""

    backend: str
    model: str
    base_url: str | None = None

    def describe(self) -> str:
        if self.backend == "offline":
            return f"offline: {self.model} (rule-based stand-in, not an LLM)"
        return f"{self.backend}: {self.model}" + (f" at {self.base_url}" if self.base_url else "")

    @property
    def is_openai_platform(self) -> bool:
        """The Responses API on OpenAI's own servers (not a proxy or another server)."""
        return self.backend == "openai" and self.base_url is None

    def provider(self) -> ModelProvider:
        """A ModelProvider for ``OpenAIAgentsPlugin(model_provider=...)``, inside every registered wrapper."""
        provider: ModelProvider = ChosenModelProvider(self._backend_provider(), self.model)
        for wrap in registered(PROVIDER_WRAPPER_ENTRY_POINTS):
            provider = wrap(provider, self)
        return provider

    def _backend_provider(self) -> ModelProvider:
        if self.backend == "offline":
            if not (stand_ins := registered(BACKEND_ENTRY_POINTS, "offline")):
                raise ConfigurationError(f"No offline stand-in model is installed (entry point {BACKEND_ENTRY_POINTS}:offline); "
                                         "choose a real model: OPENAI_API_KEY, or OPENAI_BASE_URL for an OpenAI-compatible server.")  # fmt: skip
            return stand_ins[0]()
        if self.backend == "litellm":
            return _litellm().LitellmBackendProvider(self.base_url)
        from agents import OpenAIProvider
        from openai import AsyncOpenAI

        key = None if self.backend == "openai" else os.environ.get("OPENAI_API_KEY") or "not-needed"  # a local server needs one
        client = AsyncOpenAI(base_url=self.base_url, api_key=key, max_retries=0)
        return OpenAIProvider(openai_client=client, use_responses=self.backend == "openai")

    def as_env(self) -> dict[str, str]:
        """Environment for a worker subprocess so it uses the same model."""
        model_env, base_env = (LITELLM_MODEL_ENV, LITELLM_BASE_ENV) if self.backend == "litellm" else ("OPENAI_DEFAULT_MODEL", "OPENAI_BASE_URL")
        return {BACKEND_ENV: self.backend, model_env: self.model, **({base_env: self.base_url} if self.base_url else {})}


class ChosenModelProvider(ModelProvider):
    """Serves the chosen model to an agent that names none (the plugin asks for ``None``, which OpenAI's
    provider would answer with the SDK's default model and the litellm backend with an error)."""

    def __init__(self, inner: ModelProvider, model: str) -> None:
        self.inner, self.model = inner, model

    def get_model(self, model_name: str | None) -> Model:
        return self.inner.get_model(model_name or self.model)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _litellm() -> Any:
    try:
        import recipes.core.litellm_backend as backend
    except ModuleNotFoundError as err:
        if err.name != "recipes.core.litellm_backend":
            raise
        raise ConfigurationError("The litellm backend is not in this project (recipes/core/litellm_backend.py is missing); copy it, "
                                 "or choose another model: OPENAI_API_KEY, or OPENAI_BASE_URL.") from None  # fmt: skip
    return backend


def choose_model(backend: str | None = None, model: str | None = None, base_url: str | None = None) -> ModelChoice:
    """The model choice: arguments, then the environment, then defaults ("" counts as not given)."""
    def env(name: str) -> str | None:
        return os.environ.get(name) or None

    backend = (backend or env(BACKEND_ENV) or "").strip().lower()
    if backend in ("", "auto"):
        backend = ("openai-compatible" if base_url or env("OPENAI_BASE_URL") else "openai" if env("OPENAI_API_KEY")
                   else "litellm" if env(LITELLM_MODEL_ENV) else "offline")  # fmt: skip
    if backend not in BACKENDS:
        raise ConfigurationError(f"Unknown model backend {backend!r}; choose one of {', '.join(BACKENDS)} (or leave it "
                                 "empty to pick from OPENAI_BASE_URL / OPENAI_API_KEY / LITELLM_MODEL).")  # fmt: skip
    if backend == "offline":
        return ModelChoice("offline", OFFLINE_MODEL_NAME)
    if backend == "litellm":
        if not (name := model or env(LITELLM_MODEL_ENV) or ""):
            raise ConfigurationError(f"The litellm backend needs a model, e.g. {LITELLM_MODEL_ENV}={_litellm().EXAMPLES}.")
        _litellm().check_litellm_model(name)
        return ModelChoice("litellm", name, base_url or env(LITELLM_BASE_ENV))
    base_url = base_url or env("OPENAI_BASE_URL")
    if backend == "openai" and not env("OPENAI_API_KEY"):
        raise ConfigurationError("The openai backend needs OPENAI_API_KEY; set it, or use model='offline'.")
    if backend == "openai-compatible" and not base_url:
        raise ConfigurationError("The openai-compatible backend needs a base URL, e.g. OPENAI_BASE_URL=http://localhost:11434/v1 for Ollama.")
    from agents.models import get_default_model

    return ModelChoice(backend, model or get_default_model(), base_url)
