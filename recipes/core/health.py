"""The worker's health endpoint, for a supervisor: ``GET /healthz`` (the process and its event loop run) and
``GET /readyz`` (200 once the worker polls, 503 from the moment it drains). Off unless ``WORKER_HEALTH_PORT``
is set; :func:`recipes.core.worker.serve` imports this module only then."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from dataclasses import dataclass

from recipes.core.errors import ConfigurationError

HEALTH_PORT_ENV = "WORKER_HEALTH_PORT"  # the worker checks it too, before it imports this module
HEALTH_HOST_ENV = "WORKER_HEALTH_HOST"
DEFAULT_HEALTH_HOST = "127.0.0.1"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"


@dataclass(frozen=True)
class HealthSettings:
    """Where the health endpoint listens (``WORKER_HEALTH_HOST``:``WORKER_HEALTH_PORT``)."""

    host: str = DEFAULT_HEALTH_HOST
    port: int = 0

    @classmethod
    def load(cls) -> HealthSettings | None:
        """From the environment; ``None`` when ``WORKER_HEALTH_PORT`` is unset (no endpoint)."""
        raw = os.environ.get(HEALTH_PORT_ENV, "").strip()
        if not raw:
            return None
        port = int(raw) if raw.isascii() and raw.isdigit() else None
        if port is None or port > 65535:
            raise ConfigurationError(
                f"{HEALTH_PORT_ENV}={raw!r} is not a port number; give 1-65535, e.g. 8080 (0: any free port)."
            )
        return cls(os.environ.get(HEALTH_HOST_ENV, "").strip() or DEFAULT_HEALTH_HOST, port)


class HealthServer:
    """``GET /healthz`` and ``GET /readyz`` over plain asyncio (one request per connection).

    ``state()`` names the worker's state: ``ready`` is the only one ``/readyz`` answers
    200 to; ``/healthz`` answers 200 whenever the event loop can answer at all.
    """

    def __init__(self, settings: HealthSettings, state: Callable[[], str]) -> None:
        self.settings = settings
        self._state = state
        self._server: asyncio.Server | None = None

    async def start(self) -> HealthServer:
        host, port = self.settings.host, self.settings.port
        try:
            self._server = await asyncio.start_server(self._handle, host, port)
        except OSError as err:
            raise ConfigurationError(
                f"The worker's health endpoint cannot listen on {host}:{port} ({err.strerror or err}); "
                f"set {HEALTH_PORT_ENV} to a free port, or {HEALTH_HOST_ENV} to an address of this machine."
            ) from None
        return self

    @property
    def port(self) -> int:
        assert self._server is not None
        return self._server.sockets[0].getsockname()[1]

    def url(self, path: str = HEALTH_PATH) -> str:
        host = self.settings.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}{path}"

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            if not request.strip():
                return  # connected and hung up (a TCP probe), or sent nothing
            for _ in range(100):  # headers, up to the blank line; their content is not needed
                line = await asyncio.wait_for(reader.readline(), 5)
                if line in (b"\r\n", b"\n", b""):
                    break
            parts = request.decode("latin-1").split()
            method, path = (parts[0], parts[1].split("?", 1)[0]) if len(parts) >= 2 else ("", "")
            if not path.startswith("/"):
                status, body = 400, "bad request"
            elif method not in ("GET", "HEAD"):
                status, body = 405, "only GET and HEAD"
            elif path == HEALTH_PATH:
                status, body = 200, "ok"
            elif path == READY_PATH:
                body = self._state()
                status = 200 if body == "ready" else 503
            else:
                status, body = 404, f"not found; try {HEALTH_PATH} or {READY_PATH}"
            reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}[status]
            data = (body + "\n").encode()
            head = (f"HTTP/1.1 {status} {reason}\r\nContent-Type: text/plain; charset=utf-8\r\n"
                    f"Content-Length: {len(data)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n")  # fmt: skip
            writer.write(head.encode() + (b"" if method == "HEAD" else data))
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass  # a client that hangs up or sends nothing gets nothing
        finally:
            writer.close()
