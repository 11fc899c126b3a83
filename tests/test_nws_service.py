"""The local NWS-shaped weather service: response shapes, fault injection, request log, lifecycle.

Runs the real subprocess (``python -m tutorial.nws_service``) on a free
loopback port; fixtures stop it by pid.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tutorial.processes import pid_alive
from recipes.tools.sample_alerts import load_sample_alerts
from recipes.tools.us_states import AREA_NAMES
from tutorial.nws_service import WeatherService

REPO_ROOT = Path(__file__).resolve().parents[1]
ALERT_PROPERTIES = {
    "id", "areaDesc", "event", "headline", "severity", "certainty", "urgency",
    "description", "instruction", "effective", "expires", "senderName",
}  # fmt: skip


@pytest.fixture(scope="module")
def service(weather):
    """The module's weather service (started by conftest's ``weather`` fixture)."""
    return weather


@pytest.fixture(autouse=True)
def _clean(service):
    service.reset()
    yield
    service.reset()


@pytest.fixture
def http():
    with httpx.Client(timeout=10, trust_env=False) as client:
        yield client


def _alerts(http, service, area, **kw):
    return http.get(f"{service.url}/alerts/active", params={"area": area}, **kw)


# ---------------------------------------------------------------- response shapes


def test_state_with_alerts_has_nws_geojson_shape(http, service):
    r = _alerts(http, service, "CA")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/geo+json"
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert "California" in body["title"]
    assert 1 <= len(body["features"]) <= 3
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        assert feature["geometry"] is None
        props = feature["properties"]
        assert ALERT_PROPERTIES <= set(props)
        assert feature["id"] == f"https://api.weather.gov/alerts/{props['id']}"
        assert props["severity"] in {"Extreme", "Severe", "Moderate", "Minor", "Unknown"}
    assert "Red Flag Warning" in {f["properties"]["event"] for f in body["features"]}


def test_state_without_alerts_is_an_empty_collection(http, service):
    r = _alerts(http, service, "VT")
    assert r.status_code == 200
    body = r.json()
    assert body["type"] == "FeatureCollection"
    assert body["features"] == []
    assert "Vermont" in body["title"]


def test_responses_are_deterministic(http, service):
    assert _alerts(http, service, "TX").json() == _alerts(http, service, "TX").json()


def test_multiple_areas_and_path_form(http, service):
    both = _alerts(http, service, "CA,TX").json()["features"]
    ca = _alerts(http, service, "CA").json()["features"]
    tx = _alerts(http, service, "TX").json()["features"]
    assert both == ca + tx
    assert http.get(f"{service.url}/alerts/active/area/TX").json()["features"] == tx


@pytest.mark.parametrize("area", ["ZZ", "ca", "CAL", "C1", ""])
def test_bad_area_is_a_400_problem(http, service, area):
    r = _alerts(http, service, area)
    assert r.status_code == 400
    assert r.headers["content-type"] == "application/problem+json"
    problem = r.json()
    assert problem["title"] == "Bad Request"
    assert problem["status"] == 400
    assert problem["type"].startswith("https://api.weather.gov/problems/")
    assert "two-letter" in problem["detail"]
    assert problem["parameterErrors"][0]["parameter"] == "area[0]"


def test_unknown_path_is_404(http, service):
    assert http.get(f"{service.url}/nope").status_code == 404


def test_sample_data_is_realistic():
    data = load_sample_alerts()
    alerts = data["alerts"]
    assert {"CA", "TX", "FL", "NY", "WA"} <= set(alerts)
    assert alerts["VT"] == []
    for code, features in alerts.items():
        assert code in AREA_NAMES
        if code != "VT":
            assert 1 <= len(features) <= 3, code
        for f in features:
            assert ALERT_PROPERTIES <= set(f["properties"])


# ---------------------------------------------------------------- fault injection


def test_fail_next_n_then_ok(http, service):
    service.fail_next(2)
    statuses = [_alerts(http, service, "CA").status_code for _ in range(3)]
    assert statuses == [503, 503, 200]
    problem = None
    service.fail_next(1, status=500)
    r = _alerts(http, service, "CA")
    problem = r.json()
    assert r.status_code == 500 and problem["status"] == 500
    assert "Retry-After" not in r.headers


def test_fail_with_retry_after(http, service):
    service.fail_next(1, retry_after_s=7)
    r = _alerts(http, service, "CA")
    assert r.status_code == 503
    assert r.headers["Retry-After"] == "7"


def test_rate_limit_sends_retry_after(http, service):
    service.rate_limit_next(2, retry_after_s=3)
    for _ in range(2):
        r = _alerts(http, service, "TX")
        assert r.status_code == 429
        assert r.headers["Retry-After"] == "3"
        assert r.json()["status"] == 429
    assert _alerts(http, service, "TX").status_code == 200


def test_slow_next_adds_latency_once(http, service):
    service.slow_next(1, 0.6)
    t0 = time.monotonic()
    assert _alerts(http, service, "FL").status_code == 200
    assert time.monotonic() - t0 >= 0.6  # a lower bound: a sleep is never shorter
    assert _alerts(http, service, "FL").status_code == 200
    # What the service decided for each request: slow once, then not (no wall-clock upper bound).
    assert [r["latency_s"] for r in service.requests()] == [0.6, 0.0]


def test_set_latency_applies_to_all_requests(http, service):
    service.set_latency(0.3)
    for _ in range(2):
        t0 = time.monotonic()
        _alerts(http, service, "NY")
        assert time.monotonic() - t0 >= 0.3
    service.set_latency(0)
    _alerts(http, service, "NY")
    assert [r["latency_s"] for r in service.requests()] == [0.3, 0.3, 0.0]


def test_garbage_is_not_json(http, service):
    service.garbage_next(1)
    r = _alerts(http, service, "WA")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    with pytest.raises(ValueError):
        json.loads(r.text)
    assert _alerts(http, service, "WA").json()["type"] == "FeatureCollection"


def test_faults_are_consumed_in_order(http, service):
    service.fail_next(1)
    service.rate_limit_next(1)
    service.garbage_next(1)
    assert [f["kind"] for f in service.state()["pending_faults"]] == ["error", "rate_limit", "garbage"]
    statuses = [_alerts(http, service, "CA").status_code for _ in range(4)]
    assert statuses == [503, 429, 200, 200]
    assert [r["fault"] for r in service.requests()] == ["error", "rate_limit", "garbage", None]


def test_faults_are_not_consumed_by_other_paths(http, service):
    service.fail_next(1)
    assert http.get(f"{service.url}/").json() == {"status": "OK"}
    assert _alerts(http, service, "CA").status_code == 503


def test_invalid_control_input_is_rejected(service):
    with pytest.raises(RuntimeError, match="count"):
        service.fail_next(-1)
    with pytest.raises(RuntimeError, match="seconds"):
        service.set_latency(-2)
    with pytest.raises(RuntimeError, match="status"):
        service.fail_next(1, status=200)


# ---------------------------------------------------------------- request log / reset


def test_request_log_records_every_api_request(http, service):
    service.fail_next(1)
    _alerts(http, service, "CA", headers={"User-Agent": "(test-suite, test@example.com)"})
    _alerts(http, service, "CA")
    _alerts(http, service, "ZZ")
    log = service.requests()
    assert len(log) == 3  # control calls are never logged
    first = log[0]
    assert first["path"] == "/alerts/active"
    assert first["area"] == "CA"
    assert first["status"] == 503
    assert first["fault"] == "error"
    assert first["latency_s"] == 0.0
    assert first["user_agent"] == "(test-suite, test@example.com)"
    assert first["time"].endswith("Z")
    assert [r["status"] for r in log] == [503, 200, 400]
    assert [r["seq"] for r in log] == sorted(r["seq"] for r in log)
    assert service.request_count() == 3
    assert service.request_count("CA") == 2


def test_reset_clears_faults_latency_and_log(http, service):
    service.fail_next(5)
    service.set_latency(2)
    _alerts(http, service, "CA", timeout=10)  # 503 after 2s
    service.reset()
    state = service.state()
    assert state == {"pending_faults": [], "latency_s": 0.0, "request_count": 0}
    assert _alerts(http, service, "CA").status_code == 200
    assert [(r["status"], r["latency_s"]) for r in service.requests()] == [(200, 0.0)]


def test_reset_can_keep_the_log(http, service):
    service.fail_next(1)
    _alerts(http, service, "CA")
    service.reset(clear_log=False)
    assert service.request_count() == 1
    service.clear_requests()
    assert service.requests() == []


# ---------------------------------------------------------------- lifecycle


def test_stop_leaves_no_process_and_is_idempotent():
    svc = WeatherService.start(port=0)
    pid = svc.pid
    assert pid is not None and pid_alive(pid)
    assert svc.is_running()
    svc.stop()
    assert not pid_alive(pid)
    assert svc.pid is None
    assert not svc.is_running()
    svc.stop()  # idempotent
    assert "stopped" in repr(svc)


def test_context_manager_stops(tmp_path):
    log = tmp_path / "nws.log"
    with WeatherService.start(log_path=log) as svc:
        pid = svc.pid
        httpx.get(f"{svc.url}/alerts/active?area=CA", trust_env=False)
    assert not pid_alive(pid)
    text = log.read_text()
    assert "serving NWS-shaped API" in text
    assert "/alerts/active?area=CA" in text


def test_attach_drives_but_never_stops(service):
    other = WeatherService.attach(service.url)
    assert other.pid is None
    other.fail_next(1)
    assert service.state()["pending_faults"][0]["kind"] == "error"
    other.stop()
    assert service.is_running()
    assert "attached" in repr(other)


def test_attach_to_nothing_fails_fast():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(RuntimeError, match="no local weather service"):
        WeatherService.attach(f"http://127.0.0.1:{port}", timeout=0.5)


def test_port_in_use_is_a_clear_error(service):
    port = int(service.url.rsplit(":", 1)[1])
    with pytest.raises(RuntimeError, match="cannot bind"):
        WeatherService.start(port=port)


def test_cli_prints_url_first():
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tutorial.nws_service", "--port", "0", "--quiet"],
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    try:
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:")
        svc = WeatherService.attach(url)
        assert svc.health()["pid"] == proc.pid
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(5)
        proc.stdout.close()
    assert proc.returncode == 0  # SIGTERM is a clean shutdown
