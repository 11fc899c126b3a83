"""The weather tools as an MCP server: :func:`build_server` (run by :mod:`recipes.mcp.server`).

The same tools the rest of the tutorial gives its agents, with the same names, descriptions and
parameter schemas (taken from ``recipes/tools``, not copied): ``get_weather_alerts(state)`` and
``explain_severity(level)``; with ``extra_tools``, also ``count_alerts(state)``.

Errors come back as MCP tool results with ``isError`` set, for the model to read: a bad state
code or an NWS failure is one sentence (``Error executing tool <name>: <sentence>``, the SDK adds
the prefix); arguments the tool's JSON schema rejects are the SDK's validation message; a tool
that crashes is only ``Error executing tool <name>`` (the traceback stays in the server's log).

The call log (``call_log``) gets one JSON line per call, written before the tool does any work::

    {"event": "start", "tool": ..., "arguments": {...}, "session": <Mcp-Session-Id or null>,
     "pid": ..., "time": <epoch seconds>}

and, when ``slow_tool_seconds`` is set, ``get_weather_alerts`` adds ``{"event": "end", ...,
"outcome": "ok" | "error" | "cancelled"}`` when it answers (or is cancelled). Calls the schema
rejects never reach a tool, so they are not logged.
"""

from __future__ import annotations

import asyncio
import json
import os
import threading
import time
from pathlib import Path
from typing import Annotated, Any, Literal

from agents.function_schema import function_schema
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field
from temporalio.exceptions import ApplicationError

from recipes.tools import weather_alerts
from recipes.tools.alerts_tool import SEVERITY_LEVELS, explain_severity as agents_explain_severity

__all__ = ["SERVER_NAME", "CallLog", "build_server"]

SERVER_NAME = "weather"
SESSION_HEADER = "mcp-session-id"

# Names, descriptions and schemas exactly as the agent sees them when the tools run as activities.
_ALERTS = function_schema(weather_alerts.get_weather_alerts)
_STATE_DESCRIPTION = _ALERTS.params_json_schema["properties"]["state"]["description"]
_LEVEL_DESCRIPTION = agents_explain_severity.params_json_schema["properties"]["level"]["description"]

COUNT_DESCRIPTION = "Count the active weather alerts for a US state (just the number, no details)."

State = Annotated[str, Field(description=_STATE_DESCRIPTION)]
#: The enum of ``recipes.tools.alerts_tool.explain_severity``: the keys of SEVERITY_LEVELS.
Level = Annotated[Literal[tuple(SEVERITY_LEVELS)], Field(description=_LEVEL_DESCRIPTION)]  # type: ignore[valid-type]


class CallLog:
    """Append-only JSON lines, one ``os.write`` each (O_APPEND): whole lines even when several
    server processes share the file, on disk (the kernel's) before the tool goes on."""

    def __init__(self, path: str | os.PathLike[str] | None) -> None:
        self.path = Path(path) if path else None
        self._lock = threading.Lock()
        if self.path is not None:  # fail at start, not at the first call, if the path is unusable
            os.close(os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644))

    def write(self, event: str, tool: str, ctx: Context | None, **fields: Any) -> None:
        if self.path is None:
            return
        record = {"event": event, "tool": tool, **fields, "session": _session_id(ctx),
                  "pid": os.getpid(), "time": round(time.time(), 3)}  # fmt: skip
        line = (json.dumps(record, default=str) + "\n").encode()
        with self._lock:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(fd, line)
            finally:
                os.close(fd)


def _session_id(ctx: Context | None) -> str | None:
    """The streamable-HTTP session this call belongs to; None on stdio and stateless HTTP."""
    try:
        headers = ctx.headers if ctx is not None else None
    except ValueError:  # called outside a request
        return None
    return headers.get(SESSION_HEADER) if headers else None


async def _alerts(state: str) -> tuple[str, dict[str, Any]]:
    """(code, FeatureCollection); a bad code or an NWS failure as a ToolError of one sentence."""
    try:
        code = weather_alerts.normalize_state(state)
        return code, await weather_alerts.fetch_alerts(code)
    except ApplicationError as err:  # every failure fetch_alerts anticipates, after its own timeout
        raise ToolError(err.message) from err


def build_server(*, extra_tools: bool = False, call_log: str | os.PathLike[str] | None = None,
                 slow_tool_seconds: float = 0.0, log_level: str = "INFO") -> MCPServer:  # fmt: skip
    """An MCPServer with the weather tools (``count_alerts`` too with ``extra_tools``)."""
    log = CallLog(call_log)
    server = MCPServer(
        SERVER_NAME,
        instructions="Active US weather alerts from the National Weather Service (or the tutorial's local stand-in).",
        log_level=log_level,  # type: ignore[arg-type]
    )

    async def get_weather_alerts(state: State, ctx: Context) -> str:
        log.write("start", "get_weather_alerts", ctx, arguments={"state": state})
        if not slow_tool_seconds:
            code, collection = await _alerts(state)
            return weather_alerts.summarize_alerts(code, collection)
        outcome = "cancelled"
        try:
            await asyncio.sleep(slow_tool_seconds)
            outcome = "error"
            code, collection = await _alerts(state)
            outcome = "ok"
            return weather_alerts.summarize_alerts(code, collection)
        finally:
            log.write("end", "get_weather_alerts", ctx, outcome=outcome)

    async def explain_severity(level: Level, ctx: Context) -> str:
        log.write("start", "explain_severity", ctx, arguments={"level": level})
        return f"{level}: {SEVERITY_LEVELS.get(level, SEVERITY_LEVELS['Unknown'])}"

    async def count_alerts(state: State, ctx: Context) -> str:
        log.write("start", "count_alerts", ctx, arguments={"state": state})
        code, collection = await _alerts(state)
        count = len([f for f in collection.get("features") or [] if isinstance(f, dict)])
        return f"{count} active weather {'alert' if count == 1 else 'alerts'} for {code}."

    # Plain text results (structured_output=False): prose for a model, no outputSchema.
    server.add_tool(get_weather_alerts, description=_ALERTS.description, structured_output=False)
    server.add_tool(explain_severity, description=agents_explain_severity.description, structured_output=False)
    if extra_tools:
        server.add_tool(count_alerts, description=COUNT_DESCRIPTION, structured_output=False)
    return server
