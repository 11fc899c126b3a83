"""The session agent's own tool that does I/O, as a Temporal activity.

Besides it, the agents use the shared ``get_weather_alerts`` (the NWS alerts API,
``$NWS_API_URL``) and ``get_forecast`` (a deterministic forecast stand-in) from ``recipes/tools``.

* :func:`broadcast_public_notice` -- the one tool with a side effect the public would
  see. Every call appends a line to the *outbox* (a JSON-lines file), so a
  notebook can prove what was posted and, as important, what was **not**: a
  rejected approval must leave no line here. File: ``$MICROAGENTS_OUTBOX`` or
  ``<repo>/build/microagents/outbox.jsonl``.

The docstrings are the tool descriptions the model reads (and the words the
offline stand-in model matches on), so they say what each tool is for.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from recipes.tools.weather_alerts import normalize_state

__all__ = [
    "OUTBOX_ENV",
    "outbox_path",
    "broadcast_public_notice",
    "read_outbox",
]

OUTBOX_ENV = "MICROAGENTS_OUTBOX"
REPO_ROOT = Path(__file__).resolve().parents[2]

def outbox_path() -> Path:
    """``$MICROAGENTS_OUTBOX`` or ``<repo>/build/microagents/outbox.jsonl``."""
    env = os.environ.get(OUTBOX_ENV, "").strip()
    return Path(env).expanduser() if env else REPO_ROOT / "build" / "microagents" / "outbox.jsonl"


@activity.defn
async def broadcast_public_notice(state: str, message: str) -> str:
    """Broadcast a public notice (a text message) to every subscriber in a US state. A person must approve each broadcast first.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
        message: The text to broadcast.
    """
    code = normalize_state(state)
    text = " ".join(str(message).split())
    if not text:
        raise ApplicationError("The notice to broadcast is empty.", type="EmptyMessage", non_retryable=True)
    info = activity.info()
    record = {
        "posted_at": datetime.now(timezone.utc).isoformat(),
        "workflow_id": info.workflow_id,
        "activity_id": info.activity_id,
        "state": code,
        "message": text,
    }
    path = outbox_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, (json.dumps(record, ensure_ascii=False) + "\n").encode())
    finally:
        os.close(fd)
    return f"Broadcast notice #{info.activity_id} to subscribers in {code}: {text}"


def read_outbox(workflow_id: str | None = None) -> list[dict[str, Any]]:
    """Lines of the outbox (optionally only those posted by one workflow id)."""
    path = outbox_path()
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if workflow_id is None or record.get("workflow_id") == workflow_id:
            out.append(record)
    return out

