"""A local test double that speaks OpenAI's, Anthropic's and Gemini's wire formats. It is NOT a language model.

Why it exists
-------------
The notebooks run offline on a rule-based stand-in model
(``tutorial.offline_model``) that plugs into the Agents SDK directly.
That never exercises the *real-model code path*: the SDK's
``OpenAIChatCompletionsModel`` (``AGENT_MODEL_BACKEND=openai-compatible``) and
``OpenAIResponsesModel`` (``openai``) turning agents into HTTP requests and
parsing JSON and server-sent events back, or LiteLLM (``LitellmModel``) doing
the same in Anthropic's and Google's formats. This double is a server those
clients talk to exactly as they would to the real APIs, so CI can verify that
path with no key and no network.

It answers by fixed rules of its own (:mod:`.policy`), deliberately different
from the offline stand-in's: one tool call per response, always; its own
wording; random ids. A notebook check that only holds for one rule set fails
on the other. Every wire format is parsed into one neutral request
(:mod:`.conversation`), so the rules are the same whichever provider's format
asks. Responses name it: ``system_fingerprint`` is
``fp_openai_double_not_an_llm`` (OpenAI), every answer carries the header
``x-model-double`` (OpenAI's also ``x-openai-double``); replies without tools
say they come from a test double.

Use
---
::

    from tutorial.model_double import ModelDouble

    with ModelDouble.start(api_key="sk-test") as double:   # subprocess, free port
        os.environ.update(double.env())   # OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_DEFAULT_MODEL
        double.env(provider="anthropic")  # LITELLM_MODEL=anthropic/double-1, LITELLM_API_BASE, ANTHROPIC_API_KEY
        double.env(provider="gemini")     # LITELLM_MODEL=gemini/double-1, LITELLM_API_BASE (.../v1beta), GEMINI_API_KEY
        double.fail_next(1, status=503)    # the next model request gets a 503, in its provider's error shape
        ...
        print(double.requests())           # one entry per model request ("api": chat|responses|anthropic|gemini)

In-process (tests): ``server = make_server(); threading.Thread(target=server.serve_forever).start()``;
``server.url`` is the OpenAI base URL (``/v1``), ``server.root`` Anthropic's,
``server.gemini_url`` Gemini's (``/v1beta``); ``server.shutdown()`` stops it.

API (see :mod:`.routes`): OpenAI's ``POST /v1/chat/completions`` and
``POST /v1/responses`` (:mod:`.chat`, :mod:`.responses`), Anthropic's
``POST /v1/messages`` (:mod:`.anthropic`), Gemini's
``POST /v1beta/models/{model}:generateContent`` and ``:streamGenerateContent``
(:mod:`.gemini`), all streamed or not; ``GET /v1/models``. The key is read
where each provider's clients send it (``Authorization: Bearer``,
``x-api-key``, ``x-goog-api-key`` or ``?key=``); errors (a wrong key, a bad
body, injected faults) come in each provider's own error shape (:mod:`.errors`).
Token usage is estimated by our own count (letters, digits, symbols), reported
like each provider reports it. Control under ``/_control/`` (see
:mod:`.server`). Binds 127.0.0.1 only.
"""

from __future__ import annotations

from .conversation import Decision, ModelRequest
from .handle import ModelDouble
from .misbehaviour import SmallModel
from .policy import decide
from .server import DEFAULT_MODEL, DoubleServer, make_server, serving

__all__ = ["DEFAULT_MODEL", "Decision", "DoubleServer", "ModelRequest", "ModelDouble", "SmallModel", "decide", "make_server",
           "serving"]
