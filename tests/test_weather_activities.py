"""The weather activities, run with temporalio.testing.ActivityEnvironment against the local service."""

from __future__ import annotations

import asyncio
import socket
from datetime import timedelta

import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from recipes.tools import weather_alerts as acts
from recipes.tools.forecast import get_forecast
from recipes.tools.weather_alerts import (
    DEFAULT_USER_AGENT,
    fetch_alerts,
    get_weather_alerts,
    normalize_state,
    summarize_alerts,
)


@pytest.fixture(scope="module")
def service(weather):
    """The module's weather service (started by conftest's ``weather`` fixture)."""
    return weather


@pytest.fixture(autouse=True)
def _env(service, monkeypatch):
    service.reset()
    monkeypatch.setenv("NWS_API_URL", service.url)
    monkeypatch.delenv("NWS_USER_AGENT", raising=False)
    monkeypatch.delenv("NWS_TIMEOUT_S", raising=False)
    yield
    service.reset()


def run_activity(fn, *args):
    return asyncio.run(ActivityEnvironment().run(fn, *args))


def run_error(fn, *args) -> ApplicationError:
    with pytest.raises(ApplicationError) as info:
        run_activity(fn, *args)
    return info.value


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- success


def test_alerts_summary_names_the_events(service):
    text = run_activity(get_weather_alerts, "CA")
    assert text.startswith("3 active weather alerts for CA")
    for event in ("Red Flag Warning", "Wind Advisory", "Frost Advisory"):
        assert event in text
    assert "severity: Severe" in text
    assert "San Fernando Valley" in text
    assert "{" not in text  # a summary, not the GeoJSON
    log = service.requests()
    assert len(log) == 1
    assert log[0]["area"] == "CA"
    assert log[0]["user_agent"] == DEFAULT_USER_AGENT


def test_input_is_normalised(service):
    text = run_activity(get_weather_alerts, "  tx ")
    assert "Winter Storm Warning" in text
    assert service.requests()[0]["area"] == "TX"


def test_state_without_alerts(service):
    assert run_activity(get_weather_alerts, "VT") == "No active weather alerts for VT."


def test_user_agent_is_configurable(service, monkeypatch):
    monkeypatch.setenv("NWS_USER_AGENT", "(my-app, me@example.org)")
    run_activity(get_weather_alerts, "NY")
    assert service.requests()[0]["user_agent"] == "(my-app, me@example.org)"


def test_fetch_alerts_works_outside_temporal(service, monkeypatch):
    monkeypatch.delenv("NWS_API_URL")
    data = asyncio.run(fetch_alerts("wa", base_url=service.url))
    assert data["type"] == "FeatureCollection"
    assert len(data["features"]) == 3


def test_summary_truncates_long_areas_and_many_alerts():
    feature = {"properties": {"event": "Flood Warning", "severity": "Severe", "urgency": "Immediate",
                              "areaDesc": "; ".join(f"County {i}" for i in range(100)), "headline": "h"}}  # fmt: skip
    text = summarize_alerts("TX", {"features": [feature] * 12}, limit=10)
    assert text.startswith("12 active weather alerts for TX:")
    assert text.endswith("... and 2 more.")
    assert max(len(line) for line in text.splitlines()) < 300


def test_docstring_is_the_tool_description():
    from agents.function_schema import function_schema

    schema = function_schema(get_weather_alerts)
    assert schema.name == "get_weather_alerts"
    assert schema.description.startswith("Get active weather alerts")
    prop = schema.params_json_schema["properties"]["state"]
    assert prop["type"] == "string"
    assert "Two-letter US state code" in prop["description"]
    assert schema.params_json_schema["required"] == ["state"]


# ---------------------------------------------------------------- failures


@pytest.mark.parametrize("bad", ["ZZ", "", "Narnia", "C1", "  "])
def test_invalid_state_is_non_retryable_and_does_no_io(service, bad):
    err = run_error(get_weather_alerts, bad)
    assert err.type == "InvalidState"
    assert err.non_retryable
    assert "is not a US state code; use a two-letter code such as CA or TX" in err.message
    assert service.requests() == []


@pytest.mark.parametrize("given", ["California", " california ", "CA", "ca"])
def test_a_state_name_is_taken_as_its_code(given):
    """A real model sometimes passes the name although the schema asks for the code."""
    assert normalize_state(given) == "CA"


def test_invalid_state_message_quotes_the_input():
    err = run_error(get_weather_alerts, "zz")
    assert err.message.startswith("'zz' is not a US state code")


def test_server_error_is_retryable(service):
    service.fail_next(1)
    err = run_error(get_weather_alerts, "CA")
    assert err.type == "NWSServerError"
    assert not err.non_retryable
    assert err.next_retry_delay is None
    assert "503" in err.message
    # the service recovers: the next attempt succeeds
    assert "Red Flag Warning" in run_activity(get_weather_alerts, "CA")
    assert [r["status"] for r in service.requests()] == [503, 200]


