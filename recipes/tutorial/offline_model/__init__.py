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
  "CA") for state/area/region parameters, numbers in the order they appear,
  quoted strings, a capitalised phrase or the words after "in"/"for"/"about"
  for city/location/name/topic parameters, otherwise defaults or the request
  text. Several states/cities/quoted strings/enum values for a one-value
  parameter give several calls.
* With ``ModelSettings(parallel_tool_calls=False)`` it makes one call per turn.
* It never repeats a call (same tool, same arguments) already made since the
  last user message; when nothing is left, it answers, quoting the salient
  values from the tool outputs of this turn.
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

Every call is appended to the ledger (``recipes.core.ledger``) unless
``ledger=False``.
"""

from __future__ import annotations

import ast
import asyncio
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from agents import AgentOutputSchemaBase, Handoff, ModelProvider, ModelResponse, ModelSettings, Tool
from agents.items import TResponseInputItem, TResponseStreamEvent
from agents.models.interface import Model, ModelTracing
from agents.testing import ModelStep, ScriptedModel, assistant_message, function_call
from agents.tracing import generation_span, get_current_span
from agents.tracing.span_data import AgentSpanData, TurnSpanData
from agents.usage import Usage
from openai.types.responses.response_prompt_param import ResponsePromptParam

from recipes.core.ledger import Ledger

__all__ = [
    "DISCLAIMER",
    "OFFLINE_MODEL_NAME",
    "Decision",
    "OfflineModel",
    "OfflineModelProvider",
    "PlannedCall",
    "decide",
    "estimate_tokens",
    "fingerprint",
]

logger = logging.getLogger(__name__)

from recipes.core.models import OFFLINE_MODEL_NAME  # noqa: E402  (one name, shared with the switch)
LATENCY_ENV_VAR = "OFFLINE_MODEL_LATENCY"

DISCLAIMER = (
    "This run uses the offline stand-in model ('offline-rules'), not a real LLM. It is a small "
    "set of fixed rules: it picks the tools whose names and descriptions share keywords with "
    "your request, fills their arguments from words, numbers, US states and quoted strings in "
    "the request, hands off to an agent whose description matches, and then answers by "
    "quoting what the tools returned. It does not understand language or reason, so phrase "
    "requests with the words the tools use. Token counts and costs it reports are estimates. "
    "Set an API key and a real model to see real LLM behaviour; the durable-execution "
    "mechanics shown here are the same either way."
)

# ----------------------------------------------------------------------------
# Words
# ----------------------------------------------------------------------------

_STOPWORDS = frozenset(
    """
    a about above after again against all am an and any anything are aren as at be because been
    before being below between both but by can cannot could did didn do does doesn doing don down
    during each few for from further had has have having he her here hers herself him himself his
    how i if in into is isn it its itself just let me more most my myself no nor not now of off on
    once only or other ought our ours ourselves out over own same she should so some such than
    that the their theirs them themselves then there these they this those through to too under
    until up very was wasn we were weren what when where which while who whom why will with won
    would you your yours yourself yourselves s t ll re ve d m o y
    also e g eg ie etc via per whether may might must shall any many much
    get gets got getting fetch fetches retrieve retrieves return returns give gives show tell use
    uses using call calls make makes provide provides want need know like please help see check
    find look lookup list thing something today right current currently given specified
    """.split()
)

# Words that appear in every handoff description, so they carry no signal.
_HANDOFF_GENERIC = frozenset(
    {"handoff", "transfer", "agent", "handle", "request", "assistant", "specialist"}
)

_IDENT_SPLIT_RE = re.compile(r"([a-z0-9])([A-Z])")
_WORD_RE = re.compile(r"[a-z][a-z0-9]*")


def _stem(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 4 and word.endswith(("sses", "xes", "ches", "shes")):
        return word[:-2]
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def _words(text: str) -> list[str]:
    """Lower-cased, identifier-split, plural-stripped words (stopwords kept)."""
    text = _IDENT_SPLIT_RE.sub(r"\1 \2", text).lower()
    return [_stem(w) for w in _WORD_RE.findall(text)]


@lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    """Content words of ``text``: lower-cased, split, plural-stripped, no stopwords."""
    return frozenset(w for w in _words(text) if len(w) > 1 and w not in _STOPWORDS)


# ----------------------------------------------------------------------------
# US states
# ----------------------------------------------------------------------------

_US_STATES = {
    "alabama": "AL", "alaska": "AK", "arizona": "AZ", "arkansas": "AR", "california": "CA",
    "colorado": "CO", "connecticut": "CT", "delaware": "DE", "florida": "FL", "georgia": "GA",
    "hawaii": "HI", "idaho": "ID", "illinois": "IL", "indiana": "IN", "iowa": "IA",
    "kansas": "KS", "kentucky": "KY", "louisiana": "LA", "maine": "ME", "maryland": "MD",
    "massachusetts": "MA", "michigan": "MI", "minnesota": "MN", "mississippi": "MS",
    "missouri": "MO", "montana": "MT", "nebraska": "NE", "nevada": "NV", "new hampshire": "NH",
    "new jersey": "NJ", "new mexico": "NM", "new york": "NY", "north carolina": "NC",
    "north dakota": "ND", "ohio": "OH", "oklahoma": "OK", "oregon": "OR", "pennsylvania": "PA",
    "rhode island": "RI", "south carolina": "SC", "south dakota": "SD", "tennessee": "TN",
    "texas": "TX", "utah": "UT", "vermont": "VT", "virginia": "VA", "washington": "WA",
    "west virginia": "WV", "wisconsin": "WI", "wyoming": "WY", "district of columbia": "DC",
    "puerto rico": "PR", "guam": "GU", "american samoa": "AS", "u.s. virgin islands": "VI",
    "virgin islands": "VI", "northern mariana islands": "MP",
}  # fmt: skip
_STATE_CODES = frozenset(_US_STATES.values())
_STATE_NAME_RE = re.compile(
    r"(?<![\w.])("
    + "|".join(re.escape(n) for n in sorted(_US_STATES, key=len, reverse=True))
    + r")(?!\w)",
    re.IGNORECASE,
)
_STATE_CODE_RE = re.compile(r"(?<![\w])([A-Z]{2})(?![\w])")
# Codes that are also everyday English words when written in capitals.
_AMBIGUOUS_CODES = frozenset({"IN", "OR", "ME", "OK", "HI", "OH", "AS", "ID"})
_CODE_CONTEXT_RE = re.compile(r"(?:\b(?:in|for|of|from|at|and|across|near)|[,&/])\s*$", re.I)
_STATE_HINTS = frozenset({"state", "area", "region", "province", "territory"})

# ----------------------------------------------------------------------------
# Request evidence: the things rules can pull out of a request
# ----------------------------------------------------------------------------

_QUOTED_RE = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|(?<!\w)'([^'\n]+)'(?!\w)")
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w]|\.\d)")
_DATE_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_DATETIME_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})\b")
_EMAIL_RE = re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")
_URL_RE = re.compile(r"\bhttps?://[^\s\"'<>]+")
_CUT_WORDS = frozenset(
    """today tomorrow tonight now right this next these those please with about on during then
    currently and or but for in at to from near over under by if when while so because
    is are was were be been has have had do does did will would can could should""".split()
)
_LEADING_FILLERS = frozenset({"the", "a", "an", "my", "our", "your", "their", "some"})
_LOCATION_PREPS = ("in", "at", "near", "for", "to", "from", "around")
_TOPIC_PREPS_STRONG = ("about", "regarding", "concerning", "on")
_TOPIC_PREPS_WEAK = ("for",)
_SENTENCE_SPLIT_RE = re.compile(r"(?<=[.!?])\s+")
_TOKEN_RE = re.compile(r"[A-Za-z][\w'’.-]*|\d[\w.]*|[,;:?!&]")


def _clean_phrase(words: list[str]) -> str:
    while words and words[0].lower() in _LEADING_FILLERS:
        words = words[1:]
    phrase = " ".join(words[:6]).strip(" '\"’.,")
    return phrase


class _Evidence:
    """What the rules can extract from the request text. Built once per call."""

    def __init__(self, request: str) -> None:
        self.request = request
        self.lower = request.lower()
        quoted: list[str] = []
        for m in _QUOTED_RE.finditer(request):
            q = next(g for g in m.groups() if g is not None).strip()
            if q:
                quoted.append(q)
        self.quoted = _dedupe(quoted)
        masked = _QUOTED_RE.sub(" ", request)
        self.masked = masked
        self.numbers = [float(m.group(0)) for m in _NUMBER_RE.finditer(masked)]
        self.states = self._find_states(masked)
        self._phrase_cache: dict[str, list[str]] = {}

    @staticmethod
    def _find_states(text: str) -> list[str]:
        found: list[tuple[int, str]] = []
        taken: list[tuple[int, int]] = []
        for m in _STATE_NAME_RE.finditer(text):
            found.append((m.start(), _US_STATES[m.group(1).lower()]))
            taken.append(m.span())
        for m in _STATE_CODE_RE.finditer(text):
            code = m.group(1)
            if code not in _STATE_CODES or any(a <= m.start() < b for a, b in taken):
                continue
            if code in _AMBIGUOUS_CODES and not _CODE_CONTEXT_RE.search(text[: m.start()]):
                continue
            found.append((m.start(), code))
        found.sort()
        return _dedupe(code for _, code in found)

    def enum_mentions(self, values: Sequence[Any]) -> list[Any]:
        hits: list[tuple[int, Any]] = []
        for v in values:
            if not isinstance(v, str) or not v.strip():
                if v is not None and not isinstance(v, str):
                    m = re.search(rf"(?<![\w.]){re.escape(str(v))}(?![\w])", self.masked)
                    if m:
                        hits.append((m.start(), v))
                continue
            m = re.search(rf"(?<!\w){re.escape(v.lower())}(?!\w)", self.lower)
            if m is None and "_" in v:
                m = re.search(rf"(?<!\w){re.escape(v.lower().replace('_', ' '))}(?!\w)", self.lower)
            if m is not None:
                hits.append((m.start(), v))
        hits.sort(key=lambda h: h[0])
        return _dedupe(v for _, v in hits)

    def _after(self, preps: Sequence[str]) -> list[str]:
        """Phrases that follow any of ``preps``, cut at punctuation or a cut word,
        split on "and" / "," / "&" / "or"."""
        tokens = _TOKEN_RE.findall(self.masked)
        phrases: list[str] = []
        i = 0
        while i < len(tokens):
            if tokens[i].lower() in preps:
                words: list[str] = []
                j = i + 1
                items: list[list[str]] = []
                while j < len(tokens):
                    tok = tokens[j]
                    low = tok.lower()
                    if tok in {"?", "!", ";", ":"}:
                        break
                    if tok in {",", "&"} or low in {"and", "or"}:
                        if words:
                            items.append(words)
                        words = []
                        j += 1
                        continue
                    if low in _CUT_WORDS and not (not words and low in _LEADING_FILLERS):
                        break
                    words.append(tok.rstrip("."))
                    if tok.endswith(".") and not re.fullmatch(r"(?:[A-Za-z]\.)+", tok):
                        break
                    j += 1
                if words:
                    items.append(words)
                for item in items:
                    phrase = _clean_phrase(item)
                    if phrase and not _NUMBER_RE.fullmatch(phrase):
                        phrases.append(phrase)
                # Resume at the token that ended the phrase: it may be another preposition.
                i = max(i + 1, j)
                continue
            i += 1
        return _dedupe(phrases)

    def capitalised(self) -> list[str]:
        """Runs of Capitalised words that do not start a sentence (e.g. "New York")."""
        if "cap" in self._phrase_cache:
            return self._phrase_cache["cap"]
        out: list[str] = []
        for sentence in _SENTENCE_SPLIT_RE.split(self.masked):
            tokens = _TOKEN_RE.findall(sentence)
            run: list[str] = []
            for idx, tok in enumerate(tokens):
                is_cap = tok[:1].isupper() and idx > 0 and tok not in {"I", "I'm", "I’m"}
                if is_cap:
                    run.append(tok.rstrip("."))
                elif run and tok.lower() in {"of", "de", "la", "del", "van", "von"}:
                    run.append(tok)
                else:
                    if run:
                        out.append(_clean_phrase(_trim_joiners(run)))
                    run = []
            if run:
                out.append(_clean_phrase(_trim_joiners(run)))
        out = _dedupe(p for p in out if p)
        self._phrase_cache["cap"] = out
        return out

    def phrases(self, kind: str) -> list[str]:
        if kind in self._phrase_cache:
            return self._phrase_cache[kind]
        if kind == "location":
            found = self._after(_LOCATION_PREPS)
            capital = [p for p in found if p[:1].isupper()]
            result = capital or found or self.capitalised()
        elif kind == "topic":
            result = self._after(_TOPIC_PREPS_STRONG) or self.capitalised() or self._after(
                _TOPIC_PREPS_WEAK
            )
        else:  # name
            named = self._after(("named", "called"))
            result = named or self.capitalised() or self._after(("for",))
        self._phrase_cache[kind] = result
        return result


def _trim_joiners(words: list[str]) -> list[str]:
    while words and words[-1].lower() in {"of", "de", "la", "del", "van", "von"}:
        words = words[:-1]
    return words


def _dedupe(values: Iterable[Any]) -> list[Any]:
    seen: set[str] = set()
    out: list[Any] = []
    for v in values:
        key = json.dumps(v, sort_keys=True, default=str) if not isinstance(v, str) else "s:" + v
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


# ----------------------------------------------------------------------------
# Tool outputs as a source of values (for output schemas)
# ----------------------------------------------------------------------------

_SUMMARY_NAMES = frozenset(
    """summary answer response text message explanation description result content detail
    report reply output overview note""".split()
)
_COUNT_NAMES = frozenset({"count", "total", "num", "number", "n", "how_many"})


class _Sources:
    """Values found in parsed tool outputs, indexed by normalised key."""

    def __init__(self, values: Sequence[Any], final_text: str) -> None:
        self.final_text = final_text
        self.has_results = bool(values)
        self.index: dict[str, list[Any]] = {}
        self.key_terms: dict[str, frozenset[str]] = {}
        self.row_lists: list[list[dict[str, Any]]] = []
        self.list_lengths: list[int] = []
        for v in values:
            self._walk(v, depth=0)

    def _walk(self, value: Any, depth: int) -> None:
        if depth > 6:
            return
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, (str, int, float, bool)):
                    key, terms = _key_norm(str(k))
                    self.index.setdefault(key, []).append(v)
                    self.key_terms.setdefault(key, terms)
                elif isinstance(v, list) and v and all(
                    isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v
                ):
                    key, terms = _key_norm(str(k))
                    self.index.setdefault(key, []).extend(v)
                    self.key_terms.setdefault(key, terms)
                elif isinstance(v, (dict, list)):
                    self._walk(v, depth + 1)
        elif isinstance(value, list):
            self.list_lengths.append(len(value))
            rows = [_row(x) for x in value if isinstance(x, dict)]
            if rows:
                self.row_lists.append(rows)
            for x in value[:50]:
                self._walk(x, depth + 1)

    def lookup(self, name: str) -> list[Any]:
        key, wanted = _key_norm(name)
        if not key:
            return []
        if key in self.index:
            return self.index[key]
        for k, terms in self.key_terms.items():
            if wanted <= terms:
                return self.index[k]
        return []

    def count(self) -> int | None:
        if self.row_lists:
            return max(len(r) for r in self.row_lists)
        if self.list_lengths:
            return max(self.list_lengths)
        return None


@lru_cache(maxsize=8192)
def _key_norm(key: str) -> tuple[str, frozenset[str]]:
    words = _words(key)
    return " ".join(words), frozenset(words)


def _row(item: dict[str, Any]) -> dict[str, Any]:
    """A GeoJSON feature's properties merged over the feature itself."""
    props = item.get("properties")
    if isinstance(props, dict):
        merged = {k: v for k, v in item.items() if k != "properties"}
        merged.update(props)
        return merged
    return item


