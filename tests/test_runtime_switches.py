"""The model switch, parameter checks, one-sentence errors and local tracing."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from agents import Agent, RunConfig, Runner, function_tool

from recipes.core.errors import ConfigurationError, TutorialError
from tutorial.notebook import check_parameter
from recipes.core.models import BACKENDS, ChosenModelProvider, choose_model
from tutorial.model_check import ModelUnavailable, check_model
from tutorial.offline_model import OFFLINE_MODEL_NAME, OfflineModelProvider
from recipes.core.tracing import install_tracing
from tutorial.traces import collector as local_collector
from tutorial.traces import render_trace, span_kinds
from tutorial.meter import MeteredProvider


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("AGENT_MODEL_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_DEFAULT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_offline_is_the_default_without_a_key(clean_env):
    choice = choose_model()
    assert (choice.backend, choice.model) == ("offline", OFFLINE_MODEL_NAME)
    provider = choice.provider()
    # the tutorial's meter, around the switch's chosen-model default, around the backend's provider
    assert isinstance(provider, MeteredProvider) and isinstance(provider.inner.inner, OfflineModelProvider)
    assert "not an LLM" in choice.describe()


def test_offline_without_a_registered_stand_in_says_to_choose_a_real_model(clean_env):
    """A recipe copied into a project without the tutorial: nothing registers the offline backend, or the
    registration's package is gone (metadata that outlived its code) -- one sentence either way."""
    from importlib.metadata import EntryPoint

    from recipes.core import models

    stale = EntryPoint("offline", "gone_package.stand_in:Provider", models.BACKEND_ENTRY_POINTS)
    for registered in ([], [stale]):
        clean_env.setattr(models, "entry_points", lambda registered=registered, **_: registered)
        with pytest.raises(ConfigurationError, match="^No offline stand-in model is installed .*; choose a real model"):
            choose_model().provider()


class _Registered:
    """An entry point as ``importlib.metadata`` lists one: loads ``loaded``, or fails as if ``missing`` were gone."""

    def __init__(self, name: str, value: str, loaded: object = None, missing: str | None = None) -> None:
        self.name, self.value, self.module = name, value, value.partition(":")[0]
        self.loaded, self.missing = loaded, missing

    def load(self) -> object:
        if self.missing:
            raise ModuleNotFoundError(f"No module named {self.missing!r}", name=self.missing)
        return self.loaded


def _registering(monkeypatch, wrappers: list[_Registered]) -> None:
    """The provider wrappers installed packages register are ``wrappers``; the offline backend stays the tutorial's."""
    from importlib.metadata import entry_points

    from recipes.core import models

    monkeypatch.setattr(models, "_gone", set())
    monkeypatch.setattr(models, "entry_points", lambda *, group, **kw: wrappers if group == models.PROVIDER_WRAPPER_ENTRY_POINTS
                        else entry_points(group=group, **kw))  # fmt: skip


def test_every_registered_provider_wrapper_goes_around_the_backends_provider_in_name_order(clean_env):
    """The hook the tutorial's meter plugs into: each wrapper gets the provider so far and the choice."""
    def wrapper(label):
        return lambda provider, choice: (label, provider, choice)

    _registering(clean_env, [_Registered("b", "pkg.b:wrap", wrapper("b")), _Registered("a", "pkg.a:wrap", wrapper("a"))])
    choice = choose_model("offline")
    outer, (inner_label, provider, seen), outer_choice = choice.provider()
    assert (outer, inner_label) == ("b", "a") and seen is outer_choice is choice
    assert isinstance(provider, ChosenModelProvider) and isinstance(provider.inner, OfflineModelProvider)


def test_without_a_wrapper_the_provider_is_the_backends_own(clean_env):
    """A copied recipe: nothing registered, nothing metered."""
    _registering(clean_env, [])
    assert isinstance(choose_model("offline").provider().inner, OfflineModelProvider)


def test_an_agent_that_names_no_model_gets_the_chosen_one_with_no_wrapper_installed(clean_env):
    """The Temporal plugin asks the provider for ``None`` when an agent names no model: the choice answers, not
    the SDK's default model (nor, on litellm, an error) -- in a copied recipe too, where no meter fills it in."""
    _registering(clean_env, [])
    compatible = choose_model("openai-compatible", "llama-test", "http://127.0.0.1:9/v1").provider().get_model(None)
    assert compatible.model == "llama-test"
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-test")
    litellm = choose_model("litellm", "anthropic/claude-test").provider().get_model(None)
    assert litellm.inner.model == "anthropic/claude-test"


def test_a_wrapper_whose_package_is_gone_is_left_out_and_said_once(clean_env, caplog):
    """Metadata that outlived its code (a copied recipe run beside a stale install): the switch goes on, unwrapped."""
    _registering(clean_env, [_Registered("meter", "gone_package.meter:meter", missing="gone_package")])
    with caplog.at_level(logging.WARNING, logger="recipes.core.models"):
        for _ in range(2):
            assert isinstance(choose_model("offline").provider().inner, OfflineModelProvider)
    [record] = caplog.records
    assert "'meter' (gone_package.meter:meter) is registered but its module is not here" in record.getMessage()


def test_a_wrapper_that_fails_to_import_for_another_reason_raises_its_own_error(clean_env):
    _registering(clean_env, [_Registered("meter", "some_package.meter:meter", missing="a_dependency_it_needs")])
    with pytest.raises(ModuleNotFoundError, match="a_dependency_it_needs"):
        choose_model("offline").provider()


