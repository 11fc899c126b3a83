"""The model switch: the one place that decides which LLM the agents talk to.

Three backends, chosen by ``AGENT_MODEL_BACKEND`` (or a notebook's ``model``
parameter):

``offline``
    A rule-based stand-in for an LLM: no key, no network; deterministic. Core has
    none of its own: an installed package registers one as the ``offline`` entry
    point of the ``durable_agents.model_backends`` group (the tutorial registers
    one; a project with a copied recipe has none). The default when neither
    ``OPENAI_API_KEY`` nor ``OPENAI_BASE_URL`` is set.
``openai``
    OpenAI's Responses API. Needs ``OPENAI_API_KEY``. The default when only the
    key is set. With ``OPENAI_BASE_URL`` as well it talks the Responses API to
    that server instead (a proxy, a gateway, the tutorial's wire-format double).
``openai-compatible``
    Any server that speaks OpenAI's Chat Completions API: Ollama, vLLM, a
    LiteLLM proxy (which is how Claude, Gemini and others get in). Needs
    ``OPENAI_BASE_URL``; ``OPENAI_API_KEY`` only if the server wants one.
    The default when ``OPENAI_BASE_URL`` is set.
``litellm``
    Claude, Gemini and others through LiteLLM, each on its provider's own API:
    ``LITELLM_MODEL=anthropic/claude-...`` or ``gemini/gemini-...``, the key in
    ``ANTHROPIC_API_KEY`` / ``GEMINI_API_KEY``, ``LITELLM_API_BASE`` for another
    server that speaks that format (:mod:`recipes.core.litellm_backend`, imported
    only when this backend is chosen: a copy without that file serves the others).
    The default when only ``LITELLM_MODEL`` is set.

The model name comes from ``OPENAI_DEFAULT_MODEL`` (the Agents SDK's own
variable; ``LITELLM_MODEL`` for ``litellm``) unless given. Every OpenAI client is built with ``max_retries=0``:
inside Temporal the model call is an activity and Temporal owns the retries;
a client retrying underneath would hide failures from the history and
multiply the wait.

Another installed package may wrap every provider the switch hands out, whatever
the backend: it registers a callable ``(provider, choice) -> provider`` in the
``durable_agents.model_provider_wrappers`` entry point group. The tutorial
registers its model-call meter there; a project with a copied recipe has none.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from importlib.metadata import EntryPoint, entry_points
from types import ModuleType

from agents import Model, ModelProvider
from temporalio.common import RetryPolicy
from temporalio.openai_agents import ModelActivityParameters

from recipes.core.errors import ConfigurationError, TutorialError

logger = logging.getLogger(__name__)

#: Retries of one model call, owned by Temporal (the clients' own are off): 1 s, 2 s, 4 s ...
#: capped at 20 s, at most 5 attempts. The plugin marks HTTP 429/5xx/408/409 retryable (and
#: honours Retry-After) and other 4xx non-retryable, so a wrong key fails fast.
MODEL_RETRY_POLICY = RetryPolicy(
    initial_interval=timedelta(seconds=1),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(seconds=20),
    maximum_attempts=5,
)

#: How long one model call may take, for the model in use: one setting, read by the worker.
#: ``hosted`` (the recipes' own values: a hosted API answers in seconds), ``local`` (a small model on
#: this machine's CPU: a first call with three tool schemas took 52 s here, at 5-9 tokens/s), or a
#: number of seconds for one attempt. Unset, each recipe's MODEL_PARAMS stand as written (hosted).
MODEL_TIMEOUTS_ENV = "AGENT_MODEL_TIMEOUTS"


@dataclass(frozen=True)
class ModelTimeouts:
    """One model call's timeouts: an attempt (start-to-close), a worker's silence (heartbeat: the
    model activity heartbeats while it waits, so a slow call that is alive is never cut by it), and
    every attempt together (schedule-to-close, which bounds the retries of a server that keeps failing)."""

    start_to_close: timedelta
    heartbeat: timedelta
    schedule_to_close: timedelta


MODEL_TIMEOUTS = {
    "hosted": ModelTimeouts(timedelta(seconds=60), timedelta(seconds=10), timedelta(minutes=5)),
    "local": ModelTimeouts(timedelta(minutes=5), timedelta(seconds=10), timedelta(minutes=30)),
}


def model_timeouts(setting: str | None = None) -> ModelTimeouts | None:
    """The timeouts ``setting`` (default: ``$AGENT_MODEL_TIMEOUTS``) names; None when it is unset."""
    value = (os.environ.get(MODEL_TIMEOUTS_ENV, "") if setting is None else setting).strip().lower()
    if not value:
        return None
    if value in MODEL_TIMEOUTS:
        return MODEL_TIMEOUTS[value]
    try:
        seconds = float(value)
    except ValueError:
        seconds = 0.0
    if not 1 <= seconds <= 3600:
        raise ConfigurationError(f"{MODEL_TIMEOUTS_ENV}={value!r}: use hosted, local, or the seconds one model call "
                                 "may take (1 to 3600).")  # fmt: skip
    attempt = timedelta(seconds=seconds)
    # Every attempt of the retry policy, and its backoff (1+2+4+8 s), fit in schedule-to-close.
    return ModelTimeouts(attempt, timedelta(seconds=10), attempt * MODEL_RETRY_POLICY.maximum_attempts + timedelta(seconds=15))


def with_model_timeouts(params: ModelActivityParameters) -> ModelActivityParameters:
    """``params`` with the timeouts of ``$AGENT_MODEL_TIMEOUTS`` when it is set, as given when not. Model calls
    as local activities keep no heartbeat (they cannot send one)."""
    timeouts = model_timeouts()
    if timeouts is None:
        return params
    return replace(params, start_to_close_timeout=timeouts.start_to_close, schedule_to_close_timeout=timeouts.schedule_to_close,
                   heartbeat_timeout=None if params.heartbeat_timeout is None else timeouts.heartbeat)  # fmt: skip


BACKEND_ENV = "AGENT_MODEL_BACKEND"
BACKENDS = ("offline", "openai", "openai-compatible", "litellm")
#: Backends that another installed package provides, by name: an entry point of this group whose object,
#: called with no arguments, returns a ModelProvider. ``offline`` is one: the tutorial registers its
#: rule-based stand-in there (its pyproject.toml); it is looked up only when that backend is chosen.
BACKEND_ENTRY_POINTS = "durable_agents.model_backends"
#: Wrappers another installed package puts around every provider the switch hands out: each entry point of
#: this group is a callable ``(provider, choice) -> provider`` (``choice`` the ModelChoice it serves), applied
#: in the order of their names. The tutorial registers its model-call meter here (its pyproject.toml).
PROVIDER_WRAPPER_ENTRY_POINTS = "durable_agents.model_provider_wrappers"
OFFLINE_MODEL_NAME = "offline-rules"
#: The litellm backend's settings: the switch reads them to choose it, the backend to build its models.
LITELLM_MODEL_ENV = "LITELLM_MODEL"
LITELLM_BASE_ENV = "LITELLM_API_BASE"


class ModelUnavailable(TutorialError):
    """The chosen model backend does not answer or rejects our credentials."""


@dataclass(frozen=True)
class ModelChoice:
    """Which backend and model name the agents use; build providers from it."""

    backend: str
    model: str
    base_url: str | None = None
    """The server's base URL; ``None`` for ``openai`` means OpenAI's own API."""

    def describe(self) -> str:
        if self.backend == "offline":
            return f"offline: {self.model} (rule-based stand-in, not an LLM)"
        where = f" at {self.base_url}" if self.base_url else ""
        return f"{self.backend}: {self.model}{where}"

    @property
    def base_url_env(self) -> str:
        """The variable this backend's base URL comes from."""
        return LITELLM_BASE_ENV if self.backend == "litellm" else "OPENAI_BASE_URL"

    @property
    def is_openai_platform(self) -> bool:
        """The Responses API on OpenAI's own servers (not a proxy or another server)."""
        return self.backend == "openai" and self.base_url is None

    def provider(self) -> ModelProvider:
        """A ModelProvider for ``Runner.run(RunConfig(model_provider=...))`` or
        ``OpenAIAgentsPlugin(model_provider=...)``: the backend's, inside every installed wrapper
        (``PROVIDER_WRAPPER_ENTRY_POINTS``; none in a copied recipe). An agent that names no model gets ``model``."""
        provider: ModelProvider = ChosenModelProvider(self._backend_provider(), self.model)
        for wrap in _provider_wrappers():
            provider = wrap(provider, self)
        return provider

    def _backend_provider(self) -> ModelProvider:
        if self.backend == "offline":
            return _registered_backend("offline")()
        if self.backend == "litellm":
            return _litellm_backend().LitellmBackendProvider(self.base_url)

        from agents import OpenAIProvider
        from openai import AsyncOpenAI

        if self.backend == "openai":
            client = AsyncOpenAI(base_url=self.base_url, max_retries=0)
            return OpenAIProvider(openai_client=client, use_responses=True)
        client = AsyncOpenAI(
            base_url=self.base_url,
            # Local servers (Ollama, vLLM) ignore the key but the client insists on one.
            api_key=os.environ.get("OPENAI_API_KEY") or "not-needed",
            max_retries=0,
        )
        return OpenAIProvider(openai_client=client, use_responses=False)

    def as_env(self) -> dict[str, str]:
        """Environment for a worker subprocess so it uses the same model."""
        model_env = LITELLM_MODEL_ENV if self.backend == "litellm" else "OPENAI_DEFAULT_MODEL"
        env = {BACKEND_ENV: self.backend, model_env: self.model}
        if self.base_url:
            env[self.base_url_env] = self.base_url
        return env