# ----------------------------------------------------------------------------
# JSON-schema filling
# ----------------------------------------------------------------------------

_LOCATION_NAMES = frozenset(
    "city location place town country destination origin address where locale venue".split()
)
_TOPIC_NAMES = frozenset("topic subject theme keyword term".split())
_NAME_NAMES = frozenset("name title person user username company product customer".split())
_COUNTISH_NAMES = frozenset(
    """limit max count top num size k n page result day night week month hour minute quantity
    qty guest people person adult ticket seat item unit copy""".split()
)


def _types(schema: Mapping[str, Any]) -> list[str]:
    t = schema.get("type")
    if isinstance(t, str):
        return [t]
    if isinstance(t, list):
        return [x for x in t if isinstance(x, str)]
    if "properties" in schema:
        return ["object"]
    if "items" in schema:
        return ["array"]
    if "enum" in schema or "const" in schema:
        return []
    return []


def _main_type(schema: Mapping[str, Any]) -> str | None:
    for t in _types(schema):
        if t != "null":
            return t
    return None


def _is_state_like(name: str, desc: str) -> bool:
    return bool((_terms(name) | _terms(desc)) & _STATE_HINTS)


def _name_kind(name: str) -> str | None:
    words = set(_words(name))
    if words & _LOCATION_NAMES:
        return "location"
    if words & _TOPIC_NAMES:
        return "topic"
    if words & _NAME_NAMES:
        return "name"
    return None


