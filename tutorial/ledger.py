"""A cross-process, append-only ledger of model calls (one JSON object per line).

The model-call meter (:mod:`tutorial.meter`) appends one line for every
model request, whichever backend answers it. Notebooks and tests read the file
back, possibly from a different process than the one that wrote it (a Temporal
worker subprocess writes, the notebook reads). That shows *which* calls were
made, by which agent, inside which workflow/activity attempt, how many tokens
they cost, and whether the same request was paid for twice.

File location
    ``$AGENT_MODEL_LEDGER`` if set, else ``<project root>/build/ledger/model_calls.jsonl``
    (the project root is the folder that holds ``recipes/`` and ``tutorial/``).
    ``AGENT_MODEL_LEDGER=off`` turns the meter off. A missing file reads as an
    empty ledger.

Concurrency
    Each entry is written with a single ``os.write`` on a file descriptor opened
    with ``O_APPEND``, so lines from concurrent processes do not interleave
    (Linux/macOS local file systems). Readers ignore a trailing line that has no
    newline yet (a write in progress) and any line that is not valid JSON.

Positions
    ``Ledger.mark()`` returns the current size of the file in bytes. Pass it to
    ``entries(since=...)`` to read only what was appended afterwards. If the file
    was cleared (truncated) since the mark was taken, ``entries`` reads from the
    start of the file.

The entry format is the meter's (see :mod:`tutorial.meter`). ``summarize``
and ``estimate_cost`` work on any list of such dicts.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

__all__ = [
    "DEFAULT_USD_PER_MILLION_INPUT",
    "DEFAULT_USD_PER_MILLION_OUTPUT",
    "LEDGER_ENV_VAR",
    "Ledger",
    "default_ledger_path",
    "ledger_disabled",
    "estimate_cost",
    "summarize",
]

LEDGER_ENV_VAR = "AGENT_MODEL_LEDGER"
LEDGER_OFF = "off"

REPO_ROOT = Path(__file__).resolve().parents[1]

# Illustrative prices only, in US dollars per million tokens. They are round
# numbers in the range that hosted frontier models were listed at in 2024-2025;
# they are NOT a quote for any provider or model. Pass your own prices to
# ``estimate_cost`` for a real estimate.
DEFAULT_USD_PER_MILLION_INPUT = 2.50
DEFAULT_USD_PER_MILLION_OUTPUT = 10.00


def default_ledger_path() -> Path:
    """``$AGENT_MODEL_LEDGER`` if set and non-empty, else ``<project>/build/ledger/model_calls.jsonl``."""
    env = os.environ.get(LEDGER_ENV_VAR, "").strip()
    if env and env.lower() != LEDGER_OFF:
        return Path(env).expanduser()
    return REPO_ROOT / "build" / "ledger" / "model_calls.jsonl"


def ledger_disabled() -> bool:
    """``AGENT_MODEL_LEDGER=off``: the meter writes nothing."""
    return os.environ.get(LEDGER_ENV_VAR, "").strip().lower() == LEDGER_OFF


class Ledger:
    """An append-only JSON-lines file shared by every process that uses the same path.

    ``Ledger()`` resolves the path once, at construction (see ``default_ledger_path``).
    """

    def __init__(self, path: str | os.PathLike[str] | None = None) -> None:
        self.path = Path(path).expanduser() if path is not None else default_ledger_path()

    def __repr__(self) -> str:
        return f"Ledger({str(self.path)!r})"

    def append(self, entry: Mapping[str, Any]) -> dict[str, Any]:
        """Append one entry as a single line. Adds ``ts`` and ``pid`` if missing.

        Returns the dict that was written.
        """
        record = dict(entry)
        record.setdefault("ts", datetime.now(timezone.utc).isoformat())
        record.setdefault("pid", os.getpid())
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
        data = line.encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            # One write call per line: with O_APPEND the kernel positions each
            # write at the current end of file, so concurrent writers never
            # overwrite or split each other's (small) lines.
            written = os.write(fd, data)
            if written != len(data):  # pragma: no cover - only on a full disk or similar
                raise OSError(f"short write to ledger {self.path}: {written} of {len(data)} bytes")
        finally:
            os.close(fd)
        return record

    def mark(self) -> int:
        """The current end of the ledger (bytes). Use with ``entries(since=...)``."""
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def entries(
        self, since: int | None = None, workflow_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Entries in file order, optionally only those after ``since`` (a ``mark()``)
        and/or only those recorded inside the Temporal workflow ``workflow_id``."""
        try:
            with open(self.path, "rb") as f:
                if since:
                    size = os.fstat(f.fileno()).st_size
                    # A mark beyond the end means the file was cleared since: read it all.
                    if since <= size:
                        f.seek(since)
                data = f.read()
        except FileNotFoundError:
            return []
        out: list[dict[str, Any]] = []
        lines = data.split(b"\n")
        # The last element is b"" when the file ends with a newline, or a line
        # still being written by another process; either way skip it.
        for raw in lines[:-1]:
            if not raw.strip():
                continue
            try:
                entry = json.loads(raw)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            if workflow_id is not None and entry.get("workflow_id") != workflow_id:
                continue
            out.append(entry)
        return out

    def clear(self) -> None:
        """Empty the ledger (the file is truncated, or simply absent)."""
        try:
            with open(self.path, "r+b") as f:
                f.truncate(0)
        except FileNotFoundError:
            pass


