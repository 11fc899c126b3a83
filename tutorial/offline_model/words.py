"""Words: how the rules see text (lower-cased, identifier-split, plural-stripped, no stopwords)."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Any

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

_IDENT_SPLIT_RE = re.compile(r"([a-z0-9])([A-Z])")
_WORD_RE = re.compile(r"[a-z][a-z0-9]*")
_NUMBER_RE = re.compile(r"(?<![\w.])-?\d+(?:\.\d+)?(?![\w]|\.\d)")


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


def _label(identifier: str) -> str:
    """An identifier as plain words, for a sentence: guest_name -> "guest name"."""
    return " ".join(_IDENT_SPLIT_RE.sub(r"\1 \2", identifier).replace("_", " ").lower().split())


@lru_cache(maxsize=4096)
def _terms(text: str) -> frozenset[str]:
    """Content words of ``text``: lower-cased, split, plural-stripped, no stopwords."""
    return frozenset(w for w in _words(text) if len(w) > 1 and w not in _STOPWORDS)


def _dedupe(values: Iterable[Any]) -> list[Any]:
    """``values`` in order, first occurrence only (works for unhashable values too)."""
    seen: set[str] = set()
    out: list[Any] = []
    for v in values:
        key = json.dumps(v, sort_keys=True, default=str) if not isinstance(v, str) else "s:" + v
        if key not in seen:
            seen.add(key)
            out.append(v)
    return out


def _whole_words(text: str, limit: int) -> str:
    """The start of ``text`` that ends after a whole word and, with "…" after it, fits in
    ``limit`` characters; "" when even the first word does not fit."""
    cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit))
    head = text[:cut].rstrip(" \n,;:") if cut > 0 else ""
    return head + "…" if head else ""


def _short(text: str, limit: int = 160) -> str:
    """``text`` on one line, shortened after a whole word to at most ``limit`` characters.

    A first word longer than ``limit`` is kept whole: a cut word reads as a typo.
    """
    text = " ".join(str(text).split())
    if len(text) <= limit:
        return text
    head = _whole_words(text, limit)
    if head:
        return head
    end = text.find(" ")
    return text if end < 0 else text[:end] + "…"
