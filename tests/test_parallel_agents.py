"""The parallel-agents recipe: fan-out in one workflow and as child workflows, end to end (offline
model, local NWS service, a real Temporal server, a worker in this process); a failed branch reported,
not fatal; and the parts that need no server: the branch prompt, the briefing writer, the failure text,
the overlap and timing maths the notebook reads the runs with."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime, timedelta, timezone

from agents import AgentOutputSchema
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.exceptions import ActivityError, ApplicationError, RetryState
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.worker import Replayer

from recipes.parallel_agents import team
from recipes.parallel_agents.starter import start_briefing
from recipes.parallel_agents.worker import build_worker
from recipes.parallel_agents.workflows import (
    BranchAgentWorkflow,
    ChildWorkflowBriefing,
    FanOutBriefingWorkflow,
    branch_prompt,
    failure_text,
)
from tutorial.evidence import Interval, agent_intervals, agent_sequence, overlaps, timeline, timing_summary
from tutorial.history import activity_steps, fetch_history, model_and_tool_sequence
from tutorial.offline_model import OfflineModelProvider, decide


def plugin(latency_s: float = 0.0) -> OpenAIAgentsPlugin:
    return OpenAIAgentsPlugin(
        model_provider=OfflineModelProvider(latency_s=latency_s),
        model_params=ModelActivityParameters(start_to_close_timeout=timedelta(seconds=30)),
    )


def with_worker(address: str, scenario, latency_s: float = 0.0):
    """Run ``scenario(client, queue)`` with a worker for the recipe on a fresh task queue."""

    async def main():
        client = await Client.connect(address, plugins=[plugin(latency_s)])
        queue = f"test-parallel-{uuid.uuid4().hex[:8]}"
        async with build_worker(client, task_queue=queue):
            return await asyncio.wait_for(scenario(client, queue), timeout=60)

    return asyncio.run(main())


def test_parallel_branches_overlap_sequential_ones_do_not_and_both_replay(temporal_server, weather):
    async def run(client, queue):
        out = {}
        for mode in ("parallel", "sequential"):
            started = time.monotonic()
            handle = await start_briefing(client, ["CA", "TX", "NY"], mode=mode, task_queue=queue)
            result = await handle.result()
            out[mode] = (result, await fetch_history(handle), time.monotonic() - started)
        return out

    out = with_worker(temporal_server.address, run, latency_s=0.2)
    for mode, (result, history, wall) in out.items():
        print(f"{mode}: {wall:.2f}s wall (client side)")  # informative only
        assert set(result.reports) == {"CA", "TX", "NY"} and not result.failures and result.missing_branches == []
        # Each report is its own branch's: it quotes that state's tool result.
        assert all(f"alerts for {state}" in result.reports[state] for state in ("CA", "TX", "NY")), result.reports
    par = [i for n, i in agent_intervals(out["parallel"][1]).items() if n.startswith("Alerts agent")]
    seq = sorted((i for n, i in agent_intervals(out["sequential"][1]).items() if n.startswith("Alerts agent")),
                 key=lambda i: i.start)
    assert len(par) == 3 and overlaps(par)
    assert not overlaps(seq) and all(a.end <= b.start for a, b in zip(seq, seq[1:]))
    # The first three model calls of the parallel run belong to three different branches.
    assert sorted(agent_sequence(out["parallel"][1])[:3]) == ["Alerts agent CA", "Alerts agent NY", "Alerts agent TX"]

    async def replay():
        replayer = Replayer(workflows=[FanOutBriefingWorkflow, ChildWorkflowBriefing, BranchAgentWorkflow], plugins=[plugin()])
        for _, history, _ in out.values():
            await replayer.replay_workflow(history)  # raises on non-determinism

    asyncio.run(replay())


def test_a_failed_branch_is_reported_not_fatal_in_one_workflow_and_as_children(temporal_server, weather):
    async def run(client, queue):
        results = {}
        for mode in ("parallel", "children"):
            handle = await start_briefing(client, ["CA", "ZZ"], mode=mode, task_queue=queue)
            result = await handle.result()
            status = (await handle.describe()).status
            children = {}
            if mode == "children":
                for state in ("CA", "ZZ"):
                    child = client.get_workflow_handle(f"{handle.id}-{state}")
                    children[state] = ((await child.describe()).status, await fetch_history(child))
            results[mode] = (result, status, await fetch_history(handle), children)
        return results

    results = with_worker(temporal_server.address, run)
    for mode, (result, status, history, children) in results.items():
        assert status == WorkflowExecutionStatus.COMPLETED, mode
        assert list(result.reports) == ["CA"] and list(result.failures) == ["ZZ"], mode
        assert "alerts for CA" in result.reports["CA"], result.reports
        assert result.failures["ZZ"].startswith("InvalidState:"), result.failures
        assert result.missing_branches == ["ZZ"], mode
    failed = [s for s in activity_steps(results["parallel"][2]) if s.status == "failed"]
    assert len(failed) == 1 and failed[0].attempts == 1 and failed[0].non_retryable
    _, _, parent_history, children = results["children"]
    assert agent_sequence(parent_history) == ["Briefing writer"]
    assert children["CA"][0] == WorkflowExecutionStatus.COMPLETED
    assert children["ZZ"][0] == WorkflowExecutionStatus.FAILED
    assert model_and_tool_sequence(children["ZZ"][1]) == ["model", "tool:get_weather_alerts"]


def test_a_quoted_branch_prompt_passes_the_code_through_even_if_invalid():
    tools = team.branch_agent("ZZ").tools
    for code in ("CA", "ZZ"):
        decision = decide(None, branch_prompt(code), tools=tools)
        assert [(c.name, c.arguments) for c in decision.calls] == [("get_weather_alerts", {"state": code})]


def test_the_briefing_writer_lists_the_quoted_missing_branch():
    items = [{"role": "assistant", "content": "Report for CA: 3 alerts"},
             {"role": "user", "content": 'Write the briefing from the 1 reports above. States with no report: "ZZ".'}]
    decision = decide(None, items, output_schema=AgentOutputSchema(team.Briefing))
    assert team.Briefing.model_validate_json(decision.text).missing_branches == ["ZZ"]


def test_failure_text_finds_the_innermost_application_error():
    root = ApplicationError("'ZZ' is not a US state code", type="InvalidState", non_retryable=True)
    activity_error = ActivityError("activity failed", scheduled_event_id=1, started_event_id=2, identity="w",
                                   activity_type="get_weather_alerts", activity_id="1",
                                   retry_state=RetryState.NON_RETRYABLE_FAILURE)
    activity_error.__cause__ = root
    wrapper = ApplicationError("Workflow failure exception in Agents Framework", type="AgentsWorkflowError")
    wrapper.__cause__ = activity_error
    assert failure_text(wrapper) == "InvalidState: 'ZZ' is not a US state code"
    assert failure_text(ValueError("boom")) == "ValueError: boom"


def _interval(name: str, start: float, end: float) -> Interval:
    t0 = datetime(2025, 1, 1, tzinfo=timezone.utc)
    return Interval(name, t0 + timedelta(seconds=start), t0 + timedelta(seconds=end), 2)


def test_overlap_and_timing_maths():
    parallel = [_interval("a", 0, 1.0), _interval("b", 0.1, 1.1), _interval("c", 0.05, 0.9)]
    sequential = [_interval("a", 0, 1.0), _interval("b", 1.0, 2.0)]
    assert overlaps(parallel) and not overlaps(sequential) and not overlaps(parallel[:1])
    assert timing_summary(parallel) == {"wall_s": 1.1, "sum_s": 2.85, "saved_s": 1.75}
    assert timing_summary(sequential)["saved_s"] == 0.0
    chart = timeline(parallel, width=10).splitlines()
    assert len(chart) == 4 and chart[0].startswith("a |█")