def test_503_with_retry_after_sets_next_retry_delay(service):
    service.fail_next(1, retry_after_s=7)
    err = run_error(get_weather_alerts, "CA")
    assert err.type == "NWSServerError"
    assert not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=7)


def test_rate_limit_honours_retry_after(service):
    service.rate_limit_next(1, retry_after_s=4)
    err = run_error(get_weather_alerts, "TX")
    assert err.type == "NWSRateLimited"
    assert not err.non_retryable
    assert err.next_retry_delay == timedelta(seconds=4)


def test_retry_after_is_capped(service):
    service.rate_limit_next(1, retry_after_s=300)
    assert run_error(get_weather_alerts, "TX").next_retry_delay == acts.MAX_RETRY_AFTER


@pytest.mark.parametrize("status", [400, 404, 403])
def test_other_4xx_is_non_retryable(service, status):
    service.fail_next(1, status=status)
    err = run_error(get_weather_alerts, "FL")
    assert err.type == "NWSRequestRejected"
    assert err.non_retryable
    assert str(status) in err.message


def test_garbage_is_a_clear_error(service):
    service.garbage_next(1)
    err = run_error(get_weather_alerts, "WA")
    assert err.type == "NWSBadResponse"
    assert not err.non_retryable  # treated as transient (maintenance/CDN page)
    assert "text/html" in err.message
    assert "<!DOCTYPE html>" in err.message


def test_timeout_is_retryable(service, monkeypatch):
    monkeypatch.setenv("NWS_TIMEOUT_S", "0.5")
    service.slow_next(1, 3)
    err = run_error(get_weather_alerts, "NY")
    assert err.type == "NWSTimeout"  # it gave up after 0.5 s: waiting 3 s would have answered 200
    assert not err.non_retryable
    # the request really arrived -- the service logged it even though we gave up
    assert service.requests()[0]["latency_s"] == 3


def test_connection_refused_is_retryable(monkeypatch):
    monkeypatch.setenv("NWS_API_URL", f"http://127.0.0.1:{_free_port()}")
    err = run_error(get_weather_alerts, "CA")
    assert err.type == "NWSConnectionError"
    assert not err.non_retryable


def test_activity_is_registered_under_its_function_name():
    from temporalio import activity

    defn = activity._Definition.from_callable(get_weather_alerts)
    assert defn is not None and defn.name == "get_weather_alerts"
    assert get_weather_alerts in acts.WEATHER_ACTIVITIES


def test_modules_import_cleanly_in_the_workflow_sandbox(tmp_path, monkeypatch):
    """Workflow code may import these modules without imports_passed_through()."""
    import importlib
    import sys

    from temporalio import workflow
    from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

    (tmp_path / "weather_probe_wf.py").write_text(
        "from datetime import timedelta\n"
        "from temporalio import workflow\n"
        "from recipes.tools import us_states\n"
        "from recipes.tools.weather_alerts import get_weather_alerts\n"
        "\n"
        "@workflow.defn\n"
        "class WeatherProbe:\n"
        "    @workflow.run\n"
        "    async def run(self, state: str) -> str:\n"
        "        return await workflow.execute_activity(\n"
        "            get_weather_alerts, state, start_to_close_timeout=timedelta(seconds=5))\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        module = importlib.import_module("weather_probe_wf")
        defn = workflow._Definition.must_from_class(module.WeatherProbe)

        async def validate() -> None:  # the workflow instance wants a running event loop
            SandboxedWorkflowRunner().prepare_workflow(defn)  # raises if the sandbox rejects an import

        asyncio.run(validate())
    finally:
        sys.modules.pop("weather_probe_wf", None)


def test_calls_share_one_tls_context_instead_of_loading_the_ca_bundle_each_time(service, monkeypatch):
    import httpx

    acts._tls_context.cache_clear()
    built = []
    real = httpx.create_ssl_context
    monkeypatch.setattr(httpx, "create_ssl_context", lambda *a, **kw: built.append(kw) or real(*a, **kw))

    async def three_calls():
        return [await fetch_alerts("CA") for _ in range(3)]

    assert all(r["features"] for r in asyncio.run(three_calls()))
    assert len(built) == 1, f"a TLS context was built {len(built)} times for 3 calls"
    assert len(service.requests()) == 3


def test_forecast_is_deterministic_and_rejects_bad_codes():
    first = asyncio.run(get_forecast("ca"))
    assert first == asyncio.run(get_forecast("CA")) and first.startswith("Forecast for CA:")
    with pytest.raises(ApplicationError) as info:
        asyncio.run(get_forecast("ZZ"))
    assert info.value.type == "InvalidState" and info.value.non_retryable
