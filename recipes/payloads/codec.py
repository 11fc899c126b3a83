"""Encryption at rest: every payload AES-256-GCM encrypted before it leaves the process.

A Temporal server stores what it is given. Without a codec, every prompt, tool output and
answer an agent handles sits in its database as plain JSON; with this one the server, its
database and anyone reading either see ciphertext, and only processes holding the key (workers,
starters, the codec server behind the Web UI) see the data.

    keyring = Keyring.load("secrets/payload-keys.json")     # {"active": "key-2", "keys": {...}}
    converter = DataConverter(payload_codec=AesGcmCodec(keyring))

Each encrypted payload names the key that sealed it (``encryption-key-id`` in its metadata), so
keys rotate: add a key and make it the active one; new payloads use it, old ones stay readable
as long as their key is still in the keyring. Beside the id goes a *key check*: 8 bytes of an
HMAC of the key, which reveal nothing of it but tell "this worker has a different key under
that id" (a deployment mistake: fix it and the run resumes) from "the ciphertext was altered"
(never decrypted, never retried). A payload without the encrypted encoding passes through
untouched, so histories written before encryption was switched on stay readable.

What each failure does where it happens (a decode fails in a workflow task, an activity's input,
or a client reading a result):

===========================  =========  =========================================================
error type                   retryable  meaning
===========================  =========  =========================================================
EncryptionKeyMissing         yes        the key id is not in this process's keyring
EncryptionKeyMismatch        yes        the keyring has that id, but with other key material
PayloadAuthenticationFailed  no         right key, but the ciphertext or its metadata changed
===========================  =========  =========================================================

Retryable means a workflow task fails and is retried -- the run stays open and resumes once a
worker has the right key; non-retryable fails the run (a workflow task) or the activity at once.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec
from temporalio.exceptions import ApplicationError

from recipes.core.errors import ConfigurationError

__all__ = [
    "ENCODING",
    "KEY_MISMATCH",
    "KEY_MISSING",
    "AUTHENTICATION_FAILED",
    "AesGcmCodec",
    "Keyring",
    "KeyringFile",
    "key_check",
]

ENCODING = b"binary/encrypted"
CIPHER = b"AES-256-GCM"
META_KEY_ID = "encryption-key-id"
META_KEY_CHECK = "encryption-key-check"
META_CIPHER = "encryption-cipher"
NONCE_BYTES = 12
KEY_BYTES = 32

KEY_MISSING = "EncryptionKeyMissing"
KEY_MISMATCH = "EncryptionKeyMismatch"
AUTHENTICATION_FAILED = "PayloadAuthenticationFailed"


def key_check(key: bytes) -> bytes:
    """8 bytes that identify a key without revealing it (HMAC-SHA256 of a fixed label)."""
    return hmac.new(key, b"temporal payload key check", hashlib.sha256).digest()[:8]


@dataclass(frozen=True)
class Keyring:
    """Keys by id, and the id new payloads are sealed with."""

    keys: Mapping[str, bytes]
    active: str
    source: str = "keyring"
    """Where it came from, for error messages (a file path)."""

    def __post_init__(self) -> None:
        for key_id, key in self.keys.items():
            if not key_id or not key_id.isprintable() or len(key_id) > 64:
                raise ConfigurationError(f"{self.source}: key id {key_id!r} must be 1-64 printable characters.")
            if len(key) != KEY_BYTES:
                raise ConfigurationError(
                    f"{self.source}: key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES} "
                    "(make one with `python -m recipes.payloads.keys new`)."
                )
        if self.active not in self.keys:
            raise ConfigurationError(
                f"{self.source}: the active key {self.active!r} is not among its keys ({', '.join(self.keys) or 'none'})."
            )

    @classmethod
    def from_json(cls, text: str, source: str = "keyring") -> Keyring:
        try:
            data = json.loads(text)
            keys = {str(k): base64.b64decode(v, validate=True) for k, v in data["keys"].items()}
            return cls(keys, str(data["active"]), source)
        except (ValueError, KeyError, TypeError, AttributeError, binascii.Error) as err:
            raise ConfigurationError(
                f"{source} is not a keyring ({type(err).__name__}: {err}); it should be JSON like "
                '{"active": "key-1", "keys": {"key-1": "<32 bytes, base64>"}}.'
            ) from None

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> Keyring:
        path = Path(path)
        try:
            return cls.from_json(path.read_text(encoding="utf-8"), source=str(path))
        except FileNotFoundError:
            raise ConfigurationError(
                f"The keyring {path} does not exist; create it with `python -m recipes.payloads.keys new {path}`."
            ) from None
        except OSError as err:
            raise ConfigurationError(f"Cannot read the keyring {path}: {err.strerror}.") from None

    def to_json(self) -> str:
        keys = {k: base64.b64encode(v).decode() for k, v in self.keys.items()}
        return json.dumps({"active": self.active, "keys": keys}, indent=1) + "\n"

    def with_new_key(self, key_id: str, *, activate: bool = True) -> Keyring:
        """This keyring plus a fresh random key (made the active one unless ``activate=False``)."""
        if key_id in self.keys:
            raise ConfigurationError(f"{self.source} already has a key {key_id!r}; keys are never replaced in place.")
        keys = {**self.keys, key_id: secrets.token_bytes(KEY_BYTES)}
        return Keyring(keys, key_id if activate else self.active, self.source)

    @classmethod
    def new(cls, key_id: str = "key-1", source: str = "keyring") -> Keyring:
        return cls({key_id: secrets.token_bytes(KEY_BYTES)}, key_id, source)

    def without(self, key_id: str) -> Keyring:
        """This keyring less one (retired) key; the active key cannot be removed."""
        if key_id == self.active:
            raise ConfigurationError(f"{key_id!r} is the active key; activate another before removing it.")
        return Keyring({k: v for k, v in self.keys.items() if k != key_id}, self.active, self.source)


class KeyringFile:
    """A keyring read from a file and read again when the file changes, so a rotation
    (``python -m recipes.payloads.keys rotate``, or a secret volume updated in place) reaches
    running workers at their next payload, without a restart."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._keyring = self._reload()

    def _reload(self) -> Keyring:
        keyring = Keyring.load(self.path)
        stat = self.path.stat()
        self._stamp = (stat.st_mtime_ns, stat.st_size)
        return keyring

    def current(self) -> Keyring:
        try:
            stat = self.path.stat()
        except OSError:
            return self._keyring  # moved or being replaced: keep the keys we have
        if (stat.st_mtime_ns, stat.st_size) != self._stamp:
            with self._lock:
                try:
                    self._keyring = self._reload()
                except ConfigurationError:
                    pass  # caught mid-write: the old keys serve until the file is whole again
        return self._keyring