def _tokens(entry: Mapping[str, Any], key: str) -> int:
    value = entry.get(key) or 0
    try:
        return int(value)
    except (TypeError, ValueError):
        return 0


def summarize(entries: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """Totals for a list of ledger entries.

    Returns a dict with ``calls``, ``input_tokens``, ``output_tokens``,
    ``total_tokens``, ``by_agent`` and ``by_kind`` (call counts),
    ``duplicated_fingerprints`` ({fingerprint: times seen} for fingerprints seen
    more than once: the same request sent again, e.g. after a crash) and
    ``duplicate_calls`` (how many calls were such repeats).
    """
    entries = list(entries)
    fingerprints = Counter(e.get("fingerprint") for e in entries if e.get("fingerprint"))
    duplicated = {fp: n for fp, n in fingerprints.items() if n > 1}
    input_tokens = sum(_tokens(e, "input_tokens") for e in entries)
    output_tokens = sum(_tokens(e, "output_tokens") for e in entries)
    return {
        "calls": len(entries),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "total_tokens": input_tokens + output_tokens,
        "by_agent": dict(Counter(str(e.get("agent")) for e in entries)),
        "by_kind": dict(Counter(str(e.get("kind")) for e in entries)),
        "duplicated_fingerprints": duplicated,
        "duplicate_calls": sum(n - 1 for n in duplicated.values()),
    }


def estimate_cost(
    entries: Iterable[Mapping[str, Any]],
    usd_per_million_input: float = DEFAULT_USD_PER_MILLION_INPUT,
    usd_per_million_output: float = DEFAULT_USD_PER_MILLION_OUTPUT,
) -> dict[str, Any]:
    """An illustrative dollar estimate for the (estimated) tokens in ``entries``.

    Token counts are the provider's where the ledger says ``tokens_source:
    "provider"``, else ~4-characters-per-token estimates; the default prices are
    illustrative round numbers, not any provider's price list. The result says so
    in ``note``.
    """
    entries = list(entries)
    input_tokens = sum(_tokens(e, "input_tokens") for e in entries)
    output_tokens = sum(_tokens(e, "output_tokens") for e in entries)
    input_usd = input_tokens * usd_per_million_input / 1_000_000
    output_usd = output_tokens * usd_per_million_output / 1_000_000
    return {
        "calls": len(entries),
        "input_tokens": input_tokens,
        "output_tokens": output_tokens,
        "usd_per_million_input": usd_per_million_input,
        "usd_per_million_output": usd_per_million_output,
        "input_usd": round(input_usd, 6),
        "output_usd": round(output_usd, 6),
        "total_usd": round(input_usd + output_usd, 6),
        "note": (
            "Illustrative estimate: token counts are the provider's where it reported them, else "
            "~4 characters per token, and the "
            f"prices (${usd_per_million_input:g}/M input, ${usd_per_million_output:g}/M output) "
            "are example figures, not a provider's price list."
        ),
    }
