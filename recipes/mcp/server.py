"""An MCP server of our own, serving the tutorial's weather tools (:mod:`recipes.mcp.tools`).

``get_weather_alerts(state)`` and ``explain_severity(level)`` -- the tools the weather agent
otherwise gets as a Temporal activity and a function tool, here behind the Model Context
Protocol, so any MCP client (the Agents SDK's ``MCPServerStdio``/``MCPServerStreamableHttp``,
which the Temporal integration's worker-side factories return) can list and call them. Alerts
come from ``$NWS_API_URL`` (default: the local stand-in, ``python -m tutorial.nws_service``).
Built on ``mcp`` 2.x's high-level ``MCPServer`` (v1's ``FastMCP``).

Running it
----------
Over stdio (the default; the client starts the server as its child and talks over its
stdin/stdout -- nothing to deploy, one server process per connection)::

    python -m recipes.mcp.server

Over streamable HTTP, on 127.0.0.1 only, at ``http://127.0.0.1:PORT/mcp``::

    python -m recipes.mcp.server --transport http --port 8765 [--stateless] [--json-response]

``--port 0`` picks a free port. Over HTTP the first stdout line is the server's URL (or one
``ERROR: ...`` line), then the process writes only to stderr, so a parent can read the URL.

Stateless or stateful (HTTP)
----------------------------
``--stateless``: every request stands alone -- no ``Mcp-Session-Id``, nothing kept between
requests. Any replica behind a load balancer can answer any request, and a restarted server
or worker loses nothing. The right default for tools like these, which keep no state.
``--json-response`` (a plain JSON body instead of an SSE stream per request) suits it too.

Stateful (the default): the server opens an MCP session per client (the ``Mcp-Session-Id``
header, closed after 30 idle minutes) and may keep per-session state in it -- a
subscription, an open browser page. That state lives in one server process and dies with the
connection: when the worker holding the session restarts, or the server does, it is gone. So
keep durable state in the workflow (its history survives both), never in an MCP session; use
a stateful server only for state you can afford to rebuild.

Sessions need the ``initialize`` handshake (protocol 2025-11-25 and earlier). Left to itself,
mcp 2 would also offer stateful servers protocol 2026-07-28, where every request stands alone,
and mcp 2's ``Client`` in its default ``mode="auto"`` -- so the Agents SDK's
``MCPServerStreamableHttp`` -- would take it and never open a session. So a stateful server
here answers ``server/discover`` with the handshake-era versions only (as the Go SDK's do):
those clients fall back to ``initialize`` and get their session. A stateless server offers
2026-07-28 to whoever asks. (Over stdio the process is the session: no session id.)

Flags (and the environment variables that set them when the flag is absent)
-----------------------------------------------------------------------------
``--transport stdio|http``      stdio (default) or streamable HTTP on 127.0.0.1, path ``/mcp``.
``--port N``                    HTTP port (default 8765; 0 = any free port).
``--stateless``                 HTTP: no sessions (see above).
``--json-response``             HTTP: answer with JSON bodies instead of SSE streams.
``--extra-tools``               also serve ``count_alerts(state)`` (``MCP_EXTRA_TOOLS=1``): a tool
                                added to the server, which the next agent run picks up.
``--call-log PATH``             one JSON line per tool call (``MCP_CALL_LOG``), format in
                                :mod:`recipes.mcp.tools`; for tests and demos.
``--slow-tool-seconds N``       ``get_weather_alerts`` sleeps N s before answering
                                (``MCP_SLOW_TOOL_SECONDS``): time to kill the caller mid-call.
``--exit-with-parent PID``      exit once PID is no longer our parent (a SIGKILLed kernel).
``--quiet``                     warnings only on stderr, no HTTP access log.

SIGTERM ends the server promptly: over stdio at once; over HTTP within about two seconds, calls
still running are cancelled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable

__all__ = ["HOST", "MCP_PATH", "main"]

HOST = "127.0.0.1"
MCP_PATH = "/mcp"
DEFAULT_PORT = 8765
ENV_EXTRA_TOOLS = "MCP_EXTRA_TOOLS"
ENV_CALL_LOG = "MCP_CALL_LOG"
ENV_SLOW_TOOL_SECONDS = "MCP_SLOW_TOOL_SECONDS"
#: Seconds uvicorn waits for open HTTP connections after SIGTERM (a cap: the SDK ends its own sooner).
GRACEFUL_SHUTDOWN_S = 1


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _env_seconds(name: str) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        return max(float(raw), 0.0) if raw else 0.0
    except ValueError:
        raise SystemExit(f"ERROR: {name}={raw!r} is not a number of seconds") from None


def _parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m recipes.mcp.server",
        description="An MCP server with the tutorial's weather tools (stdio, or streamable HTTP on 127.0.0.1).",
    )
    parser.add_argument("--transport", choices=("stdio", "http"), default="stdio", help="default: stdio")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"HTTP port (default {DEFAULT_PORT}; 0 = any)")
    parser.add_argument("--stateless", action="store_true", help="HTTP: no MCP sessions, every request stands alone")
    parser.add_argument("--json-response", action="store_true", help="HTTP: JSON bodies instead of SSE streams")
    parser.add_argument("--extra-tools", action="store_true", default=None,
                        help=f"also serve count_alerts (${ENV_EXTRA_TOOLS})")  # fmt: skip
    parser.add_argument("--call-log", metavar="PATH", help=f"append one JSON line per tool call (${ENV_CALL_LOG})")
    parser.add_argument("--slow-tool-seconds", type=float, metavar="N", default=None,
                        help=f"get_weather_alerts waits N s before answering (${ENV_SLOW_TOOL_SECONDS})")  # fmt: skip
    parser.add_argument("--exit-with-parent", type=int, metavar="PID", help="exit when PID is not our parent")
    parser.add_argument("--quiet", action="store_true", help="warnings only on stderr")
    args = parser.parse_args(argv)
    if args.extra_tools is None:
        args.extra_tools = _env_flag(ENV_EXTRA_TOOLS)
    if args.call_log is None:
        args.call_log = os.environ.get(ENV_CALL_LOG) or None
    if args.slow_tool_seconds is None:
        args.slow_tool_seconds = _env_seconds(ENV_SLOW_TOOL_SECONDS)
    return args


def _watch_parent(parent_pid: int, stop: Callable[[], None], poll_s: float = 0.5) -> None:
    """Call ``stop`` once ``parent_pid`` is no longer our parent (its atexit never ran)."""

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(poll_s)
        sys.stderr.write("mcp-server: parent process exited; shutting down\n")
        stop()

    threading.Thread(target=watch, name="mcp-exit-with-parent", daemon=True).start()


async def _handshake_only(ctx, call_next):  # noqa: ANN001, ANN202 - an MCPServer middleware
    """Stateful HTTP: answer ``server/discover`` with the handshake-era versions only (as the Go
    SDK's stateful servers do), so a client in mcp 2's ``mode="auto"`` -- the Agents SDK's --
    falls back to ``initialize`` and gets a session instead of stateless protocol 2026-07-28."""
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    result = await call_next(ctx)  # at this layer, the wire form: a dict
    if ctx.method == "server/discover" and isinstance(result, dict) and "supportedVersions" in result:
        return {**result, "supportedVersions": list(HANDSHAKE_PROTOCOL_VERSIONS)}
    return result


async def _serve_http(server, args: argparse.Namespace) -> int:  # noqa: ANN001 - an MCPServer
    import uvicorn

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, args.port))
        sock.listen(128)  # connections wait in the backlog until uvicorn serves them
    except OSError as err:
        sock.close()
        print(f"ERROR: cannot bind {HOST}:{args.port}: {err}", flush=True)  # still one line for the parent
        return 2
    url = f"http://{HOST}:{sock.getsockname()[1]}{MCP_PATH}"
    print(url, flush=True)
    # From here on stdout is unused: the parent may have stopped reading the pipe.
    try:
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    except (OSError, ValueError):
        pass
    sys.stdout = sys.stderr
    mode = "stateless" if args.stateless else "stateful"
    sys.stderr.write(f"mcp-server: {url} (pid {os.getpid()}, {mode}, "
                     f"{'JSON' if args.json_response else 'SSE'} responses)\n")  # fmt: skip

    if not args.stateless:
        server.middleware.append(_handshake_only)
    app = server.streamable_http_app(
        streamable_http_path=MCP_PATH, stateless_http=args.stateless, json_response=args.json_response, host=HOST
    )
    config = uvicorn.Config(app, log_level="warning" if args.quiet else "info", access_log=not args.quiet,
                            timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S, lifespan="on")  # fmt: skip
    http = uvicorn.Server(config)
    if args.exit_with_parent:
        _watch_parent(args.exit_with_parent, lambda: setattr(http, "should_exit", True))
    # uvicorn turns SIGTERM into a graceful shutdown, then re-raises it with the handler it found
    # here: a no-op, so the process ends with status 0 instead of dying of the signal.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    await http.serve(sockets=[sock])
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parse_args(argv)
    from recipes.mcp.tools import build_server

    try:
        server = build_server(extra_tools=args.extra_tools, call_log=args.call_log,
                              slow_tool_seconds=args.slow_tool_seconds,
                              log_level="WARNING" if args.quiet else "INFO")  # fmt: skip
    except OSError as err:
        # One line where the parent looks: stdout over HTTP, stderr over stdio (stdout is the protocol).
        out = sys.stdout if args.transport == "http" else sys.stderr
        print(f"ERROR: cannot open the call log {args.call_log!r}: {err}", file=out, flush=True)
        return 2
    if args.transport == "http":
        return asyncio.run(_serve_http(server, args))
    # stdio: stdout is the protocol channel, so nothing else may be printed there. SIGTERM keeps
    # its default action (the process ends at once); EOF on stdin (the client is gone) ends it too.
    if args.exit_with_parent:
        _watch_parent(args.exit_with_parent, lambda: os._exit(0))
    try:
        server.run("stdio")
    except* (BrokenPipeError, ConnectionResetError):  # the client went away mid-answer (SIGKILLed)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
