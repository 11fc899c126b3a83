"""The weather tool's activity: active US weather alerts from the National Weather Service API.

Read on every call: ``NWS_API_URL`` (default ``http://127.0.0.1:8787``, the tutorial's stand-in;
``https://api.weather.gov`` for the real one), ``NWS_USER_AGENT`` and ``NWS_TIMEOUT_S`` (default 10). Each
failure is an ``ApplicationError`` whose ``type`` tells a retry policy what to do (the table is in
``recipes/tools/README.md``). httpx is imported when a request is made, so workflow code imports this cheaply.
"""

from __future__ import annotations

import functools
import json
import os
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

from temporalio import activity
from temporalio.exceptions import ApplicationError

from recipes.tools.us_states import AREA_NAMES

INVALID_STATE, NWS_REQUEST_REJECTED, NWS_BAD_RESPONSE = "InvalidState", "NWSRequestRejected", "NWSBadResponse"
NWS_RATE_LIMITED, NWS_SERVER_ERROR = "NWSRateLimited", "NWSServerError"
NWS_TIMEOUT, NWS_CONNECTION_ERROR = "NWSTimeout", "NWSConnectionError"
ENV_API_URL, ENV_TIMEOUT = "NWS_API_URL", "NWS_TIMEOUT_S"
DEFAULT_USER_AGENT = "(durable-agents-tutorial, contact@example.com)"  # NWS asks every client to name itself
MAX_RETRY_AFTER = timedelta(minutes=5)  # a server asking for a longer wait gets this: a person is waiting
_CODE_BY_NAME = {name.lower(): code for code, name in AREA_NAMES.items()}  # "texas" -> "TX": models do that


def api_base_url() -> str:
    return (os.environ.get(ENV_API_URL) or "http://127.0.0.1:8787").rstrip("/")


def normalize_state(state: str) -> str:
    """The two-letter code (a state's name is accepted too), or a non-retryable ``InvalidState`` before any
    I/O: retrying cannot fix a bad code, and the message says what the model should send."""
    text = str(state).strip() if state is not None else ""
    code = _CODE_BY_NAME.get(text.lower(), text.upper())
    if code not in AREA_NAMES:
        raise ApplicationError(f"'{text}' is not a US state code; use a two-letter code such as CA or TX.",
                               type=INVALID_STATE, non_retryable=True)  # fmt: skip
    return code


@functools.cache
def _tls_context(trust_env: bool) -> Any:
    """One per process: loading the CA bundle costs ~40 ms of CPU a call (``make bench`` found it)."""
    import httpx

    return httpx.create_ssl_context(trust_env=trust_env)


def _retry_after(response: Any) -> timedelta | None:
    """``Retry-After`` (seconds or an HTTP date), capped at ``MAX_RETRY_AFTER``."""
    raw = response.headers.get("Retry-After", "").strip()
    try:
        delay = timedelta(seconds=int(raw)) if raw.isdigit() else parsedate_to_datetime(raw) - datetime.now(timezone.utc)
    except (TypeError, ValueError):
        return None
    return min(max(delay, timedelta(0)), MAX_RETRY_AFTER)


def _snippet(response: Any) -> str:
    """An RFC 7807 problem's ``detail``/``title``, else the start of the body."""
    try:
        body = response.json()
        text = str(body.get("detail") or body.get("title") or "") if isinstance(body, dict) else ""
    except ValueError:
        text = ""
    text = text or " ".join(response.text.split())
    return text if len(text) <= 80 else text[:77] + "..."


