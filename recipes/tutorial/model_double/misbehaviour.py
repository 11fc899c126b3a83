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
    makes the server answer HTTP 500 ``output does not match the expected format`` (llama-server's).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace

from .arguments import forced_arguments
from .conversation import Decision, Message, ModelRequest, Turn
from .policy import HANDOFF_PREFIX, decide

__all__ = ["BEHAVIOURS", "INVENTED_TOOL", "SERVER_ERROR_MESSAGE", "UnknownBehaviour", "cue", "misbehave"]

CUE = re.compile(r"#misbehave:([a-z_]+)")
BEHAVIOURS = ("invented_tool", "repeat_tool", "bad_json", "text_tool_call", "empty_answer", "server_error")
INVENTED_TOOL = "get_stock_price"
SERVER_ERROR_MESSAGE = "Failed to parse input: output does not match the expected format (model double, #misbehave)"
BAD_JSON = '{"state": "CA", '


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
    """The decision ``behaviour`` makes instead of ``normal`` (``server_error`` is the server's, not here)."""
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

