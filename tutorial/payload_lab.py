"""Notebook 11's machinery: what an agent leaves in Temporal's database, measured and read back.

Sizes are the server's own: a history serialized as the protobuf it stores; a payload as its
serialized bytes (a reference is counted at its own small size, with the bytes it stands for
beside it). Not a recipe: the notebook and the tests read histories with it.
"""

from __future__ import annotations

import atexit
import secrets
import subprocess
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from temporalio.api.common.v1 import Payload
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import History
from temporalio.client import Client, WorkflowHistory

from recipes.payloads.codec import META_KEY_ID
from recipes.payloads.codec_server import READY_TEXT as CODEC_READY
from recipes.payloads.codec_server import TOKEN_ENV, PayloadDecoder, is_reference
from recipes.payloads.settings import PayloadSettings
from tutorial.processes import ManagedProcess, python_module
from tutorial.proof import free_port
from tutorial.temporal_server import DevServer, ensure_server, find_temporal_binary

#: Temporal's defaults: one payload (a blob) is refused above 2 MiB; a history above 50 MiB
#: terminates its workflow (the server warns from 10 MiB; ``is_continue_as_new_suggested`` too).
PAYLOAD_LIMIT = 2 * 1024 * 1024
HISTORY_LIMIT = 50 * 1024 * 1024
MODEL_ACTIVITY = "invoke_model_activity"


def payloads_in(history: WorkflowHistory | History) -> Iterator[tuple[Any, Payload]]:
    """Every payload in a history, with the event holding it (inputs, results, failures' details)."""
    for event in history.events:
        attributes = getattr(event, event.WhichOneof("attributes") or "", None)
        if attributes is not None:
            for payload in _walk(attributes):
                yield event, payload


def _walk(message: Any) -> Iterator[Payload]:
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = value.values() if field.message_type.fields_by_name["value"].message_type else []
        elif field.is_repeated:
            values = value
        else:
            values = [value]
        for item in values:
            yield from _walk(item)


@dataclass(frozen=True)
class HistorySize:
    events: int
    history_bytes: int
    """The history as the server stores it (serialized protobuf)."""
    model_input_bytes: int
    """The model activities' inputs: the conversation, once per model call."""
    largest_payload: int
    referenced_bytes: int
    """Bytes kept outside the history, behind references."""

    @property
    def model_input_share(self) -> float:
        return self.model_input_bytes / self.history_bytes if self.history_bytes else 0.0


def history_size(history: WorkflowHistory | History) -> HistorySize:
    model_inputs, largest, referenced = 0, 0, 0
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == MODEL_ACTIVITY:
                model_inputs += attrs.input.ByteSize()
    for _, payload in payloads_in(history):
        largest = max(largest, payload.ByteSize())
        referenced += sum(p.size_bytes for p in payload.external_payloads)
    raw = History(events=list(history.events)).ByteSize()
    return HistorySize(len(history.events), raw, model_inputs, largest, referenced)


@dataclass(frozen=True)
class TurnSize:
    turn: int
    run: int
    size: HistorySize


async def session_growth(client: Client, session: Any, questions: Sequence[str]) -> list[TurnSize]:
    """Send each question to a running session (``recipes.agent_session.client.Session``), and after each
    reply measure the history of the session's current run (the latest, across continue-as-new)."""
    latest = client.get_workflow_handle(session.id)
    sizes = []
    for turn, question in enumerate(questions, start=1):
        reply = await session.send(question)
        sizes.append(TurnSize(turn, reply.run, history_size(await latest.fetch_history())))
    return sizes


@dataclass(frozen=True)
class Projection:
    """Where a session's growth, fitted from measured turns, meets Temporal's limits."""

    conversation_bytes_per_turn: float
    """How much each turn adds to the conversation: the slope of the largest model input."""
    payload_limit_turn: int
    """The first turn whose model input (one payload) passes 2 MiB."""
    history_limit_turn: int
    """The first turn at which the run's history passes 50 MiB."""


def project(sizes: Sequence[TurnSize], conversation_bytes_per_turn: float | None = None) -> Projection:
    """Fit the measured turns (one run, no continue-as-new): the largest payload grows linearly with
    the turn, the history quadratically (each model call carries the whole conversation so far).
    With ``conversation_bytes_per_turn`` (a realistic turn: a longer tool output and answer), the
    conversation's share of the fit is scaled to it; the per-turn bookkeeping stays as measured."""
    import numpy as np

    turns = np.array([s.turn for s in sizes], dtype=float)
    slope, intercept = np.polyfit(turns, [s.size.largest_payload for s in sizes], 1)
    a, b, c = np.polyfit(turns, [s.size.history_bytes for s in sizes], 2)
    per_turn = conversation_bytes_per_turn or slope
    a *= per_turn / slope
    payload_turn = (PAYLOAD_LIMIT - intercept) / per_turn
    history_turn = (-b + np.sqrt(b * b - 4 * a * (c - HISTORY_LIMIT))) / (2 * a)
    return Projection(float(per_turn), int(np.ceil(payload_turn)), int(np.ceil(history_turn)))


