"""What a small real model does, on cue: ``#misbehave:<name>`` anywhere in a request's user messages.

A 1.5B open-weights model served by llama.cpp on a CPU was seen to invent tools, call the same tool
again and again, write a tool call as text, answer nothing, and make its server answer HTTP 500 when
its output did not parse as a tool call. The double's own rules never do; a request that carries the
cue (a question such as ``"Any weather alerts in Texas? #misbehave:repeat_tool"``) gets that behaviour
instead, on every request of that conversation, so a test can prove what a run does with it whatever
else shares the double:

``invented_tool``
    calls ``get_stock_price``, a tool the agent does not have (the Agents SDK raises ``ModelBehaviorError``);
``repeat_tool``
    calls the first tool it would call for the question, again on every turn (until ``max_turns``);
``bad_json``
    calls that tool with arguments that are not JSON (OpenAI's formats only: Anthropic's and Gemini's
    carry arguments as objects, so there they are an object that breaks the tool's schema instead);
``text_tool_call``
    writes the call as text in a code fence, and that is its answer;
``empty_answer``
    answers with no text at all;
``server_error``
    makes the server answer HTTP 500 ``output does not match the expected format`` (llama-server's);
``slow``
    answers as :data:`SLOW` does: one tool call, then the answer, at 5 tokens a second after a 2 s first token.

A whole double can also act like such a model on every request (``--plan one_tool``,
``--tokens-per-second``, ``--first-token-seconds``: see :class:`SmallModel`): the same model was seen to
fetch one state of three and answer, at 5-9 tokens a second after a long first token.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace

from . import answer
from .arguments import forced_arguments
from .conversation import Decision, Message, ModelRequest, Turn
from .policy import HANDOFF_PREFIX, decide

__all__ = ["BEHAVIOURS", "INVENTED_TOOL", "PLANS", "SERVER_ERROR_MESSAGE", "SmallModel", "UnknownBehaviour", "cue",
           "misbehave"]

CUE = re.compile(r"#misbehave:([a-z_]+)")
BEHAVIOURS = ("invented_tool", "repeat_tool", "bad_json", "text_tool_call", "empty_answer", "server_error", "slow")
INVENTED_TOOL = "get_stock_price"
SERVER_ERROR_MESSAGE = "Failed to parse input: output does not match the expected format (model double, #misbehave)"
BAD_JSON = '{"state": "CA", '
PLANS = ("rules", "one_tool")


class UnknownBehaviour(ValueError):
    """A ``#misbehave:`` cue naming no behaviour: answered as HTTP 400, so a typo in a test is loud."""


def cue(request: ModelRequest) -> str | None:
    """The behaviour the conversation asks for, if any (the last cue in its user messages wins)."""
    found = [m for item in request.items if isinstance(item, Message) and item.role == "user"
             for m in CUE.findall(item.text)]  # fmt: skip
    if not found:
        return None
    if found[-1] not in BEHAVIOURS:
        raise UnknownBehaviour(f"#misbehave:{found[-1]} is not a behaviour of the model double; use one of {', '.join(BEHAVIOURS)}")
    return found[-1]


def _first_call(request: ModelRequest, normal: Decision) -> Decision | None:
    """The tool call the double's rules make first for this question (this turn's calls forgotten)."""
    turn = Turn.of(request.items)
    if normal.kind == "tool_call" and not turn.calls:
        return normal
    # The rules again, on the conversation as it was when the question came.
    asked = max((i for i, item in enumerate(request.items) if isinstance(item, Message) and item.role == "user"), default=-1)
    first = decide(replace(request, items=request.items[: asked + 1], output_schema=None))
    if first.kind == "tool_call":
        return first
    tool = next((t for t in request.tools if not t.name.startswith(HANDOFF_PREFIX)), None)
    if tool is None:
        return None
    return Decision("tool_call", tool=tool.name, arguments=forced_arguments(tool, turn.request))


def misbehave(behaviour: str, request: ModelRequest, normal: Decision, *, api: str) -> Decision:
    """The decision ``behaviour`` makes instead of ``normal`` (``server_error`` and ``slow`` are the server's)."""
    why = f"#misbehave:{behaviour}"
    if behaviour == "invented_tool":
        return Decision("tool_call", tool=INVENTED_TOOL, arguments={"ticker": "ACME"}, reason=why)
    if behaviour == "empty_answer":
        return Decision("text", text="", reason=why)
    call = _first_call(request, normal)
    if call is None:  # an agent with no function tools: nothing to misuse
        return Decision("text", text="", reason=f"{why} (no tool to call)")
    if behaviour == "repeat_tool":
        return Decision("tool_call", tool=call.tool, arguments=call.arguments, reason=why)
    if behaviour == "bad_json":
        if api in ("chat", "responses"):
            return Decision("tool_call", tool=call.tool, raw_arguments=BAD_JSON, reason=why)
        return Decision("tool_call", tool=call.tool, arguments={"unexpected": ["not", "the", "schema"]}, reason=why)
    if behaviour == "text_tool_call":
        text = "```json\n" + json.dumps({"name": call.tool, "arguments": call.arguments}) + "\n```"
        return Decision("text", text=text, reason=why)
    raise UnknownBehaviour(behaviour)



@dataclass(frozen=True)
class SmallModel:
    """How a small, slow model acts on every request: its plan and its speed (the defaults: the double's own)."""

    plan: str = "rules"
    """``rules``: every call the double's rules plan; ``one_tool``: one function call a question, then the answer."""
    tokens_per_second: float = 0.0
    """Output speed (0: at once): a response of N output tokens takes N / this many seconds more."""
    first_token_seconds: float = 0.0
    """Seconds before the first token of every response (the prompt read on a CPU)."""

    def __post_init__(self) -> None:
        if self.plan not in PLANS:
            raise ValueError(f"plan {self.plan!r} is not one of {', '.join(PLANS)}")
        if self.tokens_per_second < 0 or self.first_token_seconds < 0:
            raise ValueError("tokens_per_second and first_token_seconds cannot be negative")

    def decide(self, request: ModelRequest, normal: Decision) -> Decision:
        """``normal``, or the answer instead of a second function call when the plan is ``one_tool``."""
        if self.plan == "rules" or normal.kind != "tool_call" or normal.tool.startswith(HANDOFF_PREFIX):
            return normal
        if request.tool_choice not in ("auto", "none"):
            return normal  # the API guarantees a call: a small model makes it too
        turn = Turn.of(request.items)
        if not any(not call.name.startswith(HANDOFF_PREFIX) for call in turn.calls):
            return normal
        why = f"plan one_tool: answers after its first tool result instead of calling {normal.tool}"
        if request.output_schema is not None:
            return Decision("json", text=answer.json_output(request.output_schema, turn), reason=why)
        return Decision("text", text=answer.reply(turn, request.tools, [])[0], reason=why)

    def writing_seconds(self, output_tokens: int) -> float:
        """How long writing ``output_tokens`` takes, after the first token."""
        return output_tokens / self.tokens_per_second if self.tokens_per_second else 0.0


#: The small model issue 28 met, at its slowest: what ``#misbehave:slow`` answers as.
SLOW = SmallModel("one_tool", tokens_per_second=5, first_token_seconds=2)
