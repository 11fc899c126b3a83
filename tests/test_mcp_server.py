"""The project's MCP server (``python -m recipes.mcp.server``): the weather tools over stdio and
streamable HTTP (stateful and stateless), reached with the ``mcp`` package's own ``Client`` and
with the Agents SDK's ``MCPServerStdio``/``MCPServerStreamableHttp`` (what the Temporal
integration's worker-side factories return), against the local NWS stand-in.

Every server is a real subprocess, stopped by its pid; the call log (``--call-log``) shows what
reached a tool, in which session and in which process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from agents.mcp import MCPServerStdio, MCPServerStreamableHttp
from mcp import Client, StdioServerParameters

from recipes.mcp.tools import build_server
from recipes.tools import weather_alerts
from recipes.tools.alerts_tool import SEVERITY_LEVELS
from recipes.tools.alerts_tool import explain_severity as agents_explain_severity

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parents[1]
SERVER = [sys.executable, "-m", "recipes.mcp.server", "--quiet"]
BASE_TOOLS = ["get_weather_alerts", "explain_severity"]
BAD_STATE = "'ZZ' is not a US state code; use a two-letter code such as CA or TX."
START_TIMEOUT_S = 30  # a cold start on a busy 2-core machine; ~2 s is usual


# ---------------------------------------------------------------- helpers


def _env(**extra: str) -> dict[str, str]:
    """The children's environment: ours (NWS_API_URL from the ``weather`` fixture), no MCP_*
    switches from the shell, the repository importable."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCP_")}
    return {**env, "PYTHONPATH": str(REPO_ROOT), "PYTHONUNBUFFERED": "1", **extra}


def _stdio(*args: str, **env: str) -> StdioServerParameters:
    return StdioServerParameters(command=SERVER[0], args=[*SERVER[1:], *args], env=_env(**env), cwd=str(REPO_ROOT))


def _agents_stdio(*args: str, **env: str) -> MCPServerStdio:
    return MCPServerStdio(params={"command": SERVER[0], "args": [*SERVER[1:], *args], "env": _env(**env),
                                  "cwd": str(REPO_ROOT)}, client_session_timeout_seconds=START_TIMEOUT_S)  # fmt: skip


def _calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _starts(log: Path) -> list[dict]:
    return [c for c in _calls(log) if c["event"] == "start"]


def _text(result) -> str:
    assert len(result.content) == 1, result.content
    return result.content[0].text


