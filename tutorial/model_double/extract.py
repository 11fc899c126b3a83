"""Reading a request's text: keywords, US states, numbers, quoted strings, phrases.

Plain string rules, no language understanding. The state table is the project's
shared one (``recipes.tools.us_states``, 50 states + DC); nothing here depends on the
offline stand-in's rules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from recipes.tools.us_states import US_STATES

__all__ = [
    "STATES",
    "Mention",
    "enum_mention",
    "find_numbers",
    "find_states",
    "keywords",
    "labelled_list",
    "mask_quotes",
    "phrase_after",
    "quoted",
    "shorten",
    "split_words",
    "stem",
]

#: The 50 states and DC (the shared table in ``recipes/tools``, stdlib only); territories are not matched.
STATES: dict[str, str] = US_STATES
# Longest names first, so "West Virginia" is found before "Virginia".
_STATE_NAME = re.compile(
    r"\b(" + "|".join(re.escape(n) for n in sorted(STATES.values(), key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_BY_NAME = {name.lower(): code for code, name in STATES.items()}
_CODE = re.compile(r"\b[A-Z]{2}\b")
_GIVEN_CODE = re.compile(r"\b(?i:state|code)\s+([A-Z]{2})\b")  # "state code ZZ": as given
_QUOTED = re.compile(r"\"([^\"]+)\"|“([^”]+)”|(?<!\w)'([^']+)'(?!\w)|‘([^’]+)’")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
_NUMBER_WORDS = {
    "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
}  # fmt: skip
_NUMBER_WORD = re.compile(r"\b(" + "|".join(_NUMBER_WORDS) + r")\b", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][A-Za-z']*")

#: Words that say nothing about which tool fits (asked of every tool alike).
STOPWORDS = frozenset(
    """a an the is are was were be been am any some there here what which who whom whose how
    when where why does do did done for in on at to of and or but not no nor me my i we our you
    your it its this that these those please can could would will shall should may might must
    with about from by into onto up out over under get tell give show us state code now just
    also only then than so if as let like want need know one each per all both such other more
    most very much many few eg etc using use via has have had having i'm we're you're""".split()
)


@dataclass(frozen=True)
class Mention:
    value: str
    position: int


