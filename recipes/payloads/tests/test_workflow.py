"""The alert-history workflow with the model scripted and a ~3 MB tool result: by reference and encrypted, the run
completes and its history holds neither the 3 MB nor any plain text; inline, the tool says in one sentence why it
could not, and the run completes all the same. The NWS request is replaced by an activity of the same name."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.openai_agents.testing import AgentEnvironment, ResponseBuilders, TestModel
from temporalio.worker import Worker

from recipes.payloads.codec import Keyring
from recipes.payloads.settings import PayloadSettings, PayloadsPlugin
from recipes.payloads.workflows import MODEL_PARAMS, AlertHistoryWorkflow

ALERT = {"properties": {"event": "Wind Advisory", "severity": "Moderate", "sent": "2026-11-30T10:00:00Z",
                        "headline": "Wind Advisory until 6 PM"}, "geometry": {"coordinates": [[0.5] * 2000]}}  # fmt: skip


@activity.defn(name="fetch_alert_history")
async def three_megabytes_of_alerts(state: str) -> dict:
    return {"features": [ALERT] * 400}


async def ask(env, payloads: PayloadSettings):
    model = TestModel.returning_responses([
        ResponseBuilders.tool_call(json.dumps({"state": "CA"}), "alert_history_digest"),
        ResponseBuilders.output_message("Mostly wind advisories."),
    ])  # fmt: skip
    async with AgentEnvironment(model=model, model_params=MODEL_PARAMS) as agents:
        client = agents.applied_on_client(Client(**{**env.client.config(), "plugins": [PayloadsPlugin(payloads)]}))
        queue = f"payloads-test-{uuid.uuid4().hex[:8]}"
        async with Worker(client, task_queue=queue, workflows=[AlertHistoryWorkflow], activities=[three_megabytes_of_alerts],
                          workflow_failure_exception_types=[Exception]):  # fmt: skip
            handle = await client.start_workflow(AlertHistoryWorkflow.run, "What has CA been like?", id=queue, task_queue=queue)
            answer = await handle.result()
            stored = await handle.fetch_history()  # as the server keeps it
    return answer, stored, await model_inputs(client, stored)


async def model_inputs(client: Client, history) -> str:
    """What the model calls were sent, read back through the client's codec and store."""
    sent = [e.activity_task_scheduled_event_attributes.input.payloads[0] for e in history.events
            if e.activity_task_scheduled_event_attributes.activity_type.name == "invoke_model_activity"]  # fmt: skip
    return json.dumps(await client.data_converter.decode(sent))


@pytest.mark.asyncio
async def test_by_reference_and_encrypted_the_history_stays_small_and_unreadable(env, tmp_path):
    (keyring := tmp_path / "keys.json").write_text(Keyring.new().to_json(), encoding="utf-8")
    answer, stored, told = await ask(env, PayloadSettings(store="local", store_dir=tmp_path / "blobs", keyring=keyring))
    assert answer == "Mostly wind advisories." and "400 alerts on record for CA" in told, told[-800:]
    raw = stored.to_json()
    assert len(raw) < 200_000 and "Wind Advisory" not in raw and "What has CA been like" not in raw, len(raw)
    assert sum(f.stat().st_size for f in (tmp_path / "blobs").rglob("*") if f.is_file()) > 2_000_000


@pytest.mark.asyncio
async def test_inline_the_tool_reports_the_limit_in_one_sentence_and_the_run_completes(env):
    answer, _, told = await ask(env, PayloadSettings(store="off"))
    assert answer == "Mostly wind advisories."
    assert "PayloadsTooLarge" in told and "turn on payloads by reference (PAYLOAD_STORE)" in told, told[-800:]
