"""The alert-history tool's I/O: a state's last 500 weather alerts, geometry and all.

``fetch_alert_history`` returns the NWS API's ``/alerts?area=XX&limit=500`` FeatureCollection as it
comes: about 3 MB for a busy state (each alert carries its polygon and full text). That is over
Temporal's 2 MB limit for one payload, so without payloads by reference the activity cannot
hand its result back: its completion is refused with ``PayloadsTooLarge``, which no retry can
fix (the workflow's retry policy lists it as non-retryable). With ``PAYLOAD_STORE`` set, the
result goes to the store and the history records a reference of a few hundred bytes.
"""

from __future__ import annotations

from typing import Any

from temporalio import activity

from recipes.tools.weather_alerts import fetch_alerts, normalize_state

__all__ = ["fetch_alert_history"]


@activity.defn
async def fetch_alert_history(state: str) -> dict[str, Any]:
    """The last 500 alerts for a US state from the NWS API, expired ones included (GeoJSON)."""
    return await fetch_alerts(normalize_state(state), past=True)
