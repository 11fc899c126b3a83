"""Encrypted and offloaded payloads in real runs on the dev server: a key rotated in the middle of a
session, a worker without the key (the run waits, then resumes), a deleted blob (the run fails
with one sentence instead of hanging), and no secret in any payload, encrypted or not."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import WorkflowExecutionStatus, WorkflowFailureError
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.agent_session.client import Session
from recipes.agent_session.worker import build_worker
from recipes.agent_session.workflows import MODEL_PARAMS as SESSION_MODEL_PARAMS
from recipes.core.models import choose_model
from recipes.core.settings import connect
from recipes.core.worker import READY_TEXT
from recipes.payloads.activities import fetch_alert_history
from recipes.payloads.codec_server import PayloadDecoder
from recipes.payloads.keys import create_keyring, rotate_keyring
from recipes.payloads.settings import PayloadSettings, PayloadsPlugin
from recipes.payloads.workflows import MODEL_PARAMS, AlertHistoryWorkflow
from tutorial.kernel_worker import start_in_kernel
from tutorial.ledger import LEDGER_ENV_VAR
from tutorial.payload_lab import database_files, decoded, key_ids, workflow_task_failures
from tutorial.processes import python_module

pytestmark = [pytest.mark.integration, pytest.mark.usefixtures("no_deadlock_detection")]

QUESTION = "What has the alert history of California been like?"


@pytest.fixture
def keys(tmp_path, monkeypatch, weather):
    """A keyring (key-1) and settings sealing with it, offloading to ``tmp_path``; no ledger lines."""
    monkeypatch.setenv(LEDGER_ENV_VAR, str(tmp_path / "ledger.jsonl"))
    keyring = tmp_path / "keys.json"
    create_keyring(keyring)
    return keyring, PayloadSettings(store="local", store_dir=tmp_path / "blobs", keyring=keyring)


def as_bytes(history) -> bytes:
    """A history as the server stores it (protobuf bytes)."""
    return History(events=list(history.events)).SerializeToString()


def offline_plugin(model_params=MODEL_PARAMS) -> OpenAIAgentsPlugin:
    return OpenAIAgentsPlugin(model_params=model_params, model_provider=choose_model("offline").provider())


def queue(name: str) -> str:
    return f"test-payloads-{name}-{uuid.uuid4().hex[:6]}"


def test_a_key_rotated_mid_session_leaves_every_turn_readable(temporal_server, keys):
    keyring, sealed = keys

    async def scenario():
        client = await connect(temporal_server.address, plugins=[PayloadsPlugin(sealed), offline_plugin(SESSION_MODEL_PARAMS)])
        task_queue = queue("rotation")
        worker = await start_in_kernel(build_worker(client, task_queue=task_queue))
        try:
            session = await Session.start(client, task_queue=task_queue)
            await session.send("Any weather alerts for Texas?")
            rotate_keyring(keyring)  # the running worker and this client read the file again
            await session.send("Any weather alerts for Oregon?")
            turns = await session.conversation()
            await session.end("done")
            return turns, key_ids(await client.get_workflow_handle(session.id).fetch_history())
        finally:
            await worker.stop()

    turns, used = asyncio.run(scenario())
    assert set(used) == {"key-1", "key-2"}, used
    assert [t.text for t in turns if t.role == "user"] == ["Any weather alerts for Texas?", "Any weather alerts for Oregon?"]


def test_a_worker_without_the_key_parks_the_run_until_one_with_the_key_takes_it(temporal_server, keys, tmp_path):
    keyring, sealed = keys
    stale_keyring = tmp_path / "stale.json"
    stale_keyring.write_text(keyring.read_text())
    rotate_keyring(keyring)  # runs are sealed with key-2 now; the stale keyring has only key-1
    stale = PayloadSettings(store="local", store_dir=sealed.store_dir, keyring=stale_keyring)
    task_queue = queue("stale")

    async def scenario():
        client = await connect(temporal_server.address, plugins=[PayloadsPlugin(sealed), OpenAIAgentsPlugin()])
        stale_client = await connect(temporal_server.address, plugins=[PayloadsPlugin(stale), offline_plugin()])
        handle = await client.start_workflow(AlertHistoryWorkflow.run, QUESTION, id=f"stale-{uuid.uuid4().hex[:6]}",
                                             task_queue=task_queue)  # fmt: skip
        async with Worker(stale_client, task_queue=task_queue, workflows=[AlertHistoryWorkflow],
                          activities=[fetch_alert_history]):  # fmt: skip
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                history = await handle.fetch_history()
                if any(e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED for e in history.events):
                    break
                await asyncio.sleep(0.2)
            errors = await workflow_task_failures(client, history)
            await asyncio.sleep(2)  # the server offers the task again meanwhile: still not failed
            parked = (await handle.describe()).status
        keyed_client = await connect(temporal_server.address, plugins=[PayloadsPlugin(sealed), offline_plugin()])
        async with Worker(keyed_client, task_queue=task_queue, workflows=[AlertHistoryWorkflow],
                          activities=[fetch_alert_history]):  # fmt: skip
            answer = await asyncio.wait_for(handle.result(), 90)
        return errors, parked, answer

    errors, parked, answer = asyncio.run(scenario())
    assert errors and errors[0].startswith("EncryptionKeyMissing: Payload encrypted with key 'key-2'"), errors
    assert str(stale_keyring) in errors[0] and "(it has key-1)" in errors[0]
    assert parked == WorkflowExecutionStatus.RUNNING
    assert "alerts on record for CA" in answer


def test_a_deleted_blob_fails_the_run_with_one_sentence_instead_of_hanging(temporal_server, keys, tmp_path):
    """The workflow's own input is offloaded, then its blob deleted before any worker reads it: the
    worker's first workflow task meets ``PayloadBlobMissing`` (non-retryable), and the run fails."""
    _, sealed = keys
    tiny = PayloadSettings(store="local", store_dir=sealed.store_dir, keyring=sealed.keyring, threshold=64)
    task_queue = queue("deleted")

    async def scenario():
        client = await connect(temporal_server.address, plugins=[PayloadsPlugin(tiny), offline_plugin()])
        question = QUESTION + " " + "Please be thorough. " * 10  # well over 64 bytes: offloaded
        handle = await client.start_workflow(AlertHistoryWorkflow.run, question, id=f"deleted-{uuid.uuid4().hex[:6]}",
                                             task_queue=task_queue)  # fmt: skip
        blobs = [p for p in Path(sealed.store_dir).rglob("*") if p.is_file()]
        for blob in blobs:
            blob.unlink()
        async with Worker(client, task_queue=task_queue, workflows=[AlertHistoryWorkflow],
                          activities=[fetch_alert_history]):  # fmt: skip
            with pytest.raises(WorkflowFailureError) as failed:
                await asyncio.wait_for(handle.result(), 60)
        kinds = [EventType.Name(e.event_type) for e in (await handle.fetch_history()).events]
        return blobs, failed.value, kinds

    blobs, failure, kinds = asyncio.run(scenario())
    assert blobs, "the input went to the store"
    cause = failure.cause
    assert getattr(cause, "type", None) == "PayloadBlobMissing" and "is not in the store" in str(cause), cause
    # Failed by its first workflow task, not after retries of it: one task, none failed.
    assert kinds.count("EVENT_TYPE_WORKFLOW_TASK_STARTED") == 1 and "EVENT_TYPE_WORKFLOW_TASK_FAILED" not in kinds, kinds