class ChosenModelProvider(ModelProvider):
    """A backend's provider that serves the chosen model to an agent that names none: the Temporal plugin then
    asks for ``None``, which OpenAI's provider would answer with the SDK's default model and the litellm
    backend with an error."""

    def __init__(self, inner: ModelProvider, model: str) -> None:
        self.inner = inner
        self.model = model

    def get_model(self, model_name: str | None) -> Model:
        return self.inner.get_model(model_name or self.model)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _module_gone(entry: EntryPoint, err: ModuleNotFoundError) -> bool:
    """The entry point's own module (or a package above it) is not there: its package's metadata outlived
    its code, as when a copied recipe runs beside a stale install. Any other missing module is the entry's own error."""
    missing = err.name or ""
    return entry.module == missing or entry.module.startswith(missing + ".")


def _registered_backend(name: str) -> Callable[[], ModelProvider]:
    """What an installed package registers as model backend ``name`` (see ``BACKEND_ENTRY_POINTS``).

    None registered, or one whose module is not there, is one sentence; any other import error is the
    provider's own and is raised as it is."""
    for entry in entry_points(group=BACKEND_ENTRY_POINTS, name=name):
        try:
            return entry.load()
        except ModuleNotFoundError as err:
            if not _module_gone(entry, err):
                raise
    raise ConfigurationError(
        f"No {name} stand-in model is installed (the {name!r} entry point of {BACKEND_ENTRY_POINTS} is missing, "
        "or its package is gone); choose a real model: OPENAI_API_KEY, or OPENAI_BASE_URL for an "
        "OpenAI-compatible server."
    )


