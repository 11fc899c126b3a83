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

    python -m recipes.tutorial.nws_service --port 8787   # --port 0 picks a free port

The first line on stdout is the bound base URL (e.g. ``http://127.0.0.1:8787``)
so a parent process can read it; after that the process writes only to stderr.

From Python (notebooks, tests)::

    from recipes.tutorial.nws_service import WeatherService

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

from __future__ import annotations

import argparse
import atexit
import functools
import json
import os
import queue
import signal
import subprocess
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
from pathlib import Path
from typing import Any

from recipes.tools.sample_alerts import load_sample_alerts
from recipes.tools.us_states import AREA_NAMES

__all__ = ["DEFAULT_PORT", "WeatherService", "main", "make_server"]

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
            is_alerts = path == "/alerts/active" or path.startswith("/alerts/active/area/")

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


def _watch_parent(parent_pid: int, server: Any) -> None:
    """Exit when the process that started us is gone (e.g. a SIGKILLed notebook kernel)."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            sys.stderr.write("nws-local: parent process exited; shutting down\n")
            threading.Thread(target=server.shutdown, daemon=True).start()
            return


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m recipes.tutorial.nws_service",
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
        threading.Thread(target=_watch_parent, args=(args.exit_with_parent, server), daemon=True).start()
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


# --------------------------------------------------------------------------- client / process handle

_RUNNING: set[WeatherService] = set()
_RUNNING_LOCK = threading.Lock()
_ATEXIT_REGISTERED = False


@functools.lru_cache(maxsize=None)
def _opener() -> urllib.request.OpenerDirector:
    # Never route control calls to loopback through an HTTP(S)_PROXY from the environment.
    return urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _stop_all_at_exit() -> None:
    with _RUNNING_LOCK:
        services = list(_RUNNING)
    for svc in services:
        try:
            svc.stop()
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


class WeatherService:
    """Handle on a local weather service: start/stop the subprocess and drive its control API.

    Use :meth:`start` to launch one (it is then stopped by :meth:`stop`, by the
    ``with`` block, or at interpreter exit) or :meth:`attach` to drive one that is
    already running (``stop()`` then leaves it alone).
    """

    def __init__(self, url: str, *, process: subprocess.Popen[str] | None = None, timeout: float = 10.0) -> None:
        self._url = url.rstrip("/")
        self._proc = process
        self._timeout = timeout
        self._owned = process is not None
        self._lock = threading.Lock()

    # ---------------------------------------------------------------- lifecycle
    @classmethod
    def start(
        cls,
        port: int = 0,
        *,
        log_path: str | os.PathLike[str] | None = None,
        startup_timeout: float = 15.0,
    ) -> WeatherService:
        """Start ``python -m recipes.tutorial.nws_service`` in its own process group.

        Args:
            port: Port to bind on 127.0.0.1; 0 picks a free one (see ``.url``).
            log_path: Append the service's stderr (access log) to this file;
                by default it is discarded.
            startup_timeout: Seconds to wait for the URL line and a healthy answer.
        """
        repo_root = Path(__file__).resolve().parents[2]  # the directory holding recipes/
        env = os.environ.copy()
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(repo_root), env.get("PYTHONPATH")) if p)
        env["PYTHONUNBUFFERED"] = "1"
        cmd = [sys.executable, "-m", "recipes.tutorial.nws_service", "--port", str(port)]
        cmd += ["--exit-with-parent", str(os.getpid())]
        if log_path is None:
            cmd.append("--quiet")
        kwargs: dict[str, Any] = {}
        if os.name == "posix":
            kwargs["start_new_session"] = True  # own session => own process group (pgid == pid)
        else:
            kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)
        log_file = open(log_path, "ab") if log_path is not None else None  # noqa: SIM115
        try:
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, our own module
                cmd,
                cwd=str(repo_root),
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log_file if log_file is not None else subprocess.DEVNULL,
                text=True,
                **kwargs,
            )
        finally:
            if log_file is not None:
                log_file.close()  # the child has its own copy

        svc = cls("http://invalid", process=proc)
        try:
            line = _read_first_line(proc, startup_timeout)
            if not line.startswith("http://"):
                code = proc.poll()
                raise RuntimeError(
                    f"weather service failed to start (exit code {code}): {line or 'no output'}"
                    + (f"; see {log_path}" if log_path else "")
                )
            svc._url = line.rstrip("/")
            svc._wait_healthy(startup_timeout)
        except BaseException:
            svc.stop()
            raise
        finally:
            if proc.stdout is not None:
                proc.stdout.close()

        global _ATEXIT_REGISTERED
        with _RUNNING_LOCK:
            _RUNNING.add(svc)
            if not _ATEXIT_REGISTERED:
                atexit.register(_stop_all_at_exit)
                _ATEXIT_REGISTERED = True
        return svc

    @classmethod
    def attach(cls, url: str | None = None, *, timeout: float = 5.0) -> WeatherService:
        """Drive an already running local service (default: ``$NWS_API_URL``). Never stops it."""
        from recipes.tools.weather_alerts import api_base_url

        svc = cls(url or api_base_url())
        svc._wait_healthy(timeout)
        return svc

    def _wait_healthy(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        last: Exception | None = None
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise RuntimeError(f"weather service exited with code {self._proc.returncode}")
            try:
                if self.health().get("status") == "ok":
                    return
            except (OSError, ValueError, RuntimeError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError(f"no local weather service answering at {self._url}/_control/health: {last}")

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the subprocess (SIGTERM to its process group, then SIGKILL). Idempotent.

        A no-op for services obtained with :meth:`attach`.
        """
        with self._lock:
            proc, self._proc = self._proc, None
        with _RUNNING_LOCK:
            _RUNNING.discard(self)
        if proc is None:
            return
        if proc.poll() is None:  # not reaped yet => pid/pgid still belong to our child
            _signal_group(proc, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                _signal_group(proc, getattr(signal, "SIGKILL", signal.SIGTERM))
                proc.wait(timeout)
        if proc.stdout is not None and not proc.stdout.closed:
            proc.stdout.close()

    def __enter__(self) -> WeatherService:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        how = f"pid={self._proc.pid}" if self._proc is not None else ("stopped" if self._owned else "attached")
        return f"WeatherService(url={self._url!r}, {how})"

    # ---------------------------------------------------------------- properties
    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:8787`` -- what ``NWS_API_URL`` should be set to."""
        return self._url

    @property
    def pid(self) -> int | None:
        """The subprocess pid (also its process group id), or None if attached/stopped."""
        return self._proc.pid if self._proc is not None else None

    def is_running(self) -> bool:
        """Whether the service answers its health check."""
        try:
            return self.health().get("status") == "ok"
        except (OSError, ValueError, RuntimeError):
            return False

    def export_env(self) -> str:
        """Set ``os.environ["NWS_API_URL"]`` to this service (for in-process workers); returns the URL."""
        from recipes.tools.weather_alerts import ENV_API_URL

        os.environ[ENV_API_URL] = self._url
        return self._url

    # ---------------------------------------------------------------- control API
    def health(self) -> dict[str, Any]:
        return self._call("GET", "health")

    def state(self) -> dict[str, Any]:
        """Pending faults, global latency and request count."""
        return self._call("GET", "state")

    def fail_next(self, n: int = 1, status: int = 503, *, retry_after_s: int | None = None) -> None:
        """Answer the next ``n`` /alerts requests with ``status`` (optionally with ``Retry-After``)."""
        self._call("POST", "fail", {"count": n, "status": status, "retry_after_s": retry_after_s})

    def rate_limit_next(self, n: int = 1, retry_after_s: int = 1) -> None:
        """Answer the next ``n`` /alerts requests with 429 and ``Retry-After: retry_after_s``."""
        self._call("POST", "rate_limit", {"count": n, "retry_after_s": retry_after_s})

    def slow_next(self, n: int, seconds: float) -> None:
        """Delay the next ``n`` /alerts requests by ``seconds``, then answer normally."""
        self._call("POST", "slow", {"count": n, "seconds": seconds})

    def set_latency(self, seconds: float) -> None:
        """Delay *every* request by ``seconds`` until changed (0 turns it off)."""
        self._call("POST", "latency", {"seconds": seconds})

    def garbage_next(self, n: int = 1) -> None:
        """Answer the next ``n`` /alerts requests with 200 and an HTML page instead of JSON."""
        self._call("POST", "garbage", {"count": n})

    def reset(self, *, clear_log: bool = True) -> None:
        """Drop pending faults and latency; also empty the request log unless ``clear_log=False``."""
        self._call("POST", "reset", {"clear_log": clear_log})

    def requests(self) -> list[dict[str, Any]]:
        """The request log: one dict per API request that really arrived (oldest first)."""
        return self._call("GET", "requests")["requests"]

    def request_count(self, area: str | None = None) -> int:
        """How many API requests arrived (optionally only those for ``area``)."""
        return sum(1 for r in self.requests() if area is None or r.get("area") == area)

    def clear_requests(self) -> None:
        self._call("DELETE", "requests")

    def _call(self, method: str, name: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self._url}{CONTROL_PREFIX}{name}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        try:
            with _opener().open(req, timeout=self._timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            try:
                detail = json.loads(detail).get("detail", detail)
            except ValueError:
                pass
            raise RuntimeError(f"{method} {CONTROL_PREFIX}{name} -> HTTP {e.code}: {detail}") from None



def _signal_group(proc: subprocess.Popen[str], sig: int) -> None:
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        elif sig == signal.SIGTERM:
            proc.terminate()
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _read_first_line(proc: subprocess.Popen[str], timeout: float) -> str:
    """Read the child's first stdout line without blocking forever (portable: a thread, not select)."""
    assert proc.stdout is not None
    q: queue.Queue[str] = queue.Queue(maxsize=1)
    stdout = proc.stdout
    threading.Thread(target=lambda: q.put(stdout.readline()), daemon=True).start()
    try:
        return q.get(timeout=timeout).strip()
    except queue.Empty:
        raise RuntimeError(f"weather service printed no URL within {timeout:g}s") from None


if __name__ == "__main__":
    raise SystemExit(main())
