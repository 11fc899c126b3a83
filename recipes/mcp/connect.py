"""How a worker reaches the MCP server: the factory ``OpenAIAgentsPlugin(mcp_servers=...)`` calls.

``MCP_SERVER_URL=http://127.0.0.1:8765/mcp``
    Streamable HTTP to a server that runs on its own (``python -m recipes.mcp.server
    --transport http``): several workers share it, and it can be deployed, restarted or
    scaled apart from them.
otherwise, stdio
    The worker starts the server itself, as a child process, from ``MCP_SERVER_COMMAND``
    (default: this Python running ``-m recipes.mcp.server``). Nothing to deploy; one server
    process per worker (about 1.7 s to start, paid when the connection opens).

The factory runs on the worker, inside the MCP activities, each time the worker opens a
connection. A connection of MCP's handshake-free protocol (stdio here, a ``--stateless`` HTTP
server) is kept per worker and reused by every run until it is idle for 5 minutes or breaks; a
stateful server's connection (the Agents SDK opens it with the handshake) lasts one activity.
Credentials a server needs are read here, from the worker's environment -- never
passed from the workflow as ``factory_argument``, which is recorded in the history. The stdio
child gets only the variables it needs, not the worker's model keys.
"""

from __future__ import annotations

import os
import shlex
import shutil
import sys
from collections.abc import Callable
from typing import Any

from agents import UserError
from agents.mcp import MCPServer, MCPServerStdio, MCPServerStreamableHttp
from temporalio.exceptions import ApplicationError

__all__ = ["SERVER_COMMAND_ENV", "SERVER_URL_ENV", "mcp_server_factory", "server_command"]

SERVER_URL_ENV = "MCP_SERVER_URL"
SERVER_COMMAND_ENV = "MCP_SERVER_COMMAND"
#: What the stdio child inherits from the worker besides the MCP SDK's safe defaults (HOME, PATH...):
#: its own switches and the weather API's, never the worker's model keys.
CHILD_ENV_PREFIXES = ("MCP_", "NWS_")
CHILD_ENV_NAMES = ("PYTHONPATH", "HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "https_proxy", "http_proxy", "no_proxy")
#: Seconds to wait for one MCP answer (connection handshake included) before the attempt fails.
SESSION_TIMEOUT_S = 10.0


def server_command() -> list[str]:
    """The stdio server's command line, from ``MCP_SERVER_COMMAND`` or the default."""
    raw = os.environ.get(SERVER_COMMAND_ENV, "").strip()
    return shlex.split(raw) if raw else [sys.executable, "-m", "recipes.mcp.server"]


class _RefusalsAreFinal:
    """A call the Agents SDK refuses before sending it (its own check of the arguments against the
    listed schema: "missing required parameters") fails for good, in one sentence: a retry sends the
    same arguments. (Whether the SDK checks depends on whether this connection listed the tools;
    unchecked, the server's schema check answers with a tool error instead.)"""

    async def call_tool(self, tool_name: str, arguments: dict[str, Any] | None, meta: dict[str, Any] | None = None):
        try:
            return await super().call_tool(tool_name, arguments, meta)  # type: ignore[misc]
        except UserError as err:
            raise ApplicationError(str(err), type="McpToolCallRefused", non_retryable=True) from None


class _HttpServer(_RefusalsAreFinal, MCPServerStreamableHttp):
    pass


class _StdioServer(_RefusalsAreFinal, MCPServerStdio):
    """``MCPServerStdio`` whose failure to start is one sentence naming the command."""

    def __init__(self, command: list[str], env: dict[str, str]) -> None:
        super().__init__(params={"command": command[0], "args": command[1:], "env": env, "cwd": os.getcwd()},
                         name="weather (stdio)", client_session_timeout_seconds=SESSION_TIMEOUT_S)  # fmt: skip
        self.command_line = shlex.join(command)

    async def connect(self) -> None:
        try:
            await super().connect()
        except Exception as err:
            while getattr(err, "exceptions", None):  # an exception group from anyio: its first real error
                err = err.exceptions[0]
            raise ApplicationError(
                f"MCP server command {self.command_line!r} exited or did not answer the MCP handshake "
                f"({type(err).__name__}: {err or 'no detail'})", type="McpServerStartFailed",
            ) from None  # not chained: the run's root cause is this sentence


def _child_env() -> dict[str, str]:
    from mcp.client.stdio import get_default_environment

    chosen = {k: v for k, v in os.environ.items() if k.startswith(CHILD_ENV_PREFIXES) or k in CHILD_ENV_NAMES}
    return {**get_default_environment(), **chosen}


def mcp_server_factory() -> Callable[[], MCPServer]:
    """The factory to register as ``OpenAIAgentsPlugin(mcp_servers={MCP_SERVER: ...})``."""

    def open_server() -> MCPServer:
        url = os.environ.get(SERVER_URL_ENV, "").strip()
        if url:
            # cache_tools_list stays off here: the workflow keeps the list for its run, and a
            # new run must see the tools the server offers now, not what this connection saw.
            return _HttpServer(params={"url": url, "timeout": SESSION_TIMEOUT_S}, name="weather (http)",
                               client_session_timeout_seconds=SESSION_TIMEOUT_S)  # fmt: skip
        command = server_command()
        if shutil.which(command[0]) is None:
            raise ApplicationError(
                f"MCP server command {command[0]!r} was not found on this worker; "
                f"set {SERVER_COMMAND_ENV} to a command that exists (or {SERVER_URL_ENV} to a server's URL).",
                type="McpServerCommandNotFound", non_retryable=True,
            )  # fmt: skip
        return _StdioServer(command, _child_env())

    return open_server