_skipped_wrappers: set[str] = set()


def _provider_wrappers() -> list[Callable[[ModelProvider, ModelChoice], ModelProvider]]:
    """What installed packages register in ``PROVIDER_WRAPPER_ENTRY_POINTS``, in the order of their names.

    One whose module is not there is left out (said once per process: the providers go out unwrapped);
    any other import error is the wrapper's own and is raised as it is."""
    wrappers = []
    for entry in sorted(entry_points(group=PROVIDER_WRAPPER_ENTRY_POINTS), key=lambda e: e.name):
        try:
            wrappers.append(entry.load())
        except ModuleNotFoundError as err:
            if not _module_gone(entry, err):
                raise
            if entry.value not in _skipped_wrappers:
                _skipped_wrappers.add(entry.value)
                logger.warning("Model provider wrapper %r (%s) is registered but its module is not here; "
                               "the model switch goes on without it.", entry.name, entry.value)  # fmt: skip
    return wrappers


def _litellm_backend() -> ModuleType:
    """The litellm backend (``recipes/core/litellm_backend.py``), imported only when it is chosen; a copy
    without that file is told so in one sentence."""
    try:
        import recipes.core.litellm_backend as backend
    except ModuleNotFoundError as err:
        if err.name != "recipes.core.litellm_backend":
            raise
        raise ConfigurationError(
            "The litellm backend is not in this project (recipes/core/litellm_backend.py is missing); copy it with "
            "the rest of recipes/core, or choose another model: OPENAI_API_KEY, or OPENAI_BASE_URL for an "
            "OpenAI-compatible server."
        ) from None
    return backend


