"""A codec server: the Temporal Web UI and CLI show decrypted payloads; the server stores ciphertext.

    python -m recipes.payloads.codec_server                      # http://127.0.0.1:8234
    python -m recipes.payloads.codec_server --port 0              # a free port (printed)

It reads the same settings as workers (``PAYLOAD_KEYRING``, ``PAYLOAD_STORE`` ...,
:mod:`recipes.payloads.settings`) and speaks Temporal's codec-server protocol: ``POST .../decode`` and
``POST .../encode`` with the protobuf JSON of a ``Payloads`` message (``{"payloads": [...]}``),
the namespace in ``X-Namespace``; with payloads stored by reference, ``/decode`` fetches them too
unless asked ``?preserveStorageRefs=true`` (the Web UI asks, so rendering a history downloads no
blob), and ``POST .../download`` fetches and decrypts the references it is sent (the UI calls it
when a person opens one). Only the last part of the path decides which, as the protocol asks, so
the endpoint can sit under a prefix.

Who may call it
---------------
It binds to 127.0.0.1: it decrypts for whoever can reach it, so it stays on this machine.

- A **token** (``CODEC_SERVER_TOKEN``, or a random one printed at start): as
  ``Authorization: Bearer <token>`` -- what the ``temporal`` CLI sends with
  ``--codec-endpoint http://127.0.0.1:8234 --codec-auth "Bearer <token>"`` -- or as the path
  segment before ``/decode`` (``http://127.0.0.1:8234/<token>/decode``). The second form is for
  the Web UI: it sends an ``Authorization`` header only to an https endpoint and only with its
  own login, neither of which a local dev server has, so its endpoint URL carries the token.
  Anyone who can open that Web UI can read the URL: on a shared machine, keep the UI on
  loopback too. A missing or wrong token gets HTTP 401 and nothing is decoded.
- **CORS** for the Web UI's origin only (``--ui-origin``, default http://localhost:8233 and
  http://127.0.0.1:8233): a page from any other origin open in the same browser gets no CORS
  headers (its script cannot read the answer) and a 403.

A payload it cannot decode (a key it lacks, a deleted blob) is returned as it came, so the UI
shows it encoded rather than failing the whole page; the reason goes to stderr. The dev server
points its Web UI here with ``--ui-codec-endpoint`` (``python -m tutorial.temporal_server
start --ui-codec-endpoint http://127.0.0.1:8234/<token>``); when the codec server is down the UI
shows encoded payloads and nothing else breaks.
"""

from __future__ import annotations

import argparse
import errno
import hmac
import os
import secrets
import socket
import sys
from collections.abc import Sequence

import uvicorn
from google.protobuf import json_format
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.api.sdk.v1.external_storage_pb2 import ExternalStorageReference
from temporalio.converter import (
    ExternalStorage,
    JSONProtoPayloadConverter,
    PayloadCodec,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
)

from recipes.core.errors import ConfigurationError
from recipes.core.scripts import add_verbose_flag, run_script

from recipes.payloads.settings import PayloadSettings

HOST = "127.0.0.1"
DEFAULT_PORT = 8234
TOKEN_ENV = "CODEC_SERVER_TOKEN"
READY_TEXT = "Codec server on"
DEFAULT_UI_ORIGINS = ("http://localhost:8233", "http://127.0.0.1:8233")
_ALLOWED_HEADERS = "Content-Type, X-Namespace, Authorization"
_REFERENCE_TYPE = ExternalStorageReference.DESCRIPTOR.full_name.encode()


class PayloadDecoder:
    """Undoes what a worker's data converter did to payloads: fetch a payload stored by reference,
    then decrypt it. Each payload on its own: one that fails comes back as it was."""

    def __init__(self, codec: PayloadCodec | None, storage: ExternalStorage | None) -> None:
        self.codec, self.storage = codec, storage
        self._references = JSONProtoPayloadConverter()

    async def decode(self, payloads: Sequence[Payload], *, fetch: bool = True) -> list[Payload]:
        """``fetch=False``: references come back as they are (the Web UI asks for that, to render a
        history without downloading every blob, and calls ``download`` when a person opens one)."""
        out = []
        for payload in payloads:
            try:
                if is_reference(payload) and not fetch:
                    out.append(payload)
                    continue
                opened = await self._fetch(payload)
                out.append((await self.codec.decode([opened]))[0] if self.codec else opened)
            except Exception as err:  # noqa: BLE001 - shown encoded, reason logged
                print(f"codec server: left a payload encoded: {err}", file=sys.stderr, flush=True)
                out.append(payload)
        return out

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return list(await self.codec.encode(payloads)) if self.codec else list(payloads)

    async def _fetch(self, payload: Payload) -> Payload:
        if self.storage is None or not is_reference(payload):
            return payload
        reference = self._references.from_payload(payload, ExternalStorageReference)
        driver = next(d for d in self.storage.drivers if d.name() == reference.driver_name)
        claim = StorageDriverClaim(claim_data=dict(reference.claim_data))
        return (await driver.retrieve(StorageDriverRetrieveContext(), [claim]))[0]


