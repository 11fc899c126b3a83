"""A local test double that speaks OpenAI's wire format. It is NOT a language model.

Why it exists
-------------
The notebooks run offline on a rule-based stand-in model
(``recipes.tutorial.offline_model``) that plugs into the Agents SDK directly.
That never exercises the *real-model code path*: the SDK's
``OpenAIChatCompletionsModel`` (``AGENT_MODEL_BACKEND=openai-compatible``) and
``OpenAIResponsesModel`` (``openai``) turning agents into HTTP requests and
parsing JSON and server-sent events back. This double is a server those models
talk to exactly as they would to OpenAI, so CI can verify that path with no
key and no network.

It answers by fixed rules of its own (:mod:`.policy`), deliberately different
from the offline stand-in's: one tool call per response, always; its own
wording; random ids. A notebook check that only holds for one rule set fails
on the other. Responses name it: ``system_fingerprint`` is
``fp_openai_double_not_an_llm`` and every answer carries the header
``x-openai-double``; replies without tools say they come from a test double.

Use
---
::

    from recipes.tutorial.model_double import ModelDouble

    with ModelDouble.start(api_key="sk-test") as double:   # subprocess, free port
        os.environ.update(double.env())   # OPENAI_BASE_URL / OPENAI_API_KEY / OPENAI_DEFAULT_MODEL
        double.fail_next(1, status=503)    # the next model request gets a 503
        ...
        print(double.requests())           # one entry per model request

In-process (tests): ``server = make_server(); threading.Thread(target=server.serve_forever).start()``;
``server.url`` is the base URL; ``server.shutdown()`` stops it.

API: ``POST /v1/chat/completions``, ``POST /v1/responses`` (both streamed or
not), ``GET /v1/models``; token usage is estimated by our own count (letters,
digits, symbols), reported like a provider reports it. Control under
``/_control/`` (see :mod:`.server`). Binds 127.0.0.1 only.
"""

from __future__ import annotations

from .conversation import Decision, ModelRequest
from .handle import ModelDouble
from .policy import decide
from .server import DEFAULT_MODEL, DoubleServer, make_server

__all__ = ["DEFAULT_MODEL", "Decision", "DoubleServer", "ModelRequest", "ModelDouble", "decide", "make_server"]
