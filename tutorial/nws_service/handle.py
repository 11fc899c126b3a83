"""``WeatherService``: start the stand-in as a child process (or attach to a running one)
and drive its control protocol from a notebook or a test."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from tutorial.local_service import loopback_opener, read_url, spawn, stop_at_exit, terminate
from tutorial.nws_service.server import CONTROL_PREFIX

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
        """Start ``python -m tutorial.nws_service`` in its own process group.

        Args:
            port: Port to bind on 127.0.0.1; 0 picks a free one (see ``.url``).
            log_path: Append the service's stderr (access log) to this file;
                by default it is discarded.
            startup_timeout: Seconds to wait for the URL line and a healthy answer.
        """
        proc = spawn("tutorial.nws_service", ["--port", str(port)], env=os.environ, log_path=log_path)
        svc = cls("http://invalid", process=proc)
        try:
            svc._url = read_url(proc, startup_timeout, "weather service",
                                f"; see {log_path}" if log_path else "").rstrip("/")  # fmt: skip
            svc._wait_healthy(startup_timeout)
        except BaseException:
            svc.stop()
            raise

        stop_at_exit(svc)
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
        stop_at_exit(self, forget=True)
        if proc is not None:
            terminate(proc, timeout)

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
            with loopback_opener().open(req, timeout=self._timeout) as resp:
                return json.loads(resp.read() or b"{}")
        except urllib.error.HTTPError as e:
            detail = e.read().decode("utf-8", "replace")
            try:
                detail = json.loads(detail).get("detail", detail)
            except ValueError:
                pass
            raise RuntimeError(f"{method} {CONTROL_PREFIX}{name} -> HTTP {e.code}: {detail}") from None