def test_the_switch_imports_the_litellm_backend_only_when_it_is_chosen():
    code = ("import sys\nimport recipes.core.models, recipes.core.worker\n"
            "assert 'recipes.core.litellm_backend' not in sys.modules, sorted(m for m in sys.modules if 'litellm' in m)\n"
            "recipes.core.models.choose_model('offline').provider()\n"
            "assert 'recipes.core.litellm_backend' not in sys.modules\n")  # fmt: skip
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_a_project_without_the_litellm_backend_is_told_in_one_sentence(clean_env):
    """A recipe copied without ``recipes/core/litellm_backend.py`` serves the other backends; asking for litellm is one sentence."""
    clean_env.setitem(sys.modules, "recipes.core.litellm_backend", None)  # as if the file were not there
    clean_env.setenv("LITELLM_MODEL", "anthropic/claude-test")
    clean_env.setenv("ANTHROPIC_API_KEY", "sk-test")
    for ask in (lambda: choose_model(), lambda: choose_model("litellm")):
        with pytest.raises(ConfigurationError) as err:
            ask()
        message = str(err.value)
        assert message.startswith("The litellm backend is not in this project (recipes/core/litellm_backend.py is missing)")
        assert "\n" not in message and "choose another model" in message
    assert choose_model("openai-compatible", "m", "http://127.0.0.1:9/v1").provider() is not None


def test_environment_picks_the_backend(clean_env):
    clean_env.setenv("OPENAI_API_KEY", "sk-test")
    clean_env.setenv("OPENAI_DEFAULT_MODEL", "gpt-test")
    assert (choose_model().backend, choose_model().model) == ("openai", "gpt-test")
    clean_env.setenv("OPENAI_BASE_URL", "http://127.0.0.1:11434/v1")
    choice = choose_model()
    assert (choice.backend, choice.base_url) == ("openai-compatible", "http://127.0.0.1:11434/v1")
    # an explicit choice (a notebook parameter) wins over the environment
    assert choose_model("offline").backend == "offline"
    # the Responses API against that server (a gateway, the wire-format double), not OpenAI's
    responses = choose_model("openai")
    assert (responses.backend, responses.base_url, responses.is_openai_platform) == (
        "openai", "http://127.0.0.1:11434/v1", False)
    clean_env.delenv("OPENAI_BASE_URL")
    assert choose_model().is_openai_platform


def test_as_env_reproduces_the_choice_in_a_worker(clean_env):
    choice = choose_model("openai-compatible", "llama3.2", "http://127.0.0.1:9/v1")
    for name, value in choice.as_env().items():
        clean_env.setenv(name, value)
    assert choose_model() == choice


def test_unknown_backend_lists_the_valid_ones(clean_env):
    with pytest.raises(ConfigurationError) as err:
        choose_model("gpt4all")
    for name in BACKENDS:
        assert name in str(err.value)


@pytest.mark.parametrize(
    ("backend", "needs"),
    [("openai", "OPENAI_API_KEY"), ("openai-compatible", "OPENAI_BASE_URL")],
)
def test_a_backend_without_its_setting_says_what_to_set(clean_env, backend, needs):
    with pytest.raises(ConfigurationError, match=needs):
        choose_model(backend)


def test_wrong_parameter_type_is_one_sentence():
    with pytest.raises(ConfigurationError) as err:
        check_parameter("tool_latency_s", "fast", (int, float))
    assert "'tool_latency_s' should be a int or float, got 'fast'" in str(err.value)
    with pytest.raises(ConfigurationError):
        check_parameter("count", True, int)  # a bool is not a count
    check_parameter("count", 3, int)


def test_tutorial_errors_render_as_one_line_in_jupyter():
    lines = TutorialError("No Temporal server answers at localhost:1.")._render_traceback_()
    assert lines == ["TutorialError: No Temporal server answers at localhost:1."]


class _Rejecting(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - stdlib name
        body = json.dumps({"error": {"message": "Incorrect API key provided", "type": "invalid_request_error",
                                     "code": "invalid_api_key"}}).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_a_rejected_key_is_one_clear_sentence(clean_env):
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rejecting)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        clean_env.setenv("OPENAI_API_KEY", "sk-wrong")
        choice = choose_model("openai-compatible", "any-model", f"http://127.0.0.1:{server.server_port}/v1")
        with pytest.raises(ModelUnavailable, match="rejected the API key"):
            asyncio.run(check_model(choice))
    finally:
        server.shutdown()
        server.server_close()


def test_an_unreachable_endpoint_is_one_clear_sentence(clean_env):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    choice = choose_model("openai-compatible", "any-model", f"http://127.0.0.1:{port}/v1")
    with pytest.raises(ModelUnavailable, match="Cannot reach"):
        asyncio.run(check_model(choice))


@function_tool
async def lookup_capital(country: str) -> str:
    """Look up the capital city of a country.

    Args:
        country: The country name.
    """
    return {"France": "Paris"}.get(country, "unknown")


def test_traces_stay_local_and_render_as_a_tree(clean_env, caplog):
    install_tracing()
    collector = local_collector()
    agent = Agent(name="Geographer", instructions="Answer with the capital.", tools=[lookup_capital])
    with caplog.at_level(logging.WARNING):
        result = asyncio.run(Runner.run(agent, 'What is the capital city of "France"?',
                                        run_config=RunConfig(model_provider=OfflineModelProvider(),
                                                             workflow_name="capital lookup")))
    assert "Paris" in result.final_output
    # Other tests' traces (e.g. from workflows) share this collector: find ours by name.
    spans = collector.spans(collector.trace_named("capital lookup"))
    assert spans and all(s["trace_name"] == "capital lookup" for s in spans)
    assert {"agent", "function"} <= set(span_kinds(spans))
    tree = render_trace(spans)
    assert "agent Geographer" in tree and "tool lookup_capital" in tree and "Paris" in tree
    assert "skipping trace export" not in caplog.text
