"""A stored run drawn with no server: ``histories/HelloWorkflow-retried.json`` is a real run of the hello recipe
whose activity failed twice before it answered. The rows say what the history says, the figure draws a bar per
bar row and opens no window, and the command writes the PNG."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowHistory

from recipes.timeline.timeline import BAR_KINDS, RUN, draw_timeline, main, timeline_rows

HISTORY = Path(__file__).with_name("histories") / "HelloWorkflow-retried.json"


def stored() -> WorkflowHistory:
    return WorkflowHistory.from_json(HISTORY.stem, HISTORY.read_text(encoding="utf-8"))


def test_a_retried_activity_is_its_earlier_attempts_then_its_last():
    rows = timeline_rows(stored())
    greeting = [row for row in rows if row.lane.startswith("compose_greeting #1")]
    assert [(r.kind, r.attempt, r.outcome) for r in greeting] == [("retrying", 2, "failed"), ("activity", 3, "completed")]
    earlier, last = greeting
    assert {r.lane for r in greeting} == {"compose_greeting #1 · greet Ada (3 attempts)"}
    assert earlier.end == last.start and earlier.end - earlier.start > timedelta(seconds=1), (
        "the earlier attempts run from scheduling to the last attempt's start (two backoffs here)")
    assert "attempts 1-2" in earlier.label and "greeting service down on attempt 2" in earlier.label, earlier.label
    assert rows[0].lane == RUN and rows[0].outcome == "completed"


def test_the_figure_has_a_bar_per_bar_row_and_opens_no_window():
    import matplotlib.pyplot as plt

    before = plt.get_fignums()
    rows = timeline_rows(stored())
    [ax] = draw_timeline(rows, title="retried").axes
    assert len(ax.patches) == sum(row.kind in BAR_KINDS for row in rows) == 7, len(ax.patches)
    assert [t.get_text() for t in ax.get_yticklabels()] == list(dict.fromkeys(row.lane for row in rows if row.lane))
    assert plt.get_fignums() == before, "draw_timeline must not open a pyplot figure (it would show itself in Jupyter)"


def test_the_command_draws_a_history_file_to_a_png(tmp_path, capsys):
    out = tmp_path / "run.png"
    main([str(HISTORY), "--out", str(out), "--marker", "worker killed=2026-12-02T05:44:42Z"])
    assert out.read_bytes().startswith(b"\x89PNG")
    assert capsys.readouterr().out.strip() == f"{out}: 3 lanes, 7 bars and 1 points from 11 events"
