"""Workshop exercises, proven both ways under papermill: every solution passes its checker offline, and
every exercise as stored fails its checker with the sentence its metadata names, on a real-model wire
format (Chat Completions, unless its metadata says why not) -- so an exercise can never become solved by
accident, or unsolvable.

Also: each exercise has a solution, and the two differ only in the cell the attendee completes
(tagged ``answer``), so the story and the check cannot drift apart; both are stored without
outputs; each exercise is in the README's workshop section. Executed copies go to
build/notebooks/exercises/.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import nbformat
import papermill
import pytest

from ci.run_notebooks import NOTEBOOKS, OUTPUT_DIR, REPO_ROOT, run_notebook
from tests.test_notebooks import BACKENDS, MODEL_ENV, RUN_TAG_ENV, assert_nothing_left

EXERCISES = sorted((NOTEBOOKS / "exercises").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = NOTEBOOKS / "exercises" / "solutions"


def _load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def _answer_cells(notebook: dict) -> list[int]:
    return [i for i, c in enumerate(notebook["cells"]) if "answer" in c["metadata"].get("tags", [])]


def _run(path: Path, backend: str, tmp_path: Path, request, monkeypatch) -> Path:
    """papermill, in a fresh kernel, with the attendee's file under ``tmp_path``; nothing left running after."""
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    egress = request.getfixturevalue("egress")
    double = request.getfixturevalue("model_double") if backend != "offline" else None
    tag = uuid.uuid4().hex
    for name, value in {"AGENT_MODEL_BACKEND": BACKENDS[backend], **(double.env() if double else {}), **egress.env(),
                        RUN_TAG_ENV: tag}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    output = OUTPUT_DIR / "exercises" / f"{path.parent.name}-{backend}"
    try:
        return run_notebook(path, {"answers_dir": str(tmp_path / "answers")}, output_dir=output)
    finally:
        assert_nothing_left(tag, path.name)


@pytest.mark.notebook
@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_the_stored_exercise_fails_its_check_with_its_hint(path, temporal_server, tmp_path, request, monkeypatch):
    meta = _load(path)["metadata"]["exercise"]
    with pytest.raises(papermill.PapermillExecutionError) as failed:
        _run(path, _paths(meta)[-1], tmp_path, request, monkeypatch)
    expected = meta["fails_with"]
    error = failed.value
    assert error.ename == "NotYet", f"{path.name} failed with {error.ename}: {error.evalue}"
    assert expected in error.evalue and "Hint:" in error.evalue, error.evalue


def _paths(meta: dict) -> list[str]:
    """The model paths an exercise is proven on: offline and Chat Completions, unless it says why not."""
    paths = meta.get("model_paths", ["offline", "chat"])
    assert paths == ["offline", "chat"] or meta.get("model_paths_why"), "model_paths without a why"
    return paths


def _solution_runs() -> list:
    """Each solution offline, the path of a workshop room without keys. Its story and check meet the
    real-model wire format in the stored exercise's run (into its first hint): each exercise notebook
    runs once offline and once on a wire format, as the numbered notebooks do."""
    return [pytest.param(path, "offline", id=f"{path.stem}-offline") for path in EXERCISES]


@pytest.mark.notebook
@pytest.mark.parametrize(("path", "backend"), _solution_runs())
def test_the_solution_passes_its_check(path, backend, temporal_server, tmp_path, request, monkeypatch):
    executed = _run(SOLUTIONS / path.name, backend, tmp_path, request, monkeypatch)
    assert "solved: Solved:" in executed.read_text(encoding="utf-8")  # the final cell's line, printed once it passed


def test_one_print_reads_as_one_line_even_when_it_reaches_the_kernel_in_pieces(tmp_path):
    """The check above reads the final cell's printed line. A busy machine can deliver one print() as two
    stream messages; here the second argument takes 0.6 s to turn into text, so it always does."""
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(
        "import time\n"
        "class Slow:\n"
        "    def __str__(self):\n"
        "        time.sleep(0.6)\n"
        "        return 'Solved: yes'\n"
        "print('Exercise solved:', Slow())")]  # fmt: skip
    nbformat.write(notebook, tmp_path / "slow_print.ipynb")
    executed = run_notebook(tmp_path / "slow_print.ipynb", output_dir=tmp_path / "executed")
    assert "solved: Solved: yes" in executed.read_text(encoding="utf-8")


@pytest.mark.parametrize("path", EXERCISES, ids=lambda p: p.stem)
def test_an_exercise_and_its_solution_differ_only_in_the_answer_cell(path):
    solution = SOLUTIONS / path.name
    assert solution.exists(), f"{path.name} has no solution at {solution.relative_to(REPO_ROOT)}"
    exercise, solved = _load(path), _load(solution)
    assert len(_answer_cells(exercise)) == 1, f"{path.name}: exactly one cell tagged 'answer'"
    assert _answer_cells(exercise) == _answer_cells(solved)
    answer = _answer_cells(exercise)[0]
    for i, (a, b) in enumerate(zip(exercise["cells"], solved["cells"], strict=True)):
        if i != answer:
            assert a["source"] == b["source"], f"{path.name}: cell {i} differs from the solution's"
    assert exercise["cells"][answer]["source"] != solved["cells"][answer]["source"]
    assert exercise["metadata"]["exercise"]["solution"] == f"solutions/{path.name}"


def test_every_solution_has_its_exercise():
    assert sorted(p.name for p in SOLUTIONS.glob("*.ipynb")) == [p.name for p in EXERCISES]


@pytest.mark.parametrize("path", [*EXERCISES, *(SOLUTIONS / p.name for p in EXERCISES)], ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_stored_without_outputs_with_parameters_and_listed(path):
    notebook = _load(path)
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    assert all(not c["outputs"] and c["execution_count"] is None for c in code), f"{path.name} is stored with outputs"
    assert "parameters" in code[0]["metadata"].get("tags", []), f"{path.name}: the first code cell is the parameters cell"
    assert f"notebooks/exercises/{path.name}" in (REPO_ROOT / "README.md").read_text(encoding="utf-8")