def is_reference(payload: Payload) -> bool:
    """A payload stored by reference (``ExternalStorage``): what the history holds in its place."""
    return payload.metadata.get("messageType") == _REFERENCE_TYPE


def create_app(decoder: PayloadDecoder, *, token: str, ui_origins: Sequence[str] = DEFAULT_UI_ORIGINS) -> Starlette:
    origins = set(ui_origins)

    def cors(request: Request) -> dict[str, str]:
        origin = request.headers.get("origin")
        if origin not in origins:
            return {}
        return {"Access-Control-Allow-Origin": origin, "Access-Control-Allow-Credentials": "true",
                "Access-Control-Allow-Methods": "POST, OPTIONS", "Access-Control-Allow-Headers": _ALLOWED_HEADERS,
                "Vary": "Origin"}  # fmt: skip

    def authorized(request: Request, parts: list[str]) -> bool:
        given = request.headers.get("authorization", "")
        bearer = given[7:] if given.lower().startswith("bearer ") else ""
        in_path = parts[-2] if len(parts) >= 2 else ""
        return any(hmac.compare_digest(candidate.encode(), token.encode()) for candidate in (bearer, in_path) if candidate)

    async def endpoint(request: Request) -> Response:
        parts = [p for p in request.url.path.split("/") if p]
        action = parts[-1] if parts else ""
        headers = cors(request)
        if request.method == "OPTIONS":  # the browser's preflight: no token, no body
            return Response(status_code=204 if headers else 403, headers=headers)
        if action not in ("encode", "decode", "download"):
            return JSONResponse({"message": "POST .../encode, .../decode or .../download"}, status_code=404,
                                headers=headers)  # fmt: skip
        if "origin" in request.headers and not headers:
            return JSONResponse({"message": "origin not allowed"}, status_code=403)
        if not authorized(request, parts):
            return JSONResponse({"message": "missing or wrong token"}, status_code=401, headers=headers)
        try:
            body = json_format.Parse(await request.body(), Payloads(), ignore_unknown_fields=True)
        except json_format.ParseError as err:
            return JSONResponse({"message": f"not a Payloads message: {err}"}, status_code=400, headers=headers)
        if action == "encode":
            converted = await decoder.encode(body.payloads)
        elif action == "download":
            if not all(is_reference(p) for p in body.payloads):
                return JSONResponse({"message": "all payloads must be storage references"}, status_code=400, headers=headers)
            converted = await decoder.decode(body.payloads)
        else:
            keep_references = request.query_params.get("preserveStorageRefs", "").lower() == "true"
            converted = await decoder.decode(body.payloads, fetch=not keep_references)
        result = Payloads(payloads=converted)
        return Response(json_format.MessageToJson(result), media_type="application/json", headers=headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["POST", "OPTIONS"])])


def bind(port: int) -> socket.socket:
    """The listening socket on 127.0.0.1 (first, so a taken port is one sentence)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((HOST, port))
    except OSError as err:
        sock.close()
        if err.errno == errno.EADDRINUSE:
            raise ConfigurationError(f"Port {port} is taken; pass --port with another (0 picks a free one).") from None
        raise
    sock.listen(128)
    return sock


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}; 0 picks a free one")
    parser.add_argument("--ui-origin", action="append", default=None,
                        help="the Web UI's origin, for CORS (repeatable; default http://localhost:8233 and 127.0.0.1)")
    args = add_verbose_flag(parser).parse_args(argv)
    sock = bind(args.port)
    try:
        settings = PayloadSettings.load()
        decoder = PayloadDecoder(settings.codec(), settings.storage())
        token = os.environ.get(TOKEN_ENV) or secrets.token_urlsafe(24)
        app = create_app(decoder, token=token, ui_origins=args.ui_origin or DEFAULT_UI_ORIGINS)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="off"))
        url = f"http://{HOST}:{sock.getsockname()[1]}"
        print(f"{READY_TEXT} {url} ({settings.describe()})", flush=True)
        print(f"  temporal CLI: --codec-endpoint {url} --codec-auth 'Bearer <{TOKEN_ENV}>'", flush=True)
        print(f"  Web UI:       --ui-codec-endpoint {url}/<{TOKEN_ENV}>", flush=True)
        if TOKEN_ENV not in os.environ:
            print(f"  {TOKEN_ENV}={token} (made for this run; set it to keep one)", flush=True)
        await server.serve(sockets=[sock])
    finally:
        sock.close()


if __name__ == "__main__":
    run_script(main())