def _exited(pid: int) -> bool:
    """Gone, or a zombie nobody has reaped yet."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def _wait_for(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout:g}s")
        time.sleep(0.05)
    return value


async def _expected_alerts(state: str) -> str:
    """What get_weather_alerts must answer: the summary the activity version would give."""
    return weather_alerts.summarize_alerts(state, await weather_alerts.fetch_alerts(state))


async def _count(state: str) -> int:
    return len((await weather_alerts.fetch_alerts(state))["features"])


class HttpServer:
    """``python -m recipes.mcp.server --transport http --port 0 ...`` as a child of the test."""

    def __init__(self, tmp: Path, *args: str) -> None:
        self.log = tmp / "calls.jsonl"
        self.proc = subprocess.Popen(
            [*SERVER, "--transport", "http", "--port", "0", "--call-log", str(self.log), *args,
             "--exit-with-parent", str(os.getpid())],
            cwd=REPO_ROOT, env=_env(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True,
            start_new_session=True,
        )  # fmt: skip
        self.url = self.proc.stdout.readline().strip()
        self.proc.stdout.close()
        assert self.url.startswith("http://127.0.0.1:") and self.url.endswith("/mcp"), self.url

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


@pytest.fixture(autouse=True)
def _no_proxy_for_loopback(monkeypatch):
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.setenv(name, "127.0.0.1,localhost")


@pytest.fixture(scope="module")
def stateful(weather, tmp_path_factory):
    server = HttpServer(tmp_path_factory.mktemp("stateful"))
    yield server
    server.stop()


@pytest.fixture(scope="module")
def stateless(weather, tmp_path_factory):
    server = HttpServer(tmp_path_factory.mktemp("stateless"), "--stateless", "--json-response", "--extra-tools")
    yield server
    server.stop()


# ---------------------------------------------------------------- stdio


def test_stdio_serves_the_tutorials_weather_tools(weather, tmp_path):
    log = tmp_path / "calls.jsonl"

    async def go():
        async with Client(_stdio("--call-log", str(log)), read_timeout_seconds=START_TIMEOUT_S) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert list(tools) == BASE_TOOLS  # no count_alerts without --extra-tools
            # The same descriptions and enum as the tools the agent gets as activity / function tool.
            assert tools["explain_severity"].description == agents_explain_severity.description
            level = tools["explain_severity"].input_schema["properties"]["level"]
            assert level["enum"] == list(SEVERITY_LEVELS) == agents_explain_severity.params_json_schema[
                "properties"]["level"]["enum"]  # fmt: skip
            assert tools["get_weather_alerts"].input_schema["required"] == ["state"]

            alerts = await client.call_tool("get_weather_alerts", {"state": "CA"})
            assert not alerts.is_error
            assert _text(alerts) == await _expected_alerts("CA")
            assert _text(alerts).startswith(f"{await _count('CA')} active weather alerts for CA:")

            severe = await client.call_tool("explain_severity", {"level": "Severe"})
            assert (severe.is_error, _text(severe)) == (False, f"Severe: {SEVERITY_LEVELS['Severe']}")

    asyncio.run(go())
    calls = _calls(log)
    assert [(c["event"], c["tool"], c["arguments"]) for c in calls] == [
        ("start", "get_weather_alerts", {"state": "CA"}), ("start", "explain_severity", {"level": "Severe"})]
    assert all(c["session"] is None for c in calls)  # stdio has no session id
    assert len({c["pid"] for c in calls}) == 1 and calls[0]["pid"] != os.getpid()


def test_agents_sdk_stdio_with_extra_tools_from_the_environment(weather, tmp_path):
    """MCP_EXTRA_TOOLS=1 adds count_alerts: a new connection (a new agent run) sees it."""
    log = tmp_path / "calls.jsonl"

    async def go():
        async with _agents_stdio(MCP_EXTRA_TOOLS="1", MCP_CALL_LOG=str(log)) as server:
            assert [t.name for t in await server.list_tools()] == [*BASE_TOOLS, "count_alerts"]
            counted = await server.call_tool("count_alerts", {"state": "CA"})
            assert (counted.is_error, _text(counted)) == (False, f"{await _count('CA')} active weather alerts for CA.")
            alerts = await server.call_tool("get_weather_alerts", {"state": "tx"})
            assert _text(alerts) == await _expected_alerts("TX")
            # MCP v2's client, under the Agents SDK, speaks the per-request protocol revision.
            assert server.session.protocol_version == "2026-07-28"

    asyncio.run(go())
    assert [c["tool"] for c in _starts(log)] == ["count_alerts", "get_weather_alerts"]


def test_stdio_server_exits_on_sigterm():
    proc = subprocess.Popen(SERVER, cwd=REPO_ROOT, env=_env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True, start_new_session=True)  # fmt: skip
    try:
        ping = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "test", "version": "0"}}}
        proc.stdin.write(json.dumps(ping) + "\n")
        proc.stdin.flush()
        assert json.loads(proc.stdout.readline())["result"]["serverInfo"]["name"] == "weather"  # it is serving
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(3) == -signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_a_client_killed_mid_call_leaves_a_start_line_and_ends_the_server(weather, tmp_path):
    """SIGKILL the client while the (slowed) tool runs: the call is logged as started, the
    stdio server sees its stdin close, cancels the call and exits."""
    log = tmp_path / "calls.jsonl"
    script = (
        "import asyncio, sys\n"
        "from mcp import Client, StdioServerParameters\n"
        "params = StdioServerParameters(command=sys.argv[1], args=sys.argv[2:])\n"
        "async def main():\n"
        "    async with Client(params) as client:\n"
        "        await client.call_tool('get_weather_alerts', {'state': 'CA'})\n"
        "asyncio.run(main())\n"
    )
    server = [*SERVER, "--slow-tool-seconds", "30", "--call-log", str(log)]
    client = subprocess.Popen([sys.executable, "-c", script, *server], cwd=REPO_ROOT, env=_env(), start_new_session=True)
    try:
        start = _wait_for(lambda: _starts(log), START_TIMEOUT_S, "the call's start line")[0]
        os.kill(client.pid, signal.SIGKILL)
        client.wait(5)
        _wait_for(lambda: _exited(start["pid"]), 5, "the orphaned stdio server exiting")
    finally:
        if client.poll() is None:
            client.kill()
            client.wait()
    assert [(c["event"], c.get("outcome")) for c in _calls(log)] == [("start", None), ("end", "cancelled")]


# ---------------------------------------------------------------- streamable HTTP


def test_stateful_http_keeps_one_session_per_client(stateful):
    """Each connection gets its own Mcp-Session-Id, whichever client: mcp's Client in the legacy
    mode and in its default mode (steered to the handshake), and the Agents SDK's."""

    async def session_calls(mode: str) -> None:
        async with Client(stateful.url, mode=mode) as client:
            assert client.protocol_version == "2025-11-25"  # the handshake era, even for mode="auto"
            assert [t.name for t in (await client.list_tools()).tools] == BASE_TOOLS
            alerts = await client.call_tool("get_weather_alerts", {"state": "CA"})
            assert _text(alerts) == await _expected_alerts("CA")
            await client.call_tool("explain_severity", {"level": "Minor"})

    async def agents_calls() -> None:
        async with MCPServerStreamableHttp(params={"url": stateful.url}) as server:
            assert [t.name for t in await server.list_tools()] == BASE_TOOLS
            alerts = await server.call_tool("get_weather_alerts", {"state": "CA"})
            assert (alerts.is_error, _text(alerts)) == (False, await _expected_alerts("CA"))
            await server.call_tool("explain_severity", {"level": "Minor"})

    before = len(_starts(stateful.log))
    asyncio.run(session_calls("legacy"))
    asyncio.run(session_calls("auto"))
    asyncio.run(agents_calls())
    calls = _starts(stateful.log)[before:]
    sessions = [c["session"] for c in calls]
    assert len(calls) == 6 and all(sessions), sessions
    assert sessions[0::2] == sessions[1::2] and len(set(sessions)) == 3, sessions  # one session per client


