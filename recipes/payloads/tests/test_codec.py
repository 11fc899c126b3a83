"""The codec alone (no server): what it seals opens again after a key rotation, and a payload it cannot open
says why -- a key this process lacks (retryable: deploy the key) apart from altered ciphertext (never retried)."""

from __future__ import annotations

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.exceptions import ApplicationError

from recipes.payloads.codec import AUTHENTICATION_FAILED, KEY_MISSING, AesGcmCodec, Keyring

PROMPT = Payload(metadata={"encoding": b"json/plain"}, data=b'"Any weather alerts in California?"')


@pytest.mark.asyncio
async def test_a_payload_sealed_before_a_rotation_opens_after_it_and_new_ones_use_the_new_key():
    before = Keyring.new("key-1")
    [sealed] = await AesGcmCodec(before).encode([PROMPT])
    assert PROMPT.data not in sealed.data, "the prompt is not readable in what the server stores"
    rotated = AesGcmCodec(before.with_new_key("key-2"))
    assert await rotated.decode([sealed]) == [PROMPT]
    [resealed] = await rotated.encode([PROMPT])
    assert resealed.metadata["encryption-key-id"] == b"key-2", resealed.metadata


@pytest.mark.asyncio
async def test_a_missing_key_is_retryable_and_altered_ciphertext_is_not():
    keyring = Keyring.new("key-1")
    [sealed] = await AesGcmCodec(keyring).encode([PROMPT])
    with pytest.raises(ApplicationError) as missing:
        await AesGcmCodec(Keyring.new("key-9")).decode([sealed])
    assert missing.value.type == KEY_MISSING and not missing.value.non_retryable and "'key-1'" in missing.value.message
    altered = Payload(metadata=sealed.metadata, data=sealed.data[:-1] + bytes([sealed.data[-1] ^ 1]))
    with pytest.raises(ApplicationError) as tampered:
        await AesGcmCodec(keyring).decode([altered])
    assert tampered.value.type == AUTHENTICATION_FAILED and tampered.value.non_retryable, tampered.value
