"""What a workflow leaves in Temporal's database: payloads by reference and encrypted, by settings.

The one place that reads the payload settings. A client takes them as a Temporal plugin,
:class:`PayloadsPlugin`, given where it connects (``connect(settings, plugins=[PayloadsPlugin(), ...])``);
every worker, starter and client that writes or reads these histories must have one with the same
settings:

=========================  =====================================================================
``PAYLOAD_STORE``          ``off`` (default), ``local`` (files, :mod:`recipes.payloads.store`)
                           or ``s3`` (the SDK's S3 driver, ``temporalio.contrib.aws.s3driver``)
``PAYLOAD_STORE_DIR``      ``local``: the folder (default ``<project>/.payloads``; every process
                           that reads a payload must see the same folder)
``PAYLOAD_STORE_THRESHOLD`` bytes from which a payload is offloaded (default 262144, 256 KiB)
``PAYLOAD_S3_BUCKET``      ``s3``: the bucket (it must exist). Credentials, region and endpoint
                           come from the AWS SDK's own settings: ``AWS_ACCESS_KEY_ID`` /
                           ``AWS_SECRET_ACCESS_KEY`` or a profile or role, ``AWS_REGION``,
                           ``AWS_ENDPOINT_URL_S3`` for an S3-compatible server
``PAYLOAD_KEYRING``        a keyring file (JSON, :class:`~recipes.payloads.codec.Keyring`):
                           every payload AES-256-GCM encrypted; unset, nothing is encrypted
=========================  =====================================================================

The SDK encodes (encrypts) first and offloads what is still large after that, so what lands in
the store is ciphertext too. With a keyring, failure messages and stack traces are moved into an
encrypted payload as well (``DefaultFailureConverterWithEncodedAttributes``), since an error
message can quote what the agent was handling, and headers (trace context the plugin propagates)
are encrypted too (``HeaderCodecBehavior.CODEC``).
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from temporalio.client import ClientConfig
from temporalio.common import HeaderCodecBehavior
from temporalio.contrib.aws.s3driver import S3StorageDriver, S3StorageDriverClient
from temporalio.converter import DataConverter, DefaultFailureConverterWithEncodedAttributes, ExternalStorage
from temporalio.plugin import SimplePlugin
from temporalio.worker import ReplayerConfig

from recipes.core.errors import ConfigurationError

__all__ = ["PAYLOAD_ENV", "PayloadSettings", "PayloadsPlugin"]

STORE_ENV, DIR_ENV, THRESHOLD_ENV = "PAYLOAD_STORE", "PAYLOAD_STORE_DIR", "PAYLOAD_STORE_THRESHOLD"
BUCKET_ENV, KEYRING_ENV = "PAYLOAD_S3_BUCKET", "PAYLOAD_KEYRING"
PAYLOAD_ENV = (STORE_ENV, DIR_ENV, THRESHOLD_ENV, BUCKET_ENV, KEYRING_ENV)
STORES = ("off", "local", "s3")
DEFAULT_THRESHOLD = 256 * 1024
PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _env(name: str) -> str | None:
    return (os.environ.get(name) or "").strip() or None


@dataclass(frozen=True)
class PayloadSettings:
    """How payloads are stored: inline or by reference, in plain text or encrypted."""

    store: str = "off"
    store_dir: Path = field(default_factory=lambda: PROJECT_ROOT / ".payloads")
    threshold: int = DEFAULT_THRESHOLD
    s3_bucket: str | None = None
    keyring: Path | None = None

    def __post_init__(self) -> None:
        if self.store not in STORES:
            raise ConfigurationError(f"{STORE_ENV}={self.store!r}: choose one of {', '.join(STORES)}.")
        if self.store == "s3" and not self.s3_bucket:
            raise ConfigurationError(f"{STORE_ENV}=s3 needs {BUCKET_ENV}, the name of an existing bucket.")
        if self.threshold < 0:
            raise ConfigurationError(f"{THRESHOLD_ENV} must be 0 or more bytes, not {self.threshold}.")

    @classmethod
    def load(cls, **overrides: Any) -> PayloadSettings:
        """The environment, with ``overrides`` (``store=``, ``keyring=``, ...) on top."""
        raw = _env(THRESHOLD_ENV)
        if raw is not None and not raw.isdigit():
            raise ConfigurationError(f"{THRESHOLD_ENV}={raw!r} is not a number of bytes.")
        keyring = _env(KEYRING_ENV)
        values: dict[str, Any] = {
            "store": (_env(STORE_ENV) or "off").lower(),
            "threshold": int(raw) if raw is not None else DEFAULT_THRESHOLD,
            "s3_bucket": _env(BUCKET_ENV),
            "keyring": Path(keyring) if keyring else None,
        }
        if _env(DIR_ENV):
            values["store_dir"] = Path(_env(DIR_ENV))  # type: ignore[arg-type]
        return cls(**{**values, **overrides})

    @property
    def active(self) -> bool:
        return self.store != "off" or self.keyring is not None

    def describe(self) -> str:
        where = {"off": "inline", "local": f"by reference from {self.threshold:,} bytes, files in {self.store_dir}",
                 "s3": f"by reference from {self.threshold:,} bytes, S3 bucket {self.s3_bucket}"}[self.store]  # fmt: skip
        return f"payloads {where}; " + (f"encrypted (keyring {self.keyring})" if self.keyring else "not encrypted")

    def as_env(self) -> dict[str, str]:
        """The variables for a child process (a worker) so it stores and reads payloads alike."""
        env = {STORE_ENV: self.store, THRESHOLD_ENV: str(self.threshold), DIR_ENV: str(self.store_dir),
               KEYRING_ENV: str(self.keyring or "")}  # fmt: skip
        if self.s3_bucket:
            env[BUCKET_ENV] = self.s3_bucket
        return env

    def codec(self):
        """The AES-GCM codec over the keyring file (re-read when it changes), or None."""
        if self.keyring is None:
            return None
        from recipes.payloads.codec import AesGcmCodec, KeyringFile

        return AesGcmCodec(KeyringFile(self.keyring))

    def storage(self) -> ExternalStorage | None:
        if self.store == "off":
            return None
        if self.store == "local":
            from recipes.payloads.store import LocalBlobStore

            driver: Any = LocalBlobStore(self.store_dir)
        else:
            driver = _s3_driver(self.s3_bucket)  # type: ignore[arg-type]
        return ExternalStorage(drivers=[driver], payload_size_threshold=self.threshold)

    def data_converter(self) -> DataConverter | None:
        """A data converter with the codec and storage these settings ask for; ``None`` when they ask
        for neither (so the SDK, or a plugin, picks its own). A plugin such as ``OpenAIAgentsPlugin``
        swaps in its payload converter and keeps both."""
        if not self.active:
            return None
        options: dict[str, Any] = {"payload_codec": self.codec(), "external_storage": self.storage()}
        if self.keyring is not None:
            options["failure_converter_class"] = DefaultFailureConverterWithEncodedAttributes
        return DataConverter(**options)


class PayloadsPlugin(SimplePlugin):
    """:class:`PayloadSettings` as a Temporal plugin, for ``Client.connect(plugins=[...])`` (and so for
    the ``Worker`` on that client) or ``Replayer(plugins=[...])``::

        client = await connect(settings, plugins=[PayloadsPlugin(), agents_plugin])

    ``payloads`` defaults to ``PayloadSettings.load()`` (the ``PAYLOAD_*`` variables). The keyring
    and the store are opened here, so a bad setting fails before anything connects. On the data
    converter it sets only what the settings ask for -- the codec (and failure messages encrypted)
    with a keyring, the external storage with a store -- and keeps the rest, so it composes with a
    plugin that swaps the payload converter (``OpenAIAgentsPlugin``) in either order. With a keyring
    it also encrypts headers (``HeaderCodecBehavior.CODEC``). Settings that ask for nothing make
    it a no-op."""

    def __init__(self, payloads: PayloadSettings | None = None) -> None:
        self.payloads = PayloadSettings.load() if payloads is None else payloads
        self._ours = self.payloads.data_converter()
        super().__init__("PayloadsPlugin", data_converter=self._onto if self._ours else None)

    def _onto(self, converter: DataConverter | None) -> DataConverter:
        ours, changes = self._ours, {}
        assert ours is not None
        if self.payloads.keyring is not None:
            changes.update(payload_codec=ours.payload_codec, failure_converter_class=ours.failure_converter_class)
        if self.payloads.store != "off":
            changes["external_storage"] = ours.external_storage
        return dataclasses.replace(converter or DataConverter.default, **changes)

    def configure_client(self, config: ClientConfig) -> ClientConfig:
        config = super().configure_client(config)
        if self.payloads.keyring is not None:
            config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
        return config

    def configure_replayer(self, config: ReplayerConfig) -> ReplayerConfig:
        config = super().configure_replayer(config)
        if self.payloads.keyring is not None:
            config["header_codec_behavior"] = HeaderCodecBehavior.CODEC
        return config


class _LazyS3Client(S3StorageDriverClient):
    """The S3 driver's client, over aiobotocore (not aioboto3, whose pinned botocore is too old to
    install beside litellm; the SDK's ready-made adapter needs aioboto3's ``upload_fileobj``). One
    ``PutObject`` per payload: payloads are megabytes, far below the 5 GB a single PUT takes.

    The aiobotocore client is opened on first use, inside the event loop that uses it, and kept for
    as long as that loop is the one using it: it is bound to the loop that opened it, so a converter
    used again from another loop (a script or test calling ``asyncio.run`` twice) opens a new one
    rather than fail with "Event loop is closed"."""

    def __init__(self) -> None:
        self._client: Any = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._opening = asyncio.Lock()

    async def _get(self) -> Any:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # first use, or another loop: the old client (if any) cannot serve it
            self._loop, self._client, self._opening = loop, None, asyncio.Lock()
        async with self._opening:  # concurrent first calls open one client
            if self._client is None:
                from aiobotocore.session import get_session

                self._client = await get_session().create_client("s3").__aenter__()
        return self._client

    def describe(self) -> Mapping[str, str]:
        """The client's region, for the driver's error messages (a wrong region is the usual 403)."""
        region = self._client.meta.region_name if self._client is not None else None
        return {"client_region": region} if region else {}

    async def put_object(self, *, bucket: str, key: str, data: bytes) -> None:
        await (await self._get()).put_object(Bucket=bucket, Key=key, Body=data)

    async def object_exists(self, *, bucket: str, key: str) -> bool:
        from botocore.exceptions import ClientError

        try:
            await (await self._get()).head_object(Bucket=bucket, Key=key)
            return True
        except ClientError as err:
            if err.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return False
            raise

    async def get_object(self, *, bucket: str, key: str) -> bytes:
        response = await (await self._get()).get_object(Bucket=bucket, Key=key)
        async with response["Body"] as body:
            return await body.read()


def _s3_driver(bucket: str) -> S3StorageDriver:
    try:
        import aiobotocore  # noqa: F401
        import types_aiobotocore_s3  # noqa: F401  (the SDK's adapter imports it)
    except ImportError:
        raise ConfigurationError(
            f"{STORE_ENV}=s3 needs aiobotocore and types-aiobotocore-s3 (pip install -r requirements.txt)."
        ) from None
    return S3StorageDriver(client=_LazyS3Client(), bucket=bucket)