class AesGcmCodec(PayloadCodec):
    """Seals each payload (its metadata and data, serialized) with AES-256-GCM under the active
    key; a fresh 96-bit nonce per payload; the key id is authenticated as associated data."""

    def __init__(self, keys: Keyring | KeyringFile) -> None:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: F401  (fail here if missing)

        self._keys = keys

    @property
    def keyring(self) -> Keyring:
        return self._keys.current() if isinstance(self._keys, KeyringFile) else self._keys

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        keyring = self.keyring
        key_id, key = keyring.active, keyring.keys[keyring.active]
        aead, check = AESGCM(key), key_check(key)
        out = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            sealed = aead.encrypt(nonce, payload.SerializeToString(), _associated_data(key_id))
            out.append(Payload(
                metadata={"encoding": ENCODING, META_CIPHER: CIPHER, META_KEY_ID: key_id.encode(), META_KEY_CHECK: check},
                data=nonce + sealed,
            ))  # fmt: skip
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        keyring = self.keyring
        return [self._open(p, keyring) if p.metadata.get("encoding") == ENCODING else p for p in payloads]

    def _open(self, payload: Payload, keyring: Keyring) -> Payload:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        key_id = payload.metadata.get(META_KEY_ID, b"").decode(errors="replace")
        key = keyring.keys.get(key_id)
        if key is None:
            raise ApplicationError(
                f"Payload encrypted with key {key_id!r}, which this process's keyring ({keyring.source}) does not "
                f"have (it has {', '.join(sorted(keyring.keys))}); add that key and the run resumes.",
                type=KEY_MISSING,
            )
        if not hmac.compare_digest(payload.metadata.get(META_KEY_CHECK, b""), key_check(key)):
            raise ApplicationError(
                f"Payload encrypted with key {key_id!r}, but the key under that id in {keyring.source} is a different "
                "key (its key check does not match); give this process the right key and the run resumes.",
                type=KEY_MISMATCH,
            )
        if payload.metadata.get(META_CIPHER) != CIPHER or len(payload.data) < NONCE_BYTES + 16:
            raise _tampered(key_id, "its cipher or length is not AES-256-GCM's")
        try:
            plain = AESGCM(key).decrypt(payload.data[:NONCE_BYTES], payload.data[NONCE_BYTES:], _associated_data(key_id))
        except InvalidTag:
            raise _tampered(key_id, "the authentication tag does not match") from None
        inner = Payload()
        inner.ParseFromString(plain)
        return inner


def _associated_data(key_id: str) -> bytes:
    return b"temporal payload|" + key_id.encode()


def _tampered(key_id: str, why: str) -> ApplicationError:
    return ApplicationError(
        f"Payload encrypted with key {key_id!r} failed authentication ({why}): it was altered or corrupted after "
        "it was written, and is not decrypted.",
        type=AUTHENTICATION_FAILED,
        non_retryable=True,
    )
