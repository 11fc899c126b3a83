"""Activities for the durability recipe: a slow, heartbeating tool and a side effect.

``get_storm_report``
    The agent's tool. It reads the weather alerts for one state from the
    sample data the local NWS service serves (no network, deterministic) and
    takes ``$DURABILITY_TOOL_SECONDS`` (default 2 s) doing so, heartbeating
    its progress. Slow on purpose: the notebook kills the worker *inside* it.
    Because it heartbeats, the server notices a dead worker after the
    activity's ``heartbeat_timeout`` (2 s here), not after its much longer
    ``start_to_close_timeout``; and the retry resumes from the last progress
    it heartbeated (the SDK sends heartbeats at most every 80% of the heartbeat
    timeout, so a retry redoes at most ~1.6 s of work).

``send_alert_notification``
    A side effect: it "sends" a notification by writing a row into a local
    outbox (SQLite, ``$DURABILITY_OUTBOX``, default
    ``build/durability/outbox.sqlite``) that stands in for an e-mail/Slack/pager
    API. Temporal retries activities, so a worker that dies *after* sending but
    *before* reporting completion gets the activity again. The activity is
    therefore idempotent: it sends with an idempotency key derived from the
    workflow id and the activity id -- both stable across retries -- and the
    outbox (like Stripe's or most messaging APIs' idempotency keys) accepts a
    key once. Every attempt is also logged in a ``deliveries`` table, so you
    can see two attempts and one notification.

Test hook: with ``$DURABILITY_PAUSE_AFTER_SEND_S`` set, the first attempt of
``send_alert_notification`` prints ``NOTIFICATION WRITTEN`` to the worker's log
after the write and then waits that long (heartbeating) before completing, so a
notebook can SIGKILL the worker in exactly the worst moment.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from temporalio import activity

REPO_ROOT = Path(__file__).resolve().parents[2]

TOOL_SECONDS_ENV = "DURABILITY_TOOL_SECONDS"
DEFAULT_TOOL_SECONDS = 2.0
OUTBOX_ENV = "DURABILITY_OUTBOX"
PAUSE_AFTER_SEND_ENV = "DURABILITY_PAUSE_AFTER_SEND_S"
#: What the worker log shows once a notification row is committed (the test hook waits for it).
NOTIFICATION_WRITTEN_TEXT = "NOTIFICATION WRITTEN"
HEARTBEAT_EVERY_S = 0.2


# --------------------------------------------------------------------------- the tool


def _tool_seconds() -> float:
    raw = os.environ.get(TOOL_SECONDS_ENV, "").strip()
    try:
        return max(0.0, float(raw)) if raw else DEFAULT_TOOL_SECONDS
    except ValueError:
        return DEFAULT_TOOL_SECONDS


async def _busy(seconds: float, *, resume: bool = False) -> float:
    """Work for ``seconds`` the way a long tool does: in slices, heartbeating the
    progress between them. With ``resume``, a retried attempt continues from the
    progress the previous attempt last heartbeated (its checkpoint) instead of
    starting over. Returns the seconds of work this attempt had to do."""
    done = 0.0
    details = activity.info().heartbeat_details if resume else ()
    if details:
        try:
            done = min(seconds, float(details[0]))
        except (TypeError, ValueError):
            done = 0.0
    todo = seconds - done
    started = time.monotonic()
    while (elapsed := time.monotonic() - started) < todo:
        activity.heartbeat(round(done + elapsed, 2))
        await asyncio.sleep(min(HEARTBEAT_EVERY_S, todo - elapsed))
    return todo


@activity.defn
async def get_storm_report(state: str) -> str:
    """Get the storm report for one US state: its active weather alerts (warnings, watches, advisories).

    Args:
        state: Two-letter US state code, e.g. CA, TX or FL.
    """
    # Lazy imports: stdlib-only helpers of the weather recipe.
    from recipes.tools.weather_alerts import normalize_state, summarize_alerts
    from recipes.tools.sample_alerts import load_sample_alerts

    code = normalize_state(state)  # a bad code is a non-retryable error
    await _busy(_tool_seconds(), resume=True)
    features = load_sample_alerts()["alerts"].get(code, [])
    return summarize_alerts(code, {"features": features})


# --------------------------------------------------------------------------- the side effect


@dataclass
class Notification:
    """What ``send_alert_notification`` sends."""

    channel: str
    subject: str
    body: str


def outbox_path() -> Path:
    """``$DURABILITY_OUTBOX`` or ``build/durability/outbox.sqlite``."""
    raw = os.environ.get(OUTBOX_ENV, "").strip()
    return Path(raw).expanduser() if raw else REPO_ROOT / "build" / "durability" / "outbox.sqlite"


_SCHEMA = """
CREATE TABLE IF NOT EXISTS notifications (
    idempotency_key TEXT PRIMARY KEY,
    workflow_id TEXT NOT NULL,
    activity_id TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker_pid INTEGER NOT NULL,
    channel TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    sent_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS deliveries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT NOT NULL,
    attempt INTEGER NOT NULL,
    worker_pid INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    at TEXT NOT NULL
);
"""


@contextmanager
def _connect(path: Path | None = None) -> Iterator[sqlite3.Connection]:
    path = path or outbox_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=15, isolation_level=None)
    try:
        conn.row_factory = sqlite3.Row
        conn.executescript(_SCHEMA)
        yield conn
    finally:
        conn.close()


def idempotency_key(workflow_id: str, activity_id: str) -> str:
    """The same for every attempt of one activity execution, different for any other."""
    return f"{workflow_id}/{activity_id}"


def deliver(key: str, notification: Notification, *, workflow_id: str, activity_id: str, attempt: int) -> bool:
    """Write the notification once per key. Returns True if this call sent it."""
    now = datetime.now(timezone.utc).isoformat(timespec="milliseconds")
    with _connect() as conn:
        conn.execute("BEGIN IMMEDIATE")
        cur = conn.execute(
            "INSERT OR IGNORE INTO notifications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (key, workflow_id, activity_id, attempt, os.getpid(),
             notification.channel, notification.subject, notification.body, now),
        )  # fmt: skip
        sent = cur.rowcount == 1
        conn.execute(
            "INSERT INTO deliveries (idempotency_key, attempt, worker_pid, outcome, at) VALUES (?, ?, ?, ?, ?)",
            (key, attempt, os.getpid(), "sent" if sent else "duplicate suppressed", now),
        )
        conn.execute("COMMIT")
    return sent


@activity.defn
async def send_alert_notification(notification: Notification) -> str:
    """Send an alert notification: at most one per workflow step, however often the step is retried."""
    info = activity.info()
    key = idempotency_key(info.workflow_id, info.activity_id)
    sent = await asyncio.to_thread(
        deliver, key, notification,
        workflow_id=info.workflow_id, activity_id=info.activity_id, attempt=info.attempt,
    )  # fmt: skip
    pause = os.environ.get(PAUSE_AFTER_SEND_ENV, "").strip()
    if pause and info.attempt == 1:
        print(f"{NOTIFICATION_WRITTEN_TEXT} key={key} attempt={info.attempt}; pausing {pause}s before completing",
              flush=True)  # fmt: skip
        await _busy(float(pause))
    if sent:
        return f"sent to #{notification.channel} (key {key}, attempt {info.attempt})"
    return f"already sent to #{notification.channel} earlier (key {key}); not sent again on attempt {info.attempt}"


def read_outbox(workflow_id: str | None = None, path: Path | None = None) -> list[dict[str, Any]]:
    """Rows of the outbox (every notification really sent), oldest first."""
    if not (path or outbox_path()).exists():
        return []
    with _connect(path) as conn:
        sql = "SELECT * FROM notifications" + (" WHERE workflow_id = ?" if workflow_id else "") + " ORDER BY sent_at"
        return [dict(r) for r in conn.execute(sql, (workflow_id,) if workflow_id else ())]


def read_deliveries(workflow_id: str | None = None, path: Path | None = None) -> list[dict[str, Any]]:
    """Every attempt to deliver (sent or duplicate suppressed), oldest first."""
    if not (path or outbox_path()).exists():
        return []
    with _connect(path) as conn:
        prefix = f"{workflow_id}/"
        sql = "SELECT * FROM deliveries" + (" WHERE substr(idempotency_key, 1, ?) = ?" if workflow_id else "") + " ORDER BY id"
        return [dict(r) for r in conn.execute(sql, (len(prefix), prefix) if workflow_id else ())]


DURABILITY_ACTIVITIES = [get_storm_report, send_alert_notification]
