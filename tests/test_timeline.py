"""The timeline recipe on the tutorial's stored histories (tests/histories/, the runs the replay tests replay):
the rows say what the history says -- a timer, a signal, an update, overlapping activities, a run still open, a
workflow task that kept failing -- and the figure draws a bar per bar row and a line per marker. (A retried
activity, the figure's window and the command are the recipe's own tests: recipes/timeline/tests/.)"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import WorkflowHistory

from ci.capture_histories import HISTORIES
from recipes.timeline.timeline import BAR_KINDS, RUN, WORKFLOW_TASKS, draw_timeline, timeline_rows


def stored(name: str) -> WorkflowHistory:
    data = json.loads((HISTORIES / f"{name}.json").read_text(encoding="utf-8"))
    return WorkflowHistory.from_json(data["workflow_id"], data)


def lane_rows(rows, prefix: str):
    return [row for row in rows if row.lane.startswith(prefix)]


def test_a_timer_a_signal_and_an_update():
    rows = timeline_rows(stored("agent_session/ConversationSessionWorkflow-recheck_timer"))
    [timer] = [r for r in rows if r.kind == "timer"]
    assert (timer.outcome, timer.label) == ("fired", "0.5 s timer: fired")
    assert timer.end - timer.start >= timedelta(seconds=0.5), "a timer fires no sooner than it was set for"
    [signal] = [r for r in rows if r.kind == "signal"]
    [update] = [r for r in rows if r.kind == "update"]
    assert (signal.lane, signal.start == signal.end) == ("signal end_session", True)
    assert (update.lane, update.start == update.end) == ("update send_message", True)
    lanes = list(dict.fromkeys(r.lane for r in rows))
    assert lanes[:2] == [RUN, WORKFLOW_TASKS] and lanes.index("update send_message") < lanes.index("timer 1") < lanes.index(
        "signal end_session"), f"lanes are not in the order they began: {lanes}"


def test_parallel_branches_overlap_on_the_chart():
    rows = timeline_rows(stored("parallel_agents/FanOutBriefingWorkflow-parallel_ca_tx"))
    first = [lane_rows(rows, f"invoke_model_activity #{i}")[-1] for i in (1, 2)]
    assert [r.lane for r in first] == ["invoke_model_activity #1 · Alerts agent CA",
                                       "invoke_model_activity #2 · Alerts agent TX"]  # fmt: skip
    assert max(r.start for r in first) < min(r.end for r in first), "the two branches' first model calls overlap"


def test_a_history_read_mid_run_draws_what_is_open_up_to_its_end():
    events = stored("streaming/StreamingWeatherWorkflow-alerts_ca").events[:8]  # model call 1 scheduled, not closed
    rows = timeline_rows(events)
    [model] = lane_rows(rows, "invoke_model_activity_streaming #1")
    end = events[-1].event_time.ToDatetime(tzinfo=timezone.utc)
    assert (model.kind, model.outcome, model.attempt, model.end) == ("activity", "running", 0, end)
    assert rows[0].kind == "run" and rows[0].outcome == "running" and rows[0].end == end


def _event(event_id: int, at: datetime, event_type: EventType.ValueType, **attributes) -> HistoryEvent:
    event = HistoryEvent(event_id=event_id, event_type=event_type, **attributes)
    event.event_time.FromDatetime(at)
    return event


def test_a_workflow_task_that_kept_failing_shows_its_first_failure_and_the_attempt_that_succeeded():
    """A worker without the key (notebook 11): the history has the first failure, then attempt 7 succeeding."""
    t0 = datetime(2026, 1, 5, 10, 0, tzinfo=timezone.utc)
    e = EventType

    def at(seconds: float) -> datetime:
        return t0 + timedelta(seconds=seconds)

    events = [
        _event(1, at(0), e.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED),
        _event(2, at(0), e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, workflow_task_scheduled_event_attributes={"attempt": 1}),
        _event(3, at(0.1), e.EVENT_TYPE_WORKFLOW_TASK_STARTED, workflow_task_started_event_attributes={"scheduled_event_id": 2}),
        _event(4, at(0.2), e.EVENT_TYPE_WORKFLOW_TASK_FAILED, workflow_task_failed_event_attributes={"scheduled_event_id": 2}),
        _event(5, at(30), e.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, workflow_task_scheduled_event_attributes={"attempt": 7}),
        _event(6, at(30.1), e.EVENT_TYPE_WORKFLOW_TASK_STARTED, workflow_task_started_event_attributes={"scheduled_event_id": 5}),
        _event(7, at(30.2), e.EVENT_TYPE_WORKFLOW_TASK_COMPLETED, workflow_task_completed_event_attributes={"scheduled_event_id": 5}),
        _event(8, at(30.2), e.EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED),
    ]  # fmt: skip
    tasks = [(r.kind, r.attempt, r.outcome, r.start, r.end) for r in timeline_rows(events) if r.lane == WORKFLOW_TASKS]
    assert tasks == [("waiting", 1, "", at(0), at(0.1)), ("workflow_task", 1, "failed", at(0.1), at(0.2)),
                     ("retrying", 6, "failed", at(0.2), at(30)), ("waiting", 7, "", at(30), at(30.1)),
                     ("workflow_task", 7, "completed", at(30.1), at(30.2))]  # fmt: skip


def test_the_figure_has_a_bar_per_bar_row_a_point_per_event_and_a_line_per_marker():
    history = stored("agent_session/ConversationSessionWorkflow-recheck_timer")
    killed = history.events[20].event_time.ToDatetime(tzinfo=timezone.utc)
    rows = timeline_rows(history, markers={"worker killed": killed})
    assert [(r.lane, r.kind, r.start) for r in rows if r.kind == "marker"] == [("", "marker", killed)]
    fig = draw_timeline(rows, title="recheck")
    [ax] = fig.axes
    assert len(ax.patches) == sum(r.kind in BAR_KINDS for r in rows) > 20, (len(ax.patches), len(rows))
    assert [t.get_text() for t in ax.get_yticklabels()] == list(dict.fromkeys(r.lane for r in rows if r.lane))
    points = [line for line in ax.lines if len(line.get_xdata()) == 1]
    assert len(points) == sum(r.kind in ("signal", "update", "history_marker") for r in rows) == 2
    [line] = [line for line in ax.lines if len(line.get_xdata()) == 2]  # axvline: a vertical line
    assert line.get_xdata()[0] == (killed - rows[0].start).total_seconds() and line.get_linestyle() == "--"
    assert ax.get_legend().get_texts()[-1].get_text() == f"worker killed (+{line.get_xdata()[0]:.2f} s)"


@pytest.mark.parametrize(("name", "kind", "outcome", "count"), [
    ("payloads/AlertHistoryWorkflow-too_large_ca", "activity", "failed", 1),  # its 3 MB result refused
    ("cost/FloorWorkflow-local", "history_marker", "", 3),  # three local activities
    ("parallel_agents/ChildWorkflowBriefing-ca_zz", "activity", "completed", 1),  # children: in their own histories
])  # fmt: skip
def test_failed_activities_and_local_activities_are_drawn(name, kind, outcome, count):
    rows = timeline_rows(stored(name))
    assert sum(r.kind == kind and r.outcome == outcome for r in rows) == count, rows
    assert draw_timeline(rows).axes[0].patches and rows[0].outcome == "completed"
