"""The house rules for notebooks, checked on the stored files (fast, no kernel)."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import papermill
import pytest

from ci.run_notebooks import NOTEBOOKS, REPO_ROOT, notebook_paths

PATHS = notebook_paths()


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


def code_cells(path: Path) -> list[dict]:
    return [c for c in cells(path) if c["cell_type"] == "code"]


def parse(code: str) -> ast.AST:
    """A cell as Python (IPython allows top-level ``await``; its ``%magic`` and ``!shell`` lines are blanked)."""
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in code.splitlines())
    return compile(python, "<cell>", "exec", flags=ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)


def names_read(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def names_assigned(tree: ast.AST) -> set[str]:
    """Names a cell binds to values it computes (not imports, functions or classes)."""
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Store)}


def test_the_learning_path_exists():
    assert [p.name[:2] for p in PATHS][:2] == ["00", "01"]
    stray = [p.name for p in NOTEBOOKS.glob("*.ipynb") if p not in PATHS]
    assert not stray, f"notebooks must be named NN_topic.ipynb: {stray}"


@pytest.mark.parametrize("path", PATHS, ids=lambda p: p.stem)
class TestNotebook:
    def test_stored_without_outputs(self, path):
        dirty = [i for i, c in enumerate(code_cells(path)) if c.get("outputs") or c.get("execution_count")]
        assert not dirty, f"code cells {dirty} have outputs; run `make clear-outputs` before committing"

    def test_opens_with_title_and_what_you_learn_and_need(self, path):
        first = source(cells(path)[0])
        assert re.match(rf"# {path.name[:2]}\b", first), "first cell: '# NN · Title'"
        assert "What you'll learn" in first and "What you need" in first

    def test_has_a_parameters_cell_with_model_and_temporal_address(self, path):
        tagged = [c for c in code_cells(path) if "parameters" in c.get("metadata", {}).get("tags", [])]
        assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
        names = set(re.findall(r"^(\w+)\s*(?::[^=]+)?=", source(tagged[0]), re.M))
        assert {"model", "temporal_address"} <= names, names

    def test_papermill_sees_every_parameter(self, path):
        # papermill skips a line it cannot parse (e.g. an "=" inside a comment),
        # and then `-p name value` silently does not override it.
        tagged = next(c for c in code_cells(path) if "parameters" in c.get("metadata", {}).get("tags", []))
        assigned = set(re.findall(r"^(\w+)\s*(?::[^=]+)?=", source(tagged), re.M))
        assert assigned <= set(papermill.inspect_notebook(str(path))), "a parameter line papermill cannot parse"

    def test_defines_no_workflow_or_activity(self, path):
        code = "\n".join(source(c) for c in code_cells(path))
        assert not re.search(r"@(workflow|activity)\.defn", code), "workflows/activities belong in recipes/"

    def test_ends_with_a_check_cell_that_asserts_what_the_notebook_computed(self, path):
        *earlier, last = [parse(source(c)) for c in code_cells(path)]
        asserts = [n for n in ast.walk(last) if isinstance(n, ast.Assert)]
        assert asserts, "the last code cell must assert the lesson"
        constant = [ast.unparse(a) for a in asserts if not names_read(a.test)]
        assert not constant, f"asserts that read nothing cannot fail: {constant}"
        computed = set().union(*(names_assigned(tree) for tree in earlier))
        assert any(names_read(a.test) & computed for a in asserts), \
            "the check cell must assert on a value the notebook computed in an earlier cell"

    def test_checks_no_order_between_two_timings(self, path):
        # A busy machine reorders two measured times (nb13 once read plain 23 ms, local 138 ms, activities
        # 135 ms); a lesson about speed is proven from counts in the history or a structural margin.
        found = [f"code cell {i}: {order}" for i, c in enumerate(code_cells(path)) for order in timing_orders(source(c))]
        assert not found, ("a check compares two timings, which a busy machine can reorder; prove it from the "
                           "history's counts, or mark a lower bound a slow machine only makes truer "
                           f"('# lower bound: why'): {found}")  # fmt: skip

    def test_is_listed_in_the_readme(self, path):
        assert path.name in (REPO_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", [*PATHS, *sorted(NOTEBOOKS.glob("exercises/**/*.ipynb"))],
                         ids=lambda p: p.relative_to(NOTEBOOKS).with_suffix("").as_posix())
def test_every_check_cell_assert_says_what_happened_instead(path):
    # A check that fails says in one sentence what the run did instead; a bare assert fails with an empty
    # AssertionError, and whoever reads it has to rerun the notebook to learn what went wrong.
    check_cell = parse(source(code_cells(path)[-1]))
    asserts = [a for a in ast.walk(check_cell) if isinstance(a, ast.Assert)]
    bare = sorted((a.lineno, ast.unparse(a.test)) for a in asserts if a.msg is None)
    assert not bare, (f"{path.relative_to(REPO_ROOT)}: the check cell (its last code cell) has asserts without a "
                      "message saying what the run did instead: " + "; ".join(f"line {n}: assert {t}" for n, t in bare))


#: A name that holds a time or a rate: ``p50_ms``, ``gap_s``, ``runs_per_s``, ``durable_first``, ``total_seconds()``.
TIMING_WORD = re.compile(r"(?:^|_)(?:ms|s|secs?|seconds|p\d\d|latency|elapsed|duration|per_s|first|gap|ratio|rate)(?:$|_)")
ORDER = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
LOWER_BOUND = re.compile(r"#\s*lower bound:\s*\S")


def reads_a_timing(node: ast.AST) -> bool:
    """Whether an expression reads a time: a name, attribute, function or string key that says so (a
    ``len(...)`` of one is a count, not a time)."""
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "len":
        return False
    words = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            words.append(n.id)
        elif isinstance(n, ast.Attribute):
            words.append(n.attr)
        elif isinstance(n, ast.Constant) and isinstance(n.value, str):
            words.append(n.value.replace(" ", "_"))
    return any(TIMING_WORD.search(word.lower()) for word in words)


def timing_orders(code: str) -> list[str]:
    """The asserts in ``code`` that order two timings (``<``, ``>``, ...), unless marked as a lower bound."""
    if code.lstrip().startswith("%%"):
        return []  # a cell magic (an exercise's %%writefile): not Python to the kernel
    lines = code.splitlines()
    found = []
    for node in ast.walk(parse(code)):
        if not isinstance(node, ast.Assert):
            continue
        if any(LOWER_BOUND.search(line) for line in lines[node.lineno - 1: node.end_lineno]):
            continue  # e.g. a gap at least the Retry-After the server sent: load only makes it longer
        for compare in (n for n in ast.walk(node.test) if isinstance(n, ast.Compare)):
            operands = [compare.left, *compare.comparators]
            if any(isinstance(op, ORDER) for op in compare.ops) and sum(map(reads_a_timing, operands)) >= 2:
                found.append(ast.unparse(compare))
    return found


@pytest.mark.parametrize("path", sorted(NOTEBOOKS.glob("exercises/**/*.ipynb")), ids=lambda p: p.stem)
def test_exercises_check_no_order_between_two_timings(path):
    found = [f"code cell {i}: {order}" for i, c in enumerate(code_cells(path)) for order in timing_orders(source(c))]
    assert not found, found


@pytest.mark.parametrize("code", [
    "assert plain.p50_ms < as_local.p50_ms < durable.p50_ms, (plain.p50_ms, as_local.p50_ms)",  # nb13, once
    "assert runs_per_s[max_workers] > 1.3 * runs_per_s[1], runs_per_s",
    "assert p50(path, 'mean_gap_s', all_timings) > p50('plain', 'mean_gap_s'), rows",
    "if offline:\n    assert durable_first > plain_first",
])
def test_a_timing_order_is_caught(code):
    assert timing_orders(code), code


@pytest.mark.parametrize("code", [
    "assert limited['gap_s'] >= 2.9 and '429' in limited['retried after']",  # a timing against a constant
    "assert len(t.samples_ms) >= runs",  # a count
    "assert as_locals['workflow tasks'] < as_activities['workflow tasks']",  # counted in the history
    "assert gap_after_429 >= retry_after_s - 0.1, gap_after_429  # lower bound: the server asked for that wait",
])
def test_counts_constants_and_marked_lower_bounds_pass(code):
    assert not timing_orders(code), code


def test_workflow_sandbox_is_never_switched_off():
    offenders = []
    for path in [*(REPO_ROOT / "recipes").rglob("*.py"), *(REPO_ROOT / "tutorial").rglob("*.py"), *PATHS]:
        text = path.read_text(encoding="utf-8")
        if re.search(r"sandboxed\s*=\s*False|UnsandboxedWorkflowRunner", text):
            offenders.append(str(path.relative_to(REPO_ROOT)))
    assert not offenders
