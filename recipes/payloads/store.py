"""Payloads by reference, on disk: a Temporal ``StorageDriver`` for one machine (or a shared volume).

With ``ExternalStorage`` on the data converter, a payload at or above a size threshold (256 KiB by
default) is written here and the history records only a reference to it (driver name, the
payload's SHA-256, its size): a 3 MB tool output costs the history about 200 bytes, and no
payload crosses Temporal's 2 MB per-payload limit. Everything that reads the payload (workers,
starters, the codec server) must have the same driver over the same folder.

Layout: ``<root>/<namespace>/sha256/<2 hex>/<64 hex>``, one file per distinct payload, holding the
serialized ``Payload`` (encrypted already when a codec is on: the SDK encodes, then offloads).

- **Content-addressed**: the file name is the hash of its bytes, so the same payload stored twice
  is one file, and a reader checks the hash: a changed or truncated file is reported, never used.
- **Atomic**: written to a temporary file in the same folder, flushed to disk, then renamed into
  place; a reader sees a whole file or none, whatever crashes.
- **Several workers**: two processes storing the same payload race harmlessly (same name, same
  bytes; ``os.replace`` is atomic); nothing is ever modified in place.
- **Retention**: a file's modification time is refreshed each time its payload is stored again.
  A history holds references for as long as the namespace keeps it: its workflow's run time plus
  the namespace's retention period after it closes. ``prune(root, older_than=...)`` (``python -m
  recipes.payloads.blobs prune --older-than 30d``) deletes files not stored for longer than that;
  choose ``older_than`` above your longest run plus the retention period, or a replay, a reset or
  the Web UI will meet a missing payload (``PayloadBlobMissing``: the read fails at once).

Errors, raised as ``ApplicationError`` with these types (both non-retryable: reading again cannot
bring a file back or mend it):

- ``PayloadBlobMissing``: the reference's file is not there (deleted, or another folder configured);
- ``PayloadBlobCorrupted``: the file's bytes no longer match the hash in the reference.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import quote

from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    StorageDriver,
    StorageDriverClaim,
    StorageDriverRetrieveContext,
    StorageDriverStoreContext,
)
from temporalio.exceptions import ApplicationError

__all__ = ["BLOB_CORRUPTED", "BLOB_MISSING", "LocalBlobStore", "prune"]

BLOB_MISSING = "PayloadBlobMissing"
BLOB_CORRUPTED = "PayloadBlobCorrupted"
_HEX64 = re.compile(r"[0-9a-f]{64}")


class LocalBlobStore(StorageDriver):
    """Payloads in files under ``root`` (see the module's docstring for the rules it keeps)."""

    def __init__(self, root: str | os.PathLike[str], name: str = "local-blobs") -> None:
        self.root = Path(root)
        self._name = name

    def name(self) -> str:
        return self._name

    def type(self) -> str:
        return "tutorial.local-blobs"

    def path_for(self, namespace: str, digest: str) -> Path:
        if not _HEX64.fullmatch(digest):
            raise ApplicationError(f"Payload reference has no valid SHA-256 ({digest[:80]!r}).", type=BLOB_CORRUPTED,
                                   non_retryable=True)  # fmt: skip
        return self.root / quote(namespace or "default", safe="") / "sha256" / digest[:2] / digest

    async def store(self, context: StorageDriverStoreContext, payloads: Sequence[Payload]) -> list[StorageDriverClaim]:
        namespace = getattr(context.target, "namespace", None) or "default"
        return await asyncio.to_thread(lambda: [self._write(namespace, p.SerializeToString()) for p in payloads])

    def _write(self, namespace: str, data: bytes) -> StorageDriverClaim:
        digest = hashlib.sha256(data).hexdigest()
        path = self.path_for(namespace, digest)
        if path.exists():
            os.utime(path)  # stored again: its retention clock starts over
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{digest[:8]}-", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        return StorageDriverClaim({"namespace": namespace, "hash_algorithm": "sha256", "hash_value": digest,
                                   "size": str(len(data))})  # fmt: skip

    async def retrieve(self, context: StorageDriverRetrieveContext, claims: Sequence[StorageDriverClaim]) -> list[Payload]:
        return await asyncio.to_thread(lambda: [self._read(c) for c in claims])

    def _read(self, claim: StorageDriverClaim) -> Payload:
        data = claim.claim_data
        if data.get("hash_algorithm") != "sha256":
            raise ApplicationError(f"Payload reference uses hash {data.get('hash_algorithm')!r}; this store knows sha256.",
                                   type=BLOB_CORRUPTED, non_retryable=True)  # fmt: skip
        digest = data.get("hash_value", "")
        path = self.path_for(data.get("namespace", "default"), digest)
        try:
            blob = path.read_bytes()
        except FileNotFoundError:
            raise ApplicationError(
                f"Payload sha256:{digest[:12]}… is not in the store: {path} does not exist (deleted by a prune "
                "or by hand, or this process points PAYLOAD_STORE_DIR at another folder).",
                type=BLOB_MISSING, non_retryable=True,
            ) from None  # fmt: skip
        if hashlib.sha256(blob).hexdigest() != digest:
            raise ApplicationError(
                f"Payload sha256:{digest[:12]}… in {path} has changed since it was written (its bytes no longer "
                "match their hash); it is not used.",
                type=BLOB_CORRUPTED, non_retryable=True,
            )  # fmt: skip
        payload = Payload()
        payload.ParseFromString(blob)
        return payload


def prune(root: str | os.PathLike[str], *, older_than_s: float, dry_run: bool = False) -> list[Path]:
    """Delete (or with ``dry_run`` only list) blobs not stored for ``older_than_s`` seconds;
    also temporary files a crashed writer left. Returns what it deleted."""
    cutoff = time.time() - older_than_s
    gone = []
    for path in Path(root).glob("*/sha256/*/*"):
        try:
            if path.stat().st_mtime < cutoff:
                if not dry_run:
                    path.unlink()
                gone.append(path)
        except FileNotFoundError:
            continue  # another prune got there first
    return gone
