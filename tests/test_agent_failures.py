"""The model double's misbehaviours (``#misbehave:<name>``) through the Agents SDK's real OpenAI clients,
and the one sentence ``recipes.core.agent_failures.describe`` gives each error they cause. No Temporal
here: tests/test_misbehaving_models.py runs every recipe's workflow against them."""

from __future__ import annotations

import asyncio

import openai
import pytest
from agents import (
    Agent,
    AgentsException,
    OpenAIChatCompletionsModel,
    OpenAIResponsesModel,
    RunConfig,
    Runner,
    UserError,
    function_tool,
)
from agents.exceptions import ToolTimeoutError

from recipes.core.agent_failures import describe
from tutorial.model_double import serving
from tutorial.model_double.misbehaviour import BEHAVIOURS, SERVER_ERROR_MESSAGE

KEY = "sk-agent-failures-test"
QUESTION = "Any weather alerts in Texas?"


@function_tool
def get_weather_alerts(state: str) -> str:
    """Active weather alerts for a US state (two-letter code)."""
    return f"No active alerts for {state}."


@pytest.fixture(scope="module")
def double():
    with serving(api_key=KEY) as server:
        yield server


def run(double, api: str, question: str, max_turns: int = 4):
    client = openai.AsyncOpenAI(base_url=double.url, api_key=KEY, max_retries=0)
    model_class = OpenAIChatCompletionsModel if api == "chat" else OpenAIResponsesModel
    agent = Agent(name="Weather agent", instructions="Use get_weather_alerts for weather alerts.",
                  tools=[get_weather_alerts], model=model_class(model="double-1", openai_client=client))  # fmt: skip
    return asyncio.run(Runner.run(agent, question, max_turns=max_turns, run_config=RunConfig(tracing_disabled=True)))


@pytest.mark.parametrize("api", ["chat", "responses"])
def test_each_misbehaviour_reaches_the_agent_loop_as_a_real_model_would(double, api):
    outcomes = {}
    for behaviour in BEHAVIOURS:
        if behaviour == "slow":  # the server's pace, not a decision: tests/test_model_double.py times it
            continue
        try:
            outcomes[behaviour] = run(double, api, f"{QUESTION} #misbehave:{behaviour}").final_output
        except AgentsException as err:
            outcomes[behaviour] = describe(err)
        except openai.InternalServerError as err:
            outcomes[behaviour] = f"HTTP {err.status_code}: {err.message}"
    assert outcomes["invented_tool"] == ("The model called a tool that does not exist: get_stock_price "
                                         "(agent Weather agent has get_weather_alerts).")  # fmt: skip
    assert outcomes["repeat_tool"] == ("max_turns (4) exceeded: the model kept calling get_weather_alerts "
                                       "(4 of 4 tool calls) without answering (agent Weather agent).")  # fmt: skip
    # Arguments that are not JSON come back to the model as a tool error; it calls again, and again.
    assert outcomes["bad_json"].startswith("max_turns (4) exceeded: the model kept calling get_weather_alerts")
    assert outcomes["text_tool_call"].startswith("```json") and '"get_weather_alerts"' in outcomes["text_tool_call"]
    assert outcomes["empty_answer"] == ""
    assert outcomes["server_error"].startswith("HTTP 500") and SERVER_ERROR_MESSAGE in outcomes["server_error"]
    assert run(double, api, QUESTION).final_output, "without a cue the double answers as usual"


def test_an_unknown_cue_is_refused_not_ignored(double):
    with pytest.raises(openai.BadRequestError, match="#misbehave:loop_forever is not a behaviour"):
        run(double, "chat", f"{QUESTION} #misbehave:loop_forever")


@pytest.mark.parametrize(("error", "sentence"), [
    (ToolTimeoutError("get_weather_alerts", 30), "The tool get_weather_alerts did not finish within 30 s."),
    (UserError("Handoff target not found"), "The agent is set up wrong: Handoff target not found"),
    (AgentsException("a message\n  on two lines"), "AgentsException: a message on two lines"),
])  # fmt: skip
def test_other_errors_get_one_sentence_too(error, sentence):
    assert describe(error) == sentence
