"""Where is the Temporal server? The one place the tutorial reads that.

Settings come from Temporal's own environment configuration
(``temporalio.envconfig``): the TOML profile file (``TEMPORAL_CONFIG_FILE``,
default ``~/.config/temporalio/temporal.toml``, profile ``TEMPORAL_PROFILE``),
then the ``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``,
``TEMPORAL_TLS*`` and ``TEMPORAL_GRPC_META_*`` variables on top. A notebook's
parameters cell can override the address and namespace. With nothing set you
get ``localhost:7233``, namespace ``default``: the local dev server.

``TEMPORAL_UI_PORT`` is this tutorial's own variable (not Temporal's): the port
of the local Web UI when it is not the gRPC port + 1000.

    settings = TemporalSettings.load()             # or .load(address="localhost:7234")
    client = await connect(settings)               # clear error if nothing answers
    print(settings.web_ui_url(handle.id, handle.result_run_id))
    subprocess.Popen(cmd, env={**os.environ, **settings.as_env()})   # a worker, same server
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from temporalio.client import Client, Plugin
from temporalio.envconfig import ClientConfigProfile, ClientConfigTLS

from recipes.core.errors import ConfigurationError, TutorialError

DEFAULT_ADDRESS = "localhost:7233"
DEFAULT_NAMESPACE = "default"
UI_PORT_ENV = "TEMPORAL_UI_PORT"
CLOUD_UI = "https://cloud.temporal.io"
START_HINT = "Start one (`temporal server start-dev`; in the tutorial `make server`), or set TEMPORAL_ADDRESS."


class InvalidTemporalAddress(ConfigurationError):
    """The address is not ``host:port``."""


class TemporalUnreachable(TutorialError, RuntimeError):
    """No Temporal server answered at the configured address."""


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


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
        if _is_loopback(split_address(chosen)[0]):
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
        return _is_loopback(self.host)

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
        """Link to the Web UI: the namespace's workflow list, one workflow (its
        latest run) or one run's history. ``None`` for a self-hosted remote
        server, whose UI address we cannot know."""
        if self.is_local:
            base = f"http://localhost:{self.ui_port or self.port + 1000}"
        elif self.is_cloud:
            base = CLOUD_UI
        else:
            return None
        url = f"{base}/namespaces/{quote(self.namespace, safe='')}/workflows"
        if workflow_id:
            url += f"/{quote(workflow_id, safe='')}"
            if run_id:
                url += f"/{quote(run_id, safe='')}/history"
        return url

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


def _short_reason(err: BaseException) -> str:
    """The useful part of the Rust client's error text."""
    text = str(err)
    for needle, reason in (
        ("Connection refused", "connection refused"),
        ("ConnectionRefused", "connection refused"),
        ("dns error", "host name not found"),
        ("Unauthenticated", "not authenticated: check TEMPORAL_API_KEY or the TLS client certificate"),
        ("PermissionDenied", "permission denied: check TEMPORAL_API_KEY and TEMPORAL_NAMESPACE"),
        ("InvalidContentType", "TLS is on but the server speaks plain gRPC: unset TEMPORAL_TLS / TEMPORAL_API_KEY for it"),
        ("certificate", "its TLS certificate was rejected: check the TEMPORAL_TLS_* settings"),
        ("h2 protocol error", "the program there does not speak gRPC"),
    ):
        if needle in text:
            return reason
    return text.splitlines()[0][:200] if text else type(err).__name__


async def connect(
    settings: TemporalSettings | str | None = None,
    *,
    plugins: Sequence[Plugin] = (),
    timeout: float = 5.0,
    **overrides: Any,
) -> Client:
    """``Client.connect`` with these settings, failing within ``timeout`` seconds
    with :class:`TemporalUnreachable` (one sentence) instead of a Rust error.

    ``settings`` may be a :class:`TemporalSettings`, an address string or
    ``None`` (``TemporalSettings.load()``). ``plugins`` and ``overrides`` go to
    ``Client.connect`` as they are, so its own API is the way in: what shapes payloads
    (a codec, payloads by reference) comes as a plugin -- Temporal's package for client
    configuration, which composes with the others (``OpenAIAgentsPlugin`` swaps the payload
    converter, a codec plugin adds its codec, in either order) and also configures a
    ``Worker`` or a ``Replayer`` -- or as ``data_converter=``. Nothing here reads payload
    settings: a client encrypts or offloads only when its caller asks.
    """
    if settings is None or isinstance(settings, str):
        settings = TemporalSettings.load(address=settings)
    config = {**settings.connect_config(), "connect_timeout": timedelta(seconds=timeout), **overrides}
    where = settings.address
    try:
        # connect_timeout only bounds the TCP handshake; a program that accepts
        # the connection but never answers gRPC would hang without wait_for.
        return await asyncio.wait_for(Client.connect(**config, plugins=list(plugins)), timeout)
    except asyncio.TimeoutError:
        raise TemporalUnreachable(
            f"Something at {where} accepted the connection but did not answer like a Temporal server "
            f"within {timeout:g}s; is another program using that port?"
        ) from None
    except RuntimeError as err:
        if "Failed client connect" not in str(err):
            raise
        reason = _short_reason(err)
        if reason == "connection refused" and settings.is_local:
            message = f"No Temporal server answers at {where}. {START_HINT}"
        else:
            message = f"Could not connect to Temporal at {where} ({reason}); check TEMPORAL_ADDRESS and the profile."
        raise TemporalUnreachable(message) from None
