"""Payloads by reference in S3, by settings alone: ``PayloadSettings(store="s3", s3_bucket=...)``
wires the SDK's S3 driver, and nothing else changes.

Against a real S3-compatible server over HTTP (moto's, a child process on loopback, one bucket
made for this module) and, end to end, the real Temporal dev server: a payload goes to the
bucket and the converter keeps a reference of a few hundred bytes; with a keyring what lands in
the bucket is ciphertext; the alert-history agent's ~3 MB tool result is recorded by reference
(no payload over 1 MB in its history, a ~3 MB object in the bucket); and an object that is gone
is one error naming the bucket and key, at once. Credentials and the endpoint come only from
the AWS SDK's own variables (``AWS_ENDPOINT_URL_S3``, ...), as they would in production.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.sdk.v1.external_storage_pb2 import ExternalStorageReference
from temporalio.converter import JSONProtoPayloadConverter
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import choose_model
from recipes.core.settings import connect
from recipes.payloads.activities import fetch_alert_history
from recipes.payloads.codec import ENCODING
from recipes.payloads.keys import create_keyring
from recipes.payloads.settings import PayloadSettings, PayloadsPlugin
from recipes.payloads.workflows import MODEL_PARAMS, AlertHistoryWorkflow
from tutorial.history import fetch_history
from tutorial.ledger import LEDGER_ENV_VAR
from tutorial.payload_lab import history_size, is_reference, payloads_in
from tutorial.processes import python_module
from tutorial.proof import free_port

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_deadlock_detection")]

BUCKET = "tutorial-payloads"
SECRET_TEXT = "Is the levee on Elm Street holding? My address is 12 Elm Street."


def run(coro):
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def s3_endpoint(tmp_path_factory):
    """moto's S3 server on a free loopback port, with one bucket; the AWS SDK's variables point at
    it (dummy credentials, no profile or config file of this machine) for the module's tests."""
    tmp = tmp_path_factory.mktemp("s3")
    port = free_port()
    server = python_module("moto-s3", "moto.server", "-H", "127.0.0.1", "-p", str(port),
                           log_path=tmp / "moto.log", ready_text="Running on")  # fmt: skip
    endpoint = f"http://127.0.0.1:{port}"
    with server, pytest.MonkeyPatch.context() as patch:  # stopped by its own process group
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            patch.delenv(name, raising=False)
        for name, value in {"AWS_ENDPOINT_URL_S3": endpoint, "AWS_REGION": "us-east-1",
                            "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
                            "AWS_CONFIG_FILE": str(tmp / "none"),
                            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "none")}.items():  # fmt: skip
            patch.setenv(name, value)
        run(_s3("create_bucket", Bucket=BUCKET))  # the server answers S3 calls, not just its port
        yield endpoint


async def _s3(operation: str, **kwargs):
    async with get_session().create_client("s3") as s3:
        return await getattr(s3, operation)(**kwargs)


def objects() -> dict[str, int]:
    """The bucket's objects: key -> size in bytes."""
    return {o["Key"]: o["Size"] for o in run(_s3("list_objects_v2", Bucket=BUCKET)).get("Contents", [])}


def object_bytes(key: str) -> bytes:
    async def read():
        async with get_session().create_client("s3") as s3:
            return await (await s3.get_object(Bucket=BUCKET, Key=key))["Body"].read()

    return run(read())


def claim(reference: Payload) -> dict[str, str]:
    """Where a reference payload says its payload is (the S3 driver's claim: bucket, key, hash)."""
    assert is_reference(reference), reference.metadata
    return dict(JSONProtoPayloadConverter().from_payload(reference, ExternalStorageReference).claim_data)


# --- the converter alone ---------------------------------------------------------------------


def test_a_payload_goes_to_the_bucket_and_the_converter_keeps_a_small_reference(s3_endpoint):
    value = f"{SECRET_TEXT} ({uuid.uuid4().hex})"
    converter = PayloadSettings(store="s3", s3_bucket=BUCKET, threshold=0).data_converter()
    [reference] = run(converter.encode([value]))
    where = claim(reference)
    assert where["bucket"] == BUCKET and len(reference.SerializeToString()) < 500
    assert value.encode() not in reference.SerializeToString()
    assert where["key"] in objects() and value.encode() in object_bytes(where["key"])
    assert run(converter.decode([reference], [str])) == [value]  # another event loop, the same converter


