"""The stand-in's HTTP side: sample data, the fault queue, the request log, the control
protocol (see the package docstring), and ``main`` for ``python -m tutorial.nws_service``."""

from __future__ import annotations

import argparse
import functools
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import deque
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from recipes.tools.sample_alerts import load_sample_alerts
from tutorial.local_service import stop_with_parent
from recipes.tools.us_states import AREA_NAMES

HOST = "127.0.0.1"
DEFAULT_PORT = 8787  # the weather tool's default NWS_API_URL points here

CONTROL_PREFIX = "/_control/"
MAX_FAULT_COUNT = 10_000
MAX_SECONDS = 300.0
MAX_LOG_ENTRIES = 10_000


_GEOJSON_CONTEXT: list[Any] = [
    "https://geojson.org/geojson-ld/geojson-context.jsonld",
    {"@version": "1.1", "wx": "https://api.weather.gov/ontology#", "@vocab": "https://api.weather.gov/ontology#"},
]

GARBAGE_BODY = (
    "<!DOCTYPE html>\n<html><head><title>Service Maintenance</title></head>\n"
    "<body><h1>We'll be right back</h1>\n"
    "<p>api.weather.gov is undergoing scheduled maintenance. Please try again later.</p>\n"
    "</body></html>\n"
)


# --------------------------------------------------------------------------- server


