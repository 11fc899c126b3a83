"""A change that must not ship while runs are open: a timer before the agent, where the stored run went
straight to the model. ``test_replay.py`` proves its replay check catches it. (A module of its own, so the
workflow sandbox imports only this, not the test module and pytest.)"""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from agents import Runner

    from recipes.weather.workflows import build_agent


@workflow.defn(name="WeatherAgentWorkflow")
class WaitsBeforeAnswering:
    @workflow.run
    async def run(self, question: str) -> str:
        await workflow.sleep(timedelta(seconds=1))
        return str((await Runner.run(build_agent(), question)).final_output)
