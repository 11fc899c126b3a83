"""Issue 11 in a real browser: a person reads an encrypted run in plain text in the Temporal Web UI
(decoded through the codec server) while the server's database holds only ciphertext -- and with the
codec server down the same page still renders, showing the payloads encoded.

One private dev server and codec server (``start_encrypted_room``, as notebook 11 section 3), one
encrypted run of the alert-history agent by an in-process worker, the UI driven by headless Chromium.
What the UI 2.54 page shows: ``/namespaces/default/workflows/<id>`` redirects to the latest run's
Timeline tab, whose "Input" and "Result" cards (``data-testid="input-and-result"``) hold the decoded
payloads; the header's ``data-encoder-status-success`` / ``-error`` icon says whether decoding worked.
"""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect
from temporalio.openai_agents import OpenAIAgentsPlugin
from temporalio.worker import Worker

from recipes.core.models import choose_model
from recipes.core.settings import connect
from recipes.payloads.activities import fetch_alert_history
from recipes.payloads.keys import create_keyring
from recipes.payloads.settings import PayloadSettings, PayloadsPlugin
from recipes.payloads.workflows import MODEL_PARAMS, AlertHistoryWorkflow
from tutorial.ledger import LEDGER_ENV_VAR
from tutorial.payload_lab import EncryptedRoom, database_files, files_holding, start_encrypted_room
# browser: one headless Chromium per module, launched with the project's args; page: a fresh context per test.
from tests.test_streaming_web import _in_thread, browser, page  # noqa: F401

pytestmark = [pytest.mark.integration, pytest.mark.browser]

UI_WAIT_MS = 30_000
CARDS = '[data-testid="input-and-result"]'  # the Timeline tab's Input and Result cards
CARDS_HOLD_JS = f"(text) => (document.querySelector('{CARDS}')?.innerText ?? '').includes(text)"
ENCRYPTED = b"binary/encrypted"


def wait_for_cards(page, text: str, what: str) -> None:
    """Wait (Playwright's polling, up to 30 s) for the Input and Result cards to hold ``text``; else
    fail saying what they showed."""
    try:
        page.wait_for_function(CARDS_HOLD_JS, arg=text, timeout=UI_WAIT_MS)
    except PlaywrightTimeout:
        shown = page.inner_text(CARDS) if page.locator(CARDS).count() else "(no Input and Result cards)"
        pytest.fail(f"{what} was not shown within {UI_WAIT_MS / 1000:g}s; the cards showed: {shown[:500]}")


@dataclass(frozen=True)
class EncryptedRun:
    room: EncryptedRoom
    work: Path
    workflow_id: str
    word: str
    stored_input: str
    """The workflow's input as the server stores it: the ciphertext's bytes, base64 (as the UI shows them)."""

    @property
    def page_url(self) -> str:
        return f"{self.room.ui_url}/namespaces/default/workflows/{self.workflow_id}"


async def _ask(address: str, sealed: PayloadSettings, question: str) -> tuple[str, str]:
    """One run of the alert-history agent on an in-process worker, client and worker sealing with
    ``sealed``; (workflow id, the stored input's data in base64)."""
    plugin = OpenAIAgentsPlugin(model_params=MODEL_PARAMS, model_provider=choose_model("offline").provider())
    client = await connect(address, plugins=[PayloadsPlugin(sealed), plugin])
    queue = f"test-codec-web-ui-{uuid.uuid4().hex[:8]}"
    async with Worker(client, task_queue=queue, workflows=[AlertHistoryWorkflow], activities=[fetch_alert_history]):
        handle = await client.start_workflow(AlertHistoryWorkflow.run, question, task_queue=queue,
                                             id=f"codec-web-ui-{uuid.uuid4().hex[:8]}")  # fmt: skip
        await asyncio.wait_for(handle.result(), timeout=90)
        history = await handle.fetch_history()  # as stored: payloads not decoded
    [stored] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert stored.metadata["encoding"] == ENCRYPTED, dict(stored.metadata)
    return handle.id, base64.b64encode(stored.data).decode()


