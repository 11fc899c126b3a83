"""Traces and keys stay on this machine unless the model is OpenAI's own API.

A process runs one agent with ``OPENAI_API_KEY`` set and all outside traffic sent to
a logging proxy on loopback (which refuses it). With a local model endpoint -- either
wire format -- it tries no outside connection at all: the Agents SDK's trace exporter
would otherwise post the traces, with the key, to api.openai.com. With the ``openai``
backend on OpenAI's API the same proxy sees the attempts, which proves it would
have seen them in the first case too.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from ci.run_notebooks import REPO_ROOT

SCRIPT = textwrap.dedent(
    """
    import asyncio
    from agents import Agent, RunConfig, Runner
    from agents.tracing import get_trace_provider
    from recipes.core.models import choose_model
    from recipes.core.tracing import install_tracing

    choice = choose_model()
    install_tracing(model=choice)
    agent = Agent(name="Greeter", instructions="Greet the user in one sentence.")
    try:
        result = asyncio.run(Runner.run(agent, "Hello!", run_config=RunConfig(model_provider=choice.provider())))
        print("ANSWER:", result.final_output)
    except Exception as err:
        print("MODEL CALL FAILED:", type(err).__name__)
    get_trace_provider().force_flush()  # what an exporter does at exit, now
    """
)


def _run_agent(env: dict[str, str]) -> subprocess.CompletedProcess:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "AGENT_"))}
    return subprocess.run([sys.executable, "-c", SCRIPT], cwd=REPO_ROOT, env={**base, **env},
                          capture_output=True, text=True, timeout=120)  # fmt: skip


@pytest.mark.parametrize("backend", ["openai-compatible", "openai"])
def test_a_local_endpoint_means_no_connection_leaves_the_machine(backend, model_double, egress):
    before = len(egress.attempts)
    result = _run_agent({**model_double.env(), "AGENT_MODEL_BACKEND": backend, **egress.env()})
    assert "ANSWER:" in result.stdout, result.stdout + result.stderr
    assert egress.attempts[before:] == [], "a connection to another machine was attempted"


def test_the_proxy_sees_what_goes_to_openai(egress):
    """The control: the openai backend on OpenAI's own API, so the model call and the
    trace export both head for api.openai.com -- and the proxy records them."""
    before = len(egress.attempts)
    result = _run_agent({"OPENAI_API_KEY": "sk-test-not-a-key", "AGENT_MODEL_BACKEND": "openai", **egress.env()})
    assert "MODEL CALL FAILED" in result.stdout, result.stdout + result.stderr
    seen = egress.attempts[before:]
    assert "CONNECT api.openai.com:443" in seen, seen


def test_trace_export_can_be_switched_off_even_for_openai(egress, monkeypatch):
    from recipes.core.models import choose_model
    from recipes.core.tracing import exports_to_openai

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-a-key")
    assert exports_to_openai(choose_model("openai"))
    monkeypatch.setenv("AGENT_TRACE_EXPORT", "off")
    assert not exports_to_openai(choose_model("openai"))
