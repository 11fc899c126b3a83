"""An HTTP(S) proxy on loopback that forwards nothing and remembers everything.

Point ``HTTPS_PROXY`` / ``HTTP_PROXY`` / ``ALL_PROXY`` at it (with ``NO_PROXY`` for
loopback) and every attempt a process makes to reach another machine -- a model
API, a trace exporter -- arrives here as ``CONNECT host:port`` or an absolute URL,
is recorded, and is refused (403). Nothing leaves the machine; what tried to is known.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

#: For a child process: send everything but loopback through the logger at ``url``.
NO_PROXY = "127.0.0.1,localhost,::1"


class _Refuse(BaseHTTPRequestHandler):
    def _record_and_refuse(self) -> None:
        target = self.path if self.command != "CONNECT" else f"{self.command} {self.path}"
        with self.server.lock:  # type: ignore[attr-defined]
            self.server.attempts.append(target)  # type: ignore[attr-defined]
        self.send_response(403, "egress refused by the test's proxy")
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_CONNECT = do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _record_and_refuse  # noqa: N815

    def log_message(self, *args: object) -> None:
        pass


class EgressLogger:
    """``with EgressLogger() as egress: ... egress.attempts``"""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
        self._server.attempts = []  # type: ignore[attr-defined]
        self._server.lock = threading.Lock()  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, name="egress-logger", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}"

    @property
    def attempts(self) -> list[str]:
        with self._server.lock:  # type: ignore[attr-defined]
            return list(self._server.attempts)  # type: ignore[attr-defined]

    def env(self) -> dict[str, str]:
        """The environment that routes a process's outside traffic here (both spellings)."""
        env = {name: self.url for name in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY")}
        env.update({name.lower(): value for name, value in env.items()})
        env.update(NO_PROXY=NO_PROXY, no_proxy=NO_PROXY)
        return env

    def __enter__(self) -> EgressLogger:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
