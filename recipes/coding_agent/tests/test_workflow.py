"""The coding agent's workflow with the model scripted, on a worker like the recipe's: every sandbox operation an
activity over ``LocalWorkspaces``, a real workspace under the test's own temporary folder, real test runs.

``TestModel.returning_responses`` plays the model (``ResponseBuilders`` makes each tool call); the tools, the
sandbox and the sample project's tests are the recipe's own, so what the model is sent back is what a real
model would read.
"""

from __future__ import annotations

import itertools
import json
import uuid

import pytest
from agents import ModelResponse
from temporalio.client import Client, WorkflowFailureError
from temporalio.openai_agents.testing import ResponseBuilders, TestModel, TestModelProvider
from temporalio.worker import Worker

from recipes.coding_agent.project import CodingTask
from recipes.coding_agent.worker import sandbox_providers
from recipes.coding_agent.workflows import MODEL_PARAMS, CodingAgentWorkflow
from recipes.core.agent_failures import AgentsPlugin
from recipes.core.testing import scheduled_activities

FIX = """*** Begin Patch
*** Update File: pricing.py
@@
 def apply_discount(price: float, percent: float) -> float:
     \"\"\"The price after a discount of ``percent`` per cent.\"\"\"
-    return round(price - price * percent / 10, 2)
+    return round(price - price * percent / 100, 2)
*** End Patch
"""


CALL_IDS = (f"call-{n}" for n in itertools.count())


def call(tool: str, **arguments) -> ModelResponse:
    """A tool call with an id of its own (the Agents SDK refuses a run that reuses one)."""
    return ResponseBuilders.tool_call(json.dumps(arguments), tool, call_id=next(CALL_IDS))


@pytest.fixture
def workspaces(tmp_path, monkeypatch):
    """The folder the sandbox makes its workspaces in (``$TMPDIR``), empty at the start."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    return tmp_path


async def run(env, model: TestModel, task: CodingTask):
    """One run on a worker set up as ``worker.py`` sets it up, with ``model`` behind the plugin."""
    plugin = AgentsPlugin(model_params=MODEL_PARAMS, model_provider=TestModelProvider(model),
                          sandbox_clients=sandbox_providers())  # fmt: skip
    client = Client(**{**env.client.config(), "plugins": [plugin]})
    queue = f"coding-test-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[CodingAgentWorkflow]):
        handle = await client.start_workflow(CodingAgentWorkflow.run, task, id=queue, task_queue=queue)
        try:
            return handle, await handle.result()
        except WorkflowFailureError as failed:
            return handle, failed


def tool_outputs(history) -> list[str]:
    """What each model call was sent back by the tools, last call's input: the tool results, in order."""
    last = [e.activity_task_scheduled_event_attributes.input.payloads[0].data.decode() for e in history.events
            if e.activity_task_scheduled_event_attributes.activity_type.name == "invoke_model_activity"][-1]  # fmt: skip
    return [item["output"] for item in json.loads(last)["input"] if item.get("type") == "function_call_output"]


@pytest.mark.asyncio
async def test_the_agent_reads_the_failing_test_patches_the_code_and_the_tests_pass(env, workspaces):
    model = TestModel.returning_responses([
        call("read_file", path="test_pricing.py"), call("run_tests"), call("apply_patch", patch=FIX),
        call("run_tests"), ResponseBuilders.output_message("percent / 10 -> percent / 100; the tests pass."),
    ])  # fmt: skip
    handle, answer = await run(env, model, CodingTask())
    assert answer == "percent / 10 -> percent / 100; the tests pass.", answer
    history = await handle.fetch_history()
    read, failing, patched, passing = tool_outputs(history)
    assert "def test_twenty_percent_off" in read, read
    assert failing.startswith("exit code 1") and "FAILED (failures=1)" in failing, failing
    assert "pricing.py" in patched and failing != patched, patched
    assert passing.startswith("exit code 0") and "Ran 3 tests" in passing, passing
    steps = scheduled_activities(history)
    assert steps.count("coding-tests-sandbox_session_exec") == 2, f"each test run is the test runner's exec: {steps}"
    assert steps[-1] == "coding-sandbox_client_delete", steps
    assert not list(workspaces.iterdir()), "the workspace is removed when the run ends"


@pytest.mark.asyncio
async def test_a_test_run_that_runs_out_of_time_is_reported_to_the_model_and_not_run_again(env, workspaces):
    model = TestModel.returning_responses([call("run_tests"), ResponseBuilders.output_message("The tests hang.")])
    handle, answer = await run(env, model, CodingTask(test_command="sleep 30", test_run_seconds=1))
    assert answer == "The tests hang.", answer
    [reported] = tool_outputs(history := await handle.fetch_history())
    assert reported.startswith("Tool run_tests failed: command timed out") and "not retried" in reported, reported
    assert scheduled_activities(history).count("coding-tests-sandbox_session_exec") == 1
    assert not list(workspaces.iterdir()), "the workspace is removed when the run ends"


@pytest.mark.asyncio
async def test_a_run_that_fails_still_removes_its_workspace(env, workspaces):
    model = TestModel.returning_responses([call("run_tests")] * 3)  # a model that never answers
    handle, failed = await run(env, model, CodingTask(max_turns=2))
    assert isinstance(failed, WorkflowFailureError) and "turns" in str(failed.cause), failed
    assert scheduled_activities(await handle.fetch_history())[-1] == "coding-sandbox_client_delete"
    assert not list(workspaces.iterdir()), "a failed run removes its workspace too"