def stem(word: str) -> str:
    """Lower-case and strip simple English plurals: alerts -> alert, advisories -> advisory."""
    w = word.lower().strip("'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) > 4 and w.endswith("ies"):
        return w[:-3] + "y"
    if len(w) > 4 and w.endswith(("ches", "shes", "sses", "xes")):
        return w[:-2]
    if len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        return w[:-1]
    return w


def split_words(text: str) -> list[str]:
    """Words of ``text`` (snake_case and camelCase split), stemmed, stopwords dropped."""
    spaced = re.sub(r"([a-z])([A-Z])", r"\1 \2", text.replace("_", " "))
    return [s for s in (stem(w) for w in _WORD.findall(spaced)) if s not in STOPWORDS and len(s) > 1]


def quoted(text: str) -> list[Mention]:
    """Quoted strings ("...", '...', curly quotes), in order."""
    return [Mention(next(g for g in m.groups() if g is not None).strip(), m.start()) for m in _QUOTED.finditer(text)]


def mask_quotes(text: str) -> str:
    """``text`` with every quoted span blanked out (same length, so positions still line up)."""
    return _QUOTED.sub(lambda m: " " * len(m.group(0)), text)


def keywords(text: str) -> list[Mention]:
    """The request's content words outside quotes, minus state names and codes."""
    masked = _CODE.sub(lambda m: "  " if m.group(0) in STATES else m.group(0), mask_quotes(text))
    masked = _STATE_NAME.sub(lambda m: " " * len(m.group(0)), masked)
    spaced = masked.replace("_", " ")
    out: list[Mention] = []
    for m in _WORD.finditer(spaced):
        s = stem(m.group(0))
        if s not in STOPWORDS and len(s) > 1:
            out.append(Mention(s, m.start()))
    return out


def find_states(text: str) -> list[Mention]:
    """US states asked about, in order: names, upper-case codes, and codes given explicitly.

    A quoted value ('ZZ') or a code after "state"/"code" that is not a real state
    is kept as given: the user asked for exactly that, and the tool should be
    the one to say it is wrong.
    """
    found: list[Mention] = []
    for q in _QUOTED.finditer(text):
        value = next(g for g in q.groups() if g is not None).strip()
        if value.lower() in _BY_NAME:
            found.append(Mention(_BY_NAME[value.lower()], q.start()))
        elif 1 <= len(value) <= 3 and value.isalpha():
            found.append(Mention(value, q.start()))
    masked = mask_quotes(text)
    found += [Mention(m.group(1), m.start(1)) for m in _GIVEN_CODE.finditer(masked)]
    found += [Mention(_BY_NAME[m.group(0).lower()], m.start()) for m in _STATE_NAME.finditer(masked)]
    found += [Mention(m.group(0), m.start()) for m in _CODE.finditer(masked) if m.group(0) in STATES]
    seen: set[str] = set()
    ordered = []
    for mention in sorted(found, key=lambda x: x.position):
        if mention.value not in seen:
            seen.add(mention.value)
            ordered.append(mention)
    return ordered


def find_numbers(text: str) -> list[float]:
    """Numbers outside quotes, in order ("in 6 hours" -> 6; "six" counts too)."""
    masked = mask_quotes(text)
    found = [(m.start(), float(m.group(0))) for m in _NUMBER.finditer(masked)]
    found += [(m.start(), float(_NUMBER_WORDS[m.group(0).lower()])) for m in _NUMBER_WORD.finditer(masked)]
    return [value for _, value in sorted(found)]


def enum_mention(text: str, values: list[str], description: str = "") -> str | None:
    """The enum value the text mentions first, by the value itself or by the words
    the description gives it ("C (Celsius)", "forecast: temperature, rain")."""
    masked = mask_quotes(text)
    best: tuple[int, str] | None = None

    def consider(pattern: str, value: str, flags: int) -> None:
        nonlocal best
        m = re.search(pattern, masked, flags)
        if m and (best is None or m.start() < best[0]):
            best = (m.start(), value)

    for value in values:
        spoken = value.replace("_", " ")
        flags = 0 if len(spoken) <= 2 else re.IGNORECASE  # "C" must be a capital C on its own
        consider(rf"(?<![\w-]){re.escape(spoken)}(?![\w-])", value, flags)
        hint = re.search(rf"\b{re.escape(value)}\s*(?:\(([^)]*)\)|:\s*([^;.]*))", description)
        if hint:
            for word in split_words(hint.group(1) or hint.group(2) or ""):
                consider(rf"\b{re.escape(word)}\w*", value, re.IGNORECASE)
    return best[1] if best else None


_PREPOSITIONS = {"to", "for", "in", "at", "from", "into", "towards", "toward", "near", "about", "on"}


def phrase_after(text: str, anchors: set[str]) -> str | None:
    """The place or name after the request's last anchor word: "Book a flight to Denver" -> "Denver".

    Takes the capitalised words after a preposition if there are any, else the
    rest of the clause.
    """
    masked = mask_quotes(text)
    spots = [m for m in _WORD.finditer(masked) if stem(m.group(0)) in anchors]
    if not spots:
        return None
    rest = masked[spots[-1].end() :]
    rest = re.split(r"[.,;:!?\n]", rest, maxsplit=1)[0]
    words = rest.split()
    while words and words[0].lower() in _PREPOSITIONS | {"a", "an", "the"}:
        words.pop(0)
    if not words:
        return None
    capitalised: list[str] = []
    for word in words:
        if word[:1].isupper() or (capitalised and word.lower() in {"of", "de", "la"}):
            capitalised.append(word)
        elif capitalised:
            break
    return " ".join(capitalised or words).strip() or None


def labelled_list(text: str, label_words: set[str]) -> tuple[str, list[str]] | None:
    """The "Label: a, b and c." whose label best matches ``label_words``: (label, values).

    "States with no report: ZZ." -> ("States with no report", ["ZZ"]); "...: none." -> [].
    """
    best: tuple[int, str, list[str]] | None = None
    for m in re.finditer(r"([A-Za-z][A-Za-z ]{2,60}):\s*([^.\n]*)", text):
        overlap = len(set(split_words(m.group(1))) & label_words)
        if overlap and (best is None or overlap > best[0]):
            parts = [p.strip(" \"'“”‘’") for p in re.split(r",|\band\b", m.group(2).strip())]
            values = [p for p in parts if p and p.lower() not in {"none", "no", "nothing", "n/a", "-"}]
            best = (overlap, m.group(1).strip(), values)
    return (best[1], best[2]) if best else None


def shorten(text: str, limit: int) -> str:
    """``text`` on one line, cut at a word boundary to at most ``limit`` characters."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[: limit - 1]
    if " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-(") + "…"
