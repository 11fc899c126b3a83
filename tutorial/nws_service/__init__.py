"""A local weather service shaped like the US National Weather Service API.

Why it exists
-------------
The tutorial's weather agent calls ``GET /alerts/active?area=XX`` on the NWS API.
To run offline, keyless and deterministically (workshops, CI), this module serves
the *same* response shape from fixed sample data (``sample_alerts.json``) on
loopback -- and lets a notebook break it on purpose (errors, rate limits, latency,
garbage) so you can watch Temporal retry the activity.

Choosing the API (one setting)
------------------------------
The recipe reads the base URL from the environment variable ``NWS_API_URL``
(default ``http://127.0.0.1:8787``, this service's default port)::

    NWS_API_URL=https://api.weather.gov     # use the real National Weather Service

Fault injection and the request log only exist locally, of course.

Running it
----------
As its own process (stdlib only, binds 127.0.0.1)::

    python -m tutorial.nws_service --port 8787   # --port 0 picks a free port

The first line on stdout is the bound base URL (e.g. ``http://127.0.0.1:8787``)
so a parent process can read it; after that the process writes only to stderr.

From Python (notebooks, tests)::

    from tutorial.nws_service import WeatherService

    with WeatherService.start() as svc:     # subprocess on a free port
        os.environ["NWS_API_URL"] = svc.url
        svc.fail_next(2)                    # next two /alerts requests -> 503
        ...
        print(len(svc.requests()), "requests really arrived")

``WeatherService.attach(url)`` drives a service someone else started (and never
stops it).

API endpoints (the NWS subset)
------------------------------
``GET /alerts/active?area=CA`` (also ``area=CA,TX``, ``area=CA&area=TX``, and
``/alerts/active/area/CA``) -> ``200 application/geo+json`` FeatureCollection.
No ``area`` -> every sample alert. An area that is not an upper-case two-letter
US state/territory code -> ``400 application/problem+json`` like the real API.
``GET /`` -> ``{"status": "OK"}``. Anything else -> ``404`` problem.

Control protocol (local only, JSON in and out, never logged, never faulted)
---------------------------------------------------------------------------
=======  =====================  =================================================
GET      /_control/health       ``{"status": "ok", "pid": ..., "url": ...}``
GET      /_control/state        pending faults, global latency, request count
GET      /_control/requests     ``{"requests": [entry, ...]}`` (the request log)
DELETE   /_control/requests     clear the request log only
POST     /_control/fail         ``{"count": N, "status": 503, "retry_after_s": null}``
POST     /_control/rate_limit   ``{"count": N, "retry_after_s": 1}`` -> 429 + Retry-After
POST     /_control/slow         ``{"count": N, "seconds": S}`` -> delay, then answer normally
POST     /_control/latency      ``{"seconds": S}`` -> extra delay on *every* request (0 = off)
POST     /_control/garbage      ``{"count": N}`` -> 200 text/html maintenance page
POST     /_control/reset        ``{"clear_log": true}`` -> no faults, no latency (, empty log)
=======  =====================  =================================================

Faults form one FIFO queue: each ``/alerts`` request takes the next entry, so
``fail_next(2); rate_limit_next(1)`` answers 503, 503, 429, then normally. The
global latency (``set_latency``) is added on top of any queued fault.

Each request-log entry (every non-control request) is a dict::

    {"seq": 1, "time": "2025-...Z", "method": "GET", "path": "/alerts/active",
     "query": "area=CA", "area": "CA", "status": 200, "fault": null,
     "latency_s": 0.0, "user_agent": "(durable-agents-tutorial, ...)"}

``status``/``latency_s`` are what the service decided to answer; the entry is
written *before* the latency sleep, so a client that timed out still shows up.
"""

from tutorial.nws_service.handle import WeatherService
from tutorial.nws_service.server import DEFAULT_PORT, main, make_server

__all__ = ["DEFAULT_PORT", "WeatherService", "main", "make_server"]
