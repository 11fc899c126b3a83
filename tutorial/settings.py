"""The notebooks' Temporal settings: the address a parameters cell gives (checked, one sentence if it is
not ``host:port``) over Temporal's own environment configuration, and the variables that point a worker
subprocess at the same server. Recipes connect with :func:`recipes.core.settings.connect` alone.

    settings = TemporalSettings.load(address="localhost:7234")
    client = await connect(settings)
    subprocess.Popen(cmd, env={**os.environ, **settings.as_env()})
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS

from recipes.core.errors import ConfigurationError
from recipes.core.settings import is_loopback, ui_link

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
UI_PORT_ENV = "TEMPORAL_UI_PORT"


class InvalidTemporalAddress(ConfigurationError):
    """The address is not ``host:port``."""


def split_address(address: str) -> tuple[str, int]:
    """``"localhost:7233"`` -> ``("localhost", 7233)``; ``"[::1]:7233"`` -> ``("::1", 7233)``."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


def validate_address(text: str) -> str:
    """Return ``text`` stripped if it is ``host:port``; else raise
    :class:`InvalidTemporalAddress` with one sentence saying what is wrong."""
    address = (text or "").strip()
    example = "e.g. localhost:7233"
    if not address:
        raise InvalidTemporalAddress(f"The Temporal address is empty; give host:port, {example}.")
    if "://" in address:
        raise InvalidTemporalAddress(
            f"Temporal address {address!r} is a URL; give host:port without the scheme, {example} "
            "(Temporal speaks gRPC, and the http:// address is the Web UI's)."
        )
    if any(c.isspace() for c in address) or "/" in address:
        raise InvalidTemporalAddress(f"Temporal address {address!r} should be just host:port, {example}.")
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        raise InvalidTemporalAddress(f"Temporal address {address!r} has no port; give host:port, {example}.")
    if ":" in host and not (host.startswith("[") and host.endswith("]")):
        raise InvalidTemporalAddress(
            f"Temporal address {address!r} looks like a bare IPv6 address; put it in brackets, e.g. [::1]:7233."
        )
    if not re.fullmatch(r"\d{1,5}", port) or not 0 < int(port) < 65536:
        raise InvalidTemporalAddress(
            f"Temporal address {address!r} has port {port!r}; the port must be a number from 1 to 65535, {example}."
        )
    return address


def _is_cloud(host: str) -> bool:
    host = host.lower()
    return host.endswith(".tmprl.cloud") or host.endswith(".api.temporal.io")


def _given(value: str | None) -> str | None:
    """``None`` or an empty/blank string mean "not given" (papermill passes "")."""
    value = (value or "").strip()
    return value or None


@dataclass(frozen=True)
class TemporalSettings:
    """Connection settings for one Temporal server + namespace."""

    address: str = DEFAULT_ADDRESS
    namespace: str = DEFAULT_NAMESPACE
    api_key: str | None = None
    tls: ClientConfigTLS | None = None
    """TLS as the profile/env gave it (``None``: on if ``api_key`` is set, else off)."""
    rpc_metadata: Mapping[str, str] = field(default_factory=dict, hash=False)
    """gRPC headers (profile ``grpc_meta`` / ``TEMPORAL_GRPC_META_*``)."""
    ui_port: int | None = None
    """Local Web UI port: ``TEMPORAL_UI_PORT``, else gRPC port + 1000 (as ``temporal server start-dev``)."""

    @classmethod
    def load(cls, address: str | None = None, namespace: str | None = None) -> TemporalSettings:
        """Profile file + ``TEMPORAL_*`` environment, then the explicit arguments on top.

        ``None`` or ``""`` for an argument means "not given".
        """
        try:
            profile = ClientConfigProfile.load()
        except Exception as err:  # bad TOML, unknown TEMPORAL_PROFILE, conflicting TLS variables
            raise ValueError(f"Could not read the Temporal client configuration: {err}.") from None
        chosen = validate_address(_given(address) or _given(profile.address) or DEFAULT_ADDRESS)
        ui_port = None
        if is_loopback(split_address(chosen)[0]):
            raw = _given(os.environ.get(UI_PORT_ENV))
            if raw is not None and not (raw.isdigit() and 0 < int(raw) < 65536):
                raise ValueError(f"{UI_PORT_ENV}={raw!r} is not a port number (1-65535).")
            ui_port = int(raw) if raw else split_address(chosen)[1] + 1000
        return cls(
            address=chosen,
            namespace=_given(namespace) or _given(profile.namespace) or DEFAULT_NAMESPACE,
            api_key=_given(profile.api_key),
            tls=profile.tls,
            rpc_metadata=dict(profile.grpc_meta),
            ui_port=ui_port,
        )

    @property
    def host(self) -> str:
        return split_address(self.address)[0]

    @property
    def port(self) -> int:
        return split_address(self.address)[1]

    @property
    def is_local(self) -> bool:
        """True for a loopback address (localhost, 127.x.x.x, ::1)."""
        return is_loopback(self.host)

    @property
    def is_cloud(self) -> bool:
        return _is_cloud(self.host)

    def connect_config(self) -> dict[str, Any]:
        """Keyword arguments for ``Client.connect(**cfg)``."""
        profile = ClientConfigProfile(
            address=self.address,
            namespace=self.namespace,
            api_key=self.api_key,
            tls=self.tls,
            grpc_meta=dict(self.rpc_metadata),
        )
        return dict(profile.to_client_connect_config())

    def web_ui_url(self, workflow_id: str | None = None, run_id: str | None = None) -> str | None:
        """Link to the Web UI: the namespace's workflow list, one workflow or one run's history."""
        return ui_link(self.address, self.namespace, workflow_id, run_id, ui_port=self.ui_port)

    def as_env(self) -> dict[str, str]:
        """``TEMPORAL_*`` variables for a worker subprocess so it connects to
        the same server (read back by ``TemporalSettings.load()`` there)."""
        env = {"TEMPORAL_ADDRESS": self.address, "TEMPORAL_NAMESPACE": self.namespace}
        if self.api_key:
            env["TEMPORAL_API_KEY"] = self.api_key
        if self.ui_port is not None:
            env[UI_PORT_ENV] = str(self.ui_port)
        if self.tls is not None:
            if self.tls.disabled is not None:
                env["TEMPORAL_TLS"] = "false" if self.tls.disabled else "true"
            if self.tls.server_name:
                env["TEMPORAL_TLS_SERVER_NAME"] = self.tls.server_name
            for name, source in (
                ("SERVER_CA_CERT", self.tls.server_root_ca_cert),
                ("CLIENT_CERT", self.tls.client_cert),
                ("CLIENT_KEY", self.tls.client_private_key),
            ):
                if isinstance(source, Path):
                    env[f"TEMPORAL_TLS_{name}_PATH"] = str(source)
                elif isinstance(source, bytes):
                    env[f"TEMPORAL_TLS_{name}_DATA"] = source.decode()
                elif isinstance(source, str):
                    env[f"TEMPORAL_TLS_{name}_DATA"] = source
        for key, value in self.rpc_metadata.items():
            env["TEMPORAL_GRPC_META_" + key.upper().replace("-", "_")] = value
        return env

    def describe(self) -> str:
        return f"{self.address} (namespace {self.namespace})"
