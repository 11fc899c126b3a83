"""The weather-alert agent with the OpenAI Agents SDK alone — no Temporal.

Notebook 01 builds on this: the agentic loop, a function tool, an input
guardrail, a handoff and the trace. Everything here runs in one process, so
when that process dies the run is gone (notebook 01 shows the cost).
"""

from __future__ import annotations

import re

from agents import (
    Agent,
    GuardrailFunctionOutput,
    ModelSettings,
    RunContextWrapper,
    TResponseInputItem,
    function_tool,
    input_guardrail,
)

from recipes.tools.weather_alerts import fetch_alerts, normalize_state, summarize_alerts


@function_tool
async def get_weather_alerts(state: str) -> str:
    """Get active weather alerts (warnings, watches, advisories) for a US state from the National Weather Service.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    # A plain function tool: if it raises, the SDK hands the error text to the
    # model as the tool result (its default failure_error_function).
    code = normalize_state(state)
    return summarize_alerts(code, await fetch_alerts(code))


WEATHER_WORDS = re.compile(
    r"\b(weather|alerts?|warnings?|watch(es)?|advisor(y|ies)|storms?|floods?|"
    r"heat|snow|wind|fire|hurricanes?|tornado(es)?|forecast|rain)\b",
    re.IGNORECASE,
)


def _last_user_text(input: str | list[TResponseInputItem]) -> str:
    if isinstance(input, str):
        return input
    for item in reversed(input):
        if isinstance(item, dict) and item.get("role") == "user":
            content = item.get("content")
            if isinstance(content, str):
                return content
            return " ".join(part.get("text", "") for part in content or [] if isinstance(part, dict))
    return ""


@input_guardrail
async def weather_questions_only(
    ctx: RunContextWrapper[None], agent: Agent, input: str | list[TResponseInputItem]
) -> GuardrailFunctionOutput:
    """Trip when the request is not about weather. A cheap rule, run before
    (and in parallel with) the first model call; a guardrail can also be an
    agent of its own when a rule is not enough."""
    text = _last_user_text(input)
    on_topic = bool(WEATHER_WORDS.search(text))
    return GuardrailFunctionOutput(
        output_info={"on_topic": on_topic, "checked": text[:80]},
        tripwire_triggered=not on_topic,
    )


def build_weather_agent(parallel_tool_calls: bool = True) -> Agent:
    """The specialist: one tool, answers about active alerts."""
    return Agent(
        name="Weather assistant",
        handoff_description="Answers questions about active weather alerts, warnings and watches for US states.",
        instructions=(
            "You answer questions about active weather alerts for US states. "
            "Call get_weather_alerts once per state mentioned, then summarise the alerts "
            "in plain language. If a tool reports an error, say so."
        ),
        tools=[get_weather_alerts],
        input_guardrails=[weather_questions_only],
        model_settings=ModelSettings(parallel_tool_calls=parallel_tool_calls),
    )


def build_triage_agent() -> Agent:
    """The front door: decides who should answer and hands the conversation over."""
    return Agent(
        name="Triage",
        instructions=(
            "You route each request to the right specialist. Hand weather alert "
            "questions to the Weather assistant; do not answer them yourself."
        ),
        handoffs=[build_weather_agent()],
    )
