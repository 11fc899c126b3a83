"""The small agents the three patterns combine, one factory each. Workflows build them;
nothing here runs anything.

Each agent is deliberately small: one job, one or two tools, short instructions.

Words matter twice. A real LLM picks tools and handoffs from their names and
descriptions; the offline stand-in model (``tutorial.offline_model``) does the same by
plain word overlap. So each handoff description uses the words a user would use for it
("alerts", "warnings", "forecast", "rain") and avoids the other's words.

The tools (``get_weather_alerts``, ``get_forecast``) are activities, shared with other
recipes: ``recipes/tools``.
"""

from __future__ import annotations

from typing import Literal

from agents import Agent
from pydantic import BaseModel, Field

from recipes.tools.alerts_tool import weather_alerts_tool
from recipes.tools.forecast import forecast_tool

__all__ = [
    "TOPIC_LABEL",
    "WeatherQuestion",
    "alerts_specialist",
    "forecast_specialist",
    "orchestrator_with_agent_tools",
    "triage_extractor",
    "triage_router",
    "weather_reporter",
]

SPECIALIST_STYLE = "Answer in two or three sentences and quote what the tool returned."


class WeatherQuestion(BaseModel):
    """What the triage agent extracts from a free-text question (its ``output_type``)."""

    state: str = Field(description="Two-letter US state code the question is about, e.g. CA")
    topic: Literal["alerts", "forecast"] = Field(
        description="alerts: warnings, watches, advisories; forecast: temperature, rain, wind to come"
    )


#: Topic -> the words the reporter is asked with (chaining step 2).
TOPIC_LABEL: dict[str, str] = {"alerts": "weather alerts", "forecast": "forecast"}


def triage_extractor() -> Agent:
    """Chaining, step 1: turns the question into a ``WeatherQuestion`` (no tools)."""
    return Agent(
        name="Triage agent",
        instructions=(
            "You are a triage agent. Read the weather question and extract the two-letter US state "
            "code and the topic: 'alerts' for warnings, watches and advisories, 'forecast' for "
            "temperature, rain and wind to come."
        ),
        output_type=WeatherQuestion,
    )


def weather_reporter() -> Agent:
    """Chaining, step 2: writes the report the triage agent asked for."""
    return Agent(
        name="Weather reporter",
        instructions=(
            "You are a weather reporter. Use get_weather_alerts for alerts and get_forecast for "
            f"forecasts, then write the report. {SPECIALIST_STYLE}"
        ),
        tools=[weather_alerts_tool(), forecast_tool()],
    )


def alerts_specialist() -> Agent:
    return Agent(
        name="Alerts specialist",
        handoff_description="Answers questions about active weather alerts, warnings, watches and advisories in a US state.",
        instructions=(
            "You are the alerts specialist. Look up the active weather alerts for the US state "
            f"in the question with get_weather_alerts. {SPECIALIST_STYLE}"
        ),
        tools=[weather_alerts_tool()],
    )


def forecast_specialist() -> Agent:
    return Agent(
        name="Forecast specialist",
        handoff_description="Answers questions about the weather forecast: temperature, rain, wind and sky for the next days in a US state.",
        instructions=(
            "You are the forecast specialist. Look up the forecast for the US state in the question "
            f"with get_forecast. {SPECIALIST_STYLE}"
        ),
        tools=[forecast_tool()],
    )


def triage_router() -> Agent:
    """Handoffs: no tools; hands the conversation to the specialist that fits."""
    return Agent(
        name="Triage router",
        instructions=(
            "You are the front desk of a weather service. Do not answer yourself: hand the "
            "conversation to the Alerts specialist for alerts, warnings and watches, or to the "
            "Forecast specialist for the forecast, temperature, rain and wind."
        ),
        handoffs=[alerts_specialist(), forecast_specialist()],
    )


def orchestrator_with_agent_tools() -> Agent:
    """Agents as tools: the desk keeps the conversation and calls specialists like tools."""
    return Agent(
        name="Weather desk",
        instructions=(
            "You are the weather desk. Ask the alerts specialist about alerts, warnings and watches "
            "and the forecast specialist about the forecast; ask both when the question covers both. "
            "Combine their answers into one reply."
        ),
        tools=[
            alerts_specialist().as_tool(
                tool_name="ask_alerts_specialist",
                tool_description="Ask the alerts specialist about active weather alerts, warnings and watches in a US state.",
            ),
            forecast_specialist().as_tool(
                tool_name="ask_forecast_specialist",
                tool_description="Ask the forecast specialist about the forecast: temperature, rain and wind in a US state.",
            ),
        ],
    )
