"""The request: what the rules can pull out of the user's words (states, quotes, numbers, phrases)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from recipes.tools.us_states import AREA_NAMES

from .words import _NUMBER_RE, _dedupe

#: "california" -> "CA": the shared table of states and territories, plus a short name people use.
_US_STATES = {name.lower(): code for code, name in AREA_NAMES.items()} | {"virgin islands": "VI"}
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
# A code the user names as one ("state code ZZ", "state ZZ"): passed on as given, known or not.
_GIVEN_CODE_RE = re.compile(r"\b(?i:state\s+code)\s*[:=]?\s*([A-Za-z]{2})(?!\w)|\b(?i:state)\s+([A-Z]{2})(?!\w)")

_QUOTED_RE = re.compile(r"\"([^\"\n]+)\"|“([^”\n]+)”|(?<!\w)'([^'\n]+)'(?!\w)")
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
        self.given_codes = _dedupe(m.group(1) or m.group(2) for m in _GIVEN_CODE_RE.finditer(masked))
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
