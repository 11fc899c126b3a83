"""Every stored history replays against the current code; what replay does and does not catch.

``tests/histories/<recipe>/*.json`` are real runs of each recipe's workflows, captured by
``.venv/bin/python ci/capture_histories.py``. A change to a workflow that a run open at
deploy time could not replay fails :func:`test_stored_history_replays` with the workflow,
the file and the first mismatching command. The claims in README.md ("Changing an agent
while runs are in flight") are each one test below: the change is made in this process
(a variant workflow in ``tests/replay_variants.py`` registered under the recipe's type
name, or a patched module attribute), then a stored history is replayed. No server: a
``Replayer`` runs the workflow code here, so all of this is part of ``make unit``.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re

import pytest
from temporalio import activity
from temporalio.openai_agents.testing import TestModel, TestModelProvider
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError, _Definition

from ci.capture_histories import RECIPES as CAPTURED_RECIPES
from tests import replay_variants as variants
from tests.replay_support import (
    RECIPES,
    REGENERATE,
    REPO_ROOT,
    HistoryFileError,
    ReplayFailed,
    load_history,
    recipe_plugins,
    replay,
    replayed_result,
    stored,
    stored_history_paths,
)

PATHS = stored_history_paths()


def run(coro):
    return asyncio.run(coro)


# --------------------------------------------------------------------------- every stored run
@pytest.mark.parametrize("path", PATHS, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_stored_history_replays(path):
    try:
        run(replay(load_history(path)))
        problem = ""
    except (ReplayFailed, HistoryFileError) as err:
        problem = str(err)
    if problem:  # outside the except: the message says it all, the SDK's traceback would bury it
        pytest.fail(problem, pytrace=False)


def test_every_recipe_and_every_workflow_has_a_stored_history():
    workers = (REPO_ROOT / "recipes").glob("*/worker.py")
    recipes_with_workers = sorted(p.parent.name for p in workers if p.parent.name != "core")
    assert sorted(RECIPES) == recipes_with_workers == sorted(r.name for r in CAPTURED_RECIPES), (
        "every recipe with a worker has an entry in tests/replay_support.py and in ci/capture_histories.py")
    covered = {(h.recipe, h.workflow_type) for h in map(load_history, PATHS)}
    names = {cls: _Definition.from_class(cls).name for classes, _ in RECIPES.values() for cls in classes}
    missing = [f"{recipe}: {names[cls]}" for recipe, (classes, _) in RECIPES.items() for cls in classes
               if (recipe, names[cls]) not in covered]  # fmt: skip
    assert not missing, f"no stored history for {', '.join(missing)}: add a scenario to ci/capture_histories.py, run {REGENERATE}"


def _payload_texts(node):
    if isinstance(node, dict):
        if isinstance(node.get("data"), str) and isinstance(node.get("metadata"), dict):
            yield base64.b64decode(node["data"]).decode("utf-8", errors="replace")
        for value in node.values():
            yield from _payload_texts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _payload_texts(value)


def test_stored_histories_hold_no_key_and_no_local_path():
    home = os.path.expanduser("~")
    for path in PATHS:
        raw = path.read_text(encoding="utf-8")
        text = raw + "\n".join(_payload_texts(json.loads(raw)))
        for needle in {str(REPO_ROOT), f"{home}/"} - {"/"}:
            assert needle not in text, f"{path.name} holds the local path {needle!r}"
        assert not re.search(r"sk-[A-Za-z0-9_-]{12,}|Bearer [A-Za-z0-9]", text), f"{path.name} holds something like an API key"
        key = os.environ.get("OPENAI_API_KEY", "")
        assert not key or key not in text, f"{path.name} holds OPENAI_API_KEY"


# --------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    "content, says",
    [
        ("{not json", "it is not readable JSON"),
        ("[1, 2]", "it holds a JSON list, not an object with 'events'"),
        ('{"workflow_id": "x", "workflow_type": "T", "recipe": "weather"}', "an object without an 'events' list"),
        ('{"events": []}', "it has no 'workflow_id', 'workflow_type', 'recipe'"),
        ('{"workflow_id": "x", "workflow_type": "T", "recipe": "weather", "events": [{"eventId": "one"}]}',
         "its events do not parse"),
        ('{"workflow_id": "x", "workflow_type": "T", "recipe": "weather", "events": []}',
         "it starts with nothing, not WorkflowExecutionStarted"),
    ],
    ids=["not-json", "a-list", "no-events", "no-id", "bad-event", "no-events-at-all"],
)
def test_a_file_that_is_not_a_history_is_named_in_one_sentence(tmp_path, content, says):
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(HistoryFileError) as info:
        load_history(path)
    message = str(info.value)
    assert str(path) in message and says in message and REGENERATE in message, message
    assert "\n" not in message


def test_a_history_of_a_type_the_replayer_does_not_register_names_the_type():
    from recipes.hello_temporal.workflows import HelloWorkflow

    weather = stored("weather", "WeatherAgentWorkflow-alerts_ca")
    with pytest.raises(RuntimeError) as raw:  # the SDK's own error, unwrapped
        run(Replayer(workflows=[HelloWorkflow]).replay_workflow(weather.history))
    sdk_text = "Workflow class WeatherAgentWorkflow is not registered on this worker, available workflows: HelloWorkflow"
    assert sdk_text in str(raw.value)
    with pytest.raises(ReplayFailed) as info:
        run(replay(weather, workflows=[HelloWorkflow]))
    message = str(info.value)
    assert "tests/histories/weather/WeatherAgentWorkflow-alerts_ca.json" in message and sdk_text in message


# --------------------------------------------------------------------------- replay-safe changes
def alerts_ca():
    return stored("weather", "WeatherAgentWorkflow-alerts_ca")  # model -> get_weather_alerts -> model


def test_safe_new_instructions_text():
    """The instructions are in every recorded model call's input; replay does not compare inputs,
    and the recorded answers are replayed as they are."""
    history = alerts_ca()
    [first_call, _] = history.activity_inputs("invoke_model_activity")
    assert "You answer questions about active US weather alerts" in first_call
    assert variants.NEW_INSTRUCTIONS not in first_call
    assert run(replayed_result(history, workflows=[variants.WeatherNewInstructions])) == history.recorded_result()


def test_safe_another_model_name_on_the_agent():
    history = alerts_ca()
    assert run(replayed_result(history, workflows=[variants.WeatherOtherModel])) == history.recorded_result()


def test_safe_a_model_that_would_answer_differently():
    """What the model answered is in the history; a replay reads it and never asks the model."""

    def answer_differently():
        raise AssertionError("a replay asked the model")

    history = alerts_ca()
    provider = TestModelProvider(TestModel(answer_differently))
    plugins = recipe_plugins("weather", model_provider=provider)
    assert run(replayed_result(history, plugins=plugins)) == history.recorded_result()


def test_safe_a_tool_activity_rewritten(monkeypatch):
    """The Replayer runs no activity at all (it takes none): a tool's implementation cannot matter.
    Same name, same signature, a body that would fail if it ran."""
    import recipes.tools.alerts_tool as alerts_tool

    @activity.defn(name="get_weather_alerts")
    async def get_weather_alerts(state: str) -> str:
        """Get active weather alerts (warnings, watches, advisories) for a US state from the National Weather Service.

        Args:
            state: Two-letter US state code, e.g. CA, TX or NY.
        """
        raise AssertionError("a replay ran the activity")

    monkeypatch.setattr(alerts_tool, "get_weather_alerts", get_weather_alerts)
    history = alerts_ca()
    assert run(replayed_result(history)) == history.recorded_result()


def test_safe_max_turns_raised():
    history = alerts_ca()
    assert run(replayed_result(history, workflows=[variants.WeatherMaxTurnsRaised])) == history.recorded_result()


def test_safe_an_activity_called_with_other_arguments_and_the_recorded_result_comes_back():
    """Replay compares no activity input: the greeting asked for 'Someone else' replays the
    greeting recorded for Ada."""
    history = stored("hello_temporal", "HelloWorkflow-retried")
    assert '"name":"Ada"' in history.activity_inputs("compose_greeting")[0]
    result = run(replayed_result(history, workflows=[variants.HelloOtherInput]))
    assert result == history.recorded_result() and result.startswith("Hello, Ada!")


def test_safe_activity_timeouts_retry_policy_and_summary_changed():
    history = stored("hello_temporal", "HelloWorkflow-retried")
    assert run(replayed_result(history, workflows=[variants.HelloOtherOptions])) == history.recorded_result()


# --------------------------------------------------------------------------- changes replay catches
def replay_failure(history, variant=None) -> ReplayFailed:
    """The failure of replaying ``history`` with ``variant`` (None: the recipe's own workflows)."""
    with pytest.raises(ReplayFailed) as info:
        run(replay(history, workflows=None if variant is None else [variant]))
    message = str(info.value)
    assert history.name in message and history.workflow_id in message and REGENERATE in message, message
    return info.value


def test_not_safe_a_workflow_side_timer_added():
    failure = replay_failure(alerts_ca(), variants.WeatherTimerFirst)
    assert isinstance(failure.error, NondeterminismError)
    message = str(failure)
    assert "WeatherAgentWorkflow" in message and "is not deterministic" in message
    assert "Timer machine does not handle this event: HistoryEvent(id: 5, ActivityTaskScheduled)" in message
    assert ("The history has event 5, ActivityTaskScheduled invoke_model_activity (activity id 1), "
            "summary 'Weather agent' there.") in message  # fmt: skip


def test_not_safe_an_activity_step_added():
    failure = replay_failure(stored("durability", "StormBriefingWorkflow-two_states"), variants.StormAlwaysNotify)
    assert isinstance(failure.error, NondeterminismError)
    assert "Activity machine does not handle this event" in str(failure) and "WorkflowExecutionCompleted" in str(failure)


def test_not_safe_an_activity_step_removed():
    history = stored("durability", "StormBriefingWorkflow-notify")
    failure = replay_failure(history, variants.StormNeverNotify)
    assert isinstance(failure.error, NondeterminismError)
    [notify] = [i for i, e in enumerate(history.history.events, 1)
                if e.activity_task_scheduled_event_attributes.activity_type.name == "send_alert_notification"]  # fmt: skip
    assert f"event {notify}, ActivityTaskScheduled send_alert_notification" in str(failure), str(failure)


def test_not_safe_two_steps_of_different_types_swapped():
    failure = replay_failure(stored("durability", "StormBriefingWorkflow-notify"), variants.StormNotifyFirst)
    assert isinstance(failure.error, NondeterminismError)
    assert ("Activity type of scheduled event 'invoke_model_activity' does not match activity type of "
            "activity command 'send_alert_notification'") in str(failure)  # fmt: skip


def test_not_safe_a_tool_activity_renamed(monkeypatch):
    """The activity type is compared: the same tool under another activity name fails."""
    import recipes.tools.alerts_tool as alerts_tool

    @activity.defn(name="get_weather_alerts_v2")
    async def get_weather_alerts(state: str) -> str:
        """Get active weather alerts for a US state.

        Args:
            state: Two-letter US state code, e.g. CA, TX or NY.
        """
        raise AssertionError("a replay ran the activity")

    monkeypatch.setattr(alerts_tool, "get_weather_alerts", get_weather_alerts)
    failure = replay_failure(alerts_ca())  # the recipe's own workflow, with the renamed activity
    assert isinstance(failure.error, NondeterminismError)
    assert ("Activity type of scheduled event 'get_weather_alerts' does not match activity type of "
            "activity command 'get_weather_alerts_v2'") in str(failure)  # fmt: skip


def test_not_safe_a_workflow_tool_moved_into_an_activity():
    history = stored("weather", "WeatherAgentWorkflow-severity")  # model -> explain_severity (in the workflow) -> model
    failure = replay_failure(history, variants.WeatherSeverityAsActivity)
    assert isinstance(failure.error, NondeterminismError)
    assert "'invoke_model_activity' does not match activity type of activity command 'explain_severity'" in str(failure)


def test_not_safe_max_turns_below_what_the_run_used_is_caught_by_replay():
    """The SDK raises MaxTurnsExceeded in the workflow code; the worker's AgentsPlugin turns that into
    failing the run, where the recorded run went on to its next model call: a nondeterminism error at
    that event. A deployed worker would fail that run's workflow task until the code is fixed."""
    failure = replay_failure(alerts_ca(), variants.WeatherMaxTurnsLowered)
    assert isinstance(failure.error, NondeterminismError), failure
    assert "Fail workflow machine does not handle this event" in str(failure)
    assert "ActivityTaskScheduled invoke_model_activity" in str(failure), failure


def test_not_safe_a_tool_taken_off_the_agent_is_caught_by_replay():
    """The recorded model answer calls get_weather_alerts; the agent no longer has it: the SDK's
    ModelBehaviorError would end the run where the history scheduled that tool."""
    failure = replay_failure(alerts_ca(), variants.WeatherWithoutAlertsTool)
    assert isinstance(failure.error, NondeterminismError), failure
    assert "ActivityTaskScheduled get_weather_alerts" in str(failure), failure


# --------------------------------------------------------------------------- shipping a new step
def test_safe_a_step_added_behind_workflow_patched():
    """The shipping recipe's v2 adds the screen step behind ``workflow.patched``: v1's runs replay on
    its old path (no screen), and return what they returned."""
    for stem in ("ReviewedAgentWorkflow-v1-approved_tx", "ReviewedAgentWorkflow-v1-approved_severity"):
        history = stored("shipping", stem)
        assert RECIPES["shipping"][0][0].__name__ == "ReviewedAgentV2"
        assert run(replayed_result(history)) == history.recorded_result()
        assert history.recorded_result()["screened"] is False


def test_not_safe_the_same_step_added_without_a_patch():
    """The pinned v2 (meant for Worker Versioning, where v1's runs never meet it) on a fleet that
    still has v1's runs: the screen activity where the history has the first model call."""
    from recipes.shipping.workflows import ReviewedAgentV2Pinned

    failure = replay_failure(stored("shipping", "ReviewedAgentWorkflow-v1-approved_tx"), ReviewedAgentV2Pinned)
    assert isinstance(failure.error, NondeterminismError)
    assert "'invoke_model_activity' does not match activity type of activity command 'screen_question'" in str(failure)


# --------------------------------------------------------------------------- what replay does NOT catch
@pytest.mark.parametrize("mode", ["sequential", "parallel"])
def test_two_calls_of_the_same_activity_swapped_replay_silently_with_swapped_results(mode):
    """Replay matches steps by activity type and id (a sequence number), not by input: the
    branches started in the other order replay without an error, and each branch gets the
    other one's recorded model answers and tool results. The replayed workflow returns the
    Texas alerts as California's report -- and a deployed worker would carry on from there."""
    history = stored("parallel_agents", f"FanOutBriefingWorkflow-{mode}_ca_tx")
    recorded = history.recorded_result()["reports"]
    assert "alerts for CA" in recorded["CA"] and "alerts for TX" in recorded["TX"]
    replayed = run(replayed_result(history, workflows=[variants.FanOutReversed]))["reports"]
    assert "alerts for CA" in replayed["TX"] and "alerts for TX" in replayed["CA"]


def test_the_readme_table_names_tests_that_exist():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Changing an agent while runs are in flight", 1)[1].split("\n## ", 1)[0]
    named = set(re.findall(r"`(test_\w+)`", section))
    assert len(named) >= 15, "the README's table names the test behind each row"
    missing = sorted(name for name in named if name not in globals())
    assert not missing, f"README.md names tests that tests/test_replay.py does not have: {missing}"
