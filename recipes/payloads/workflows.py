"""An agent that reads a state's alert history: a ~3 MB tool result, by reference.

The agent's tool ``alert_history_digest`` runs in the workflow: it calls the activity
``fetch_alert_history`` (the raw GeoJSON, ~3 MB) and hands the model a digest of a few hundred
bytes -- counts by event and severity, the latest headlines. A model should not read 3 MB of
polygons; the workflow keeps the document and the model gets what it needs. The 3 MB is still an
activity result, recorded in the history: with ``PAYLOAD_STORE=local`` (or ``s3``) it is recorded
by reference, without it the activity's completion is refused (``PayloadsTooLarge``, over the
2 MB per-payload limit) and the tool tells the model so, in one sentence, instead of the run
hanging on retries that cannot succeed.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from agents import Agent, Runner, function_tool
    from temporalio.openai_agents import ModelActivityParameters

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.core.tool_errors import tool_error_text
    from recipes.payloads.activities import fetch_alert_history
    from recipes.tools.weather_alerts import INVALID_STATE, NWS_REQUEST_REJECTED

TASK_QUEUE = "payloads-agent"
TASK_QUEUE_ENV = "PAYLOADS_TASK_QUEUE"
AGENT_NAME = "Alert historian"
#: The SDK's error type when a payload is over the server's limit (2 MB by default).
PAYLOADS_TOO_LARGE = "PayloadsTooLarge"

INSTRUCTIONS = (
    "You summarize the history of US weather alerts. Use alert_history_digest with a two-letter US "
    "state code (CA, TX, ...), once per state asked about, and answer from its counts and headlines. "
    "If the tool reports an error, tell the user what went wrong in one sentence; do not guess."
)

MODEL_PARAMS = ModelActivityParameters(
    start_to_close_timeout=timedelta(seconds=60),
    heartbeat_timeout=timedelta(seconds=10),
    schedule_to_close_timeout=timedelta(minutes=5),
    retry_policy=MODEL_RETRY_POLICY,
)

#: A result too large to record is too large on every attempt: not retried.
HISTORY_RETRY_POLICY = RetryPolicy(
    maximum_attempts=3,
    maximum_interval=timedelta(seconds=10),
    non_retryable_error_types=[PAYLOADS_TOO_LARGE, INVALID_STATE, NWS_REQUEST_REJECTED],
)


def default_task_queue() -> str:
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def digest(code: str, collection: dict[str, Any]) -> str:
    """A few hundred bytes the model can use, from a few megabytes it should not read."""
    alerts = [f.get("properties") or {} for f in collection.get("features") or [] if isinstance(f, dict)]
    if not alerts:
        return f"No alerts on record for {code}."
    events = Counter(str(a.get("event", "Alert")) for a in alerts)
    severities = Counter(str(a.get("severity", "Unknown")) for a in alerts)
    times = sorted(str(a.get("sent", "")) for a in alerts if a.get("sent"))
    lines = [f"{len(alerts)} alerts on record for {code}" + (f", {times[0][:10]} to {times[-1][:10]}" if times else "") + ".",
             "By event: " + ", ".join(f"{name} {n}" for name, n in events.most_common(6)) + ".",
             "By severity: " + ", ".join(f"{name} {n}" for name, n in severities.most_common()) + ".",
             "Latest: " + "; ".join(str(a.get("headline") or a.get("event")) for a in alerts[:3]) + "."]  # fmt: skip
    return "\n".join(lines)


@function_tool
async def alert_history_digest(state: str) -> str:
    """Summarize the history of weather alerts for a US state: how many of each kind and severity over the past weeks, and the latest headlines.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    try:
        collection = await workflow.execute_activity(
            fetch_alert_history, state, start_to_close_timeout=timedelta(seconds=60), retry_policy=HISTORY_RETRY_POLICY
        )
    except ActivityError as err:
        text = tool_error_text("alert_history_digest", err)
        if isinstance(err.cause, ApplicationError) and err.cause.type == PAYLOADS_TOO_LARGE:
            text += (" The alert history is larger than the 2 MB Temporal accepts in one payload; an operator can "
                     "turn on payloads by reference (PAYLOAD_STORE).")  # fmt: skip
        return text
    return digest(str(state).strip().upper(), collection)


def build_agent() -> Agent:
    return Agent(name=AGENT_NAME, instructions=INSTRUCTIONS, tools=[alert_history_digest])


@workflow.defn
class AlertHistoryWorkflow:
    """Answer one question about a state's past weather alerts."""

    @workflow.run
    async def run(self, question: str) -> str:
        result = await Runner.run(build_agent(), question)
        return str(result.final_output)
