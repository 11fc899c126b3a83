"""The plan both of the tutorial's stand-in models follow for the coding agent, without a Temporal server.
(The recipe's own pieces are tested in ``recipes/coding_agent/tests/``.)"""

from __future__ import annotations

from recipes.coding_agent.project import PRICING, SAMPLE_QUESTION
from tutorial.offline_model.coding import Call, next_step, patch_for, report

FIXED = PRICING.replace("percent / 10,", "percent / 100,")
PASSED = "exit code 0\ntest_total ... ok\n\nRan 3 tests in 0.001s\n\nOK\n"


def plan(request: str, outputs: dict[str, str]) -> list[Call]:
    """Follow the plan to its end, answering each call from ``outputs`` (by tool name)."""
    calls: list[Call] = []
    while (step := next_step(request, calls)) is not None:
        assert len(calls) < 10, f"the plan does not end: {calls}"
        calls.append(Call(step.tool, step.arguments, outputs[step.tool]))
    return calls


def test_the_plan_reads_the_test_finds_the_line_patches_and_runs_the_tests():
    outputs = {"read_file": PRICING, "search": "./pricing.py:6:    return round(price - price * percent / 10, 2)",
               "apply_patch": "Updated pricing.py", "run_tests": PASSED}  # fmt: skip
    calls = plan(SAMPLE_QUESTION, outputs)
    assert [(c.name, c.arguments.get("path") or c.arguments.get("text")) for c in calls] == [
        ("read_file", "test_pricing.py"), ("search", "percent / 10"), ("read_file", "pricing.py"),
        ("apply_patch", None), ("run_tests", None)]  # fmt: skip
    found = report(SAMPLE_QUESTION, calls)
    assert found.changed == ("pricing.py", "percent / 10", "percent / 100") and found.tests_passed
    assert found.test_summary == "Ran 3 tests in 0.001s OK"


def test_without_a_named_change_the_stand_in_runs_the_tests_and_says_it_cannot_fix():
    failing = 'exit code 1\nFAIL: test_twenty_percent_off\n  File "/tmp/ws/test_pricing.py", line 8\n\nFAILED (failures=1)\n'
    calls = plan("The tests fail. Fix them.", {"read_file": "...", "run_tests": failing})
    assert [c.name for c in calls] == ["run_tests", "read_file"] and calls[1].arguments == {"path": "test_pricing.py"}
    found = report("The tests fail. Fix them.", calls)
    assert found.changed is None and not found.tests_passed and "cannot work one out" in found.problem


def test_a_failed_tool_ends_the_plan_with_what_failed():
    calls = plan(SAMPLE_QUESTION, {"read_file": "Tool read_file failed: file not found: test_pricing.py. Check the arguments."})
    assert len(calls) == 1 and "file not found" in report(SAMPLE_QUESTION, calls).problem


def test_the_patch_it_writes_is_one_the_sandbox_applies():
    from agents.sandbox.apply_patch import V4AFormat
    from agents.sandbox.capabilities.tools.apply_patch_tool import SandboxApplyPatchTool

    patch = patch_for("pricing.py", PRICING, "percent / 10", "percent / 100")
    [operation] = SandboxApplyPatchTool.parse_custom_input(None, patch)  # the parser reads no state
    assert operation.path == "pricing.py" and V4AFormat.apply_diff(PRICING, operation.diff) == FIXED


def test_waiting_for_a_test_run_without_a_worker_says_so_at_once(tmp_path):
    """The kill cell run a second time: its worker is dead, so no test run can come; one sentence, not a
    wait for a run nobody takes (without the check, the wait below runs out and says something else)."""
    import asyncio
    import types

    import pytest

    from recipes.core.errors import TutorialError
    from tutorial.coding_lab import Gate, wait_for_test_runs
    from tutorial.processes import ManagedProcess

    async def describe():
        return types.SimpleNamespace(status=types.SimpleNamespace(name="RUNNING"))  # a run still waiting

    gone = ManagedProcess("coding-worker", ["true"], log_path=tmp_path / "worker.log")  # never started: not running
    with pytest.raises(TutorialError, match=r"^coding-worker is not running, so no test run can reach the gate"):
        asyncio.run(wait_for_test_runs(Gate.closed(tmp_path / "gate"), types.SimpleNamespace(describe=describe), 1,
                                       timeout=1, worker=gone))  # fmt: skip