_Path = tuple  # a property path inside a schema, e.g. ("address", "city")


class _Alloc:
    """Shares the request's numbers and quoted strings among the leaf properties
    of one schema, in document order (depth first, property order): the first
    number goes to the first numeric property, and so on. When exactly one
    property can take them, it gets them all (several calls, or an array)."""

    def __init__(self, number_paths: list[_Path], quoted_paths: list[_Path], ev: _Evidence) -> None:
        self.numbers: dict[_Path, list[float]] = {}
        self.quoted: dict[_Path, list[str]] = {}
        self._share(number_paths, ev.numbers, self.numbers)
        self._share(quoted_paths, ev.quoted, self.quoted)

    @staticmethod
    def _share(paths: list[_Path], pool: list[Any], out: dict[_Path, list[Any]]) -> None:
        if not pool:
            return
        if len(paths) == 1:
            out[paths[0]] = list(pool)
            return
        for path, value in zip(paths, pool):
            out[path] = [value]


_EMPTY_ALLOC = _Alloc([], [], _Evidence(""))


def _special_kind(name: str, schema: Mapping[str, Any]) -> str | None:
    """Strings filled by a pattern in the request rather than by quotes or phrases."""
    fmt = schema.get("format")
    if fmt in ("date", "date-time", "email", "uri", "url"):
        return "url" if fmt == "uri" else fmt
    words = set(_words(name))
    if "email" in words:
        return "email"
    if words & {"url", "uri", "link", "website", "href"}:
        return "url"
    return None


_SPECIAL_RES = {
    "date": _DATE_RE,
    "date-time": _DATETIME_RE,
    "email": _EMAIL_RE,
    "url": _URL_RE,
}


