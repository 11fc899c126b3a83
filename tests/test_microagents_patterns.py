"""Parallel fan-out and child workflows, end to end.

Offline model, local NWS service, a real Temporal server, a worker in this process.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import timedelta

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.openai_agents import ModelActivityParameters, OpenAIAgentsPlugin
from temporalio.worker import Replayer

from recipes.microagents.client import start_briefing
from recipes.microagents.worker import WORKFLOWS, build_worker
from tutorial.evidence import agent_intervals, agent_sequence, overlaps
from tutorial.history import activity_steps, fetch_history, model_and_tool_sequence
from tutorial.offline_model import OfflineModelProvider


def plugin(latency_s: float = 0.0) -> OpenAIAgentsPlugin:
    return OpenAIAgentsPlugin(
        model_provider=OfflineModelProvider(latency_s=latency_s),
        model_params=ModelActivityParameters(start_to_close_timeout=timedelta(seconds=30)),
    )


def with_worker(address: str, scenario, latency_s: float = 0.0):
    """Run ``scenario(client, queue)`` with a worker for the recipe on a fresh task queue."""

    async def main():
        client = await Client.connect(address, plugins=[plugin(latency_s)])
        queue = f"test-microagents-{uuid.uuid4().hex[:8]}"
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
        replayer = Replayer(workflows=WORKFLOWS, plugins=[plugin()])
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