def test_below_the_threshold_a_payload_stays_inline_and_out_of_the_bucket(s3_endpoint):
    converter = PayloadSettings(store="s3", s3_bucket=BUCKET, threshold=1000).data_converter()
    before = objects()
    small, large = run(converter.encode([f"hi {uuid.uuid4().hex}", "x" * 5000 + uuid.uuid4().hex]))
    assert not is_reference(small) and small.metadata["encoding"] == b"json/plain"
    assert set(objects()) - set(before) == {claim(large)["key"]}


def test_with_a_keyring_the_object_in_the_bucket_is_ciphertext(s3_endpoint, tmp_path):
    keyring = tmp_path / "keys.json"
    create_keyring(keyring)
    value = f"{SECRET_TEXT} ({uuid.uuid4().hex})"
    converter = PayloadSettings(store="s3", s3_bucket=BUCKET, threshold=0, keyring=keyring).data_converter()
    [reference] = run(converter.encode([value]))
    stored = object_bytes(claim(reference)["key"])
    assert b"Elm Street" not in stored and ENCODING in stored  # encrypted first, then offloaded
    assert b"Elm Street" not in reference.SerializeToString()
    assert run(converter.decode([reference], [str])) == [value]


# --- what fails, fails at once and says where ------------------------------------------------


def test_a_deleted_object_is_an_error_naming_the_bucket_and_key_not_a_hang(s3_endpoint):
    converter = PayloadSettings(store="s3", s3_bucket=BUCKET, threshold=0).data_converter()
    [reference] = run(converter.encode([f"{SECRET_TEXT} ({uuid.uuid4().hex})"]))
    key = claim(reference)["key"]
    run(_s3("delete_object", Bucket=BUCKET, Key=key))
    with pytest.raises(RuntimeError, match=rf"S3StorageDriver retrieve failed \[bucket={BUCKET}, key={key}") as caught:
        run(asyncio.wait_for(converter.decode([reference], [str]), 60))  # raises, rather than waiting on a retry
    cause = caught.value.__cause__
    assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "NoSuchKey"


def test_a_bucket_that_does_not_exist_is_an_error_naming_it_when_storing(s3_endpoint):
    converter = PayloadSettings(store="s3", s3_bucket="no-such-bucket", threshold=0).data_converter()
    with pytest.raises(RuntimeError, match=r"S3StorageDriver store failed \[bucket=no-such-bucket, key=v0/") as caught:
        run(asyncio.wait_for(converter.encode(["anything"]), 60))
    cause = caught.value.__cause__
    assert isinstance(cause, ClientError) and cause.response["Error"]["Code"] == "NoSuchBucket"


# --- end to end: the alert-history agent -----------------------------------------------------


async def ask_alert_history(address: str, settings: PayloadSettings, question: str):
    """Run one question through an in-process worker whose client has ``settings``; (answer, history)."""
    plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=choose_model("offline").provider())
    client = await connect(address, plugins=[PayloadsPlugin(settings), plugin])
    queue = f"test-payloads-s3-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[AlertHistoryWorkflow], activities=[fetch_alert_history]):
        handle = await client.start_workflow(
            AlertHistoryWorkflow.run, question, id=f"alert-history-s3-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        answer = await asyncio.wait_for(handle.result(), timeout=90)
        return answer, await fetch_history(handle)


def test_the_agents_3_mb_tool_result_is_recorded_by_reference_to_the_bucket(
    s3_endpoint, temporal_server, weather, tmp_path, monkeypatch, record_property
):
    monkeypatch.setenv(LEDGER_ENV_VAR, str(tmp_path / "ledger.jsonl"))
    weather.reset()
    settings = PayloadSettings(store="s3", s3_bucket=BUCKET)  # the default threshold, 256 KiB
    answer, history = run(ask_alert_history(temporal_server.address, settings,
                                            "What has the alert history of California been like?"))  # fmt: skip
    assert "alerts on record for CA" in answer, answer
    [(event, reference)] = [(e, p) for e, p in payloads_in(history) if is_reference(p)]
    assert event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
    stands_for = sum(p.size_bytes for p in reference.external_payloads)
    assert stands_for > 2_000_000, stands_for  # over Temporal's 2 MB limit for one payload
    assert history_size(history).largest_payload < 1_000_000
    where = claim(reference)
    assert where["bucket"] == BUCKET and f"/wi/{history.workflow_id}/ri/{history.run_id}/" in where["key"]
    assert objects()[where["key"]] == stands_for
    record_property("figures", f"payloads in S3: a {stands_for:,}-byte tool result, a {reference.ByteSize()}-byte "
                               "reference in the history")  # fmt: skip
