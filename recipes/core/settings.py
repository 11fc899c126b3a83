"""Connect to Temporal with its own environment configuration, and link a run in the Web UI.

``temporalio.envconfig`` reads the profile file (``TEMPORAL_CONFIG_FILE``, ``TEMPORAL_PROFILE``) and the
``TEMPORAL_ADDRESS``, ``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS*`` variables; nothing set
means ``localhost:7233``, namespace ``default``: the local dev server. ``TEMPORAL_UI_PORT`` is the local Web
UI's port when it is not the gRPC port + 1000.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
from collections.abc import Sequence
from datetime import timedelta
from typing import Any, Protocol
from urllib.parse import quote

from temporalio.client import Client, Plugin
from temporalio.envconfig import ClientConfigProfile

from recipes.core.errors import TutorialError

START_HINT = "Start one (`temporal server start-dev`; in the tutorial `make server`), or set TEMPORAL_ADDRESS."
#: The useful part of the Rust client's error text, by a piece of it.
_REASONS = {
    "onnection refused": "connection refused",  # ConnectionRefused and "Connection refused"
    "dns error": "host name not found",
    "Unauthenticated": "not authenticated: check TEMPORAL_API_KEY or the TLS client certificate",
    "PermissionDenied": "permission denied: check TEMPORAL_API_KEY and TEMPORAL_NAMESPACE",
    "InvalidContentType": "TLS is on but the server speaks plain gRPC: unset TEMPORAL_TLS / TEMPORAL_API_KEY for it",
    "certificate": "its TLS certificate was rejected: check the TEMPORAL_TLS_* settings",
    "h2 protocol error": "the program there does not speak gRPC",
}


class TemporalUnreachable(TutorialError, RuntimeError):
    """No Temporal server answered at the configured address."""


class HasConnectConfig(Protocol):
    address: str

    def connect_config(self) -> dict[str, Any]: ...


def is_loopback(host: str) -> bool:
    try:
        return host.lower() == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def web_ui_url(client: Client, workflow_id: str | None = None, run_id: str | None = None) -> str | None:
    """The Web UI page of the client's namespace, a workflow or one run (its history)."""
    return ui_link(client.service_client.config.target_host, client.namespace, workflow_id, run_id)


def ui_link(address: str, namespace: str, workflow_id: str | None = None, run_id: str | None = None,
            *, ui_port: int | None = None) -> str | None:  # fmt: skip
    """:func:`web_ui_url` for a server address; ``None`` for a self-hosted remote server (its UI is elsewhere)."""
    host, _, port = address.rpartition(":")
    if is_loopback(host.strip("[]")):
        base = f"http://localhost:{ui_port or os.environ.get('TEMPORAL_UI_PORT') or int(port) + 1000}"
    elif host.endswith((".tmprl.cloud", ".api.temporal.io")):
        base = "https://cloud.temporal.io"
    else:
        return None
    url = f"{base}/namespaces/{quote(namespace, safe='')}/workflows"
    if workflow_id:
        url += f"/{quote(workflow_id, safe='')}" + (f"/{quote(run_id, safe='')}/history" if run_id else "")
    return url


async def connect(where: str | HasConnectConfig | None = None, *, plugins: Sequence[Plugin] = (), timeout: float = 5.0,
                  **overrides: Any) -> Client:  # fmt: skip
    """``Client.connect`` with Temporal's environment configuration, failing within ``timeout`` seconds with
    :class:`TemporalUnreachable` (one sentence) instead of a Rust error.

    ``where``: an address to use instead of the configured one, or settings with ``connect_config()`` (the
    tutorial's). ``plugins`` (the agents', a payload codec's) and ``overrides`` go to ``Client.connect``.
    """
    if where is None or isinstance(where, str):
        config = dict(ClientConfigProfile.load().to_client_connect_config())
        config["target_host"] = (where or "").strip() or config.get("target_host") or "localhost:7233"
    else:
        config = where.connect_config()
    address = config["target_host"]
    config.update(connect_timeout=timedelta(seconds=timeout), **overrides)
    try:  # connect_timeout bounds the TCP handshake only; a program that never answers gRPC needs wait_for
        return await asyncio.wait_for(Client.connect(**config, plugins=list(plugins)), timeout)
    except asyncio.TimeoutError:
        raise TemporalUnreachable(f"Something at {address} accepted the connection but did not answer like a Temporal "
                                  f"server within {timeout:g}s; is another program using that port?") from None  # fmt: skip
    except RuntimeError as err:
        if "Failed client connect" not in str(err):
            raise
        reason = next((why for piece, why in _REASONS.items() if piece in str(err)), str(err).splitlines()[0][:200])
        if reason == "connection refused" and is_loopback(address.rpartition(":")[0].strip("[]")):
            raise TemporalUnreachable(f"No Temporal server answers at {address}. {START_HINT}") from None
        raise TemporalUnreachable(f"Could not connect to Temporal at {address} ({reason}); check TEMPORAL_ADDRESS and the profile.") from None
