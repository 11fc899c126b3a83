"""The weather agent, streamed: ``Runner.run_streamed`` inside a workflow that hosts a stream.

How the answer reaches a person
-------------------------------
``MODEL_PARAMS.streaming_topic`` makes the plugin run each model call as the
activity ``invoke_model_activity_streaming``. While the model streams, that
activity publishes every raw stream event (``response.created``, text deltas,
``response.completed`` ...) to this workflow's :class:`WorkflowStream` -- by
Signal, batched every ``streaming_batch_interval``. Outside code long-polls the
stream with Updates (:mod:`recipes.streaming.subscriber`). Tools still run as
activities; nothing about durability changes.

What the workflow adds: snapshots
---------------------------------
Raw events alone cannot tell a subscriber which attempt of a model call counted:
a retried attempt streams from the start again, under the same response id on the
Chat Completions path. So the workflow publishes a :class:`Snapshot` on its own
topic whenever something becomes durable -- a model call or a tool call completed,
a tool started, the run ended. Workflow code is replayed deterministically, so a
snapshot is the truth: text before it is final, text after it is provisional.

Keeping the log bounded: truncate at every snapshot
---------------------------------------------------
Before publishing a snapshot the workflow truncates the log up to it. A snapshot
carries everything durable, so no subscriber ever needs an event before the latest
one: one that was behind gets ``TruncatedOffset``, restarts from the retained
base (the SDK's subscriber does that) and reads the snapshot first. The log is then
at most one snapshot plus the events of one model call's attempts, however long the
run. (Continue-as-new, the other way to bound it, suits a long session; one question
per run never needs it.)
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta
from uuid import uuid4

from temporalio import workflow
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from agents import Agent, ModelResponse, RunContextWrapper, RunHooks, Runner, Tool
    from temporalio.contrib.workflow_streams import WorkflowStream
    from temporalio.openai_agents import ModelActivityParameters

    from recipes.core.models import MODEL_RETRY_POLICY
    from recipes.core.scripts import root_cause
    from recipes.streaming.transcript import MODEL_EVENTS_TOPIC, TRANSCRIPT_TOPIC, Segment, Snapshot, tool_result
    from recipes.tools.alerts_tool import ALERTS_AGENT_INSTRUCTIONS, explain_severity, weather_alerts_tool

TASK_QUEUE = "streaming-agent"
TASK_QUEUE_ENV = "STREAMING_TASK_QUEUE"
BATCH_INTERVAL_ENV = "STREAMING_BATCH_INTERVAL_MS"
AGENT_NAME = "Streaming weather agent"
MAX_QUESTION_CHARS = 2000

INSTRUCTIONS = ALERTS_AGENT_INSTRUCTIONS

# The stream's offset query, registered by WorkflowStream. The workflow side has no
# public "current offset" accessor; this handler returns base offset + log length.
_OFFSET_QUERY = "__temporal_workflow_stream_offset"


def model_params(batch_interval: timedelta | None = None) -> ModelActivityParameters:
    """How streamed model calls run; the worker passes this to ``OpenAIAgentsPlugin``.

    * ``start_to_close_timeout=60s`` and ``schedule_to_close_timeout=5min`` are the weather
      agent's; the retries are every agent's ``MODEL_RETRY_POLICY`` (``recipes.core.models``).
    * ``heartbeat_timeout=6s`` -- someone is watching the text: a dead worker should be
      noticed in seconds. The plugin heartbeats every 3 s while the model streams.
    * ``streaming_batch_interval`` -- how long published events wait to be sent together:
      100 ms by default (``$STREAMING_BATCH_INTERVAL_MS``). Lower is snappier and costs one
      Signal, and a workflow task, per batch.
    """
    if batch_interval is None:
        batch_interval = timedelta(milliseconds=float(os.environ.get(BATCH_INTERVAL_ENV) or 100))
    return ModelActivityParameters(
        start_to_close_timeout=timedelta(seconds=60),
        heartbeat_timeout=timedelta(seconds=6),
        schedule_to_close_timeout=timedelta(minutes=5),
        retry_policy=MODEL_RETRY_POLICY,
        streaming_topic=MODEL_EVENTS_TOPIC,
        streaming_batch_interval=batch_interval,
    )


def default_task_queue() -> str:
    """``$STREAMING_TASK_QUEUE`` or ``streaming-agent``."""
    return os.environ.get(TASK_QUEUE_ENV) or TASK_QUEUE


def check_question(question: object) -> str:
    """The question, stripped; a ``ValueError`` with one sentence if it is empty or too long."""
    text = question.strip() if isinstance(question, str) else ""
    if not text:
        raise ValueError("The question is empty: ask something, e.g. 'Any weather alerts in California?'.")
    if len(text) > MAX_QUESTION_CHARS:
        raise ValueError(f"The question is {len(text)} characters long; the limit is {MAX_QUESTION_CHARS}.")
    return text


#: Workflow task timeout for streamed runs (Temporal's default is 10 s). A worker that dies
#: while holding a workflow task holds up the run until it expires, and with a Signal per
#: streamed batch a kill usually lands mid-task; 5 s halves that wait. The cost: a workflow
#: task that really needs over 5 s (replaying a huge history on a slow machine) is retried.
WORKFLOW_TASK_TIMEOUT = timedelta(seconds=5)


async def start_run(client: Client, question: str, *, task_queue: str | None = None, workflow_id: str | None = None) -> str:
    """Start a streamed run for ``question`` (checked: ``ValueError`` with one sentence) and
    return its workflow id, ``stream-<8 hex>`` unless given."""
    workflow_id = workflow_id or f"stream-{uuid4().hex[:8]}"
    await client.start_workflow(
        StreamingWeatherWorkflow.run,
        check_question(question),
        id=workflow_id,
        task_queue=task_queue or default_task_queue(),
        task_timeout=WORKFLOW_TASK_TIMEOUT,
    )
    return workflow_id


def build_agent() -> Agent:
    return Agent(name=AGENT_NAME, instructions=INSTRUCTIONS, tools=[weather_alerts_tool(), explain_severity])


def response_text(response: ModelResponse) -> str:
    """The text of a model response's message items (what its text deltas added up to)."""
    return "".join(
        part.text
        for item in response.output
        if getattr(item, "type", None) == "message"
        for part in getattr(item, "content", [])
        if getattr(part, "type", None) == "output_text"
    )


