"""The codec server: Temporal's codec protocol, its token, CORS for the Web UI's origin only, and
payloads it cannot open left as they are -- in-process over HTTP, then through the real ``temporal``
CLI against a run on the dev server."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from temporalio.api.common.v1 import Payload

from recipes.payloads.codec import AesGcmCodec, Keyring
from recipes.payloads.codec_server import READY_TEXT, TOKEN_ENV, PayloadDecoder, create_app
from recipes.payloads.settings import PayloadSettings
from tutorial.processes import python_module
from tutorial.temporal_server import find_temporal_binary

TOKEN = "test-token-" + uuid.uuid4().hex
UI = "http://localhost:8233"
QUESTION_MARK = "levee-on-elm-street"


def as_json(*payloads: Payload) -> dict:
    return {"payloads": [{"metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                          "data": base64.b64encode(p.data).decode()} for p in payloads]}  # fmt: skip


def texts(response) -> list[bytes]:
    return [base64.b64decode(p.get("data", "")) for p in response.json()["payloads"]]


@pytest.fixture
def sealed(tmp_path):
    """A keyring file, a converter sealing with it (offloading from 0 bytes), and a sealed value."""
    keyring = tmp_path / "keys.json"
    keyring.write_text(Keyring.new("key-1").to_json())
    settings = PayloadSettings(store="local", store_dir=tmp_path / "blobs", threshold=100, keyring=keyring)
    converter = settings.data_converter()
    small, large = asyncio.run(converter.encode([f"ask about the {QUESTION_MARK}", "x" * 500]))
    return settings, small, large


@pytest.fixture
def client(sealed):
    settings = sealed[0]
    return TestClient(create_app(PayloadDecoder(settings.codec(), settings.storage()), token=TOKEN, ui_origins=[UI]))


def test_decode_with_the_bearer_token_opens_sealed_and_stored_payloads(client, sealed):
    _, small, large = sealed
    response = client.post("/decode", json=as_json(small, large), headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    opened = texts(response)
    assert QUESTION_MARK.encode() in opened[0] and b"x" * 500 in opened[1]


def test_the_web_ui_form_carries_the_token_in_the_path_and_gets_cors_for_its_origin(client, sealed):
    preflight = client.options(f"/{TOKEN}/decode", headers={"Origin": UI, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 204 and preflight.headers["access-control-allow-origin"] == UI
    assert "X-Namespace" in preflight.headers["access-control-allow-headers"]
    response = client.post(f"/{TOKEN}/decode", json=as_json(sealed[1]), headers={"Origin": UI, "X-Namespace": "default"})
    assert response.status_code == 200 and response.headers["access-control-allow-origin"] == UI
    assert QUESTION_MARK.encode() in texts(response)[0]


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN}])
def test_no_token_or_a_wrong_one_is_refused(client, sealed, headers):
    response = client.post("/decode", json=as_json(sealed[1]), headers=headers)
    assert response.status_code == 401 and QUESTION_MARK not in response.text
    assert client.post("/wrong/decode", json=as_json(sealed[1])).status_code == 401


def test_another_origin_gets_no_cors_and_no_data(client, sealed):
    evil = "http://evil.example"
    preflight = client.options("/decode", headers={"Origin": evil, "Access-Control-Request-Method": "POST"})
    assert preflight.status_code == 403 and "access-control-allow-origin" not in preflight.headers
    response = client.post(f"/{TOKEN}/decode", json=as_json(sealed[1]), headers={"Origin": evil})
    assert response.status_code == 403 and QUESTION_MARK not in response.text


def test_encode_then_decode_round_trips(client):
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')
    auth = {"Authorization": f"Bearer {TOKEN}"}
    encoded = client.post("/encode", json=as_json(plain), headers=auth)
    assert b"hello" not in base64.b64decode(encoded.json()["payloads"][0]["data"])
    assert texts(client.post("/decode", json=encoded.json(), headers=auth)) == [b'"hello"']


def test_what_it_cannot_open_comes_back_as_it_came(sealed, tmp_path):
    settings, small, large = sealed
    other = PayloadSettings(store="local", store_dir=tmp_path / "elsewhere", keyring=tmp_path / "other.json")
    (tmp_path / "other.json").write_text(Keyring.new("key-9").to_json())
    app = create_app(PayloadDecoder(AesGcmCodec(Keyring.new("key-9")), other.storage()), token=TOKEN, ui_origins=[UI])
    response = TestClient(app).post("/decode", json=as_json(small, large), headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200 and response.json() == as_json(small, large)


def test_a_body_that_is_not_payloads_is_a_400(client):
    response = client.post("/decode", content=b"{nope", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 400 and "not a Payloads message" in response.json()["message"]


def test_the_web_ui_renders_references_as_they_are_and_downloads_one_when_asked(client, sealed):
    settings, small, large = sealed
    [inline] = asyncio.run(settings.codec().encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"inline"')]))
    auth = {"Authorization": f"Bearer {TOKEN}"}
    kept = client.post("/decode?preserveStorageRefs=true", json=as_json(inline, large), headers=auth)
    assert kept.status_code == 200 and texts(kept)[0] == b'"inline"'  # decrypted
    assert kept.json()["payloads"][1] == as_json(large)["payloads"][0]  # the reference, not fetched
    downloaded = client.post("/download", json=as_json(large), headers=auth)
    assert downloaded.status_code == 200 and texts(downloaded) == [b'"' + b"x" * 500 + b'"']
    refused = client.post("/download", json=as_json(inline), headers=auth)
    assert refused.status_code == 400 and "must be storage references" in refused.json()["message"]
