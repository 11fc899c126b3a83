"""The HTTP server: the model routes, the API key check, faults, the request log, control.

Model routes (see :mod:`.routes`): OpenAI's ``POST /v1/chat/completions`` and
``POST /v1/responses``, Anthropic's ``POST /v1/messages``, Gemini's
``POST /v1beta/models/{model}:generateContent`` / ``:streamGenerateContent``;
all share the key check, the faults, latency and pace, and the request log, and
each fails in its own provider's error shape. Also ``GET /v1/models`` and
``GET /v1/models/{id}`` (OpenAI's). Anything else is a 404 in the error shape of
the provider its path belongs to. Control routes under ``/_control/`` are never
faulted, logged or key-checked (``health``, ``state``, ``requests``, ``fail``,
``slow``, ``latency``, ``pace``, ``reset``), in the same JSON protocol as the
tutorial's NWS stand-in.

The configured API key is compared and forgotten: it never reaches the request
log, the access log, an error message or a file.
"""

from __future__ import annotations

import hmac
import json
import re
import sys
import threading
import time
import traceback
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .conversation import RequestError
from .misbehaviour import SERVER_ERROR_MESSAGE, SLOW, SmallModel, UnknownBehaviour, cue, misbehave
from .errors import OPENAI_ERRORS
from .policy import decide
from .routes import CHAT, Route, find_route, style_for_path
from .wire import completion_tokens, encode_frame, prompt_tokens

__all__ = ["CONTROL_PREFIX", "DEFAULT_MODEL", "DEFAULT_STREAM_PACE_S", "HOST", "DoubleServer", "make_server", "serving"]

HOST = "127.0.0.1"
DEFAULT_MODEL = "double-1"
DEFAULT_STREAM_PACE_S = 0.005
CONTROL_PREFIX = "/_control/"
MAX_COUNT = 10_000
MAX_SECONDS = 300.0
MAX_LOG_ENTRIES = 10_000
NOT_AN_LLM = "OpenAI wire-format test double; not a language model"
NOT_AN_LLM_ANY = "{} wire-format test double; not a language model"

_REASONS = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 429: "Too Many Requests",
            500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable", 529: "Overloaded"}  # fmt: skip
_PROVIDER_NAMES = {"openai": "OpenAI", "anthropic": "Anthropic", "gemini": "Gemini"}
_QUERY_KEY = re.compile(r"([?&]key=)[^&\s]*")


