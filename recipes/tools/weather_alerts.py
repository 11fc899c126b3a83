"""Temporal activities for the weather agent's tools.

The agent (running inside a Temporal workflow) gets these as tools via
``temporalio.openai_agents.workflow.activity_as_tool``; the docstring of each
activity is the tool description the model sees, and its ``Args:`` section
becomes the JSON-schema parameter descriptions.

Where the data comes from: ``$NWS_API_URL`` (default ``http://127.0.0.1:8787``,
the local service in :mod:`tutorial.nws_service`). Set
``NWS_API_URL=https://api.weather.gov`` to use the real National Weather Service.
Other settings (read on every call, so a notebook can change them at run time):

- ``NWS_USER_AGENT`` -- NWS asks every client to identify itself; default
  ``(durable-agents-tutorial, contact@example.com)``.
- ``NWS_TIMEOUT_S`` -- per-request timeout in seconds (default 10).

Errors are raised as ``temporalio.exceptions.ApplicationError`` with a ``type``
from the constants below, so a workflow's retry policy can tell them apart:

===================  =========  ==================================================
type                 retryable  when
===================  =========  ==================================================
InvalidState         no         the input is not a two-letter US state code
NWSRateLimited       yes        HTTP 429; ``next_retry_delay`` = ``Retry-After``
NWSServerError       yes        HTTP 5xx (and 408); honours ``Retry-After`` if sent
NWSTimeout           yes        connect/read timed out
NWSConnectionError   yes        connection refused/reset, DNS, protocol errors
NWSRequestRejected   no         any other 4xx (retrying the same request can't help)
NWSBadResponse       yes        2xx but not the expected JSON (HTML page, truncated)
===================  =========  ==================================================

This module imports only the standard library and ``temporalio`` at import time
(httpx is imported when a request is made), so workflow code can import it
cheaply, even inside the workflow sandbox.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from temporalio import activity
from temporalio.exceptions import ApplicationError

from recipes.tools.us_states import AREA_NAMES

if TYPE_CHECKING:
    import httpx

__all__ = [
    "INVALID_STATE",
    "NWS_BAD_RESPONSE",
    "NWS_CONNECTION_ERROR",
    "NWS_RATE_LIMITED",
    "NWS_REQUEST_REJECTED",
    "NWS_SERVER_ERROR",
    "NWS_TIMEOUT",
    "api_base_url",
    "WEATHER_ACTIVITIES",
    "fetch_alerts",
    "get_weather_alerts",
    "normalize_state",
    "summarize_alerts",
]

INVALID_STATE = "InvalidState"
NWS_RATE_LIMITED = "NWSRateLimited"
NWS_SERVER_ERROR = "NWSServerError"
NWS_TIMEOUT = "NWSTimeout"
NWS_CONNECTION_ERROR = "NWSConnectionError"
NWS_REQUEST_REJECTED = "NWSRequestRejected"
NWS_BAD_RESPONSE = "NWSBadResponse"

ENV_API_URL = "NWS_API_URL"
#: The tutorial's local NWS stand-in (``python -m tutorial.nws_service``).
DEFAULT_API_URL = "http://127.0.0.1:8787"
REAL_NWS_API_URL = "https://api.weather.gov"
ENV_USER_AGENT = "NWS_USER_AGENT"
ENV_TIMEOUT = "NWS_TIMEOUT_S"
DEFAULT_USER_AGENT = "(durable-agents-tutorial, contact@example.com)"
DEFAULT_TIMEOUT_S = 10.0
#: A server asking us to wait longer than this still gets honoured, but capped:
#: an activity that sleeps for an hour is rarely what a chat user wants.
MAX_RETRY_AFTER = timedelta(minutes=5)
MAX_ALERTS_IN_SUMMARY = 10
MAX_AREA_CHARS = 200


def api_base_url() -> str:
    """The NWS base URL to call: ``$NWS_API_URL`` or the local stand-in's default."""
    return (os.environ.get(ENV_API_URL) or DEFAULT_API_URL).rstrip("/")


#: "texas" -> "TX": a real model sometimes passes the name although the schema asks for the code.
_CODE_BY_NAME = {name.lower(): code for code, name in AREA_NAMES.items()}