class _Filler:
    """Fills a JSON schema from request evidence (and, for output schemas, tool outputs).

    Use ``fill()`` for one object, ``expansions()`` for a tool's arguments.
    """

    def __init__(
        self,
        root: Mapping[str, Any],
        ev: _Evidence,
        sources: _Sources | None = None,
    ) -> None:
        self.root = root
        self.ev = ev
        self.sources = sources
        self.alloc = _EMPTY_ALLOC

    # -- schema plumbing -------------------------------------------------
    def resolve(self, schema: Any, depth: int = 0) -> dict[str, Any]:
        """Inline ``$ref`` (local) and ``allOf``."""
        if not isinstance(schema, Mapping):
            return {}
        schema = dict(schema)
        if depth > 20:
            return schema
        ref = schema.pop("$ref", None)
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                target = target.get(part, {}) if isinstance(target, Mapping) else {}
            merged = dict(self.resolve(target, depth + 1))
            merged.update(schema)
            schema = merged
        all_of = schema.pop("allOf", None)
        if isinstance(all_of, list):
            merged = {}
            for sub in all_of:
                sub_r = self.resolve(sub, depth + 1)
                for k, v in sub_r.items():
                    if k == "properties" and isinstance(v, Mapping):
                        merged.setdefault("properties", {}).update(v)
                    elif k == "required" and isinstance(v, list):
                        merged.setdefault("required", [])
                        merged["required"] = list(dict.fromkeys(merged["required"] + v))
                    else:
                        merged.setdefault(k, v)
            merged.update(schema)
            schema = merged
        return schema

    def _branches(self, schema: dict[str, Any]) -> tuple[list[dict[str, Any]], bool]:
        """(non-null alternatives, nullable) for anyOf/oneOf/type lists."""
        alts = schema.get("anyOf") or schema.get("oneOf")
        if isinstance(alts, list):
            resolved = [self.resolve(a) for a in alts]
            non_null = [a for a in resolved if _types(a) != ["null"]]
            nullable = len(non_null) < len(resolved)
            base = {k: v for k, v in schema.items() if k not in ("anyOf", "oneOf")}
            out = []
            for a in non_null:
                merged = dict(a)
                for k in ("description", "title", "default"):
                    if k in base and k not in merged:
                        merged[k] = base[k]
                out.append(merged)
            return out, nullable
        types = _types(schema)
        return [schema], "null" in types

    def _main_branch(self, schema: Any) -> dict[str, Any]:
        r = self.resolve(schema)
        branches, _ = self._branches(r)
        return branches[0] if branches else r

    def _allocate(self, s: dict[str, Any]) -> _Alloc:
        numbers: list[_Path] = []
        quoted: list[_Path] = []

        def walk(schema: dict[str, Any], path: _Path, depth: int) -> None:
            if depth > 8:
                return
            props = schema.get("properties")
            if not isinstance(props, Mapping):
                return
            for pname, pschema in props.items():
                b = self._main_branch(pschema)
                ppath = path + (pname,)
                if _main_type(b) == "object" or "properties" in b:
                    walk(b, ppath, depth + 1)
                    continue
                inner = self._main_branch(b.get("items", {})) if _main_type(b) == "array" else b
                t = _main_type(inner)
                desc = str(inner.get("description") or b.get("description") or "")
                plain = "enum" not in inner and "const" not in inner
                if t in ("integer", "number") and plain:
                    numbers.append(ppath)
                elif (
                    t == "string"
                    and plain
                    and _special_kind(pname, inner) is None
                    and not (_is_state_like(pname, desc) and self.ev.states)
                ):
                    quoted.append(ppath)

        walk(s, (), 0)
        return _Alloc(numbers, quoted, self.ev)

    # -- candidates ------------------------------------------------------
    def candidates(self, schema: dict[str, Any], name: str, path: _Path) -> list[Any]:
        """Values the request (or tool outputs) suggest for a scalar, in order."""
        if "const" in schema:
            return [schema["const"]]
        desc = str(schema.get("description") or "")
        t = _main_type(schema)
        if isinstance(schema.get("enum"), list):
            hits = self.ev.enum_mentions(schema["enum"])
            if not hits and self.sources is not None:
                allowed = schema["enum"]
                hits = [v for v in self.sources.lookup(name) if v in allowed]
            return hits
        src: list[Any] = []
        if self.sources is not None:
            src = self.sources.lookup(name)
        if t == "string":
            if src:
                return [v if isinstance(v, str) else json.dumps(v) for v in src]
            if (
                self.sources is not None
                and self.sources.has_results
                and set(_words(name)) & _SUMMARY_NAMES
            ):
                return [self.sources.final_text]
            if _is_state_like(name, desc) and self.ev.states:
                return list(self.ev.states)
            special = _special_kind(name, schema)
            if special is not None:
                return _dedupe(_SPECIAL_RES[special].findall(self.ev.request))
            if path in self.alloc.quoted:
                return list(self.alloc.quoted[path])
            kind = _name_kind(name)
            if kind is not None:
                return list(self.ev.phrases(kind))
            return []
        if t in ("integer", "number"):
            nums = [
                v
                for v in src
                if isinstance(v, (int, float))
                and not isinstance(v, bool)
                and (t == "number" or float(v).is_integer())
            ]
            if nums:
                return nums
            if self.sources is not None and set(_words(name)) & _COUNT_NAMES:
                c = self.sources.count()
                if c is not None:
                    return [c]
            return list(self.alloc.numbers.get(path, []))
        if t == "boolean":
            return [v for v in src if isinstance(v, bool)]
        return []

    # -- values ----------------------------------------------------------
    def value(self, schema: Any, name: str, path: _Path, depth: int = 0) -> tuple[Any, bool]:
        """(value, found_in_evidence) for one property."""
        s = self.resolve(schema)
        branches, nullable = self._branches(s)
        if not branches:
            return None, False
        if len(branches) > 1 or nullable:
            # Prefer the first alternative that the evidence supports.
            for b in branches:
                v, found = self.value(b, name, path, depth)
                if found:
                    return v, True
            if "default" in s:
                return s["default"], False
            if nullable:
                return None, False
            return self.value(branches[0], name, path, depth)
        s = branches[0]
        t = _main_type(s)
        if t == "object" or "properties" in s:
            return self._object(s, path, depth + 1)
        if t == "array":
            return self._array(s, name, path, depth)
        cands = self.candidates(s, name, path)
        if cands:
            return self._constrain(s, cands[0]), True
        return self._fallback(s, name, path, depth), False

    def _fallback(self, s: dict[str, Any], name: str, path: _Path, depth: int) -> Any:
        if "const" in s:
            return s["const"]
        if "default" in s:
            return s["default"]
        if isinstance(s.get("enum"), list) and s["enum"]:
            return s["enum"][0]
        t = _main_type(s)
        if t == "string":
            if self.sources is not None:
                return self._constrain(s, self.sources.final_text)
            return self._constrain(s, self.ev.request)
        if t in ("integer", "number"):
            preferred = 1 if set(_words(name)) & _COUNTISH_NAMES else 0
            return self._constrain(s, preferred)
        if t == "boolean":
            return False
        if t == "array":
            return []
        if t == "object":
            return self._object(s, path, depth + 1)[0]
        if t is None and "type" not in s:  # an unconstrained schema ({}): any value will do
            return self.ev.request
        return None

    def _constrain(self, s: dict[str, Any], v: Any) -> Any:
        t = _main_type(s)
        if isinstance(s.get("enum"), list) and s["enum"] and v not in s["enum"]:
            return s.get("default", s["enum"][0])
        if t in ("integer", "number"):
            try:
                x = float(v)
            except (TypeError, ValueError):
                x = 0.0
            if math.isnan(x) or math.isinf(x):
                x = 0.0
            lo, hi = s.get("minimum"), s.get("maximum")
            xlo, xhi = s.get("exclusiveMinimum"), s.get("exclusiveMaximum")
            step = 1 if t == "integer" else 1e-6
            if isinstance(lo, (int, float)) and x < lo:
                x = lo
            if isinstance(xlo, (int, float)) and x <= xlo:
                x = xlo + step
            if isinstance(hi, (int, float)) and x > hi:
                x = hi
            if isinstance(xhi, (int, float)) and x >= xhi:
                x = xhi - step
            if t == "integer":
                xi = int(round(x))
                if isinstance(lo, (int, float)) and xi < lo:
                    xi = math.ceil(lo)
                if isinstance(hi, (int, float)) and xi > hi:
                    xi = math.floor(hi)
                return xi
            return int(x) if float(x).is_integer() and isinstance(v, int) else x
        if t == "string":
            if isinstance(v, str):
                text = v
            elif isinstance(v, (int, float)):
                text = str(v)
            else:
                text = json.dumps(v)
            pattern = s.get("pattern")
            if isinstance(pattern, str):
                text = self._fit_pattern(pattern, text)
            max_len = s.get("maxLength")
            if isinstance(max_len, int) and len(text) > max_len:
                text = text[:max_len]
            min_len = s.get("minLength")
            if isinstance(min_len, int) and len(text) < min_len:
                text = text + "-" * (min_len - len(text))
            return text
        if t == "boolean":
            return bool(v)
        return v

    def _fit_pattern(self, pattern: str, text: str) -> str:
        try:
            rx = re.compile(pattern)
            if rx.search(text):
                return text
            for tok in re.findall(r"[^\s,;?!]+", self.ev.request):
                if rx.search(tok):
                    return tok
        except re.error:
            pass
        return text

    def _array(self, s: dict[str, Any], name: str, path: _Path, depth: int) -> tuple[list[Any], bool]:
        item = self._main_branch(s.get("items", {}))
        max_items = s.get("maxItems") if isinstance(s.get("maxItems"), int) else 10
        min_items = s.get("minItems") if isinstance(s.get("minItems"), int) else 0
        values: list[Any] = []
        if _main_type(item) == "object" or "properties" in item:
            # Output schemas: one object per record found in the tool outputs.
            if self.sources is not None and self.sources.row_lists:
                rows = max(self.sources.row_lists, key=len)
                for row in rows[:max_items]:
                    sub = _Filler(self.root, self.ev, _Sources([row], self.sources.final_text))
                    values.append(sub.fill(item))
        else:
            singular = _stem(name)
            cands = self.candidates(item, singular, path)
            if not cands and singular != name:
                cands = self.candidates(item, name, path)
            values = [self._constrain(item, c) for c in cands]
            if s.get("uniqueItems"):
                values = _dedupe(values)
        found = bool(values)
        values = values[:max_items]
        if not values and isinstance(s.get("default"), list):
            values = list(s["default"])
        while len(values) < min_items:
            values.append(self.value(item, name, path + ("[]",), depth + 1)[0])
        return values, found

    def _object(self, s: dict[str, Any], path: _Path, depth: int) -> tuple[dict[str, Any], bool]:
        """Required properties always; optional ones only when the evidence has a value."""
        out: dict[str, Any] = {}
        any_found = False
        if depth > 8:
            return out, False
        required = set(s.get("required") or [])
        for pname, pschema in (s.get("properties") or {}).items():
            v, found = self.value(pschema, pname, path + (pname,), depth)
            any_found = any_found or found
            if found or pname in required:
                out[pname] = v
        return out, any_found

    # -- entry points ------------------------------------------------------
    def fill(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """One object for ``schema`` (an object schema)."""
        s = self.resolve(schema)
        self.alloc = self._allocate(s)
        return self._object(s, (), 0)[0]

    def expansions(self, schema: Mapping[str, Any], limit: int = 5) -> list[dict[str, Any]]:
        """Tool arguments; several dicts when the request names several values
        (states, cities, quoted strings, enum values) for one top-level
        one-value string property: "alerts for CA and NY" -> two calls."""
        s = self.resolve(schema)
        self.alloc = self._allocate(s)
        props = s.get("properties") or {}
        expand_name: str | None = None
        expand_values: list[Any] = []
        for pname, pschema in props.items():
            branches, _ = self._branches(self.resolve(pschema))
            if len(branches) != 1:
                continue
            b = branches[0]
            if _main_type(b) not in ("string", None) or "properties" in b or "items" in b:
                continue
            cands = self.candidates(b, pname, (pname,))
            if len(cands) > 1:
                expand_name = pname
                expand_values = [self._constrain(b, c) for c in cands][:limit]
                break
        if expand_name is None:
            return [self._object(s, (), 0)[0]]
        results = []
        for value in expand_values:
            args = self._object(s, (), 0)[0]
            args[expand_name] = value
            results.append({k: args[k] for k in props if k in args})
        return _dedupe(results)


# ----------------------------------------------------------------------------
# Input items
# ----------------------------------------------------------------------------


def _plain(item: Any) -> Any:
    """Dicts/pydantic models/lists to plain JSON-able data without None values."""
    if hasattr(item, "model_dump"):
        try:
            item = item.model_dump(exclude_none=True, mode="json")
        except Exception:  # pragma: no cover - defensive
            item = item.model_dump()
    if isinstance(item, Mapping):
        return {str(k): _plain(v) for k, v in item.items() if v is not None}
    if isinstance(item, (list, tuple)):
        return [_plain(v) for v in item]
    return item


def _normalize_input(input: str | Sequence[Any] | None) -> list[dict[str, Any]]:
    if input is None:
        return []
    if isinstance(input, str):
        return [{"role": "user", "content": input}]
    out = []
    for item in input:
        p = _plain(item)
        if isinstance(p, dict):
            out.append(p)
    return out


def _content_text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        parts = []
        for part in content:
            if isinstance(part, str):
                parts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text") or part.get("refusal")
                if isinstance(text, str):
                    parts.append(text)
        return "\n".join(parts)
    return "" if content is None else str(content)


def _is_message(item: Mapping[str, Any], role: str) -> bool:
    return item.get("role") == role and item.get("type", "message") == "message"


def _parse_json_args(raw: Any) -> Any:
    if isinstance(raw, str):
        try:
            return json.loads(raw) if raw.strip() else {}
        except ValueError:
            return raw
    return raw


def _canonical(obj: Any) -> str:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _ordered_json(obj: Any) -> str:
    """JSON that keeps key order: property order matters when filling arguments."""
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


def _parse_output(raw: Any) -> Any:
    """A tool output as data: JSON, else a Python literal (tools returning dicts are
    str()-ed by the SDK), else the text."""
    if isinstance(raw, list):
        raw = _content_text(raw)
    if not isinstance(raw, str):
        return raw
    text = raw.strip()
    if text[:1] in "{[\"" or text in ("true", "false", "null") or _NUMBER_RE.fullmatch(text):
        try:
            return json.loads(text)
        except ValueError:
            pass
    if text[:1] in "{[(" and len(text) < 200_000:
        try:
            return ast.literal_eval(text)
        except (ValueError, SyntaxError, MemoryError, RecursionError, TypeError):
            pass
    return raw


def _handoff_target(output: Any) -> str | None:
    """The agent named by a handoff's transfer message ``{"assistant": "<name>"}``."""
    parsed = _parse_output(output)
    if isinstance(parsed, dict) and set(parsed) == {"assistant"} and isinstance(parsed["assistant"], str):
        return parsed["assistant"]
    return None


@dataclass
class _Turn:
    items: list[dict[str, Any]]
    request: str
    calls: list[tuple[str, Any, str]]  # (name, parsed args, call_id) since the last user message
    outputs: dict[str, Any]  # call_id -> raw output
    handoff_targets: list[str]

    def made(self) -> set[tuple[str, str]]:
        return {(name, _canonical(args)) for name, args, _ in self.calls}


def _earlier_messages(items: list[dict[str, Any]]) -> list[str]:
    """Texts of the messages before the last user message (material the request refers to)."""
    last_user = max((i for i, it in enumerate(items) if _is_message(it, "user")), default=-1)
    texts = []
    for it in items[: max(last_user, 0)]:
        if "content" in it and it.get("type", "message") == "message":
            text = " ".join(_content_text(it.get("content")).split())
            if text:
                texts.append(text)
    return texts


def _read_turn(items: list[dict[str, Any]], handoff_names: set[str]) -> _Turn:
    last_user = -1
    for i in range(len(items) - 1, -1, -1):
        if _is_message(items[i], "user"):
            last_user = i
            break
    if last_user >= 0:
        request = _content_text(items[last_user].get("content"))
    else:
        # No user message (e.g. a nested/summarised history): use the last message text.
        request = ""
        for it in reversed(items):
            if "content" in it and it.get("type", "message") == "message":
                request = _content_text(it.get("content"))
                break
    calls: list[tuple[str, Any, str]] = []
    outputs: dict[str, Any] = {}
    targets: list[str] = []
    handoff_call_ids: set[str] = set()
    for it in items[last_user + 1 :]:
        typ = it.get("type")
        if typ == "function_call":
            name = str(it.get("name", ""))
            call_id = str(it.get("call_id") or it.get("id") or "")
            calls.append((name, _parse_json_args(it.get("arguments", "")), call_id))
            if name in handoff_names or name.startswith("transfer_to_"):
                handoff_call_ids.add(call_id)
        elif typ == "function_call_output":
            call_id = str(it.get("call_id", ""))
            outputs[call_id] = it.get("output")
            target = _handoff_target(it.get("output"))
            if target is not None:
                targets.append(target)
                handoff_call_ids.add(call_id)
    for cid in handoff_call_ids:
        if cid in outputs and _handoff_target(outputs[cid]) is None:
            targets.append("")
    return _Turn(items, request.strip(), calls, outputs, targets)


# ----------------------------------------------------------------------------
# Tools and handoffs as seen by the rules
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _ToolSpec:
    name: str
    description: str
    schema: Mapping[str, Any]
    schema_json: str
    name_terms: frozenset[str]
    other_terms: frozenset[str]
    is_handoff: bool = False
    agent_name: str = ""


def _param_text(schema: Mapping[str, Any], depth: int = 0) -> str:
    """Parameter names and descriptions (two levels deep)."""
    if depth > 2 or not isinstance(schema, Mapping):
        return ""
    parts = []
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for pname, p in props.items():
            parts.append(str(pname))
            if isinstance(p, Mapping):
                parts.append(str(p.get("description") or ""))
                parts.append(_param_text(p, depth + 1))
                if isinstance(p.get("items"), Mapping):
                    parts.append(_param_text(p["items"], depth + 1))
    for key in ("$defs", "definitions"):
        defs = schema.get(key)
        if isinstance(defs, Mapping) and depth == 0:
            for d in defs.values():
                parts.append(_param_text(d, depth + 1))
    return " ".join(x for x in parts if x)


@lru_cache(maxsize=1024)
def _tool_spec_cached(name: str, description: str, schema_json: str, is_handoff: bool, agent_name: str) -> _ToolSpec:
    schema = json.loads(schema_json) if schema_json else {}
    if is_handoff:
        name_terms = (_terms(agent_name) | _terms(name.removeprefix("transfer_to_"))) - _HANDOFF_GENERIC
        other_terms = (_terms(description) | _terms(_param_text(schema))) - _HANDOFF_GENERIC
    else:
        name_terms = _terms(name)
        other_terms = _terms(description) | _terms(_param_text(schema))
    return _ToolSpec(name, description, schema, schema_json, name_terms, other_terms, is_handoff, agent_name)


def _tool_spec(tool: Any) -> _ToolSpec | None:
    if isinstance(tool, _ToolSpec):
        return tool
    if isinstance(tool, Mapping):
        name = tool.get("name")
        desc = tool.get("description") or ""
        schema = tool.get("params_json_schema", tool.get("parameters"))
    else:
        name = getattr(tool, "name", None)
        desc = getattr(tool, "description", "") or ""
        schema = getattr(tool, "params_json_schema", None)
    if not isinstance(name, str) or not name or not isinstance(schema, Mapping):
        return None  # hosted tools, shell, computer use... are not callable by these rules
    return _tool_spec_cached(name, str(desc), _ordered_json(schema), False, "")


def _handoff_spec(h: Any) -> _ToolSpec | None:
    if isinstance(h, Mapping):
        name = h.get("tool_name")
        desc = h.get("tool_description") or ""
        schema = h.get("input_json_schema") or {}
        agent = h.get("agent_name") or ""
    else:
        name = getattr(h, "tool_name", None)
        desc = getattr(h, "tool_description", "") or ""
        schema = getattr(h, "input_json_schema", None) or {}
        agent = getattr(h, "agent_name", "") or ""
    if not isinstance(name, str) or not name:
        return None
    return _tool_spec_cached(name, str(desc), _ordered_json(schema), True, str(agent))


def _score(
    spec: _ToolSpec, request_terms: frozenset[str], df: Mapping[str, int]
) -> tuple[int, float, list[str]]:
    """(raw score, weighted score, matched words).

    Raw: 3 per request word in the tool's name, 1 per word only in its
    description/parameters. Weighted: the same divided by how many of the
    candidates (tools and handoffs) contain the word, so a word every tool
    shares ("weather") counts less than one only this tool has ("alerts").
    """
    raw = 0
    weighted = 0.0
    hits = []
    for t in sorted(request_terms):
        if t in spec.name_terms:
            w = 3
        elif t in spec.other_terms:
            w = 1
        else:
            continue
        raw += w
        weighted += w / max(1, df.get(t, 1))
        hits.append(t)
    return raw, weighted, hits


def _document_frequency(specs: Iterable[_ToolSpec], request_terms: frozenset[str]) -> dict[str, int]:
    df: dict[str, int] = {}
    for spec in specs:
        for t in request_terms:
            if t in spec.name_terms or t in spec.other_terms:
                df[t] = df.get(t, 0) + 1
    return df


MIN_SCORE = 2  # a tool "clearly matches" with a name word, or two description words (raw score)
RELATIVE_SCORE = 0.5  # ...and has at least half the best tool's weighted score
MAX_CALLS_PER_TOOL = 5
MAX_CALLS_PER_TURN = 8

# ----------------------------------------------------------------------------
# Decision
# ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PlannedCall:
    """One function call the model emits: a tool or a handoff's ``transfer_to_...``."""

    name: str
    arguments: dict[str, Any]
    is_handoff: bool = False

    def key(self) -> tuple[str, str]:
        return (self.name, _canonical(self.arguments))


@dataclass(frozen=True)
class Decision:
    """What the offline model answers. ``kind`` is one of ``"tool_calls"``, ``"handoff"``,
    ``"final_text"``, ``"final_json"``; ``text`` is the final text or JSON string."""

    kind: str
    request: str
    calls: tuple[PlannedCall, ...] = ()
    text: str | None = None
    reason: str = ""
    scores: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "request": self.request,
            "calls": [
                {"name": c.name, "arguments": c.arguments, "is_handoff": c.is_handoff}
                for c in self.calls
            ],
            "text": self.text,
            "reason": self.reason,
            "scores": dict(self.scores),
        }


