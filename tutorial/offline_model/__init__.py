"""A rule-based, offline stand-in for an LLM, for running agent notebooks with no API key.

``OfflineModel`` implements the OpenAI Agents SDK ``Model`` interface
(``get_response`` and ``stream_response``) and ``OfflineModelProvider`` hands it
out for any model name. It works directly under ``agents.Runner`` and inside
Temporal's model activity (``temporalio.openai_agents``), where the tools,
handoffs and output schema arrive rebuilt from plain data.

It is NOT a language model. It does not understand language; it follows fixed
rules over words:

* The *request* is the last user message in the input.
* It scores each function tool by word overlap between the request and the
  tool's name, description and parameter names/descriptions (lower-cased,
  snake_case/camelCase split, simple plurals stripped, stopwords ignored) and
  calls the tools that clearly match, filling arguments from the tool's JSON
  schema: enum values mentioned in the request, US states ("California" or
  "CA", or a code the user names as one: "state code ZZ") for state/area/region
  parameters, numbers in the order they appear, quoted strings (passed as
  given), a capitalised phrase or the words after "in"/"for"/"about" for
  city/location/name/topic parameters, the request text for other free text,
  otherwise defaults. Several states/cities/quoted strings/enum values for a
  one-value parameter give several calls.
* It does not invent a required value: when the request has none for it (no
  state, no number, no place or name, no words beyond the ones that picked the
  tool), it does not call that tool and asks for the value instead. An empty
  request gets no call, only a request for a question.
* With ``ModelSettings(parallel_tool_calls=False)`` it makes one call per turn.
* It never repeats a call (same tool, same arguments) already made since the
  last user message; when nothing is left, it answers, quoting the salient
  values from the tool outputs of this turn. A failed call is told as what
  could not be done and why, without the instructions the tool wrote for the
  model. Shortened text ends after a whole word, with "…".
* It hands off (``transfer_to_...``) when a handoff's agent name/description
  matches the request better than any tool, at most once per user message.
* With an output type it returns JSON valid for the output schema, filled from
  the request and the tool outputs.

The reply depends only on the call's arguments (instructions, input, tools,
handoffs, output schema, model settings): no counters, no queues, no clock. A
restarted worker answers the same way. ``decide`` is the pure decision function.

What it cannot do:

* understand or paraphrase free text, answer questions from knowledge, reason,
  plan, or do arithmetic over tool outputs;
* match synonyms or anything but English keywords (``forecast`` will not match
  ``prediction``; "is it raining" will not match a ``get_weather`` tool);
* chain tools, i.e. use one tool's output as another tool's argument;
* satisfy arbitrary JSON-schema ``pattern``/``multipleOf`` constraints (it tries
  tokens from the request that match a pattern, and otherwise leaves it);
* use hosted tools (web search, file search, code interpreter, MCP...): only
  function tools and handoffs are considered;
* produce real token counts: usage is an estimate of ~4 characters per token.

It writes no ledger itself: the model switch wraps it in the tutorial's model-call
meter (``tutorial.meter``, a provider wrapper), as it wraps every backend. The switch finds it as the
``offline`` entry point of ``durable_agents.model_backends`` (``OfflineModelProvider``,
registered in pyproject.toml): the tutorial plugs into core, core never names it.

The package, one module per step of a call: ``words`` (how text becomes
terms), ``request`` (evidence in the user's words), ``turn`` (reading the
input items), ``specs`` (tools and handoffs, and their scores), ``sources``
and ``schema_fill`` (arguments and output objects from JSON schemas),
``choose`` (``decide``), ``answer`` (the final text) and ``model``
(``OfflineModel`` and its provider). Names with a leading underscore are
internal to the package.
"""


from __future__ import annotations

from .choose import Decision, PlannedCall, decide
from .model import (
    DEFAULT_STREAM_PACE_S,
    DISCLAIMER,
    OFFLINE_MODEL_NAME,
    STREAM_PACE_ENV_VAR,
    OfflineModel,
    OfflineModelProvider,
    estimate_tokens,
    fingerprint,
)

__all__ = [
    "DEFAULT_STREAM_PACE_S",
    "DISCLAIMER",
    "OFFLINE_MODEL_NAME",
    "STREAM_PACE_ENV_VAR",
    "Decision",
    "OfflineModel",
    "OfflineModelProvider",
    "PlannedCall",
    "decide",
    "estimate_tokens",
    "fingerprint",
]
