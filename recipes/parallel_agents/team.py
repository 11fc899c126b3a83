"""The two small agents of the briefing: one branch agent per state, and the writer that
gathers their reports. Workflows build them; nothing here runs anything.

The branch agent gets the shared alerts tool *without* error reporting
(``weather_alerts_tool(errors_to_model=False)``): a failed lookup -- a bad state code is a
non-retryable ``InvalidState`` -- ends that branch's run, and the workflow decides what a
failed branch means.
"""

from __future__ import annotations

from agents import Agent, ModelSettings
from pydantic import BaseModel, Field

from recipes.tools.alerts_tool import weather_alerts_tool

__all__ = ["Briefing", "branch_agent", "briefing_writer"]


class Briefing(BaseModel):
    """The briefing writer's structured answer."""

    missing_branches: list[str] = Field(description="States whose report is missing because its agent failed")
    summary: str = Field(description="A short briefing that summarizes the reports")


def branch_agent(state: str) -> Agent:
    """One small agent per state. Tool failures are *not* caught, so a bad state ends this
    branch's run (the workflow decides what that means).

    Its one job is one lookup, so the first model call must use the tool
    (``tool_choice``; the SDK lets the model answer freely after that call). A
    model that would rather say "ZZ is not a state" than look it up still
    looks it up, and the branch fails the way the briefing expects.
    """
    return Agent(
        name=f"Alerts agent {state}",
        instructions=(
            f"You report the active weather alerts for the US state {state} using get_weather_alerts. "
            "Answer in two or three sentences and quote what the tool returned."
        ),
        tools=[weather_alerts_tool(errors_to_model=False)],
        model_settings=ModelSettings(tool_choice="get_weather_alerts"),
    )


def briefing_writer() -> Agent:
    """The gather step: summarizes the branch reports; lists the branches that failed."""
    return Agent(
        name="Briefing writer",
        instructions=(
            "You write a short multi-state weather briefing from the reports in the conversation. "
            "List in missing_branches every state the user says has no report, and say in the "
            "summary that it is missing."
        ),
        output_type=Briefing,
    )
