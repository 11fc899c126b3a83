"""Notebooks 05 and 06 with a person at the keyboard: the live view's Kill worker / Restart
worker buttons are clicked (ipywidgets ``Button.click()``, in the notebook's own
kernel) at moments the notebook does not choose, and every later cell -- the
proofs and the check -- still passes, and nothing is left running. (``make lab-check``
does the same in JupyterLab, in a browser.)"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat
import pytest

from ci.run_notebooks import NOTEBOOKS, run_notebook
from tests.test_notebooks import RUN_TAG_ENV, assert_nothing_left

NOTEBOOK = NOTEBOOKS / "05_kill_the_worker.ipynb"
RETRIES_NOTEBOOK = NOTEBOOKS / "06_retries_and_idempotency.ipynb"

#: Pressed while the first tool runs, before the notebook's own kill cell: the
#: notebook must use that kill, and the restart the person made.
KILL_AND_RESTART_EARLY = """
await proof.wait_for_tool_in_flight(handle, after_model_calls=1, timeout=60)
view.buttons["kill"].click()
await wait_until(lambda: worker.kills, timeout=30, what="the Kill button's kill")
await asyncio.sleep(0.5)
view.buttons["restart"].click()
await wait_until(lambda: worker.running, timeout=60, what="the Restart button's worker")
"""

#: Pressed again while the notebook restarts the worker and waits for the result.
KILL_DURING_THE_FINISH = """
asyncio.get_running_loop().call_later(2.0, view.buttons["kill"].click)
"""

#: After the clean-up cell: nothing may start again, and the view says so.
#: Notebook 06: Kill pressed while the retried run is open, and nobody presses Restart (run before the cell
#: that shows the view and waits for the run; the press waits for the view).
KILL_AND_WALK_AWAY = """
import asyncio

async def _press_kill_once_the_view_is_up():
    while globals().get("view") is None or not view.buttons_active or not worker.running:
        await asyncio.sleep(0.1)
    await asyncio.sleep(1.0)
    view.buttons["kill"].click()

_presser = asyncio.ensure_future(_press_kill_once_the_view_is_up())
"""

PRESS_AFTER_CLEANUP = """
view.buttons["restart"].click()
view.buttons["kill"].click()
await asyncio.sleep(2)
assert not worker.running, "a button started a worker after the clean-up"
assert all(b.disabled for b in view.buttons.values())
assert "not running" in view.html()
"""


def _index(nb, needle: str) -> int:
    return next(i for i, c in enumerate(nb.cells) if c.cell_type == "code" and needle in c.source)


def _with_presses(tmp: Path, presses: list[tuple[str, str, str]], notebook: Path = NOTEBOOK) -> Path:
    """A copy of the notebook (in its own folder, so relative paths hold) with
    cells inserted before or after the cell containing a needle."""
    nb = nbformat.read(notebook, as_version=4)
    helper = nbformat.v4.new_code_cell("import asyncio\n\nfrom tutorial.notebook import wait_until")
    nb.cells.insert(_index(nb, "view.show()") + 1, helper)
    for where, needle, code in presses:
        at = _index(nb, needle) + (1 if where == "after" else 0)
        nb.cells.insert(at, nbformat.v4.new_code_cell(code.strip()))
    path = tmp / notebook.name
    nbformat.write(nb, path)
    return path


@pytest.mark.notebook
@pytest.mark.slow
@pytest.mark.parametrize(
    ("presses", "printed"),
    [
        ([("after", "from tutorial.notebook import wait_until", KILL_AND_RESTART_EARLY)],
         "SIGKILLed by you, with the button"),
        ([("before", "proof.finish_run(", KILL_DURING_THE_FINISH), ("after", "view.stop()", PRESS_AFTER_CLEANUP)],
         "the worker was killed and not restarted within 3s; starting it"),
    ],
    ids=["kill-and-restart-before-the-kill-cell", "kill-during-the-finish-then-press-after-cleanup"],
)
def test_notebook_05_holds_whatever_a_person_clicks(presses, printed, temporal_server, tmp_path, monkeypatch):
    tag = uuid.uuid4().hex
    monkeypatch.setenv(RUN_TAG_ENV, tag)
    monkeypatch.setenv("LIVE_VIEW", "widget")  # what JupyterLab gets: buttons, not text
    monkeypatch.setenv("AGENT_MODEL_BACKEND", "offline")
    executed = run_notebook(_with_presses(tmp_path, presses), output_dir=tmp_path / "executed")
    outputs = json.dumps([c.get("outputs", []) for c in nbformat.read(executed, as_version=4).cells])
    assert "Lesson checked" in outputs and printed in outputs
    assert_nothing_left(tag, "notebook 05 with a person at the buttons")


@pytest.mark.notebook
@pytest.mark.slow
def test_notebook_06_finishes_when_the_kill_button_is_pressed_and_nobody_restarts(temporal_server, tmp_path, monkeypatch):
    """Found in JupyterLab (``make lab-check``): the run then waited 600 s for a worker nobody started."""
    tag = uuid.uuid4().hex
    monkeypatch.setenv(RUN_TAG_ENV, tag)
    monkeypatch.setenv("LIVE_VIEW", "widget")
    monkeypatch.setenv("AGENT_MODEL_BACKEND", "offline")
    notebook = _with_presses(tmp_path, [("before", "view.show()", KILL_AND_WALK_AWAY)], RETRIES_NOTEBOOK)
    executed = run_notebook(notebook, output_dir=tmp_path / "executed")
    outputs = json.dumps([c.get("outputs", []) for c in nbformat.read(executed, as_version=4).cells])
    assert "Lesson checked" in outputs, "notebook 06 did not reach its check after the Kill button"
    assert "the worker was killed and not restarted within 10s; starting it" in outputs, (
        "the Kill button was pressed, yet the run finished without finish_run starting the worker: was it pressed?")
    assert_nothing_left(tag, "notebook 06 with the Kill button pressed")