def test_stateless_http_serves_every_request_alone(stateless):
    async def go():
        async with Client(stateless.url, mode="legacy") as client:
            assert [t.name for t in (await client.list_tools()).tools] == [*BASE_TOOLS, "count_alerts"]
            counted = await client.call_tool("count_alerts", {"state": "CA"})
            assert _text(counted) == f"{await _count('CA')} active weather alerts for CA."
        async with Client(stateless.url) as client:
            assert client.protocol_version == "2026-07-28"  # per-request protocol: no session either
            await client.call_tool("explain_severity", {"level": "Minor"})
        async with MCPServerStreamableHttp(params={"url": stateless.url}) as server:
            assert [t.name for t in await server.list_tools()] == [*BASE_TOOLS, "count_alerts"]
            alerts = await server.call_tool("get_weather_alerts", {"state": "CA"})
            assert _text(alerts) == await _expected_alerts("CA")

    before = len(_starts(stateless.log))
    asyncio.run(go())
    calls = _starts(stateless.log)[before:]
    assert [(c["tool"], c["session"]) for c in calls] == [
        ("count_alerts", None), ("explain_severity", None), ("get_weather_alerts", None)]


def test_http_server_exits_promptly_on_sigterm_mid_call(weather, tmp_path, record_property):
    """SIGTERM while a session is open and a (slowed, 30 s) call is in flight: the call gets its grace
    second, is cancelled, and the server exits with status 0 -- within the 10 s wait, not after the
    call. How long it took is recorded, not asserted (a noisy machine)."""
    server = HttpServer(tmp_path, "--slow-tool-seconds", "30")

    async def go() -> tuple[int, float]:
        client = Client(server.url, mode="legacy")
        await client.__aenter__()
        call = asyncio.create_task(client.call_tool("get_weather_alerts", {"state": "CA"}))
        try:
            await asyncio.to_thread(_wait_for, lambda: _starts(server.log), 10, "the call's start line")
            started = time.monotonic()
            server.proc.send_signal(signal.SIGTERM)
            return await asyncio.to_thread(server.proc.wait, 10), time.monotonic() - started
        finally:
            call.cancel()
            with contextlib.suppress(BaseException):  # the server is gone: the call and the close may complain
                await call
            with contextlib.suppress(Exception):
                await client.__aexit__(None, None, None)

    try:
        returncode, elapsed = asyncio.run(go())
    finally:
        server.stop()
    record_property("figures", f"mcp server: SIGTERM mid-call -> exited in {elapsed:.1f}s")
    assert returncode == 0, (returncode, elapsed)
    assert [(c["event"], c.get("outcome")) for c in _calls(server.log)] == [("start", None), ("end", "cancelled")]


# ---------------------------------------------------------------- errors