class _ServiceState:
    """Fault queue, global latency and request log, shared by the handler threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: deque[dict[str, Any]] = deque()
        self._latency_s = 0.0
        self._log: list[dict[str, Any]] = []
        self._seq = 0

    def add_faults(self, count: int, fault: dict[str, Any]) -> None:
        with self._lock:
            self._faults.extend(dict(fault) for _ in range(count))

    def set_latency(self, seconds: float) -> None:
        with self._lock:
            self._latency_s = seconds

    def take_fault(self) -> dict[str, Any] | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    @property
    def latency_s(self) -> float:
        with self._lock:
            return self._latency_s

    def record(self, entry: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            self._seq += 1
            entry = {"seq": self._seq, **entry}
            self._log.append(entry)
            del self._log[:-MAX_LOG_ENTRIES]
            return entry

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._log]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def reset(self, clear_log: bool = True) -> None:
        with self._lock:
            self._faults.clear()
            self._latency_s = 0.0
            if clear_log:
                self._log.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pending_faults": [dict(f) for f in self._faults],
                "latency_s": self._latency_s,
                "request_count": len(self._log),
            }


class _ControlError(Exception):
    pass


def _past_alert(sample: dict[str, Any], code: str, index: int) -> dict[str, Any]:
    """The ``index``-th most recent past alert for ``code``: a sample alert moved back ``index``
    hours, with an id of its own and a polygon of 230 points (deterministic, from the index)."""
    sent = datetime(2025, 1, 14, 12, tzinfo=timezone.utc).timestamp() - index * 3600
    stamp = datetime.fromtimestamp(sent, timezone.utc).isoformat()
    alert_id = f"urn:oid:2.49.0.1.840.0.{code.lower()}{index:06d}.001.1"
    lat, lon = 30 + (index * 7919) % 1500 / 100, -120 + (index * 104729) % 3000 / 100
    ring = [[round(lon + 0.4 * ((k * 37) % 100) / 100, 4), round(lat + 0.4 * ((k * 61) % 100) / 100, 4)] for k in range(230)]
    properties = {**sample["properties"], "id": alert_id, "@id": f"https://api.weather.gov/alerts/{alert_id}",
                  "sent": stamp, "effective": stamp, "onset": stamp, "expires": stamp, "ends": stamp}  # fmt: skip
    return {**sample, "id": properties["@id"], "properties": properties,
            "geometry": {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}}  # fmt: skip


def _problem(status: int, title: str, detail: str, *, kind: str | None = None) -> dict[str, Any]:
    correlation = uuid.uuid4().hex[:8]
    return {
        "correlationId": correlation,
        "title": title,
        "type": f"https://api.weather.gov/problems/{kind or title.replace(' ', '')}",
        "status": status,
        "detail": detail,
        "instance": f"https://api.weather.gov/requests/{correlation}",
    }


_REASONS = {
    400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 408: "Request Timeout",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}  # fmt: skip


def _count(body: dict[str, Any]) -> int:
    return _int(body, "count", 1, lo=0, hi=MAX_FAULT_COUNT)


def _int(body: dict[str, Any], key: str, default: int, *, lo: int, hi: int) -> int:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise _ControlError(f"'{key}' must be an integer between {lo} and {hi}, got {value!r}")
    return value


def _opt_int(body: dict[str, Any], key: str) -> int | None:
    if body.get(key) is None:
        return None
    return _int(body, key, 0, lo=0, hi=int(MAX_SECONDS))


def _seconds(body: dict[str, Any]) -> float:
    value = body.get("seconds")
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= MAX_SECONDS:
        raise _ControlError(f"'seconds' must be a number between 0 and {MAX_SECONDS:g}, got {value!r}")
    return float(value)


@functools.lru_cache(maxsize=None)
def _server_class() -> type[ThreadingHTTPServer]:
    """Build the server/handler classes on first use.

    Subclassing ``http.server`` classes at import time would make this module
    unimportable from Temporal workflow code (the workflow sandbox restricts
    those classes), so the subclasses are created lazily.
    """

    class _Handler(BaseHTTPRequestHandler):
        server: Any  # the _NWSServer below
        server_version = "nws-local/1.0"

        # ------------------------------------------------------------------ plumbing
        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
            if not self.server.quiet:
                sys.stderr.write(f"{self.log_date_time_string()} {self.address_string()} {format % args}\n")

        def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> bool:
            try:
                self.send_response(status, _REASONS.get(status))
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
                return True
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (e.g. timed out)
                return False

        def _send_json(self, status: int, payload: Any, content_type: str = "application/json") -> bool:
            return self._send(status, json.dumps(payload, indent=2).encode(), content_type)

        def _read_json_body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            if not raw.strip():
                return {}
            try:
                body = json.loads(raw)
            except ValueError as e:
                raise _ControlError(f"body is not JSON: {e}") from None
            if not isinstance(body, dict):
                raise _ControlError("body must be a JSON object")
            return body

        def do_GET(self) -> None:
            self._dispatch()

        def do_HEAD(self) -> None:
            self._dispatch()

        def do_POST(self) -> None:
            self._dispatch()

        def do_DELETE(self) -> None:
            self._dispatch()

        def _dispatch(self) -> None:
            parts = urllib.parse.urlsplit(self.path)
            if parts.path.startswith(CONTROL_PREFIX):
                try:
                    self._control(parts.path[len(CONTROL_PREFIX) :].strip("/"))
                except _ControlError as e:
                    self._send_json(400, _problem(400, "Bad Request", str(e)), "application/problem+json")
            else:
                self._api(parts)

        # ------------------------------------------------------------------ control
        def _control(self, name: str) -> None:
            st = self.server.state
            method = self.command
            if method in ("GET", "HEAD") and name == "health":
                self._send_json(200, {"status": "ok", "pid": os.getpid(), "url": self.server.url})
            elif method in ("GET", "HEAD") and name == "state":
                self._send_json(200, st.snapshot())
            elif method in ("GET", "HEAD") and name == "requests":
                self._send_json(200, {"requests": st.requests()})
            elif method == "DELETE" and name == "requests":
                st.clear_log()
                self._send_json(200, st.snapshot())
            elif method == "POST" and name in ("fail", "rate_limit", "slow", "latency", "garbage", "reset"):
                body = self._read_json_body()
                if name == "fail":
                    status = _int(body, "status", 503, lo=400, hi=599)
                    retry_after = _opt_int(body, "retry_after_s")
                    st.add_faults(_count(body), {"kind": "error", "status": status, "retry_after_s": retry_after})
                elif name == "rate_limit":
                    retry_after = _int(body, "retry_after_s", 1, lo=0, hi=int(MAX_SECONDS))
                    st.add_faults(_count(body), {"kind": "rate_limit", "status": 429, "retry_after_s": retry_after})
                elif name == "slow":
                    st.add_faults(_count(body), {"kind": "slow", "seconds": _seconds(body)})
                elif name == "latency":
                    st.set_latency(_seconds(body))
                elif name == "garbage":
                    st.add_faults(_count(body), {"kind": "garbage", "status": _int(body, "status", 200, lo=200, hi=599)})
                else:  # reset
                    st.reset(clear_log=bool(body.get("clear_log", True)))
                self._send_json(200, st.snapshot())
            else:
                self._send_json(
                    404,
                    _problem(404, "Not Found", f"no control endpoint {method} {CONTROL_PREFIX}{name}"),
                    "application/problem+json",
                )

        # ------------------------------------------------------------------ API
        def _api(self, parts: urllib.parse.SplitResult) -> None:
            st = self.server.state
            path = parts.path.rstrip("/") or "/"
            query = urllib.parse.parse_qs(parts.query, keep_blank_values=True)
            areas_raw = [a for v in query.get("area", []) for a in v.split(",")]
            if path.startswith("/alerts/active/area/"):
                areas_raw = [path.rsplit("/", 1)[1]]
            is_alerts = path in ("/alerts", "/alerts/active") or path.startswith("/alerts/active/area/")

            fault = st.take_fault() if is_alerts else None
            latency = st.latency_s + (fault["seconds"] if fault and fault["kind"] == "slow" else 0.0)

            headers: dict[str, str] = {"X-Correlation-Id": uuid.uuid4().hex[:8]}
            if fault and fault["kind"] in ("error", "rate_limit"):
                status = int(fault["status"])
                reason = _REASONS.get(status, "Error")
                detail = "Rate limit exceeded. Slow down." if status == 429 else f"Injected fault: HTTP {status}."
                payload: Any = _problem(status, reason, detail)
                ctype = "application/problem+json"
                if fault.get("retry_after_s") is not None:
                    headers["Retry-After"] = str(fault["retry_after_s"])
            elif fault and fault["kind"] == "garbage":
                status, payload, ctype = int(fault["status"]), GARBAGE_BODY, "text/html; charset=utf-8"
            elif self.command not in ("GET", "HEAD"):
                status, ctype = 405, "application/problem+json"
                payload = _problem(405, "Method Not Allowed", f"{self.command} is not supported")
            elif path == "/":
                status, payload, ctype = 200, {"status": "OK"}, "application/json"
            elif path == "/alerts/active" or path.startswith("/alerts/active/area/"):
                status, payload, ctype = self._alerts(areas_raw)
            elif path == "/alerts":
                status, payload, ctype = self._alert_history(areas_raw, query.get("limit", [""])[0])
            else:
                status, ctype = 404, "application/problem+json"
                payload = _problem(404, "Not Found", f"'{parts.path}' is not a valid resource path")

            st.record(
                {
                    "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
                    "method": self.command,
                    "path": parts.path,
                    "query": parts.query,
                    "area": ",".join(areas_raw) if areas_raw else None,
                    "status": status,
                    "fault": fault["kind"] if fault else None,
                    "latency_s": round(latency, 3),
                    "user_agent": self.headers.get("User-Agent"),
                }
            )
            if latency > 0:
                time.sleep(latency)
            if isinstance(payload, str):
                self._send(status, payload.encode(), ctype, headers)
            else:
                self._send(status, json.dumps(payload, indent=4).encode(), ctype, headers)

        def _alerts(self, areas: list[str]) -> tuple[int, Any, str]:
            data = self.server.data
            bad = [a for a in areas if a not in AREA_NAMES]
            if bad:
                problem = _problem(400, "Bad Request", "Bad Request")
                problem["parameterErrors"] = [
                    {
                        "parameter": f"area[{areas.index(a)}]",
                        "message": (
                            f"'{a}' does not have a value in the enumeration of US state/territory codes "
                            "(two upper-case letters, e.g. CA, TX)"
                        ),
                    }
                    for a in bad
                ]
                problem["detail"] = (
                    f"Invalid area {', '.join(repr(a) for a in bad)}: use a two-letter US state code such as CA or TX."
                )
                return 400, problem, "application/problem+json"
            codes = areas or sorted(data["alerts"])
            features = [f for code in codes for f in data["alerts"].get(code, [])]
            if areas:
                title = "Current watches, warnings, and advisories for " + ", ".join(AREA_NAMES[c] for c in areas)
            else:
                title = "Current watches, warnings, and advisories"
            collection = {
                "@context": _GEOJSON_CONTEXT,
                "type": "FeatureCollection",
                "features": features,
                "title": title,
                "updated": data["updated"],
            }
            return 200, collection, "application/geo+json"

        def _alert_history(self, areas: list[str], limit_raw: str) -> tuple[int, Any, str]:
            """``GET /alerts?area=XX&limit=N``: past alerts, newest first, as the real API lists
            them (up to 500), each with its polygon: a few MB for a busy state, as on the real API."""
            if len(areas) != 1 or areas[0] not in AREA_NAMES:
                detail = "Give one area: a two-letter US state code such as CA or TX."
                return 400, _problem(400, "Bad Request", detail), "application/problem+json"
            if limit_raw and not (limit_raw.isdigit() and 1 <= int(limit_raw) <= 500):
                return 400, _problem(400, "Bad Request", "limit must be a number from 1 to 500."), "application/problem+json"
            code, limit = areas[0], int(limit_raw or 500)
            samples = [f for code_alerts in self.server.data["alerts"].values() for f in code_alerts]
            features = [_past_alert(samples[i % len(samples)], code, i) for i in range(limit)]
            collection = {"@context": _GEOJSON_CONTEXT, "type": "FeatureCollection", "features": features,
                          "title": f"Watches, warnings, and advisories for {AREA_NAMES[code]}",
                          "updated": self.server.data["updated"]}  # fmt: skip
            return 200, collection, "application/geo+json"

    class _NWSServer(ThreadingHTTPServer):
        daemon_threads = True
        allow_reuse_address = True

        def __init__(self, address: tuple[str, int], *, data: dict[str, Any], quiet: bool) -> None:
            super().__init__(address, _Handler)
            self.data = data
            self.state = _ServiceState()
            self.quiet = quiet

        @property
        def url(self) -> str:
            return f"http://{HOST}:{self.server_address[1]}"

    return _NWSServer


def make_server(port: int = DEFAULT_PORT, *, data: dict[str, Any] | None = None, quiet: bool = False) -> ThreadingHTTPServer:
    """Bind (but do not start) the service on 127.0.0.1:``port`` (0 = any free port)."""
    return _server_class()((HOST, port), data=data or load_sample_alerts(), quiet=quiet)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tutorial.nws_service",
        description="Local NWS-shaped weather API with fault injection (binds 127.0.0.1 only).",
    )
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port to bind, 0 = any free port (default {DEFAULT_PORT})")
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    parser.add_argument("--exit-with-parent", type=int, metavar="PID", help="shut down when PID is no longer our parent")
    args = parser.parse_args(argv)

    try:
        server = make_server(args.port, quiet=args.quiet)
    except OSError as e:
        # Still exactly one stdout line, so a parent waiting for the URL learns why.
        print(f"ERROR: cannot bind {HOST}:{args.port}: {e}", flush=True)
        return 2

    print(server.url, flush=True)
    # From here on stdout is unused: a parent may have stopped reading the pipe.
    sys.stdout.flush()
    try:
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.stdout = sys.stderr
    sys.stderr.write(f"nws-local: serving NWS-shaped API on {server.url} (pid {os.getpid()}); control at {server.url}{CONTROL_PREFIX}\n")
    sys.stderr.flush()

    def _on_term(signum: int, frame: Any) -> None:
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, _on_term)
    if args.exit_with_parent and os.name == "posix":
        stop_with_parent(args.exit_with_parent, server, "nws-local")
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