def _setting(model_settings: Any, name: str) -> Any:
    if model_settings is None:
        return None
    if isinstance(model_settings, Mapping):
        return model_settings.get(name)
    return getattr(model_settings, name, None)


def _forced_tool_name(tool_choice: Any) -> str | None:
    if isinstance(tool_choice, str) and tool_choice not in ("auto", "required", "none"):
        return tool_choice
    if isinstance(tool_choice, Mapping):
        name = tool_choice.get("name")
        return name if isinstance(name, str) else None
    name = getattr(tool_choice, "name", None)
    return name if isinstance(name, str) else None


def _output_json_schema(output_schema: Any) -> dict[str, Any] | None:
    if output_schema is None:
        return None
    if isinstance(output_schema, Mapping):
        return dict(output_schema)
    try:
        if output_schema.is_plain_text():
            return None
        return dict(output_schema.json_schema())
    except Exception:
        return None


def decide(
    system_instructions: str | None,
    input: str | Sequence[Any],
    *,
    tools: Sequence[Any] = (),
    handoffs: Sequence[Any] = (),
    output_schema: Any = None,
    model_settings: Any = None,
) -> Decision:
    """The offline model's whole behaviour, as a pure function of the call's arguments.

    ``tools`` may be SDK ``FunctionTool`` objects (or anything with ``name``,
    ``description``, ``params_json_schema``) or dicts with ``name``/``description``/
    ``parameters``; ``handoffs`` SDK ``Handoff`` objects or dicts with
    ``tool_name``/``tool_description``/``agent_name``/``input_json_schema``;
    ``output_schema`` an ``AgentOutputSchemaBase`` or a JSON-schema dict.
    ``system_instructions`` is accepted for the interface's sake; the rules
    do not read it.
    """
    return _decide(_normalize_input(input), tools, handoffs, output_schema, model_settings)[0]


