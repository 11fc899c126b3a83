"""The model switch's ``litellm`` backend: its settings, each one-sentence refusal, and how a
failed call reaches Temporal (retryable or not, after the server's Retry-After) -- against the
wire-format double's Anthropic and Gemini routes, in this process, no Temporal needed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import timedelta

import pytest
from agents import ModelSettings, ModelTracing
from temporalio.exceptions import ApplicationError

from recipes.core.errors import ConfigurationError
from recipes.core.litellm_backend import PROVIDER_KEYS, LitellmBackendProvider, ProviderErrors
from recipes.core.models import choose_model
from tutorial.model_check import ModelUnavailable, check_model
from tutorial.meter import MeteredProvider
from tutorial.model_double import serving

KEY = "sk-litellm-test-key"
PROVIDERS = list(PROVIDER_KEYS)


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("AGENT_MODEL_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_DEFAULT_MODEL",
                 "LITELLM_MODEL", "LITELLM_API_BASE", *PROVIDER_KEYS.values()):  # fmt: skip
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.fixture(scope="module")
def double():
    with serving(api_key=KEY, stream_pace_s=0) as server:
        yield server


def _base(server, provider: str) -> str:
    root = server.url[: -len("/v1")]
    return root + "/v1beta" if provider == "gemini" else root


def test_litellm_model_alone_picks_the_backend(clean_env):
    clean_env.setenv("LITELLM_MODEL", "anthropic/claude-test")
    clean_env.setenv("ANTHROPIC_API_KEY", KEY)
    choice = choose_model()
    assert (choice.backend, choice.model, choice.base_url) == ("litellm", "anthropic/claude-test", None)
    provider = choice.provider()
    # the tutorial's meter, around the switch's chosen-model default, around the backend's provider
    assert isinstance(provider, MeteredProvider) and isinstance(provider.inner.inner, LitellmBackendProvider)


def test_as_env_reproduces_the_choice_in_a_worker_without_the_key(clean_env):
    clean_env.setenv("GEMINI_API_KEY", KEY)
    choice = choose_model("litellm", "gemini/gemini-test", "http://127.0.0.1:9/v1beta")
    env = choice.as_env()
    assert KEY not in str(env), "the key reaches a worker from its own environment, never from the starter"
    for name, value in env.items():
        clean_env.setenv(name, value)
    assert choose_model() == choice


@pytest.mark.parametrize(
    ("model", "says"),
    [
        ("", "needs a model, e.g. LITELLM_MODEL=anthropic/"),
        ("claude-sonnet-4-5", "names no provider; write it as provider/model"),
        ("mistral/mistral-large", "'mistral' (from 'mistral/mistral-large') is not one this tutorial supports: "
                                  "anthropic (key in ANTHROPIC_API_KEY), gemini (key in GEMINI_API_KEY)"),
        ("anthropic/claude-test", "needs ANTHROPIC_API_KEY; set it"),
        ("gemini/gemini-test", "needs GEMINI_API_KEY; set it"),
    ],
)
def test_a_model_string_it_cannot_use_is_one_sentence(clean_env, model, says):
    with pytest.raises(ConfigurationError) as err:
        choose_model("litellm", model)
    assert says in str(err.value) and "\n" not in str(err.value)


def _ask(server, provider: str, key: str = KEY, stream: bool = False):
    """One model call through the switch's provider, as the plugin's model activity makes it."""
    model = LitellmBackendProvider(_base(server, provider)).get_model(f"{provider}/double-1")
    assert isinstance(model, ProviderErrors)
    args = ("Be brief.", "Say hello.", ModelSettings(max_tokens=64), [], None, [], ModelTracing.DISABLED)

    async def call():
        if not stream:
            return await model.get_response(*args)
        return [event async for event in model.stream_response(*args)]

    return asyncio.run(call())


@pytest.fixture
def provider_key(clean_env):
    def set_key(provider: str, key: str = KEY):
        clean_env.setenv(PROVIDER_KEYS[provider], key)

    return set_key


@pytest.mark.parametrize("provider", PROVIDERS)
def test_an_answer_comes_back_on_each_wire_format(provider, double, provider_key):
    provider_key(provider)
    response = _ask(double, provider)
    assert "test double" in str(response.output), response.output
    assert response.usage.input_tokens > 0 and response.usage.output_tokens > 0


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_wrong_key_fails_for_good_with_one_sentence(provider, stream, double, provider_key):
    provider_key(provider, "sk-wrong")
    before = len(double.state.requests())
    with pytest.raises(ApplicationError) as err:
        _ask(double, provider, stream=stream)
    assert err.value.non_retryable and err.value.type == "ModelAuthenticationError"
    assert err.value.message.startswith(f"{provider} rejected the API key in {PROVIDER_KEYS[provider]} (HTTP 4")
    assert len(double.state.requests()) == before + 1, "LiteLLM did not retry underneath"


@pytest.mark.parametrize(
    ("provider", "status"),
    [("anthropic", 429), ("anthropic", 529), ("anthropic", 503), ("gemini", 429), ("gemini", 500), ("gemini", 503)],
)
@pytest.mark.parametrize("stream", [False, True], ids=["plain", "streamed"])
def test_a_passing_failure_is_retryable_after_the_servers_retry_after(provider, status, stream, double,
                                                                       provider_key):  # fmt: skip
    provider_key(provider)
    double.state.reset(clear_log=True)
    double.state.add_faults(1, {"kind": "error", "status": status, "retry_after_s": 7})
    with pytest.raises(ApplicationError) as err:
        _ask(double, provider, stream=stream)
    assert not err.value.non_retryable, err.value
    assert err.value.next_retry_delay == timedelta(seconds=7), "the server's Retry-After, not the policy's backoff"
    # Anthropic's 529 is named as such; LiteLLM reports Google's 503 "The model is overloaded." as a 500.
    named = 500 if (provider, status) == ("gemini", 503) else status
    assert err.value.message.startswith(f"{provider} answered HTTP {named}: "), err.value
    assert [r["status"] for r in double.state.requests()] == [status], "one request: Temporal owns the retries"


def test_check_model_turns_a_rejected_key_into_one_sentence(double, clean_env):
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-wrong")
    choice = choose_model("litellm", "anthropic/double-1", _base(double, "anthropic"))
    with pytest.raises(ModelUnavailable, match=r"^anthropic rejected the API key in ANTHROPIC_API_KEY"):
        asyncio.run(check_model(choice))


def test_check_model_names_a_server_that_is_not_there(clean_env):
    clean_env.setenv("ANTHROPIC_API_KEY", KEY)
    choice = choose_model("litellm", "anthropic/double-1", "http://127.0.0.1:9")
    with pytest.raises(ModelUnavailable, match=r"^Cannot reach anthropic"):
        asyncio.run(check_model(choice))


def test_litellm_is_imported_when_the_worker_starts_not_in_its_first_model_call():
    """The import takes seconds and blocks the event loop: inside the first model activity it stops the
    heartbeats, and on a busy machine Temporal retries a call that was never lost."""
    code = ("import sys\nfrom recipes.core.litellm_backend import LitellmBackendProvider\n"
            "assert 'litellm' not in sys.modules, 'imported too early: every process would pay for it'\n"
            "LitellmBackendProvider()\nassert 'litellm' in sys.modules, 'not imported by the provider'\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