class _SnapshotHooks(RunHooks):
    """Publishes a snapshot at every durable step; runs in the workflow (deterministic)."""

    def __init__(self, run: StreamingWeatherWorkflow) -> None:
        self.run = run

    async def on_llm_end(self, context: RunContextWrapper, agent: Agent, response: ModelResponse) -> None:
        snapshot = self.run.snapshot.appended(Segment("text", text=response_text(response)))
        self.run.publish(snapshot, model_calls=snapshot.model_calls + 1)

    async def on_tool_start(self, context: RunContextWrapper, agent: Agent, tool: Tool) -> None:
        call_id = getattr(context, "tool_call_id", "") or tool.name
        arguments = getattr(context, "tool_arguments", "") or ""
        self.run.publish(self.run.snapshot.appended(Segment("tool_call", tool_name=tool.name, call_id=call_id, detail=arguments)))

    async def on_tool_end(self, context: RunContextWrapper, agent: Agent, tool: Tool, result: object) -> None:
        call_id = getattr(context, "tool_call_id", "") or tool.name
        self.run.publish(self.run.snapshot.appended(tool_result(tool.name, call_id, str(result))))


@workflow.defn
class StreamingWeatherWorkflow:
    """Answer one question about US weather alerts, streaming the answer as it is written."""

    @workflow.init
    def __init__(self, question: str) -> None:
        # Registers the stream's publish Signal, poll Update and Queries (must be in __init__).
        self.stream = WorkflowStream()
        self.transcript = self.stream.topic(TRANSCRIPT_TOPIC, type=Snapshot)
        self.snapshot = Snapshot()

    def publish(self, snapshot: Snapshot, **changes: object) -> None:
        """Truncate the log up to now, then publish ``snapshot`` (with ``changes``) as the new base."""
        end = workflow.get_query_handler(_OFFSET_QUERY)()
        self.stream.truncate(end)
        self.snapshot = replace(snapshot, **changes, events_before=end)
        self.transcript.publish(self.snapshot)

    @workflow.query
    def current(self) -> Snapshot:
        """The latest snapshot (what a subscriber would show, minus in-flight text)."""
        return self.snapshot

    @workflow.run
    async def run(self, question: str) -> str:
        try:
            question = check_question(question)
        except ValueError as err:
            raise ApplicationError(str(err), type="BadQuestion", non_retryable=True) from None
        self.publish(self.snapshot)
        try:
            result = Runner.run_streamed(build_agent(), question, hooks=_SnapshotHooks(self))
            async for _ in result.stream_events():
                pass  # the hooks publish; the raw events reach subscribers from the activity
        except Exception as err:
            self.publish(self.snapshot, status="failed", error=root_cause(err))
            raise
        answer = str(result.final_output)
        self.publish(self.snapshot, status="done", answer=answer)
        return answer
