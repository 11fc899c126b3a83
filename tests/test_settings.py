"""Temporal connection settings: profile/env/arguments, URLs, addresses, fail-fast connect."""

from __future__ import annotations

import asyncio
import os
import socket

import pytest

from recipes.core.settings import TemporalUnreachable, connect, web_ui_url
from tutorial.settings import InvalidTemporalAddress, TemporalSettings, validate_address


@pytest.fixture(autouse=True)
def clean_env(tmp_path, monkeypatch):
    """No TEMPORAL_* from the outside world, and no ~/.config/temporalio/temporal.toml."""
    for name in [k for k in os.environ if k.startswith("TEMPORAL_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(tmp_path / "absent.toml"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_defaults():
    s = TemporalSettings.load()
    assert (s.address, s.namespace, s.api_key, s.tls, s.ui_port) == ("localhost:7233", "default", None, None, 8233)
    assert s.is_local and not s.is_cloud
    assert s.connect_config() == {"target_host": "localhost:7233", "namespace": "default"}


def test_environment_overrides_defaults(monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "127.0.0.1:7400")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "tutorial")
    s = TemporalSettings.load()
    assert (s.address, s.namespace, s.ui_port) == ("127.0.0.1:7400", "tutorial", 8400)


def test_explicit_arguments_override_environment(monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "localhost:7400")
    monkeypatch.setenv("TEMPORAL_NAMESPACE", "from-env")
    s = TemporalSettings.load(address="localhost:7500", namespace="from-notebook")
    assert (s.address, s.namespace) == ("localhost:7500", "from-notebook")
    # an empty parameter (papermill's default) means "not given"
    s = TemporalSettings.load(address="", namespace="  ")
    assert (s.address, s.namespace) == ("localhost:7400", "from-env")


def test_empty_environment_variable_means_unset(monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "")
    assert TemporalSettings.load().address == "localhost:7233"


def test_profile_file_then_environment(monkeypatch, tmp_path):
    config = tmp_path / "temporal.toml"
    config.write_text(
        '[profile.default]\naddress = "localhost:7601"\n\n'
        '[profile.cloud]\naddress = "my-ns.a1b2c.tmprl.cloud:7233"\nnamespace = "my-ns.a1b2c"\napi_key = "secret"\n'
    )
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config))
    assert TemporalSettings.load().address == "localhost:7601"

    monkeypatch.setenv("TEMPORAL_PROFILE", "cloud")
    cloud = TemporalSettings.load()
    assert (cloud.address, cloud.namespace, cloud.api_key) == ("my-ns.a1b2c.tmprl.cloud:7233", "my-ns.a1b2c", "secret")
    assert not cloud.is_local and cloud.is_cloud and cloud.ui_port is None
    assert cloud.connect_config() == {"target_host": "my-ns.a1b2c.tmprl.cloud:7233", "namespace": "my-ns.a1b2c",
                                      "api_key": "secret", "tls": True}

    monkeypatch.setenv("TEMPORAL_NAMESPACE", "other.a1b2c")
    assert TemporalSettings.load().namespace == "other.a1b2c"

    monkeypatch.setenv("TEMPORAL_PROFILE", "missing")
    with pytest.raises(ValueError, match="missing"):
        TemporalSettings.load()


def test_tls_and_grpc_metadata_from_environment(monkeypatch):
    monkeypatch.setenv("TEMPORAL_TLS", "false")
    monkeypatch.setenv("TEMPORAL_GRPC_META_X_TEAM", "agents")
    s = TemporalSettings.load()
    assert s.connect_config() == {"target_host": "localhost:7233", "namespace": "default", "tls": False,
                                  "rpc_metadata": {"x-team": "agents"}}


def test_as_env_reproduces_the_settings_in_a_subprocess(monkeypatch, tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("not really a cert")
    monkeypatch.setenv("TEMPORAL_API_KEY", "k")
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(ca))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "temporal.internal")
    monkeypatch.setenv("TEMPORAL_GRPC_META_X_TEAM", "agents")
    parent = TemporalSettings.load(address="temporal.internal:7233", namespace="agents")
    env = parent.as_env()
    assert env["TEMPORAL_ADDRESS"] == "temporal.internal:7233" and env["TEMPORAL_NAMESPACE"] == "agents"
    assert env["TEMPORAL_TLS_SERVER_CA_CERT_PATH"] == str(ca)

    for name in [k for k in os.environ if k.startswith("TEMPORAL_") and k != "TEMPORAL_CONFIG_FILE"]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert TemporalSettings.load() == parent