def _decide(
    items: list[dict[str, Any]],
    tools: Sequence[Any],
    handoffs: Sequence[Any],
    output_schema: Any,
    model_settings: Any,
) -> tuple[Decision, _Turn]:
    tool_specs = [s for s in (_tool_spec(t) for t in tools) if s is not None]
    handoff_specs = [s for s in (_handoff_spec(h) for h in handoffs) if s is not None]
    turn = _read_turn(items, {h.name for h in handoff_specs})
    request = turn.request
    ev = _Evidence(request)
    request_terms = _terms(request)

    tool_choice = _setting(model_settings, "tool_choice")
    if tool_choice == "none":
        tool_specs, handoff_specs = [], []
    forced = _forced_tool_name(tool_choice)

    df = _document_frequency([*tool_specs, *handoff_specs], request_terms)
    scored = [(spec, *_score(spec, request_terms, df)) for spec in tool_specs]
    scores = {spec.name: raw for spec, raw, _, _ in scored}
    candidates = [x for x in scored if x[1] >= MIN_SCORE]
    best_tool = max((w for _, _, w, _ in candidates), default=0.0)
    made = turn.made()

    # 1. Handoff, at most once per user message, when it beats every tool.
    if handoff_specs and not turn.handoff_targets and forced is None:
        h_scored = [(spec, *_score(spec, request_terms, df)) for spec in handoff_specs]
        for spec, raw, _, _ in h_scored:
            scores[spec.name] = raw
        h_scored = [x for x in h_scored if x[1] >= MIN_SCORE]
        if h_scored:
            h_best, h_raw, h_weighted, h_hits = max(h_scored, key=lambda x: x[2])
            if h_weighted > best_tool:
                args = _Filler(h_best.schema, ev).fill(h_best.schema) if h_best.schema.get("properties") else {}
                call = PlannedCall(h_best.name, args, is_handoff=True)
                if call.key() not in made:
                    return Decision(
                        "handoff",
                        request,
                        (call,),
                        reason=f"handoff {h_best.name} matched on {', '.join(h_hits)} (score {h_raw})",
                        scores=scores,
                    ), turn

    # 2. The tool plan: every clearly matching tool, one call per asked-for value.
    if forced is not None:
        selected = [(spec, 99, 99.0, ["tool_choice"]) for spec, *_ in scored if spec.name == forced]
    else:
        selected = [x for x in candidates if x[2] >= RELATIVE_SCORE * best_tool]
        if not selected and tool_choice == "required" and scored and not turn.calls:
            selected = [max(scored, key=lambda x: x[2])]
    selected.sort(key=lambda x: -x[2])  # stable: ties keep the tools' order
    plan: list[PlannedCall] = []
    for spec, *_ in selected:
        for args in _Filler(spec.schema, ev).expansions(spec.schema, MAX_CALLS_PER_TOOL):
            plan.append(PlannedCall(spec.name, args))
    plan = plan[:MAX_CALLS_PER_TURN]
    remaining = [c for c in plan if c.key() not in made]
    if remaining:
        if _setting(model_settings, "parallel_tool_calls") is False:
            remaining = remaining[:1]
        why = "; ".join(f"{s.name} matched on {', '.join(h)} (score {raw})" for s, raw, _, h in selected)
        return Decision("tool_calls", request, tuple(remaining), reason=why, scores=scores), turn

    # 3. Final answer from this turn's tool outputs.
    results = []
    for name, args, call_id in turn.calls:
        if call_id in turn.outputs and _handoff_target(turn.outputs[call_id]) is None and not (
            name.startswith("transfer_to_") and name not in {t.name for t in tool_specs}
        ):
            results.append((name, args, turn.outputs[call_id]))
    text = _final_text(request, results, tool_specs, handoff_specs, turn.handoff_targets)
    schema = _output_json_schema(output_schema)
    if schema is not None:
        parsed = [_parse_output(out) for _, _, out in results]
        if results:
            summary = text
        elif earlier := _earlier_messages(items):
            # e.g. a summarizer given other agents' reports as earlier messages
            summary = "From the conversation: " + " | ".join(_short(t, 160) for t in earlier[-6:])
        else:
            summary = f'Filled by the offline stand-in from the request "{request}".'
        obj = _Filler(schema, ev, _Sources(parsed, summary)).fill(schema)
        return Decision(
            "final_json",
            request,
            text=json.dumps(obj, ensure_ascii=False),
            reason=f"output schema filled from the request and {len(results)} tool output(s)",
            scores=scores,
        ), turn
    return Decision(
        "final_text",
        request,
        text=text,
        reason=f"answer from {len(results)} tool output(s)" if results else "no tool matched",
        scores=scores,
    ), turn


# ----------------------------------------------------------------------------
# Final text
# ----------------------------------------------------------------------------

_ERROR_PREFIXES = (
    "An error occurred while running the tool",
    "An error occurred while parsing tool arguments",
    "Error:",
    "error:",
)
_LABEL_KEYS = ("event", "name", "title", "headline", "label", "id")
_AREA_KEYS = ("areaDesc", "area", "location", "city", "region", "state")
_DETAIL_KEYS = (
    "severity", "status", "temperature", "temperatureUnit", "windSpeed", "shortForecast",
    "detailedForecast", "summary", "description", "value", "price", "date", "time",
)  # fmt: skip


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _fmt_scalar(v: Any, limit: int = 80) -> str:
    if isinstance(v, str):
        return f'"{_short(v, limit)}"'
    return json.dumps(v, ensure_ascii=False, default=str)


def _fmt_args(args: Any) -> str:
    if isinstance(args, Mapping):
        return ", ".join(f"{k}={_fmt_scalar(v, 40)}" for k, v in args.items())
    return _fmt_scalar(args, 40)


def _noun(tool_name: str) -> str:
    words = [w for w in _words(tool_name) if w not in _STOPWORDS]
    if not words:
        return "results"
    w = words[-1]
    return w if w.endswith("s") else (w[:-1] + "ies" if w.endswith("y") and len(w) > 2 else w + "s")


def _is_error_text(text: str) -> bool:
    return text.strip().startswith(_ERROR_PREFIXES)


