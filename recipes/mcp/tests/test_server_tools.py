"""The MCP server's tools, reached in-process through the ``mcp`` package's own ``Client`` (no subprocess, no
Temporal): the weather tools under their usual names, and a bad state answered as a tool error of one sentence."""

from __future__ import annotations

import pytest
from mcp import Client

import recipes.tools.weather_alerts as weather_alerts
from recipes.mcp.tools import build_server

TEXAS = {"features": [{"properties": {"event": "Heat Advisory", "severity": "Moderate", "urgency": "Expected",
                                      "areaDesc": "Travis", "headline": "Heat Advisory until 8 PM"}}]}  # fmt: skip


def text(result) -> str:
    return "".join(block.text for block in result.content)


@pytest.mark.asyncio
async def test_the_server_offers_the_weather_tools_and_answers_from_the_weather_service(monkeypatch):
    async def fetched(state: str) -> dict:
        return TEXAS

    monkeypatch.setattr(weather_alerts, "fetch_alerts", fetched)
    async with Client(build_server(log_level="WARNING")) as client:
        assert sorted(tool.name for tool in (await client.list_tools()).tools) == ["explain_severity", "get_weather_alerts"]
        answer = await client.call_tool("get_weather_alerts", {"state": "texas"})
    assert not answer.is_error and text(answer).startswith("1 active weather alert for TX:"), text(answer)


@pytest.mark.asyncio
async def test_a_bad_state_is_a_tool_error_the_model_can_read(monkeypatch):
    async def no_request(state: str) -> dict:
        raise AssertionError("no request should be made for a state that does not exist")

    monkeypatch.setattr(weather_alerts, "fetch_alerts", no_request)
    async with Client(build_server(log_level="WARNING")) as client:
        refused = await client.call_tool("get_weather_alerts", {"state": "ZZ"})
    assert refused.is_error and "'ZZ' is not a US state code" in text(refused), text(refused)
