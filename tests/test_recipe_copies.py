"""Each recipe, copied into an empty project with exactly what its README says it
needs, runs there: its worker polls, its starter's workflow completes; and a recipe
that carries tests (``recipes/<recipe>/tests/``) passes them there.

The copy runs on the interpreter that has only ``requirements.txt`` installed:
``python -S`` with the venv's site-packages on ``PYTHONPATH``, so the editable
install of this repository (a ``.pth`` file, which ``-S`` does not read) cannot
quietly supply a module the copy lacks. The model is a real-model backend (the
wire-format double): the offline stand-in is tutorial machinery, not part of a copy,
and a copy that asks for it is told so in one sentence.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from recipes.core.worker import READY_TEXT
from tutorial.processes import ManagedProcess
from tests.test_recipe_layout import RECIPES, declared_needs, recipe_folders

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class Run:
    """How a recipe is run from two terminals, as its README says."""

    starter: list[str]
    prints: str
    worker: str | None = None
    queue_env: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    worker_args: list[str] = field(default_factory=list)


RUNS = {
    "plain_agent": Run(["recipes.plain_agent.run", "Any weather alerts in Texas?"], "Answer:"),
    "hello_temporal": Run(["recipes.hello_temporal.starter", "Ada"], "Hello, Ada!", "recipes.hello_temporal.worker",
                          "HELLO_TASK_QUEUE"),
    "weather": Run(["recipes.weather.starter", "Any weather alerts in California?"], "Web UI:",
                   "recipes.weather.worker", "WEATHER_TASK_QUEUE"),
    "dynamic_tools": Run(["recipes.dynamic_tools.starter", "What is the capital of Texas?"], "Tools offered:",
                         "recipes.dynamic_tools.worker", "DYNAMIC_TOOLS_TASK_QUEUE",
                         {"DYNAMIC_TOOL_MODULES": "recipes.dynamic_tools.extra_tools"}),
    "durability": Run(["recipes.durability.starter", "briefing", "Texas"], "Web UI:", "recipes.durability.worker",
                      "DURABILITY_TASK_QUEUE", {"DURABILITY_TOOL_SECONDS": "0.3"}),
    "chaining": Run(["recipes.chaining.starter", "chain", "Are there any weather alerts in Texas?"], "answered by",
                    "recipes.chaining.worker", "CHAINING_TASK_QUEUE"),
    "parallel_agents": Run(["recipes.parallel_agents.starter", "CA", "TX"], "Summary:", "recipes.parallel_agents.worker",
                           "PARALLEL_AGENTS_TASK_QUEUE"),
    "agent_session": Run(["recipes.agent_session.starter", "chat", "Any weather alerts for California?"],
                         "Ended after 1 user turns", "recipes.agent_session.worker", "AGENT_SESSION_TASK_QUEUE"),
    "streaming": Run(["recipes.streaming.starter", "Any weather alerts in California?"], "Web UI:",
                     "recipes.streaming.worker", "STREAMING_TASK_QUEUE"),
    # Payloads by reference: the ~3 MB alert history goes to <project>/.payloads, inside the copy.
    "payloads": Run(["recipes.payloads.starter", "What has the alert history of California been like?"], "Web UI:",
                    "recipes.payloads.worker", "PAYLOADS_TASK_QUEUE", {"PAYLOAD_STORE": "local"}),
    "shipping": Run(["recipes.shipping.starter", "Any weather alerts in Texas?"], "Screened: True",
                    "recipes.shipping.worker", "SHIPPING_TASK_QUEUE", worker_args=["--code", "v2"]),
    "cost": Run(["recipes.cost.compare", "--runs", "2"], "durability adds", "recipes.cost.worker", "COST_TASK_QUEUE"),
    # The worker starts the copied MCP server (python -m recipes.mcp.server) over stdio.
    "mcp": Run(["recipes.mcp.starter", "Any weather alerts in California?"], "Web UI:", "recipes.mcp.worker",
               "MCP_AGENT_TASK_QUEUE"),
    # The sample project's failing test, fixed in a workspace under the copy's TMPDIR.
    "coding_agent": Run(["recipes.coding_agent.starter"], "Web UI:", "recipes.coding_agent.worker", "CODING_AGENT_TASK_QUEUE"),
    # No worker, no server: a stored history (its activity retried twice) drawn to a PNG inside the copy.
    "timeline": Run(["recipes.timeline.timeline", str(RECIPES.parent / "tests/histories/hello_temporal/HelloWorkflow-retried.json"),
                     "--out", "timeline.png"], "timeline.png: 3 lanes, 7 bars"),
}  # fmt: skip


#: The copy's interpreter sees the installed requirements and nothing of this repository (``python -S``).
ONLY_REQUIREMENTS = {"PYTHONPATH": ":".join(site.getsitepackages()), "PYTHONNOUSERSITE": "1"}


def copy_recipe(name: str, project: Path) -> list[str]:
    """The recipe folder and its declared needs, at the same paths; nothing else."""
    folders = [name, *sorted(declared_needs(RECIPES / name))]
    for folder in folders:
        shutil.copytree(RECIPES / folder, project / "recipes" / folder, ignore=shutil.ignore_patterns("__pycache__"))
    return folders


def test_every_recipe_has_a_copy_run():
    assert set(RUNS) == {p.name for p in recipe_folders()}, "add the new recipe to RUNS"


@pytest.mark.parametrize("name", sorted(RUNS))
def test_a_copied_recipe_runs_with_only_what_it_declares(name, tmp_path, temporal_server, weather, model_double):
    run = RUNS[name]
    project = tmp_path / "project"
    copied = copy_recipe(name, project)
    assert not (project / "recipes" / "__init__.py").exists() and not (project / "tutorial").exists()
    env = {
        **ONLY_REQUIREMENTS,
        "TEMPORAL_ADDRESS": temporal_server.address,
        "AGENT_MODEL_BACKEND": "openai-compatible",
        **model_double.env(),
        "NWS_API_URL": weather.url,
        "AGENT_MODEL_LEDGER": str(tmp_path / "ledger.jsonl"),
        **run.env,
    }
    if run.queue_env:
        env[run.queue_env] = f"copy-{name}-{uuid.uuid4().hex[:6]}"

    def python(label: str, *args: str, ready: str | None = None) -> ManagedProcess:
        return ManagedProcess(f"copy-{name}-{label}", [sys.executable, "-S", "-m", *args], env=env, cwd=project,
                              log_path=tmp_path / f"{label}.log", ready_text=ready)  # fmt: skip

    worker = python("worker", run.worker, *run.worker_args, ready=READY_TEXT) if run.worker else None
    starter = python("starter", *run.starter)
    try:
        if worker:
            worker.start(timeout=60)
        starter.start()
        code = starter.wait(timeout=120)
    finally:
        starter.stop()
        if worker:
            worker.stop()
    out = starter.log()
    assert code == 0, f"{name} copied with {copied} failed:\n{out[-2000:]}\n{worker.log_tail(20) if worker else ''}"
    assert run.prints in out, out


def test_a_copy_that_asks_for_the_offline_model_is_told_to_choose_a_real_one(tmp_path):
    """The offline backend is the tutorial's (an entry point this repository's install registers, whose package
    the copy does not have): the copied script stops with core's one sentence, not a traceback."""
    project = tmp_path / "project"
    copy_recipe("plain_agent", project)
    done = subprocess.run([sys.executable, "-S", "-m", "recipes.plain_agent.run", "Any weather alerts in Texas?"],
                          cwd=project, env={**os.environ, **ONLY_REQUIREMENTS, "AGENT_MODEL_BACKEND": "offline"},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "No offline stand-in model is installed" in done.stderr and "choose a real model" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr


def test_a_copy_without_the_litellm_backend_runs_on_other_models_and_refuses_litellm_in_one_sentence(
        tmp_path, weather, model_double):
    """LiteLLM is one backend of the switch, loaded only when chosen: a project that copied recipes/core without
    litellm_backend.py runs on an OpenAI-compatible server, and asking it for litellm is core's one sentence."""
    project = tmp_path / "project"
    copy_recipe("plain_agent", project)
    (project / "recipes" / "core" / "litellm_backend.py").unlink()
    env = {**os.environ, **ONLY_REQUIREMENTS, "NWS_API_URL": weather.url, "AGENT_MODEL_LEDGER": str(tmp_path / "ledger.jsonl")}

    def run(**more: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-S", "-m", "recipes.plain_agent.run", "Any weather alerts in Texas?"],
                              cwd=project, env={**env, **more}, capture_output=True, text=True, timeout=120)  # fmt: skip

    answered = run(AGENT_MODEL_BACKEND="openai-compatible", **model_double.env())
    assert answered.returncode == 0 and "Answer:" in answered.stdout, answered.stdout + answered.stderr
    refused = run(AGENT_MODEL_BACKEND="litellm", LITELLM_MODEL="anthropic/claude-sonnet-4-5", ANTHROPIC_API_KEY="sk-unused")
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "The litellm backend is not in this project (recipes/core/litellm_backend.py is missing)" in refused.stderr
    assert "Traceback" not in refused.stderr, refused.stderr


#: Recipes that carry their own tests; the copy runs them as a person who copied it would.
RECIPES_WITH_TESTS = sorted(p.parent.name for p in RECIPES.glob("*/tests"))


def run_copied_tests(project: Path, name: str) -> subprocess.CompletedProcess:
    """``python -m pytest recipes/<name>/tests`` in the copied project, with only ``requirements.txt`` installed."""
    env = {**os.environ, **ONLY_REQUIREMENTS}
    env.pop("AGENT_MODEL_BACKEND", None)  # no model chosen: the one test that asks a model skips, saying so
    return subprocess.run([sys.executable, "-S", "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider",
                           "-o", "asyncio_default_fixture_loop_scope=function", f"recipes/{name}/tests"],
                          cwd=project, env=env, capture_output=True, text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize("name", RECIPES_WITH_TESTS)
def test_a_copied_recipe_passes_its_own_tests_there(name, tmp_path):
    project = tmp_path / "project"
    copied = copy_recipe(name, project)
    done = run_copied_tests(project, name)
    assert done.returncode == 0 and " passed" in done.stdout, f"{name} copied with {copied}:\n{done.stdout[-3000:]}{done.stderr[-2000:]}"