def test_mtls_client_certificate_and_key_reach_the_client_and_a_worker(monkeypatch, tmp_path):
    """Temporal Cloud with mTLS: the README's TEMPORAL_TLS_CLIENT_CERT_PATH / _KEY_PATH."""
    (tmp_path / "client.pem").write_text("-----BEGIN CERTIFICATE----- test")
    (tmp_path / "client.key").write_text("-----BEGIN PRIVATE KEY----- test")
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(tmp_path / "client.pem"))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(tmp_path / "client.key"))
    parent = TemporalSettings.load(address="agents.a1b2c.tmprl.cloud:7233", namespace="agents.a1b2c")
    tls = parent.connect_config()["tls"]
    assert tls.client_cert == b"-----BEGIN CERTIFICATE----- test"
    assert tls.client_private_key == b"-----BEGIN PRIVATE KEY----- test"
    env = parent.as_env()  # a worker subprocess gets the paths, not the key's contents
    assert env["TEMPORAL_TLS_CLIENT_KEY_PATH"] == str(tmp_path / "client.key")
    assert "PRIVATE KEY" not in "".join(env.values())
    for name in [k for k in os.environ if k.startswith("TEMPORAL_") and k != "TEMPORAL_CONFIG_FILE"]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert TemporalSettings.load() == parent
    assert parent.web_ui_url("wf") == "https://cloud.temporal.io/namespaces/agents.a1b2c/workflows/wf"


def test_local_as_env_carries_the_ui_port(monkeypatch):
    monkeypatch.setenv("TEMPORAL_UI_PORT", "9999")
    env = TemporalSettings.load(address="localhost:7400").as_env()
    assert env == {"TEMPORAL_ADDRESS": "localhost:7400", "TEMPORAL_NAMESPACE": "default", "TEMPORAL_UI_PORT": "9999"}


def test_web_ui_url_local(monkeypatch):
    s = TemporalSettings.load()
    assert s.web_ui_url() == "http://localhost:8233/namespaces/default/workflows"
    assert s.web_ui_url("wf-1") == "http://localhost:8233/namespaces/default/workflows/wf-1"
    assert s.web_ui_url("wf-1", "run-2") == "http://localhost:8233/namespaces/default/workflows/wf-1/run-2/history"
    assert s.web_ui_url("a b/c", "r") == "http://localhost:8233/namespaces/default/workflows/a%20b%2Fc/r/history"

    assert TemporalSettings.load(address="127.0.0.1:7400").web_ui_url() == "http://localhost:8400/namespaces/default/workflows"
    monkeypatch.setenv("TEMPORAL_UI_PORT", "9000")
    assert TemporalSettings.load(namespace="ns").web_ui_url("w", "r") == "http://localhost:9000/namespaces/ns/workflows/w/r/history"
    monkeypatch.setenv("TEMPORAL_UI_PORT", "nine")
    with pytest.raises(ValueError, match="TEMPORAL_UI_PORT"):
        TemporalSettings.load()


def test_web_ui_url_cloud_and_remote():
    cloud = TemporalSettings.load(address="my-ns.a1b2c.tmprl.cloud:7233", namespace="my-ns.a1b2c")
    assert cloud.web_ui_url("w", "r") == "https://cloud.temporal.io/namespaces/my-ns.a1b2c/workflows/w/r/history"
    api = TemporalSettings.load(address="us-east-1.aws.api.temporal.io:7233", namespace="my-ns.a1b2c")
    assert api.web_ui_url() == "https://cloud.temporal.io/namespaces/my-ns.a1b2c/workflows"
    assert TemporalSettings.load(address="temporal.example.com:7233").web_ui_url("w") is None


@pytest.mark.parametrize("address", ["localhost:7233", "127.0.0.1:1", "[::1]:7233", "my-ns.a1b2c.tmprl.cloud:7233",
                                     " localhost:7233 "])
def test_valid_addresses(address):
    assert validate_address(address) == address.strip()


@pytest.mark.parametrize(("address", "message"), [
    ("localhost", "'localhost' has no port; give host:port, e.g. localhost:7233."),
    ("http://localhost:7233", "is a URL; give host:port without the scheme"),
    ("", "The Temporal address is empty"),
    ("localhost:http", "has port 'http'; the port must be a number from 1 to 65535"),
    ("localhost:70000", "the port must be a number from 1 to 65535"),
    (":7233", "has no port"),
    ("::1:7233", "put it in brackets, e.g. [::1]:7233"),
    ("localhost:7233/ns", "should be just host:port"),
])
def test_invalid_addresses_get_one_clear_sentence(address, message):
    with pytest.raises(InvalidTemporalAddress) as info:
        validate_address(address)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_bad_address_in_environment_is_reported_on_load(monkeypatch):
    monkeypatch.setenv("TEMPORAL_ADDRESS", "localhost")
    with pytest.raises(InvalidTemporalAddress, match="has no port"):
        TemporalSettings.load()


def test_connect_to_nothing_is_one_sentence_that_says_how_to_start_a_server():
    port = free_port()
    with pytest.raises(TemporalUnreachable) as info:
        asyncio.run(connect(f"localhost:{port}"))
    message = str(info.value)
    assert message.startswith(f"No Temporal server answers at localhost:{port}. ")
    assert "temporal server start-dev" in message and "make server" in message and "TEMPORAL_ADDRESS" in message
    assert "\n" not in message


def test_connect_to_a_silent_listener_times_out():
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()  # accepts TCP, never speaks gRPC: Client.connect alone would hang
        address = f"127.0.0.1:{squatter.getsockname()[1]}"
        # The outer bound only keeps a regression (a hang) from stalling the suite.
        with pytest.raises(TemporalUnreachable, match="did not answer like a Temporal server within 1s"):
            asyncio.run(asyncio.wait_for(connect(TemporalSettings.load(address=address), timeout=1), 60))
