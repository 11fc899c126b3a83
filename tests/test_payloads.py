"""Encryption at rest and payloads by reference, without a server: the AES-GCM codec and its
keyring, the on-disk blob store, the settings that choose them, and the two composed the way the
SDK composes them (encrypt, then offload)."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, StorageDriverClaim
from temporalio.converter import StorageDriverRetrieveContext, StorageDriverStoreContext, StorageDriverWorkflowInfo
from temporalio.exceptions import ApplicationError

from recipes.core.errors import ConfigurationError
from recipes.payloads.codec import (
    AUTHENTICATION_FAILED,
    ENCODING,
    KEY_MISMATCH,
    KEY_MISSING,
    META_KEY_ID,
    AesGcmCodec,
    Keyring,
    KeyringFile,
)
from recipes.payloads.settings import PAYLOAD_ENV, PayloadSettings, PayloadsPlugin
from recipes.payloads.store import BLOB_CORRUPTED, BLOB_MISSING, LocalBlobStore, prune

SECRET_TEXT = b'"Is the levee on Elm Street holding? My address is 12 Elm Street."'


def plain(data: bytes = SECRET_TEXT) -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=data)


def run(coro):
    return asyncio.run(coro)


# --- the codec -------------------------------------------------------------------------------


def test_a_sealed_payload_hides_its_text_and_opens_to_the_same_payload():
    codec = AesGcmCodec(Keyring.new("key-1"))
    [sealed] = run(codec.encode([plain()]))
    assert sealed.metadata["encoding"] == ENCODING and sealed.metadata[META_KEY_ID] == b"key-1"
    assert b"Elm Street" not in sealed.SerializeToString()
    assert run(codec.decode([sealed])) == [plain()]


def test_the_same_payload_sealed_twice_differs():
    codec = AesGcmCodec(Keyring.new())
    first, second = run(codec.encode([plain(), plain()]))
    assert first.data != second.data  # a fresh nonce each time: equal texts are not visible as equal


def test_after_a_rotation_new_payloads_use_the_new_key_and_old_ones_still_open():
    old = Keyring.new("key-1")
    [before] = run(AesGcmCodec(old).encode([plain(b'"before"')]))
    rotated = old.with_new_key("key-2")
    codec = AesGcmCodec(rotated)
    [after] = run(codec.encode([plain(b'"after"')]))
    assert after.metadata[META_KEY_ID] == b"key-2"
    assert run(codec.decode([before, after])) == [plain(b'"before"'), plain(b'"after"')]


def test_a_missing_key_is_named_and_retryable():
    [sealed] = run(AesGcmCodec(Keyring.new("key-1")).encode([plain()]))
    with pytest.raises(ApplicationError, match="key 'key-1'") as caught:
        run(AesGcmCodec(Keyring.new("key-2")).decode([sealed]))
    assert caught.value.type == KEY_MISSING and not caught.value.non_retryable


def test_another_key_under_the_same_id_is_a_mismatch_not_tampering():
    [sealed] = run(AesGcmCodec(Keyring.new("key-1")).encode([plain()]))
    with pytest.raises(ApplicationError, match="key 'key-1'.*different key") as caught:
        run(AesGcmCodec(Keyring.new("key-1")).decode([sealed]))
    assert caught.value.type == KEY_MISMATCH and not caught.value.non_retryable


@pytest.mark.parametrize("where", ["ciphertext", "nonce", "key id"])
def test_an_altered_payload_fails_authentication_and_is_never_retried(where):
    keyring = Keyring.new("key-1").with_new_key("key-2", activate=False)
    codec = AesGcmCodec(keyring)
    [sealed] = run(codec.encode([plain()]))
    if where == "ciphertext":
        sealed.data = sealed.data[:-20] + bytes([sealed.data[-20] ^ 1]) + sealed.data[-19:]
    elif where == "nonce":
        sealed.data = bytes([sealed.data[0] ^ 1]) + sealed.data[1:]
    else:  # point it at the other key's id, with that key's check, as a forger would
        from recipes.payloads.codec import META_KEY_CHECK, key_check

        sealed.metadata[META_KEY_ID] = b"key-2"
        sealed.metadata[META_KEY_CHECK] = key_check(keyring.keys["key-2"])
    with pytest.raises(ApplicationError, match="failed authentication") as caught:
        run(codec.decode([sealed]))
    assert caught.value.type == AUTHENTICATION_FAILED and caught.value.non_retryable


def test_an_unencrypted_payload_passes_through():
    assert run(AesGcmCodec(Keyring.new()).decode([plain()])) == [plain()]


def test_a_keyring_file_is_read_again_when_it_changes(tmp_path):
    path = tmp_path / "keys.json"
    path.write_text(Keyring.new("key-1").to_json())
    keys = KeyringFile(path)
    assert keys.current().active == "key-1"
    rotated = Keyring.load(path).with_new_key("key-2")
    time.sleep(0.01)
    path.write_text(rotated.to_json())
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a coarse clock cannot hide the change
    assert keys.current().active == "key-2" and set(keys.current().keys) == {"key-1", "key-2"}
    path.write_text("{half a file")  # caught mid-write: the keys it had still serve
    assert keys.current().active == "key-2"


@pytest.mark.parametrize(("text", "says"), [
    ("not json", "is not a keyring"),
    ('{"active": "k", "keys": {"k": "c2hvcnQ="}}', "is 5 bytes; AES-256 needs 32"),
    ('{"active": "k2", "keys": {}}', "active key 'k2' is not among its keys"),
    ('{"active": "k", "keys": {"k": "***"}}', "is not a keyring"),
])  # fmt: skip
def test_a_bad_keyring_is_one_sentence(tmp_path, text, says):
    path = tmp_path / "keys.json"
    path.write_text(text)
    with pytest.raises(ConfigurationError, match=says):
        Keyring.load(path)


def test_a_missing_keyring_says_how_to_make_one(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist; create it with `python -m recipes.payloads.keys new"):
        Keyring.load(tmp_path / "nope.json")


def test_keys_are_never_replaced_and_the_active_one_is_never_removed():
    keyring = Keyring.new("key-1")
    with pytest.raises(ConfigurationError, match="already has a key 'key-1'"):
        keyring.with_new_key("key-1")
    with pytest.raises(ConfigurationError, match="is the active key"):
        keyring.without("key-1")
    assert set(keyring.with_new_key("key-2").without("key-1").keys) == {"key-2"}


# --- the blob store --------------------------------------------------------------------------

CONTEXT = StorageDriverStoreContext(target=StorageDriverWorkflowInfo(namespace="default", id="wf"))


def test_a_payload_stored_is_one_file_named_by_its_hash_and_reads_back(tmp_path):
    store = LocalBlobStore(tmp_path)
    payload = plain(b'"' + b"x" * 100_000 + b'"')
    [claim] = run(store.store(CONTEXT, [payload]))
    [again] = run(store.store(CONTEXT, [payload]))
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert claim == again and len(files) == 1 and files[0].name == claim.claim_data["hash_value"]
    assert run(store.retrieve(StorageDriverRetrieveContext(), [claim])) == [payload]


def test_storing_again_restarts_the_retention_clock_and_prune_takes_only_the_old(tmp_path):
    store = LocalBlobStore(tmp_path)
    [old, fresh] = run(store.store(CONTEXT, [plain(b'"old"'), plain(b'"fresh"')]))
    an_hour_ago = time.time() - 3600
    for claim in (old, fresh):
        path = store.path_for("default", claim.claim_data["hash_value"])
        os.utime(path, (an_hour_ago, an_hour_ago))
    run(store.store(CONTEXT, [plain(b'"fresh"')]))  # stored again: its clock starts over
    assert prune(tmp_path, older_than_s=1800, dry_run=True) == [store.path_for("default", old.claim_data["hash_value"])]
    assert len(prune(tmp_path, older_than_s=1800)) == 1
    assert run(store.retrieve(StorageDriverRetrieveContext(), [fresh])) == [plain(b'"fresh"')]


def test_a_deleted_blob_fails_at_once_naming_the_file(tmp_path):
    store = LocalBlobStore(tmp_path)
    [claim] = run(store.store(CONTEXT, [plain()]))
    store.path_for("default", claim.claim_data["hash_value"]).unlink()
    with pytest.raises(ApplicationError, match="is not in the store: .* does not exist") as caught:
        run(store.retrieve(StorageDriverRetrieveContext(), [claim]))
    assert caught.value.type == BLOB_MISSING and caught.value.non_retryable


def test_a_changed_blob_is_reported_and_not_used(tmp_path):
    store = LocalBlobStore(tmp_path)
    [claim] = run(store.store(CONTEXT, [plain()]))
    path = store.path_for("default", claim.claim_data["hash_value"])
    path.write_bytes(path.read_bytes().replace(b"Elm", b"Oak"))
    with pytest.raises(ApplicationError, match="has changed since it was written") as caught:
        run(store.retrieve(StorageDriverRetrieveContext(), [claim]))
    assert caught.value.type == BLOB_CORRUPTED and caught.value.non_retryable


def test_a_reference_cannot_point_outside_the_store(tmp_path):
    claim = StorageDriverClaim({"namespace": "default", "hash_algorithm": "sha256", "hash_value": "../../etc/passwd"})
    with pytest.raises(ApplicationError, match="no valid SHA-256"):
        run(LocalBlobStore(tmp_path).retrieve(StorageDriverRetrieveContext(), [claim]))
    odd = StorageDriverStoreContext(target=StorageDriverWorkflowInfo(namespace="../x", id="wf"))
    [stored] = run(LocalBlobStore(tmp_path).store(odd, [plain()]))
    assert all(tmp_path in p.parents for p in tmp_path.rglob("*"))
    assert run(LocalBlobStore(tmp_path).retrieve(StorageDriverRetrieveContext(), [stored])) == [plain()]


def test_writers_racing_on_one_payload_leave_one_whole_file(tmp_path):
    payload = plain(b'"' + b"y" * 2_000_000 + b'"')
    errors = []

    def write():
        try:
            run(LocalBlobStore(tmp_path).store(CONTEXT, [payload]))
        except Exception as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=write) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert not errors and len(files) == 1, (errors, files)
    assert Payload.FromString(files[0].read_bytes()) == payload


# --- settings, and the two composed ----------------------------------------------------------


def test_nothing_set_means_no_converter_of_ours(monkeypatch):
    for name in PAYLOAD_ENV:
        monkeypatch.delenv(name, raising=False)
    settings = PayloadSettings.load()
    assert not settings.active and settings.data_converter() is None


@pytest.mark.parametrize(("env", "says"), [
    ({"PAYLOAD_STORE": "dropbox"}, "PAYLOAD_STORE='dropbox': choose one of off, local, s3"),
    ({"PAYLOAD_STORE": "s3"}, "needs PAYLOAD_S3_BUCKET"),
    ({"PAYLOAD_STORE_THRESHOLD": "1MB"}, "is not a number of bytes"),
])  # fmt: skip
def test_bad_payload_settings_are_one_sentence(monkeypatch, env, says):
    for name in PAYLOAD_ENV:
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError, match=says):
        PayloadSettings.load()


def test_a_child_process_gets_the_same_settings(monkeypatch, tmp_path):
    settings = PayloadSettings(store="local", store_dir=tmp_path, threshold=1234, keyring=tmp_path / "k.json")
    for name, value in settings.as_env().items():
        monkeypatch.setenv(name, value)
    assert PayloadSettings.load() == settings


def test_what_is_offloaded_is_encrypted_first(tmp_path):
    keyring = tmp_path / "keys.json"
    keyring.write_text(Keyring.new("key-1").to_json())
    converter = PayloadSettings(store="local", store_dir=tmp_path / "blobs", threshold=0, keyring=keyring).data_converter()
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    [reference] = run(converter.encode([SECRET_TEXT.decode()]))
    assert b"Elm Street" not in reference.SerializeToString() and len(reference.SerializeToString()) < 400
    [blob] = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert b"Elm Street" not in blob.read_bytes() and ENCODING in blob.read_bytes()
    assert run(converter.decode([reference], [str])) == [SECRET_TEXT.decode()]


def test_small_payloads_stay_inline_below_the_threshold(tmp_path):
    converter = PayloadSettings(store="local", store_dir=tmp_path, threshold=1000).data_converter()
    small, large = run(converter.encode(["hi", "x" * 5000]))
    assert small.metadata["encoding"] == b"json/plain" and b"x" * 5000 not in large.SerializeToString()
    assert [p for p in tmp_path.rglob("*") if p.is_file()], "the large one went to the store"


def test_a_plugin_keeps_the_codec_and_the_store(tmp_path):
    """The OpenAI Agents plugin swaps in its payload converter; what we configured must survive that."""
    from temporalio.openai_agents import OpenAIAgentsPlugin

    keyring = tmp_path / "keys.json"
    keyring.write_text(Keyring.new().to_json())
    ours = PayloadSettings(store="local", store_dir=tmp_path, keyring=keyring).data_converter()
    config = OpenAIAgentsPlugin().configure_client({"data_converter": ours})
    theirs: DataConverter = config["data_converter"]
    assert theirs.payload_codec is ours.payload_codec and theirs.external_storage is ours.external_storage
    assert theirs.payload_converter_class is not ours.payload_converter_class


@pytest.mark.parametrize("ours_first", [True, False], ids=["payloads first", "agents first"])
def test_the_payloads_plugin_and_the_agents_plugin_compose_in_either_order(tmp_path, ours_first):
    from temporalio.converter import DefaultPayloadConverter
    from temporalio.openai_agents import OpenAIAgentsPlugin

    keyring = tmp_path / "keys.json"
    keyring.write_text(Keyring.new().to_json())
    ours = PayloadsPlugin(PayloadSettings(store="local", store_dir=tmp_path, keyring=keyring))
    config: dict = {}
    for plugin in ([ours, OpenAIAgentsPlugin()] if ours_first else [OpenAIAgentsPlugin(), ours]):
        config = plugin.configure_client(config)
    converter: DataConverter = config["data_converter"]
    assert isinstance(converter.payload_codec, AesGcmCodec) and isinstance(converter.external_storage.drivers[0], LocalBlobStore)
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    assert converter.payload_converter_class is not DefaultPayloadConverter, "the agents plugin's converter stays"


def test_with_a_keyring_headers_are_encrypted_too(tmp_path):
    from temporalio.common import HeaderCodecBehavior

    keyring = tmp_path / "keys.json"
    keyring.write_text(Keyring.new().to_json())
    sealed = PayloadsPlugin(PayloadSettings(keyring=keyring))
    assert sealed.configure_client({})["header_codec_behavior"] == HeaderCodecBehavior.CODEC
    replayer = sealed.configure_replayer({})
    assert replayer["header_codec_behavior"] == HeaderCodecBehavior.CODEC and replayer["data_converter"].payload_codec
    assert "header_codec_behavior" not in PayloadsPlugin(PayloadSettings(store="local", store_dir=tmp_path)).configure_client({})


def test_settings_that_ask_for_nothing_make_the_plugin_a_no_op():
    callers = DataConverter()
    assert PayloadsPlugin(PayloadSettings()).configure_client({}) == {}
    assert PayloadsPlugin(PayloadSettings()).configure_client({"data_converter": callers})["data_converter"] is callers


def test_a_bad_keyring_stops_the_plugin_before_anything_connects(tmp_path):
    with pytest.raises(ConfigurationError, match="does not exist"):
        PayloadsPlugin(PayloadSettings(keyring=tmp_path / "nope.json"))


def test_core_connect_reads_no_payload_settings(monkeypatch):
    """Only a client given the plugin stores or encrypts payloads: ``connect`` ignores ``PAYLOAD_*``
    (a bad value would fail here with ConfigurationError if it read them)."""
    from recipes.core.settings import TemporalUnreachable, connect
    from tutorial.proof import free_port

    monkeypatch.setenv("PAYLOAD_STORE", "dropbox")
    with pytest.raises(TemporalUnreachable):
        run(connect(f"127.0.0.1:{free_port()}"))