@pytest.fixture(scope="module")
def encrypted_run(no_deadlock_detection, weather, tmp_path_factory):
    work = tmp_path_factory.mktemp("codec-web-ui")
    keyring = work / "payload-keys.json"
    create_keyring(keyring)
    sealed = PayloadSettings(store="local", store_dir=work / "blobs", keyring=keyring)
    word = f"pelican{uuid.uuid4().hex[:10]}"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv(LEDGER_ENV_VAR, str(work / "ledger.jsonl"))
        room = start_encrypted_room(work, sealed)
        try:
            question = f"I am {word}: what has the alert history of California been like?"
            workflow_id, stored_input = _in_thread(_ask, room.address, sealed, question)  # Playwright owns this loop
            yield EncryptedRun(room, work, workflow_id, word, stored_input)
        finally:
            room.stop()


@pytest.fixture
def codec_down(encrypted_run):
    """The room's codec server stopped for one test, started again after it (same port and token)."""
    codec = encrypted_run.room.codec
    codec.stop()
    try:
        yield encrypted_run
    finally:
        codec.start(timeout=60)


def test_a_person_sees_plaintext_in_the_web_ui_and_the_database_holds_ciphertext(encrypted_run, page, record_property):
    run = encrypted_run
    asked = time.monotonic()
    page.goto(run.page_url)
    wait_for_cards(page, run.word, "the question, decoded through the codec server,")
    seen_s = time.monotonic() - asked
    cards = page.inner_text(CARDS)
    assert "alerts on record for CA" in cards, f"the Result card shows the decoded answer: {cards[:600]}"
    assert run.stored_input not in cards, "the Input card shows the question, not the ciphertext"
    assert run.workflow_id in page.inner_text('[data-testid="workflow-id-heading"]')
    expect(page.get_by_test_id("data-encoder-status-success")).to_have_count(1)  # the header's icon: decoding works
    assert not page.js_errors, page.js_errors

    db_files = database_files(run.room.server.db_file)
    blobs = [p for p in (run.work / "blobs").rglob("*") if p.is_file()]
    assert files_holding(db_files, run.workflow_id), f"the search must see the run: its id is in clear, in {db_files}"
    assert blobs, "the 3 MB tool result went to the blob store"
    assert files_holding(db_files, run.word) == [] and files_holding(blobs, run.word) == []
    record_property("figures", f"codec web UI: the word decoded and visible {seen_s:.1f}s after opening the page; "
                               f"{len(db_files)} database files and {len(blobs)} blob(s) without it")  # fmt: skip


def test_with_the_codec_server_down_the_ui_shows_encoded_payloads_and_nothing_breaks(codec_down, page, record_property):
    run = codec_down
    refused: list[str] = []
    page.on("requestfailed", lambda req: refused.append(req.url) if req.url.startswith(run.room.codec_url) else None)
    asked = time.monotonic()
    page.goto(run.page_url)
    wait_for_cards(page, run.stored_input, "the stored ciphertext of the input")
    shown_s = time.monotonic() - asked
    assert run.workflow_id in page.inner_text('[data-testid="workflow-id-heading"]')
    assert "COMPLETED" in page.inner_text('[data-testid="execution-status"]').upper()
    # Not shown anywhere. (Not only because it is encrypted: with no codec server the UI shows every payload's
    # bytes in base64, plain JSON too. That the stored input is ciphertext is checked when the run is made.)
    assert run.word not in page.inner_text("body")
    # The header's icon turns to an error once the UI has given up on the codec server (after its retries).
    expect(page.get_by_test_id("data-encoder-status-error")).to_have_count(1, timeout=UI_WAIT_MS)
    flagged_s = time.monotonic() - asked
    assert refused, "the page did try the codec server, and could not reach it"
    assert not page.js_errors, page.js_errors
    record_property("figures", f"codec web UI: with the codec server down, the ciphertext shown {shown_s:.1f}s "
                               f"after opening the page, the UI's decoder flagged failing after {flagged_s:.1f}s "
                               f"({len(refused)} decode requests refused)")  # fmt: skip
