"""Notebook 12's and the tests' MCP bench: the project's MCP server over HTTP as a subprocess,
its call log, and what the MCP activities in a history say.

``McpHttpServer.start(...)`` runs ``python -m recipes.mcp.server --transport http`` on a free
port of 127.0.0.1 (its own process group, ended with this process); ``restart(...)`` brings a
new incarnation up on the same URL, with other flags (a tool added, say); ``stop()`` ends it.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tutorial.local_service import read_url, spawn, stop_at_exit, terminate

__all__ = ["McpHttpServer", "calls_around", "listed_tools", "mcp_calls", "read_call_log"]

MODULE = "recipes.mcp.server"


class McpHttpServer:
    """The weather MCP server over streamable HTTP, as a subprocess."""

    def __init__(self, *, stateless: bool, extra_tools: bool, call_log: Path | None, slow_tool_seconds: float,
                 log_path: Path | None, env: dict[str, str]) -> None:  # fmt: skip
        self.stateless = stateless
        self.extra_tools = extra_tools
        self.call_log = call_log
        self.slow_tool_seconds = slow_tool_seconds
        self.log_path = log_path
        self.env = env
        self.url = ""
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None
        self._lock = threading.Lock()

    @classmethod
    def start(cls, *, stateless: bool = False, extra_tools: bool = False, call_log: str | os.PathLike[str] | None = None,
              slow_tool_seconds: float = 0, log_path: str | os.PathLike[str] | None = None,
              env: Mapping[str, str] | None = None) -> McpHttpServer:  # fmt: skip
        """Start the server on a free port; ``call_log`` gets one JSON line per tool call; ``env`` adds to
        this process's environment (``NWS_API_URL``: where its tools get alerts)."""
        server = cls(stateless=stateless, extra_tools=extra_tools, call_log=Path(call_log) if call_log else None,
                     slow_tool_seconds=slow_tool_seconds, log_path=Path(log_path) if log_path else None,
                     env=dict(env or {}))  # fmt: skip
        server._launch()
        return server

    def _launch(self, timeout: float = 30.0) -> None:
        args = ["--transport", "http", "--port", str(self.port)]
        args += ["--stateless"] if self.stateless else []
        args += ["--extra-tools"] if self.extra_tools else []
        args += ["--call-log", str(self.call_log)] if self.call_log else []
        args += ["--slow-tool-seconds", f"{self.slow_tool_seconds:g}"] if self.slow_tool_seconds else []
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("MCP_")}, **self.env}  # the flags say the rest
        with self._lock:
            self._proc = spawn(MODULE, args, env=env, log_path=self.log_path)
        stop_at_exit(self)
        try:
            self.url = read_url(self._proc, timeout, "The MCP server")
        except BaseException:
            self.stop()
            raise
        self.port = int(self.url.rsplit(":", 1)[1].split("/", 1)[0])

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    @property
    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, timeout: float = 5.0) -> None:
        """SIGTERM (then SIGKILL) its process group. Safe to call twice."""
        with self._lock:
            proc, self._proc = self._proc, None
        stop_at_exit(self, forget=True)
        if proc is not None:
            terminate(proc, timeout)

    def restart(self, **changes: Any) -> McpHttpServer:
        """Stop, then start again on the same port with ``changes`` (``extra_tools=True``, ...)."""
        self.stop()
        for name, value in changes.items():
            if name not in ("stateless", "extra_tools", "call_log", "slow_tool_seconds"):
                raise TypeError(f"restart() got an unknown setting {name!r}")
            setattr(self, name, value)
        self._launch()
        return self

    def __enter__(self) -> McpHttpServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        mode = "stateless" if self.stateless else "stateful"
        return f"McpHttpServer({self.url!r}, {mode}, {'pid ' + str(self.pid) if self.running else 'stopped'})"


def read_call_log(path: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The server's call log, oldest first (empty when it has not been written yet)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _results_of(history: Any, suffix: str) -> list[Any]:
    """Decoded results of the completed MCP activities whose type ends in ``suffix``, in order."""
    from temporalio.api.enums.v1 import EventType
    from temporalio.converter import default

    types: dict[int, str] = {}
    results = []
    for event in getattr(history, "events", history):
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            types[event.event_id] = event.activity_task_scheduled_event_attributes.activity_type.name
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
            attrs = event.activity_task_completed_event_attributes
            if types.get(attrs.scheduled_event_id, "").endswith(suffix) and attrs.result.payloads:
                results.append(default().payload_converter.from_payloads(attrs.result.payloads)[0])
    return results


def listed_tools(history: Any) -> list[list[str]]:
    """The tool names each ``list-tools`` activity of the run returned."""
    return [[tool["name"] for tool in result.get("tools", [])] for result in _results_of(history, ".list-tools")]


def mcp_calls(history: Any) -> list[dict[str, Any]]:
    """Each completed ``call-tool``: the result's text and whether the server flagged it an error."""
    return [{"text": " ".join(c.get("text", "") for c in r.get("content", []) if c.get("type") == "text"),
             "is_error": bool(r.get("is_error", r.get("isError")))} for r in _results_of(history, ".call-tool")]  # fmt: skip


def calls_around(log: list[dict[str, Any]], moment: float, tool: str = "get_weather_alerts") -> dict[str, list[str]]:
    """``tool``'s calls in a slow server's call log (it logs their start and end), sorted by what they were
    at ``moment`` (epoch seconds: a kill): ``finished`` (ended before), ``in_flight`` (started before, not
    ended) and ``started_after``; each named by its arguments. Ends pair with starts in order (equal sleeps)."""
    calls: dict[str, list[str]] = {"finished": [], "in_flight": [], "started_after": []}
    for entry in (e for e in log if e.get("tool") == tool):
        if entry.get("event") == "start":
            arguments = json.dumps(entry.get("arguments", {}), sort_keys=True)
            calls["started_after" if entry["time"] >= moment else "in_flight"].append(arguments)
        elif entry.get("event") == "end" and entry["time"] < moment and calls["in_flight"]:
            calls["finished"].append(calls["in_flight"].pop(0))
    return calls