def _error_message(text: str) -> str:
    t = text.strip()
    if "Error:" in t:
        t = t.split("Error:", 1)[1].strip() or t
    return _short(t, 240)


def _brief_row(row: Mapping[str, Any]) -> str:
    label = next((row[k] for k in _LABEL_KEYS if isinstance(row.get(k), (str, int, float)) and row.get(k) != ""), None)
    area = next((row[k] for k in _AREA_KEYS if isinstance(row.get(k), str) and row.get(k)), None)
    parts = []
    if label is not None:
        parts.append(_short(str(label), 80))
    if area is not None and area != label:
        parts.append(f"for {_short(area, 80)}" if parts else _short(area, 80))
    details = []
    for k in _DETAIL_KEYS:
        v = row.get(k)
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and v != "" and v not in (label, area):
            details.append(f"{k}: {_short(str(v), 60)}")
        if len(details) >= 2:
            break
    if not parts:
        scalars = [(k, v) for k, v in row.items() if isinstance(v, (str, int, float, bool))][:3]
        return ", ".join(f"{k}: {_fmt_scalar(v, 40)}" for k, v in scalars) or "{…}"
    return " ".join(parts) + (f" ({'; '.join(details)})" if details else "")


def _summarize(value: Any, noun: str, depth: int = 0) -> str:
    if isinstance(value, str):
        if _is_error_text(value):
            return f"the tool reported an error: {_error_message(value)}"
        return f'"{_short(value, 400)}"'
    if isinstance(value, bool) or value is None or isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, Mapping):
        err = value.get("error") or value.get("detail") if len(value) <= 3 else value.get("error")
        if isinstance(err, (str, Mapping)) and err and ("error" in value or "status" in value):
            msg = err if isinstance(err, str) else json.dumps(err)
            return f"the tool reported an error: {_short(msg, 240)}"
        features = value.get("features")
        if isinstance(features, list):
            return _summarize_rows(features, noun, title=value.get("title"))
        if depth < 2:
            # A dict wrapping one list of records (e.g. forecast periods): describe the list.
            for k, v in value.items():
                if isinstance(v, list) and v and all(isinstance(x, Mapping) for x in v):
                    head = _dict_scalars(value, 3)
                    return (head + "; " if head else "") + f"{k}: " + _summarize_rows(v, k)
            for k, v in value.items():
                if isinstance(v, Mapping) and any(
                    isinstance(x, list) and x and all(isinstance(y, Mapping) for y in x)
                    for x in v.values()
                ):
                    head = _dict_scalars(value, 3)
                    inner = _summarize(v, noun, depth + 1)
                    return (head + "; " if head else "") + inner
        return _dict_scalars(value, 8) or "an empty object"
    if isinstance(value, (list, tuple)):
        if not value:
            return f"there are no {noun} (the result is empty)"
        if all(isinstance(x, Mapping) for x in value):
            return _summarize_rows(list(value), noun)
        shown = ", ".join(_fmt_scalar(x, 60) for x in value[:8])
        more = f", and {len(value) - 8} more" if len(value) > 8 else ""
        return f"{len(value)} item(s): {shown}{more}"
    return _short(str(value), 200)


def _dict_scalars(value: Mapping[str, Any], limit: int) -> str:
    parts = []
    for k, v in value.items():
        if isinstance(v, (str, int, float, bool)) or v is None:
            parts.append(f"{k}: {_fmt_scalar(v)}")
        elif isinstance(v, Mapping):
            for k2, v2 in v.items():
                if isinstance(v2, (str, int, float, bool)):
                    parts.append(f"{k}.{k2}: {_fmt_scalar(v2)}")
        elif isinstance(v, list):
            parts.append(f"{k}: {len(v)} item(s)")
        if len(parts) >= limit:
            break
    return "; ".join(parts[:limit])


def _summarize_rows(rows: list[Any], noun: str, title: Any = None) -> str:
    if not rows:
        extra = f" ({_short(title, 100)})" if isinstance(title, str) and title else ""
        return f"there are no {noun}{extra} - the result is empty"
    briefs = [_brief_row(_row(r)) if isinstance(r, Mapping) else _fmt_scalar(r) for r in rows[:5]]
    more = f"; and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"{len(rows)} {noun if len(rows) != 1 else noun.rstrip('s') or noun}: " + "; ".join(briefs) + more


def _final_text(
    request: str,
    results: list[tuple[str, Any, Any]],
    tools: list[_ToolSpec],
    handoffs: list[_ToolSpec],
    handoff_targets: list[str],
) -> str:
    if results:
        lines = []
        for name, args, output in results:
            summary = _summarize(_parse_output(output), _noun(name))
            lines.append(f"{name}({_fmt_args(args)}): {summary}")
        if len(lines) == 1:
            return f"Result of {lines[0]}"
        return "Results:\n" + "\n".join(f"- {line}" for line in lines)
    what = []
    if tools:
        what.append("tools available here: " + ", ".join(t.name for t in tools))
    if handoffs:
        what.append("agents I can hand off to: " + ", ".join(h.agent_name or h.name for h in handoffs))
    capabilities = "; ".join(what) if what else "this agent has no tools or handoffs"
    received = " (this request was handed to me by another agent)" if handoff_targets else ""
    return (
        f'Offline stand-in model, not an LLM: no tool or handoff matched the words in "{_short(request, 120)}"'
        f"{received}, and I cannot answer from knowledge. I can call a tool whose name or description "
        f"shares keywords with the request, hand off to an agent whose description matches, and fill a "
        f"structured output schema. {capabilities[0].upper() + capabilities[1:]}."
    )


# ----------------------------------------------------------------------------
# Usage, ids, fingerprints
# ----------------------------------------------------------------------------


def estimate_tokens(text_or_chars: str | int) -> int:
    """~4 characters per token (at least 1 for non-empty text)."""
    n = text_or_chars if isinstance(text_or_chars, int) else len(text_or_chars)
    return max(1, math.ceil(n / 4)) if n else 0


def _input_json(system_instructions: str | None, items: list[dict[str, Any]]) -> str:
    return _canonical({"instructions": system_instructions or "", "input": items})


def fingerprint(system_instructions: str | None, input: str | Sequence[Any]) -> str:
    """Short sha256 of the canonical JSON of instructions + input items (16 hex chars)."""
    return _fingerprint_of(_input_json(system_instructions, _normalize_input(input)))


def _fingerprint_of(canonical: str) -> str:
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


def _item_id(fp: str, *parts: Any) -> str:
    return hashlib.sha256(_canonical([fp, *parts]).encode("utf-8")).hexdigest()[:24]


def _output_items(decision: Decision, fp: str) -> list[Any]:
    if decision.calls:
        out = []
        for i, call in enumerate(decision.calls):
            h = _item_id(fp, i, call.name, call.arguments)
            out.append(
                function_call(call.name, call.arguments, call_id=f"call_{h}", item_id=f"fc_{h}")
            )
        return out
    return [assistant_message(decision.text or "", item_id=f"msg_{_item_id(fp, 'msg')}")]


def _output_text(decision: Decision) -> str:
    if decision.calls:
        return "".join(c.name + _canonical(c.arguments) for c in decision.calls)
    return decision.text or ""


def _agent_label(instructions: str | None) -> str:
    """A short label from the instructions, e.g. "You are a weather assistant." ->
    "weather assistant"."""
    if not instructions:
        return "unknown agent"
    first = re.split(r"(?<=[.!?\n])\s", instructions.strip(), maxsplit=1)[0]
    first = re.sub(r"^(you are|you're|act as|as)\s+(an?|the)?\s*", "", first.strip(), flags=re.I)
    words = first.strip(" .!?:").split()
    label = " ".join(words[:5]) + ("…" if len(words) > 5 else "")
    return label or "unknown agent"


def _current_agent(system_instructions: str | None, handoff_targets: list[str]) -> tuple[str, str]:
    """(agent name, how it was found). See ``OfflineModel`` for the order."""
    try:
        span = get_current_span()
        data = getattr(span, "span_data", None)
        if isinstance(data, TurnSpanData) and data.agent_name:
            return data.agent_name, "trace"
        if isinstance(data, AgentSpanData) and data.name:
            return data.name, "trace"
    except Exception:  # pragma: no cover - tracing must never break a call
        pass
    named = [t for t in handoff_targets if t]
    if named:
        return named[-1], "handoff"
    return _agent_label(system_instructions), "instructions"