def choose_model(
    backend: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
) -> ModelChoice:
    """Resolve the model choice: explicit arguments, then environment, then defaults.

    Empty strings count as "not given", so a notebook's parameters cell can
    default to ``""`` and still defer to the environment.
    """
    backend = (backend or os.environ.get(BACKEND_ENV) or "").strip().lower() or "auto"
    if backend == "auto":
        if base_url or os.environ.get("OPENAI_BASE_URL"):
            backend = "openai-compatible"
        elif os.environ.get("OPENAI_API_KEY"):
            backend = "openai"
        elif os.environ.get(LITELLM_MODEL_ENV):
            backend = "litellm"
        else:
            backend = "offline"
    if backend not in BACKENDS:
        raise ConfigurationError(
            f"Unknown model backend {backend!r}; choose one of {', '.join(BACKENDS)} "
            f"(or leave it empty to pick from OPENAI_BASE_URL / OPENAI_API_KEY / LITELLM_MODEL)."
        )
    if backend == "offline":
        return ModelChoice("offline", OFFLINE_MODEL_NAME)
    if backend == "litellm":
        litellm = _litellm_backend()
        name = model or os.environ.get(LITELLM_MODEL_ENV) or ""
        if not name:
            raise ConfigurationError(f"The litellm backend needs a model, e.g. {LITELLM_MODEL_ENV}={litellm.EXAMPLES}.")
        litellm.check_litellm_model(name)
        return ModelChoice("litellm", name, base_url or os.environ.get(LITELLM_BASE_ENV) or None)
    base_url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    if backend == "openai" and not os.environ.get("OPENAI_API_KEY"):
        raise ConfigurationError(
            "The openai backend needs OPENAI_API_KEY; set it, or use model='offline'."
        )
    if backend == "openai-compatible" and not base_url:
        raise ConfigurationError(
            "The openai-compatible backend needs a base URL, e.g. "
            "OPENAI_BASE_URL=http://localhost:11434/v1 for Ollama."
        )
    from agents.models import get_default_model

    name = model or get_default_model()
    return ModelChoice(backend, name, base_url)


async def check_model(choice: ModelChoice) -> None:
    """Make one tiny call so a rejected key or a dead endpoint is one clear sentence.

    The offline model always answers, so it is not called.
    """
    if choice.backend == "offline":
        return
    import openai
    from agents import ModelSettings, ModelTracing
    from temporalio.exceptions import ApplicationError

    model = choice.provider().get_model(None)
    try:
        await model.get_response(
            system_instructions=None,
            input="Reply with OK.",
            model_settings=ModelSettings(max_tokens=16),
            tools=[],
            output_schema=None,
            handoffs=[],
            tracing=ModelTracing.DISABLED,
            previous_response_id=None,
            conversation_id=None,
            prompt=None,
        )
    except ApplicationError as err:  # the litellm backend's errors, each one sentence already
        raise ModelUnavailable(err.message) from None
    except openai.AuthenticationError as err:
        raise ModelUnavailable(
            f"{choice.describe()} rejected the API key (HTTP {err.status_code}); "
            "check OPENAI_API_KEY, or use model='offline'."
        ) from None
    except openai.NotFoundError:
        raise ModelUnavailable(
            f"{choice.describe()} does not know model {choice.model!r}; "
            "set OPENAI_DEFAULT_MODEL (or the notebook's model_name) to one it serves."
        ) from None
    except openai.APIConnectionError:
        where = choice.base_url or "api.openai.com"
        raise ModelUnavailable(
            f"Cannot reach {where}; check the network or OPENAI_BASE_URL, or use model='offline'."
        ) from None
    except openai.APIStatusError as err:
        raise ModelUnavailable(
            f"{choice.describe()} answered HTTP {err.status_code} to a one-line test request; "
            "try again, or check the server."
        ) from None