def draw_growth(series: dict[str, Sequence[TurnSize]], path: str | Path | None = None):
    """Left: the current run's history per turn, one line per series; right: the largest payload."""
    import matplotlib

    if path is not None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.5))
    for label, sizes in series.items():
        turns = [s.turn for s in sizes]
        left.plot(turns, [s.size.history_bytes / 1024 for s in sizes], marker=".", label=label)
        right.plot(turns, [s.size.largest_payload / 1024 for s in sizes], marker=".", label=label)
    left.set(xlabel="user turns", ylabel="KiB", title="The run's history, as the server stores it")
    right.set(xlabel="user turns", ylabel="KiB", title="Its largest single payload")
    for axis in (left, right):
        axis.set_ylim(bottom=0)
        axis.legend(fontsize=8)
    fig.tight_layout()
    if path is not None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=110)
    return fig


def references(history: WorkflowHistory | History) -> list[dict[str, Any]]:
    """The payloads held by reference: where in the history, and how many bytes each stands for."""
    rows = []
    for event, payload in payloads_in(history):
        if is_reference(payload):
            rows.append({"event": event.event_id, "type": EventType.Name(event.event_type).removeprefix("EVENT_TYPE_"),
                         "in history (bytes)": payload.ByteSize(),
                         "stored (bytes)": sum(p.size_bytes for p in payload.external_payloads)})  # fmt: skip
    return rows


def key_ids(history: WorkflowHistory | History) -> Counter[str]:
    """How many of the history's payloads each encryption key sealed (references are not sealed)."""
    return Counter(p.metadata[META_KEY_ID].decode() for _, p in payloads_in(history) if META_KEY_ID in p.metadata)


def database_files(db_file: str | Path) -> list[Path]:
    """The dev server's SQLite file and its write-ahead log and shared-memory files."""
    db = Path(db_file)
    return [p for p in (db, *db.parent.glob(db.name + "-*")) if p.exists()]


def files_holding(paths: Sequence[Path], text: str) -> list[str]:
    return [str(p) for p in paths if text.encode() in p.read_bytes()]


def cli_show(address: str, workflow_id: str, *, codec_endpoint: str | None = None, codec_auth: str | None = None) -> str:
    """``temporal workflow show --detailed`` (each payload's fields as text), through a codec server if
    given; what it printed."""
    cmd = [str(find_temporal_binary()), "workflow", "show", "--address", address, "-w", workflow_id, "--detailed"]
    if codec_endpoint:
        cmd += ["--codec-endpoint", codec_endpoint]
    if codec_auth:
        cmd += ["--codec-auth", codec_auth]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    return result.stdout + result.stderr


async def workflow_task_failures(client: Client, history: WorkflowHistory) -> list[str]:
    """The messages of the history's failed workflow tasks, decoded (their text may be encrypted)."""
    messages = []
    for event in history.events:
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failure = event.workflow_task_failed_event_attributes.failure
            messages.append(str(await client.data_converter.decode_failure(failure)))
    return messages



@dataclass
class EncryptedRoom:
    """A dev server of the notebook's own, whose Web UI decodes payloads through a codec server
    started beside it: its database file can be searched, and its UI shows what a person would see."""

    server: DevServer
    codec: ManagedProcess
    codec_url: str
    token: str

    @property
    def address(self) -> str:
        return self.server.address

    @property
    def ui_url(self) -> str | None:
        return self.server.ui_url

    def stop(self) -> None:
        self.codec.stop()
        self.server.stop()


def start_encrypted_room(work: Path, payloads: PayloadSettings) -> EncryptedRoom:
    """The codec server (``payloads``' keyring and store, a fresh token) and a dev server on free
    ports with ``--ui-codec-endpoint`` pointing at it, its history in ``work``. Stop it with ``stop()``
    (also at interpreter exit)."""
    token = secrets.token_urlsafe(18)
    codec_port, grpc_port, ui_port = free_port(), free_port(), free_port()
    origins = [arg for host in ("localhost", "127.0.0.1") for arg in ("--ui-origin", f"http://{host}:{ui_port}")]
    codec = python_module("nb11-codec-server", "recipes.payloads.codec_server", "--port", str(codec_port), *origins,
                          env={**payloads.as_env(), TOKEN_ENV: token}, log_path=work / "codec-server.log",
                          ready_text=CODEC_READY)  # fmt: skip
    codec.start(timeout=60)
    codec_url = f"http://127.0.0.1:{codec_port}"
    try:
        server = ensure_server(f"localhost:{grpc_port}", ui_port=ui_port, db_file=work / "server" / "dev.db",
                               state=work / "server", ui_codec_endpoint=f"{codec_url}/{token}")  # fmt: skip
    except BaseException:
        codec.stop()
        raise
    room = EncryptedRoom(server, codec, codec_url, token)
    atexit.register(room.stop)
    return room


async def decoded(history: WorkflowHistory | History, decoder: PayloadDecoder) -> History:
    """A copy of ``history`` with every payload fetched from its store and decrypted, as a worker
    (or the Web UI, through the codec server) sees it."""
    copy = History(events=list(history.events))
    for _, payload in list(payloads_in(copy)):
        [opened] = await decoder.decode([payload])
        payload.CopyFrom(opened)
    return copy


def first_model_input(history: WorkflowHistory | History) -> Payload:
    """The first model call's input (the conversation it was sent), as the history holds it."""
    event = next(e for e in history.events if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
                 and e.activity_task_scheduled_event_attributes.activity_type.name == MODEL_ACTIVITY)  # fmt: skip
    return event.activity_task_scheduled_event_attributes.input.payloads[0]