def normalize_state(state: str) -> str:
    """Return the upper-case two-letter code (a full state name is accepted too), or
    raise a non-retryable ``InvalidState`` error.

    Runs before any I/O: a bad code from the model should fail fast (retrying
    won't fix it) with a message the model can act on.
    """
    text = str(state).strip() if state is not None else ""
    code = _CODE_BY_NAME.get(text.lower(), text.upper())
    if code not in AREA_NAMES:
        shown = str(state).strip() if state is not None else ""
        raise ApplicationError(
            f"'{shown}' is not a US state code; use a two-letter code such as CA or TX.",
            type=INVALID_STATE,
            non_retryable=True,
        )
    return code


def _user_agent() -> str:
    return os.environ.get(ENV_USER_AGENT) or DEFAULT_USER_AGENT


def _timeout_s() -> float:
    raw = os.environ.get(ENV_TIMEOUT)
    try:
        value = float(raw) if raw else DEFAULT_TIMEOUT_S
    except ValueError:
        value = DEFAULT_TIMEOUT_S
    return value if value > 0 else DEFAULT_TIMEOUT_S


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host in ("localhost", "::1") or host.startswith("127.")


@functools.cache
def _tls_context(trust_env: bool) -> ssl.SSLContext:
    """One TLS context per process: building one loads the CA bundle, ~40 ms of CPU, which a
    client made per call would pay on every call (``make bench`` found it)."""
    import httpx

    return httpx.create_ssl_context(trust_env=trust_env)


def _retry_after(response: httpx.Response) -> timedelta | None:
    """Parse ``Retry-After`` (delta-seconds or an HTTP date) into a capped timedelta."""
    raw = response.headers.get("Retry-After")
    if not raw:
        return None
    raw = raw.strip()
    if raw.isdigit():
        delay = timedelta(seconds=int(raw))
    else:
        try:
            when = parsedate_to_datetime(raw)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        delay = max(when - datetime.now(timezone.utc), timedelta(0))
    return min(delay, MAX_RETRY_AFTER)


def _snippet(text: str, limit: int = 80) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


def _problem_detail(response: httpx.Response) -> str:
    """The ``detail``/``title`` of an RFC 7807 problem body, else the start of the body."""
    try:
        body = response.json()
    except ValueError:
        return _snippet(response.text)
    if isinstance(body, dict):
        return str(body.get("detail") or body.get("title") or _snippet(response.text))
    return _snippet(response.text)