def test_no_secret_is_in_any_payload_encrypted_or_not(temporal_server, keys, model_double, tmp_path):
    """The model's API key (the double's known fake one) reaches the worker by its environment only:
    after a run on the double, it is in no payload -- not in the server's database, not in the raw
    histories, not in their decrypted payloads, not in the blob store, not in the ledger."""
    _, sealed = keys
    api_key = model_double.env()["OPENAI_API_KEY"]
    task_queue = queue("secrets")
    env = {**model_double.env(), "AGENT_MODEL_BACKEND": "openai-compatible", "TEMPORAL_ADDRESS": temporal_server.address,
           "PAYLOADS_TASK_QUEUE": task_queue, LEDGER_ENV_VAR: str(tmp_path / "ledger.jsonl"), **sealed.as_env()}  # fmt: skip
    worker = python_module("test-payloads-secrets-worker", "recipes.payloads.worker", env=env,
                           log_path=tmp_path / "worker.log", ready_text=READY_TEXT)  # fmt: skip
    requests_before = len(model_double.requests())

    async def scenario():
        client = await connect(temporal_server.address, plugins=[PayloadsPlugin(sealed), OpenAIAgentsPlugin()])
        handle = await client.start_workflow(AlertHistoryWorkflow.run, QUESTION, id=f"secrets-{uuid.uuid4().hex[:6]}",
                                             task_queue=task_queue)  # fmt: skip
        await asyncio.wait_for(handle.result(), 120)
        raw = await handle.fetch_history()
        opened = await decoded(raw, PayloadDecoder(sealed.codec(), sealed.storage()))
        # The search can find what is there: a run whose input holds the key (as a careless workflow
        # would pass it) shows it once decrypted, and not in its raw history.
        planted = await client.start_workflow("NoSuchWorkflow", f"token={api_key}", id=f"planted-{uuid.uuid4().hex[:6]}",
                                              task_queue=queue("nobody"))  # fmt: skip
        planted_raw = await planted.fetch_history()
        planted_opened = await decoded(planted_raw, PayloadDecoder(sealed.codec(), sealed.storage()))
        await planted.terminate("planted for a test")
        return as_bytes(raw), as_bytes(opened), as_bytes(planted_raw), as_bytes(planted_opened)

    with worker.start(timeout=90):
        raw, opened, planted_raw, planted_opened = asyncio.run(scenario())
    assert len(model_double.requests()) > requests_before, "the run went through the double, with the key"
    assert api_key.encode() in planted_opened and api_key.encode() not in planted_raw
    assert QUESTION.encode() in opened and QUESTION.encode() not in raw, "decrypting works, so the search below can see"
    places = {"raw history": raw, "decrypted history": opened,
              "ledger": (tmp_path / "ledger.jsonl").read_bytes(), "worker log": (tmp_path / "worker.log").read_bytes()}
    places.update({str(p): p.read_bytes() for p in Path(sealed.store_dir).rglob("*") if p.is_file()})
    if temporal_server.db_file:  # a server this tutorial started: its database too
        places.update({str(p): p.read_bytes() for p in database_files(temporal_server.db_file)})
    assert [where for where, data in places.items() if api_key.encode() in data] == []