async def fetch_alerts(state: str, base_url: str | None = None, *, past: bool = False) -> dict[str, Any]:
    """The GeoJSON FeatureCollection of ``/alerts/active?area=STATE`` (``past=True``: ``/alerts``, the state's
    500 most recent with their geometry -- megabytes). Usable outside Temporal."""
    import httpx

    code, base = normalize_state(state), (base_url or api_base_url()).rstrip("/")
    url, params = (f"{base}/alerts", {"area": code, "limit": "500"}) if past else (f"{base}/alerts/active", {"area": code})
    seconds = float(os.environ.get(ENV_TIMEOUT) or 10)
    headers = {"User-Agent": os.environ.get("NWS_USER_AGENT") or DEFAULT_USER_AGENT, "Accept": "application/geo+json"}
    host = urlsplit(base).hostname or ""
    trust_env = host not in ("localhost", "::1") and not host.startswith("127.")  # proxies serve the real API only
    try:
        async with httpx.AsyncClient(timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)), follow_redirects=True,
                                     trust_env=trust_env, verify=_tls_context(trust_env)) as client:  # fmt: skip
            response = await client.get(url, params=params, headers=headers)
    except httpx.TimeoutException as e:
        raise ApplicationError(f"NWS API timed out after {seconds:g}s ({type(e).__name__}) for area {code}", type=NWS_TIMEOUT) from e
    except httpx.TransportError as e:
        raise ApplicationError(f"Could not reach the NWS API at {base} ({type(e).__name__}: {e})", type=NWS_CONNECTION_ERROR) from e
    status = response.status_code
    if status == 429:
        delay = _retry_after(response)
        wait = f"; retry after {delay.total_seconds():g}s" if delay is not None else ""
        raise ApplicationError(f"NWS API rate limit hit (HTTP 429) for area {code}{wait}", type=NWS_RATE_LIMITED, next_retry_delay=delay)
    if status >= 500 or status == 408:
        raise ApplicationError(f"NWS API is unavailable (HTTP {status}) for area {code}: {_snippet(response)}",
                               type=NWS_SERVER_ERROR, next_retry_delay=_retry_after(response))  # fmt: skip
    if not 200 <= status < 300:
        raise ApplicationError(f"NWS API rejected the request for area {code} (HTTP {status}): {_snippet(response)}",
                               type=NWS_REQUEST_REJECTED, non_retryable=True)  # fmt: skip
    try:  # a 2xx that is not alerts JSON (a proxy's page, a truncated body) is retried on purpose
        data = json.loads(response.content)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise ApplicationError(f"NWS API returned HTTP {status} with Content-Type '{response.headers.get('Content-Type', '<none>')}' "
                               f"that is not an alerts FeatureCollection; body starts: {_snippet(response)!r}",
                               type=NWS_BAD_RESPONSE)  # fmt: skip
    return data


def summarize_alerts(state: str, collection: dict[str, Any], *, limit: int = 10) -> str:
    """One line per alert (event, severity, urgency, area), its headline and end: not the whole GeoJSON."""
    features = [f for f in collection.get("features") or [] if isinstance(f, dict)]
    if not features:
        return f"No active weather alerts for {state}."
    lines = [f"{len(features)} active weather {'alert' if len(features) == 1 else 'alerts'} for {state}:"]
    for i, feature in enumerate(features[:limit], start=1):
        p = feature.get("properties") or {}
        area = str(p.get("areaDesc") or "unspecified area")
        area = area if len(area) <= 200 else area[:197].rstrip("; ") + "..."
        lines.append(f"{i}. {p.get('event', 'Alert')} (severity: {p.get('severity', 'Unknown')}, "
                     f"urgency: {p.get('urgency', 'Unknown')}) - {area}")  # fmt: skip
        lines += [f"   {p['headline']}"] if p.get("headline") else []
        lines += [f"   Until: {ends}"] if (ends := p.get("ends") or p.get("expires")) else []
    if len(features) > limit:
        lines.append(f"... and {len(features) - limit} more.")
    return "\n".join(lines)


@activity.defn
async def get_weather_alerts(state: str) -> str:
    """Get active weather alerts (warnings, watches, advisories) for a US state from the National Weather Service.

    Args:
        state: Two-letter US state code, e.g. CA, TX or NY.
    """
    code = normalize_state(state)  # before any I/O; non-retryable if invalid
    return summarize_alerts(code, await fetch_alerts(code))


#: Register these on the worker: ``Worker(..., activities=WEATHER_ACTIVITIES)``.
WEATHER_ACTIVITIES = [get_weather_alerts]