def _temporal_activity_fields() -> dict[str, Any]:
    fields: dict[str, Any] = {"workflow_id": None, "run_id": None, "activity_id": None, "attempt": None}
    try:
        from temporalio import activity
    except Exception:  # pragma: no cover - temporalio not installed
        return fields
    try:
        if activity.in_activity():
            info = activity.info()
            fields.update(
                workflow_id=info.workflow_id,
                run_id=info.workflow_run_id,
                activity_id=info.activity_id,
                attempt=info.attempt,
            )
    except Exception:  # pragma: no cover - defensive
        pass
    return fields


# ----------------------------------------------------------------------------
# Model and provider
# ----------------------------------------------------------------------------


def _latency_from_env() -> float:
    raw = os.environ.get(LATENCY_ENV_VAR, "").strip()
    if not raw:
        return 0.0
    try:
        return max(0.0, float(raw))
    except ValueError:
        logger.warning("Ignoring %s=%r: not a number", LATENCY_ENV_VAR, raw)
        return 0.0


@dataclass
class _Prepared:
    decision: Decision
    items: list[Any]
    usage: Usage
    fingerprint: str
    response_id: str
    handoff_targets: list[str]
    input_items: list[dict[str, Any]]


class OfflineModel(Model):
    """The Agents SDK ``Model`` that answers with ``decide``'s rules. Stateless:
    two instances (or one after a restart) answer a call identically.

    Args:
        model_name: the name recorded in the ledger (any name is accepted).
        latency_s: simulated latency awaited before each answer (default:
            ``$OFFLINE_MODEL_LATENCY`` or 0). Cancellable, so a worker can be
            killed mid-call.
        ledger: a ``Ledger``, ``None`` for the default ledger (path resolved
            at each call from ``$OFFLINE_MODEL_LEDGER``), or ``False`` to
            record nothing.

    The ledger entry is written when the request is "sent", before the
    simulated latency, like a hosted provider that bills a request even if the
    caller dies before reading the answer.

    ``agent`` in the ledger is found in this order:

    1. ``"trace"``: the current Agents SDK span names the agent. In a plain
       ``Runner.run``/``run_streamed`` the model is called inside the run's
       *turn* span (``TurnSpanData.agent_name``), itself inside the agent span
       (``AgentSpanData.name``); both are read. This works with tracing
       disabled too: the SDK then uses no-op spans that still carry the data.
    2. ``"handoff"``: the input since the last user message contains a handoff
       transfer output ``{"assistant": "<agent name>"}``; the agent answering
       now is the one it names. This also works inside Temporal's model
       activity.
    3. ``"instructions"``: a short label from the instructions ("You are a
       weather assistant." -> "weather assistant"). Inside a Temporal
       activity this is usually what you get: ``temporalio.activity.info()``
       carries workflow/run/activity ids and the attempt, but not the agent
       name (the plugin passes the agent name only as the activity *summary*,
       which the activity cannot read), and the propagated trace span is a
       bare span id, not the agent span.
    """

    def __init__(
        self,
        model_name: str | None = None,
        *,
        latency_s: float | None = None,
        ledger: Ledger | None | bool = None,
    ) -> None:
        self.model_name = model_name or OFFLINE_MODEL_NAME
        self.latency_s = _latency_from_env() if latency_s is None else max(0.0, float(latency_s))
        self._ledger = ledger

    def __repr__(self) -> str:
        return f"OfflineModel({self.model_name!r}, latency_s={self.latency_s})"

    # -- shared ------------------------------------------------------------
    def _prepare(
        self,
        system_instructions: str | None,
        input: str | list[Any],
        model_settings: Any,
        tools: list[Any],
        output_schema: Any,
        handoffs: list[Any],
    ) -> _Prepared:
        items_in = _normalize_input(input)
        decision, turn = _decide(items_in, tools, handoffs, output_schema, model_settings)
        canonical = _input_json(system_instructions, items_in)
        fp = _fingerprint_of(canonical)
        chars = len(canonical)
        for t in tools:
            spec = _tool_spec(t)
            if spec is not None:
                chars += len(spec.name) + len(spec.description) + len(spec.schema_json)
        for h in handoffs:
            spec = _handoff_spec(h)
            if spec is not None:
                chars += len(spec.name) + len(spec.description) + len(spec.schema_json)
        schema = _output_json_schema(output_schema)
        if schema is not None:
            chars += len(_canonical(schema))
        input_tokens = estimate_tokens(chars)
        output_tokens = estimate_tokens(_output_text(decision))
        usage = Usage(
            requests=1,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            total_tokens=input_tokens + output_tokens,
        )
        return _Prepared(
            decision,
            _output_items(decision, fp),
            usage,
            fp,
            f"offline_{_item_id(fp, 'resp')}",
            turn.handoff_targets,
            items_in,
        )

    def _record(self, p: _Prepared, system_instructions: str | None, streamed: bool) -> None:
        if self._ledger is False:
            return
        try:
            ledger = self._ledger if isinstance(self._ledger, Ledger) else Ledger()
            agent, source = _current_agent(system_instructions, p.handoff_targets)
            entry = {
                "model": self.model_name,
                "agent": agent,
                "agent_source": source,
                "kind": p.decision.kind,
                "tool_calls": [{"name": c.name, "arguments": c.arguments} for c in p.decision.calls],
                "request": _short(p.decision.request, 200),
                "input_tokens": p.usage.input_tokens,
                "output_tokens": p.usage.output_tokens,
                "fingerprint": p.fingerprint,
                "streamed": streamed,
                "latency_s": self.latency_s,
            }
            entry.update(_temporal_activity_fields())
            ledger.append(entry)
        except Exception:  # the ledger is for teaching; never fail a model call over it
            logger.warning("offline model: could not write the ledger entry", exc_info=True)

    def _span(self, tracing: ModelTracing, p: _Prepared) -> Any:
        span = generation_span(
            model=self.model_name,
            model_config={"offline": True},
            disabled=tracing.is_disabled(),
        )
        if tracing.include_data():
            span.span_data.input = p.input_items
            span.span_data.output = [_plain(i) for i in p.items]
        span.span_data.usage = {"input_tokens": p.usage.input_tokens, "output_tokens": p.usage.output_tokens}
        return span

    # -- Model interface -----------------------------------------------------
    async def get_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> ModelResponse:
        p = self._prepare(system_instructions, input, model_settings, tools, output_schema, handoffs)
        self._record(p, system_instructions, streamed=False)
        with self._span(tracing, p):
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
        return ModelResponse(output=list(p.items), usage=p.usage, response_id=p.response_id)

    async def stream_response(
        self,
        system_instructions: str | None,
        input: str | list[TResponseInputItem],
        model_settings: ModelSettings,
        tools: list[Tool],
        output_schema: AgentOutputSchemaBase | None,
        handoffs: list[Handoff],
        tracing: ModelTracing,
        *,
        previous_response_id: str | None = None,
        conversation_id: str | None = None,
        prompt: ResponsePromptParam | None = None,
    ) -> AsyncIterator[TResponseStreamEvent]:
        p = self._prepare(system_instructions, input, model_settings, tools, output_schema, handoffs)
        self._record(p, system_instructions, streamed=True)
        with self._span(tracing, p):
            if self.latency_s:
                await asyncio.sleep(self.latency_s)
        # A fresh one-step ScriptedModel per call turns the output items into a
        # correct Responses event stream (created, output_item.added, deltas,
        # done events, completed) without keeping any state here.
        scripted = ScriptedModel([ModelStep(output=list(p.items), usage=p.usage, response_id=p.response_id)])
        async for event in scripted.stream_response(
            system_instructions,
            input,
            model_settings,
            tools,
            output_schema,
            handoffs,
            ModelTracing.DISABLED,
            previous_response_id=previous_response_id,
            conversation_id=conversation_id,
            prompt=prompt,
        ):
            response = getattr(event, "response", None)
            if response is not None and getattr(response, "model", None) == "scripted-model":
                response.model = self.model_name
            yield event


class OfflineModelProvider(ModelProvider):
    """Returns an ``OfflineModel`` for any model name (the name is kept for the ledger)."""

    def __init__(self, *, latency_s: float | None = None, ledger: Ledger | None | bool = None) -> None:
        self.latency_s = latency_s
        self.ledger = ledger

    def get_model(self, model_name: str | None) -> Model:
        return OfflineModel(model_name or OFFLINE_MODEL_NAME, latency_s=self.latency_s, ledger=self.ledger)