class _State:
    """Fault queue, latency, stream pace and request log, shared by the handler threads."""

    def __init__(self, pace_s: float) -> None:
        self._lock = threading.Lock()
        self._faults: deque[dict[str, Any]] = deque()
        self._latency_s = 0.0
        self._default_pace_s = pace_s
        self._pace_s = pace_s
        self._log: list[dict[str, Any]] = []
        self._seq = 0

    def add_faults(self, count: int, fault: dict[str, Any]) -> None:
        with self._lock:
            self._faults.extend(dict(fault) for _ in range(count))

    def take_fault(self) -> dict[str, Any] | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def set(self, *, latency_s: float | None = None, pace_s: float | None = None) -> None:
        with self._lock:
            self._latency_s = self._latency_s if latency_s is None else latency_s
            self._pace_s = self._pace_s if pace_s is None else pace_s

    def timing(self) -> tuple[float, float]:
        with self._lock:
            return self._latency_s, self._pace_s

    def record(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._seq += 1
            self._log.append({"seq": self._seq, **entry})
            del self._log[:-MAX_LOG_ENTRIES]

    def requests(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(e) for e in self._log]

    def clear_log(self) -> None:
        with self._lock:
            self._log.clear()

    def reset(self, clear_log: bool) -> None:
        with self._lock:
            self._faults.clear()
            self._latency_s, self._pace_s = 0.0, self._default_pace_s
            if clear_log:
                self._log.clear()

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {"pending_faults": [dict(f) for f in self._faults], "latency_s": self._latency_s,
                    "stream_pace_s": self._pace_s, "request_count": len(self._log)}  # fmt: skip


class _ControlError(Exception):
    pass


def _number(body: dict[str, Any], key: str, default: float | None, lo: float, hi: float) -> float:
    value = body.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise _ControlError(f"'{key}' must be a number between {lo:g} and {hi:g}, got {value!r}")
    return value


class _Handler(BaseHTTPRequestHandler):
    server: DoubleServer
    server_version = "model-double/1.0"
    protocol_version = "HTTP/1.1"  # keep-alive like the real API; streams use chunked encoding

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        if not self.server.quiet:  # the request line only: headers are never logged, a ?key= is blanked
            line = _QUERY_KEY.sub(r"\1***", format % args)
            sys.stderr.write(f"{self.log_date_time_string()} model-double {line}\n")

    # ------------------------------------------------------------------ plumbing
    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, ensure_ascii=False).encode()
        try:
            self.send_response(status, _REASONS.get(status))
            charset = "; charset=UTF-8" if self._provider == "gemini" else ""  # as each provider sends it
            self.send_header("Content-Type", f"application/json{charset}")
            self.send_header("Content-Length", str(len(body)))
            for name, value in {**self._api_headers(), **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    _provider = "openai"
    """Whose API this request is for (sets the id header and the name in ``x-model-double``)."""

    def _api_headers(self) -> dict[str, str]:
        request_id = f"req_{uuid.uuid4().hex}"
        name = _PROVIDER_NAMES.get(self._provider, self._provider)
        if self._provider == "openai":
            return {"x-request-id": request_id, "x-openai-double": NOT_AN_LLM, "x-model-double": NOT_AN_LLM}
        if self._provider == "anthropic":
            return {"request-id": request_id, "x-model-double": NOT_AN_LLM_ANY.format(name)}
        return {"x-model-double": NOT_AN_LLM_ANY.format(name)}

    def _send_stream(self, frames: Any, pace_s: float) -> None:
        try:
            self.send_response(200)
            self.send_header("Content-Type", "text/event-stream; charset=utf-8")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Transfer-Encoding", "chunked")
            for name, value in self._api_headers().items():
                self.send_header(name, value)
            self.end_headers()
            for frame in frames:
                data = encode_frame(frame)
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
                self.wfile.flush()
                if frame.delta and pace_s > 0:
                    time.sleep(pace_s)  # really stream: the client sees the text grow
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _auth(self, route: Route | None = None) -> str:
        """``not checked`` (no key configured), ``missing``, ``wrong`` or ``ok``: the key is compared, never kept."""
        key = self.server.api_key
        if key is None:
            return "not checked"
        query = parse_qs(urlsplit(self.path).query)
        given = (route.api if route else CHAT).key(self.headers, query)  # /v1/models: OpenAI's bearer key
        if not given:
            return "missing"
        return "ok" if hmac.compare_digest(given.strip().encode(), key.encode()) else "wrong"

    def do_GET(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    def do_DELETE(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        raw = self._read_body()
        path, _, query = self.path.partition("?")
        self._provider = "openai"
        if path.startswith(CONTROL_PREFIX):
            try:
                self._control(path[len(CONTROL_PREFIX) :].strip("/"), raw)
            except _ControlError as e:
                self._send_json(400, OPENAI_ERRORS.bad_request(str(e)))
            return
        route = find_route(self.command, path, query, self.headers)
        if route is not None:
            self._provider = route.api.errors.provider
            self._model_request(route, raw)
        elif self.command == "GET" and (path.rstrip("/") == "/v1/models" or path.startswith("/v1/models/")):
            self._models(path)
        else:
            style = style_for_path(path)
            self._provider = style.provider
            self._send_json(404, style.not_found(f"Invalid URL ({self.command} {path})"))

    # ------------------------------------------------------------------ control
    def _control(self, name: str, raw: bytes) -> None:
        st = self.server.state
        if self.command == "GET" and name == "health":
            self._send_json(200, {"status": "ok", "url": self.server.url, "model": self.server.model})
            return
        if self.command == "GET" and name in ("state", "requests"):
            self._send_json(200, st.snapshot() if name == "state" else {"requests": st.requests()})
            return
        if self.command == "DELETE" and name == "requests":
            st.clear_log()
        elif self.command == "POST" and name in ("fail", "slow", "latency", "pace", "reset"):
            try:
                body = json.loads(raw) if raw.strip() else {}
            except ValueError as e:
                raise _ControlError(f"body is not JSON: {e}") from None
            if not isinstance(body, dict):
                raise _ControlError("body must be a JSON object")
            count = int(_number(body, "count", 1, 0, MAX_COUNT))
            if name == "fail":
                status = int(_number(body, "status", 500, 400, 599))
                retry = None if body.get("retry_after_s") is None else _number(body, "retry_after_s", 0, 0, MAX_SECONDS)
                st.add_faults(count, {"kind": "error", "status": status, "retry_after_s": retry})
            elif name == "slow":
                st.add_faults(count, {"kind": "slow", "seconds": _number(body, "seconds", None, 0, MAX_SECONDS)})
            elif name == "latency":
                st.set(latency_s=_number(body, "seconds", None, 0, MAX_SECONDS))
            elif name == "pace":
                st.set(pace_s=_number(body, "seconds", None, 0, 10))
            else:
                st.reset(clear_log=bool(body.get("clear_log", True)))
        else:
            self._send_json(404, OPENAI_ERRORS.not_found(f"no control endpoint {self.command} {CONTROL_PREFIX}{name}"))
            return
        self._send_json(200, st.snapshot())

    # ------------------------------------------------------------------ API
    def _models(self, path: str) -> None:
        if self._auth() in ("missing", "wrong"):
            self._send_json(*OPENAI_ERRORS.unauthorized(self._auth()))
            return
        card = {"id": self.server.model, "object": "model", "created": self.server.created, "owned_by": "openai-double"}
        wanted = path[len("/v1/models/") :] if path.startswith("/v1/models/") else None
        if wanted is None:
            self._send_json(200, {"object": "list", "data": [card]})
        elif wanted == self.server.model:
            self._send_json(200, card)
        else:
            message = f"The model '{wanted}' does not exist"
            self._send_json(404, OPENAI_ERRORS.body(404, message, code="model_not_found", param="model"))

    def _model_request(self, route: Route, raw: bytes) -> None:
        started = time.monotonic()
        st = self.server.state
        api, errors = route.api, route.api.errors
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        info = body if isinstance(body, dict) else {}
        entry: dict[str, Any] = {
            "time": datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "api": api.name, "stream": False, "model": None, "status": 200, "auth": self._auth(route), "tools": [],
            "tool_choice": None, "parallel_tool_calls": None, "decision": None, "tool": None,
            "arguments": None, "reason": None, "fault": None, "latency_s": 0.0, "usage": None,
        }  # fmt: skip
        entry.update(api.summary(info, route))
        if entry["auth"] in ("missing", "wrong"):
            status, payload = errors.unauthorized(entry["auth"])
            self._finish(entry, started, status)
            self._send_json(status, payload)
            return
        fault = st.take_fault()
        latency, pace = st.timing()
        if fault and fault["kind"] == "slow":
            latency += fault["seconds"]
        entry["fault"] = fault["kind"] if fault else None
        entry["latency_s"] = round(latency, 3)
        if fault and fault["kind"] == "error":
            status, retry_after = fault["status"], fault["retry_after_s"]
            headers = {} if retry_after is None else {"Retry-After": f"{retry_after:g}"}
            self._finish(entry, started, status)
            time.sleep(latency)
            self._send_json(status, errors.fault(status, retry_after), headers)
            return
        if body is None or not isinstance(body, dict):
            self._finish(entry, started, 400)
            self._send_json(400, errors.bad_json())
            return
        try:
            request = api.parse(body, route)
            decision = decide(request)
            behaviour = cue(request)
        except (RequestError, UnknownBehaviour) as e:
            entry["reason"] = str(e)
            self._finish(entry, started, 400)
            self._send_json(400, errors.bad_request(str(e), getattr(e, "param", None)))
            return
        except Exception as e:  # a bug in the double: say so loudly, answer like a broken provider
            traceback.print_exc(file=sys.stderr)
            entry["reason"] = f"double crashed: {type(e).__name__}: {e}"
            self._finish(entry, started, 500)
            self._send_json(500, errors.crashed())
            return
        if behaviour == "server_error":  # llama-server's answer to output its grammar could not parse
            entry["reason"] = f"#misbehave:{behaviour}"
            self._finish(entry, started, 500)
            self._send_json(500, errors.body(500, SERVER_ERROR_MESSAGE))
            return
        small = SLOW if behaviour == "slow" else self.server.small_model
        if behaviour and behaviour != "slow":
            decision = misbehave(behaviour, request, decision, api=api.name)
        else:
            decision = small.decide(request, decision)
        tokens = prompt_tokens(request)
        output = completion_tokens(decision, request.max_output_tokens)
        latency += small.first_token_seconds
        writing = small.writing_seconds(output)
        entry.update(decision=decision.kind, tool=decision.tool, arguments=decision.arguments, reason=decision.reason,
                     usage={"input_tokens": tokens, "output_tokens": output},
                     latency_s=round(latency + writing, 3))  # fmt: skip
        self._finish(entry, started, 200)
        time.sleep(latency)
        if not request.stream:
            time.sleep(writing)
            self._send_json(200, api.render(body, request, decision, tokens))
        elif not route.sse:  # Gemini's streamGenerateContent without alt=sse: one JSON array of the chunks
            time.sleep(writing)
            self._send_json(200, [frame.data for frame in api.stream(body, request, decision, tokens)])
        else:
            frames = list(api.stream(body, request, decision, tokens))
            deltas = sum(1 for frame in frames if frame.delta) or 1
            self._send_stream(frames, max(pace, writing / deltas))  # the writing time spread over the deltas

    def _finish(self, entry: dict[str, Any], started: float, status: int) -> None:
        entry["status"] = status
        entry["handled_in_s"] = round(time.monotonic() - started, 4)
        self.server.state.record(entry)


class DoubleServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port: int, *, api_key: str | None, model: str, stream_pace_s: float, quiet: bool,
                 small_model: SmallModel) -> None:  # fmt: skip
        super().__init__((HOST, port), _Handler)
        self.api_key = api_key or None
        self.model = model
        self.quiet = quiet
        self.small_model = small_model
        self.created = int(time.time())
        self.state = _State(stream_pace_s)

    @property
    def root(self) -> str:
        """``http://127.0.0.1:PORT``: Anthropic's base URL (clients add ``/v1/messages``)."""
        return f"http://{HOST}:{self.server_address[1]}"

    @property
    def url(self) -> str:
        """The base URL an OpenAI client uses, ending in ``/v1``."""
        return f"{self.root}/v1"

    @property
    def gemini_url(self) -> str:
        """The base URL a Gemini client uses, ending in ``/v1beta`` (clients add ``/models/{model}:...``)."""
        return f"{self.root}/v1beta"


def make_server(
    port: int = 0,
    *,
    api_key: str | None = None,
    model: str = DEFAULT_MODEL,
    stream_pace_s: float = DEFAULT_STREAM_PACE_S,
    quiet: bool = True,
    small_model: SmallModel = SmallModel(),
) -> DoubleServer:
    """Bind (not start) the double on 127.0.0.1:``port`` (0 = a free port); run it with ``serve_forever``.
    ``small_model`` makes every answer follow that plan at that speed (default: the rules, at once)."""
    return DoubleServer(port, api_key=api_key, model=model, stream_pace_s=stream_pace_s, quiet=quiet,
                        small_model=small_model)  # fmt: skip


@contextmanager
def serving(**options: Any) -> Iterator[DoubleServer]:
    """``make_server(**options)`` answering from a thread of this process until the block ends (for tests)."""
    server = make_server(**options)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