def test_errors_come_back_as_tool_results_the_model_can_read(stateless, weather):
    async def go():
        async with Client(stateless.url) as client:
            bad = await client.call_tool("get_weather_alerts", {"state": "ZZ"})
            assert (bad.is_error, _text(bad)) == (True, f"Error executing tool get_weather_alerts: {BAD_STATE}")

            missing = await client.call_tool("get_weather_alerts", {})  # the schema requires state
            assert missing.is_error
            assert "validation error" in _text(missing) and "state\n  Field required" in _text(missing)
            number = await client.call_tool("get_weather_alerts", {"state": 5})
            assert number.is_error and "state\n  Input should be a valid string" in _text(number)
            level = await client.call_tool("explain_severity", {"level": "Apocalyptic"})
            assert level.is_error and "Input should be 'Extreme', 'Severe'" in _text(level)

            unknown = await client.call_tool("get_tornadoes", {"state": "CA"})
            assert (unknown.is_error, _text(unknown)) == (True, "Unknown tool: get_tornadoes")

            weather.fail_next(1, 503)  # an NWS outage: one sentence, no retry here
            outage = await client.call_tool("get_weather_alerts", {"state": "CA"})
            assert outage.is_error
            assert _text(outage).startswith(
                "Error executing tool get_weather_alerts: NWS API is unavailable (HTTP 503) for area CA")
            assert "\n" not in _text(outage)

    before = len(_starts(stateless.log))
    asyncio.run(go())
    # Arguments the schema rejects never reach a tool, so they are not in the call log.
    assert [c["arguments"] for c in _starts(stateless.log)[before:]] == [{"state": "ZZ"}, {"state": "CA"}]


def test_malformed_request_params_are_a_protocol_error(stateless):
    """``arguments`` that is not an object fails the request itself: JSON-RPC INVALID_PARAMS."""
    body = {"jsonrpc": "2.0", "id": 7, "method": "tools/call",
            "params": {"name": "get_weather_alerts", "arguments": "CA"}}  # fmt: skip
    headers = {"Accept": "application/json, text/event-stream", "MCP-Protocol-Version": "2025-11-25"}
    answer = httpx.post(stateless.url, json=body, headers=headers, timeout=10, trust_env=False).json()
    assert answer["id"] == 7 and "result" not in answer
    assert answer["error"]["code"] == -32602  # INVALID_PARAMS


def test_agents_sdk_checks_required_arguments_before_calling(stateless):
    """The Agents SDK refuses a call missing a required argument itself (after list_tools)."""
    from agents.exceptions import UserError

    async def go():
        async with MCPServerStreamableHttp(params={"url": stateless.url}) as server:
            await server.list_tools()
            with pytest.raises(UserError, match="missing required parameters: state"):
                await server.call_tool("get_weather_alerts", {})
            number = await server.call_tool("get_weather_alerts", {"state": 5})  # reaches the server
            assert number.is_error and "Input should be a valid string" in _text(number)

    asyncio.run(go())


def test_a_tool_that_crashes_is_a_generic_tool_error(monkeypatch, weather):
    """An unexpected exception: isError with only the tool's name; its text stays on the server."""

    def crash(*args, **kwargs):
        raise RuntimeError("secret detail from inside the tool")

    monkeypatch.setattr(weather_alerts, "summarize_alerts", crash)

    async def go():
        async with Client(build_server(log_level="CRITICAL")) as client:  # in process
            result = await client.call_tool("get_weather_alerts", {"state": "CA"})
            assert (result.is_error, _text(result)) == (True, "Error executing tool get_weather_alerts")

    asyncio.run(go())


def test_slow_tool_logs_start_and_end(weather, tmp_path):
    log = tmp_path / "calls.jsonl"

    async def go():
        async with Client(build_server(call_log=log, slow_tool_seconds=0.3, log_level="CRITICAL")) as client:
            result = await client.call_tool("get_weather_alerts", {"state": "CA"})
            assert _text(result) == await _expected_alerts("CA")
            await client.call_tool("explain_severity", {"level": "Minor"})  # not slowed: one line

    asyncio.run(go())
    calls = _calls(log)
    assert [(c["event"], c["tool"], c.get("outcome")) for c in calls] == [
        ("start", "get_weather_alerts", None), ("end", "get_weather_alerts", "ok"), ("start", "explain_severity", None)]
    assert calls[1]["time"] - calls[0]["time"] >= 0.3