async def fetch_alerts(
    state: str,
    base_url: str | None = None,
    *,
    timeout: float | None = None,
    user_agent: str | None = None,
    client: httpx.AsyncClient | None = None,
    past: bool = False,
) -> dict[str, Any]:
    """Fetch ``/alerts/active?area=STATE`` and return the GeoJSON FeatureCollection.

    With ``past=True``: ``/alerts?area=STATE&limit=500``, the state's most recent 500 alerts,
    expired ones included, each with its geometry -- megabytes for a busy state.

    Usable outside Temporal (plain ``await fetch_alerts("CA")``). Every failure
    is an ``ApplicationError`` whose ``type``/``non_retryable``/``next_retry_delay``
    tell Temporal what to do (see the module docstring).

    Args:
        state: Two-letter US state code; case and surrounding spaces are ignored.
        base_url: API base URL; default ``$NWS_API_URL`` or the local service.
        timeout: Seconds per request; default ``$NWS_TIMEOUT_S`` or 10.
        user_agent: ``User-Agent`` header; default ``$NWS_USER_AGENT``.
        client: Reuse an ``httpx.AsyncClient`` (its own settings apply) instead
            of creating one per call.
    """
    import httpx

    code = normalize_state(state)
    base = (base_url or api_base_url()).rstrip("/")
    url = f"{base}/alerts" if past else f"{base}/alerts/active"
    params = {"area": code, "limit": "500"} if past else {"area": code}
    seconds = timeout if timeout is not None else _timeout_s()
    headers = {"User-Agent": user_agent or _user_agent(), "Accept": "application/geo+json"}

    try:
        if client is not None:
            response = await client.get(url, params=params, headers=headers)
        else:
            trust_env = not _is_loopback(base)
            async with httpx.AsyncClient(
                timeout=httpx.Timeout(seconds, connect=min(seconds, 5.0)),
                follow_redirects=True,
                # Proxies from the environment are fine for the real API, but must
                # never capture requests meant for the service on loopback.
                trust_env=trust_env,
                verify=_tls_context(trust_env),
            ) as owned:
                response = await owned.get(url, params=params, headers=headers)
    except httpx.TimeoutException as e:
        raise ApplicationError(
            f"NWS API timed out after {seconds:g}s ({type(e).__name__}) for area {code}",
            type=NWS_TIMEOUT,
        ) from e
    except httpx.TransportError as e:
        raise ApplicationError(
            f"Could not reach the NWS API at {base} ({type(e).__name__}: {e})",
            type=NWS_CONNECTION_ERROR,
        ) from e

    status = response.status_code
    if status == 429:
        delay = _retry_after(response)
        raise ApplicationError(
            f"NWS API rate limit hit (HTTP 429) for area {code}"
            + (f"; retry after {delay.total_seconds():g}s" if delay is not None else ""),
            type=NWS_RATE_LIMITED,
            next_retry_delay=delay,
        )
    if status >= 500 or status == 408:
        delay = _retry_after(response)
        raise ApplicationError(
            f"NWS API is unavailable (HTTP {status}) for area {code}: {_problem_detail(response)}",
            type=NWS_SERVER_ERROR,
            next_retry_delay=delay,
        )
    if status >= 400:
        raise ApplicationError(
            f"NWS API rejected the request for area {code} (HTTP {status}): {_problem_detail(response)}",
            type=NWS_REQUEST_REJECTED,
            non_retryable=True,
        )
    if not 200 <= status < 300:
        raise ApplicationError(
            f"Unexpected HTTP {status} from the NWS API for area {code}",
            type=NWS_BAD_RESPONSE,
            non_retryable=True,
        )

    # A 2xx that is not the expected JSON is retryable on purpose: in practice it
    # is a proxy/CDN error or maintenance page, a captive portal or a truncated
    # body -- all transient. If the API had really changed format, the retry
    # policy's maximum_attempts still bounds the damage.
    content_type = response.headers.get("Content-Type", "<none>")
    try:
        data = json.loads(response.content)
    except ValueError:
        data = None
    if not isinstance(data, dict) or not isinstance(data.get("features"), list):
        raise ApplicationError(
            f"NWS API returned HTTP {status} with Content-Type '{content_type}' that is not an alerts "
            f"FeatureCollection; body starts: {_snippet(response.text)!r}",
            type=NWS_BAD_RESPONSE,
        )
    return data


def summarize_alerts(state: str, collection: dict[str, Any], *, limit: int = MAX_ALERTS_IN_SUMMARY) -> str:
    """Turn a GeoJSON FeatureCollection into a compact text the model can use.

    One line per alert: event, severity, urgency, affected area (truncated),
    the headline and when it ends -- not the whole GeoJSON.
    """
    features = [f for f in collection.get("features") or [] if isinstance(f, dict)]
    if not features:
        return f"No active weather alerts for {state}."
    noun = "alert" if len(features) == 1 else "alerts"
    lines = [f"{len(features)} active weather {noun} for {state}:"]
    for i, feature in enumerate(features[:limit], start=1):
        p = feature.get("properties") or {}
        area = str(p.get("areaDesc") or "unspecified area")
        if len(area) > MAX_AREA_CHARS:
            area = area[: MAX_AREA_CHARS - 3].rstrip("; ") + "..."
        lines.append(
            f"{i}. {p.get('event', 'Alert')} (severity: {p.get('severity', 'Unknown')}, "
            f"urgency: {p.get('urgency', 'Unknown')}) - {area}"
        )
        if p.get("headline"):
            lines.append(f"   {p['headline']}")
        ends = p.get("ends") or p.get("expires")
        if ends:
            lines.append(f"   Until: {ends}")
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
    collection = await fetch_alerts(code)
    return summarize_alerts(code, collection)


#: Register these on the worker: ``Worker(..., activities=WEATHER_ACTIVITIES)``.
WEATHER_ACTIVITIES = [get_weather_alerts]
