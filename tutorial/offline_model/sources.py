"""Tool outputs as a source of values, for filling an output schema."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from .words import _words


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
