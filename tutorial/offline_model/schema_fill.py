"""Filling JSON schemas: tool arguments from the request, output schemas from tool outputs too."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from .request import _DATE_RE, _DATETIME_RE, _EMAIL_RE, _URL_RE, _Evidence
from .sources import _Sources
from .words import _dedupe, _stem, _terms, _whole_words, _words

# Property names that tell what kind of value a property wants.
_SUMMARY_NAMES = frozenset(
    """summary answer response text message explanation description result content detail
    report reply output overview note""".split()
)
_COUNT_NAMES = frozenset({"count", "total", "num", "number", "n", "how_many"})
_STATE_HINTS = frozenset({"state", "area", "region", "province", "territory"})
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


_Path = tuple[str, ...]  # a property path inside a schema, e.g. ("address", "city")
_Need = tuple[_Path, str]  # a tool argument the request has no value for, and the kind of value it needs


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

    Use ``fill()`` for one object, ``expansions()`` for a tool's arguments. A tool
    argument the request gives no value for, and that no default can stand in for,
    is recorded in ``missing``: the model asks for it instead of inventing one.
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
        self.free_text = True  # the request text can stand for a free-text argument
        self.missing: list[_Need] = []

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
            if _is_state_like(name, desc):
                return list(self.ev.given_codes)
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
                mark = len(self.missing)
                v, found = self.value(b, name, path, depth)
                if found:
                    return v, True
                del self.missing[mark:]  # an alternative not taken needs nothing
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
        need = self._needed(s, name)
        if need is not None:
            self.missing.append((path, need))
        return self._fallback(s, name, path, depth), False

    def _needed(self, s: dict[str, Any], name: str) -> str | None:
        """The kind of value a tool argument without evidence needs from the user, or None
        when a stand-in is no invention: a schema default, an enum's first value, false, a
        count of 1, the request text for free text that says more than the tool's name."""
        if self.sources is not None or "const" in s or "default" in s or isinstance(s.get("enum"), list):
            return None
        t = _main_type(s)
        if t in ("integer", "number"):
            return None if set(_words(name)) & _COUNTISH_NAMES else "number"
        if t == "string" or (t is None and "type" not in s):
            special = _special_kind(name, s)
            if special is not None:
                return special
            kind = _name_kind(name)
            if kind is None and _is_state_like(name, str(s.get("description") or "")):
                return "state"
            return kind or (None if self.free_text else "text")
        return None

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
                # A hard limit: cut after a whole word, or inside the only word when there is no other way.
                text = _whole_words(text, max_len) or text[:max_len]
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
            mark = len(self.missing)
            v, found = self.value(pschema, pname, path + (pname,), depth)
            any_found = any_found or found
            if found or pname in required:
                out[pname] = v
            else:
                del self.missing[mark:]  # left out, so nothing is missing
        return out, any_found

    # -- entry points ------------------------------------------------------
    def fill(self, schema: Mapping[str, Any]) -> dict[str, Any]:
        """One object for ``schema`` (an object schema)."""
        s = self.resolve(schema)
        self.alloc = self._allocate(s)
        return self._object(s, (), 0)[0]

    def expansions(
        self, schema: Mapping[str, Any], limit: int = 5, *, free_text: bool = True
    ) -> tuple[list[dict[str, Any]], list[_Need]]:
        """(tool arguments, missing values). Several argument dicts when the request
        names several values (states, cities, quoted strings, enum values) for one
        top-level one-value string property: "alerts for CA and NY" -> two calls.
        ``free_text=False``: the request says nothing beyond naming the tool, so it
        cannot stand for a free-text argument."""
        s = self.resolve(schema)
        self.alloc = self._allocate(s)
        self.free_text = free_text
        self.missing = []
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
            return [self._object(s, (), 0)[0]], _dedupe(self.missing)
        results = []
        for value in expand_values:
            args = self._object(s, (), 0)[0]
            args[expand_name] = value
            results.append({k: args[k] for k in props if k in args})
        return _dedupe(results), _dedupe(self.missing)
