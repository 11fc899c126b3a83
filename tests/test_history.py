"""tutorial.history on real runs of the hello workflow (flaky activity)."""

from __future__ import annotations

import json
import uuid

import pytest
from temporalio.client import Client, WorkflowFailureError

from recipes.hello_temporal.activities import GreetingRequest
from recipes.hello_temporal.worker import build_worker
from recipes.hello_temporal.workflows import HelloWorkflow
from tutorial.history import (
    EVENT_COLUMNS,
    STEP_COLUMNS,
    activity_steps,
    event_rows,
    fetch_history,
    model_and_tool_sequence,
    render_html,
    render_table,
    show_table,
    step_rows,
)
from recipes.core.worker import worker_identity


async def run_hello(address: str, failures: int):
    client = await Client.connect(address)
    queue = f"test-history-{uuid.uuid4().hex[:8]}"
    async with build_worker(client, task_queue=queue):
        handle = await client.start_workflow(
            HelloWorkflow.run, GreetingRequest("Ada", failures=failures), id=f"hello-{uuid.uuid4().hex[:8]}", task_queue=queue
        )
        try:
            await handle.result()
        except WorkflowFailureError:
            pass
        return await fetch_history(handle)


@pytest.fixture(scope="module")
def flaky_history(temporal_server):
    import asyncio

    return asyncio.run(run_hello(temporal_server.address, failures=2))


def test_event_rows_name_every_event_and_the_activity(flaky_history):
    rows = event_rows(flaky_history)
    assert [r["event_id"] for r in rows] == list(range(1, len(rows) + 1))
    assert all(set(EVENT_COLUMNS) <= set(r) for r in rows)
    types = [r["type"] for r in rows]
    assert types[0] == "WorkflowExecutionStarted" and types[-1] == "WorkflowExecutionCompleted"
    # Retries are not separate events: one scheduled, one started (the last attempt), one completed.
    assert types.count("ActivityTaskScheduled") == 1 and types.count("ActivityTaskStarted") == 1
    started = next(r for r in rows if r["type"] == "ActivityTaskStarted")
    assert started["activity_type"] == "compose_greeting" and started["activity_id"] == "1"
    assert started["attempt"] == 3
    assert "attempt 2" in started["detail"]  # the previous attempt's failure
    assert started["identity"] == worker_identity()
    scheduled = next(r for r in rows if r["type"] == "ActivityTaskScheduled")
    assert "greet Ada" in scheduled["detail"] and "max attempts 5" in scheduled["detail"]
    assert "succeeded on attempt 3" in rows[-1]["detail"]


def test_activity_steps_reconstruct_the_retried_activity(flaky_history):
    [step] = activity_steps(flaky_history)
    assert step.activity_type == "compose_greeting" and step.summary == "greet Ada"
    assert step.status == "completed" and step.attempts == 3
    assert step.identity == worker_identity()
    assert "attempt 2" in step.last_failure and step.failure == ""
    assert step.result == "Hello, Ada! (succeeded on attempt 3)"
    assert step.scheduled_at <= step.started_at <= step.closed_at
    assert step.duration_s is not None and step.duration_s > 0
    assert step.kind == "tool:compose_greeting" and not step.is_model_call
    print(f"3 attempts took {step.duration_s:.2f}s (backoff included)")
    assert model_and_tool_sequence(flaky_history) == ["tool:compose_greeting"]
    assert step.to_dict()["kind"] == "tool:compose_greeting"
    assert step.arguments == [{"name": "Ada", "failures": 2}]
    assert json.loads(step.input) == {"name": "Ada", "failures": 2}


def test_failed_activity_is_reported_with_its_failure(temporal_server):
    import asyncio

    history = asyncio.run(run_hello(temporal_server.address, failures=10))  # more than maximum_attempts=5
    [step] = activity_steps(history)
    assert step.status == "failed" and step.attempts == 5
    assert step.failure_type == "FlakyService" and "attempt 5" in step.failure
    assert step.extra["retry_state"] == "maximum_attempts_reached"
    assert event_rows(history)[-1]["type"] == "WorkflowExecutionFailed"


def test_render_table_and_html(flaky_history, capsys):
    rows = step_rows(flaky_history)
    text = render_table(rows)
    header, rule, *body = text.splitlines()
    assert header.split() == STEP_COLUMNS
    assert set(rule) <= {"-", " "} and len(body) == 1
    assert render_table(rows, columns=["kind", "attempts"]).splitlines()[2].split() == ["tool:compose_greeting", "3"]
    assert render_table([]) == "(no rows)"
    html = render_html([{"a": "<b>"}])
    assert "&lt;b&gt;" in html and "<th" in html
    show_table(rows)  # no IPython kernel here: plain text
    assert "tool:compose_greeting" in capsys.readouterr().out
