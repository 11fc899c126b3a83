"""What a recipe copied into a project brings along: its import closure -- every module of the project that
importing the recipe's modules imports, followed through ``recipes/core`` and ``recipes/tools`` -- in files
and lines, printed for every recipe in the suite's "measured" section, so that growth shows in review.

Only imports that run when a module is imported count (module level, including ``if``/``try``/``with``
blocks and class bodies; not ``if TYPE_CHECKING:``). An import inside a function is a backend loaded when
chosen (LiteLLM, say): a copy without it works until someone chooses it, and then says so in one sentence.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from ci.run_notebooks import REPO_ROOT
from tests.test_recipe_layout import RECIPES, module_path, recipe_folders

#: The first recipe a reader meets, and the size it should be read in one sitting at (issue 25's goal).
FIRST_RECIPE, FIRST_RECIPE_GOAL = "weather", 800


def module_name(path: Path) -> str:
    parts = path.relative_to(REPO_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_at_import_time(path: Path, code: str | None = None) -> set[str]:
    """The modules ``path`` imports when it is imported (``code``, if given, stands for its text)."""
    tree = ast.parse(path.read_text(encoding="utf-8") if code is None else code)
    package = module_name(path).split(".") if path.name == "__init__.py" else module_name(path).split(".")[:-1]
    found: set[str] = set()

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                continue  # runs when called, not when imported
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                visit(node.orelse)  # the body is for type checkers only
                continue
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = package[: len(package) - node.level + 1] if node.level else []
                module = ".".join([*base, *([node.module] if node.module else [])])
                found.add(module)
                found.update(f"{module}.{alias.name}" for alias in node.names)  # a submodule, if it is one
            for field in ("body", "orelse", "finalbody", "handlers"):
                visit(getattr(node, field, None) or [])

    visit(tree.body)
    return {name for name in found if name.split(".")[0] == "recipes"}


def code_lines(path: Path) -> int:
    """Lines that are neither blank, nor a comment, nor part of a docstring."""
    text = path.read_text(encoding="utf-8")
    prose: set[int] = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) and isinstance(getattr(body[0], "value", None), ast.Constant) \
                and isinstance(body[0].value.value, str):  # fmt: skip
            prose.update(range(body[0].lineno, body[0].end_lineno + 1))
    return sum(1 for n, line in enumerate(text.splitlines(), 1) if n not in prose and line.strip() and not line.strip().startswith("#"))


def runtime_modules(folder: Path) -> list[Path]:
    """The recipe's modules, without its own ``tests/`` (copied along, counted apart: not what it runs on)."""
    return sorted(p for p in folder.rglob("*.py") if "tests" not in p.relative_to(folder).parts)


def closure(folder: Path) -> dict[Path, int]:
    """Every file of the project importing ``folder``'s modules (not its tests) brings in -> its lines."""
    todo = runtime_modules(folder)
    files: dict[Path, int] = {}
    while todo:
        path = todo.pop()
        if path in files:
            continue
        files[path] = len(path.read_text(encoding="utf-8").splitlines())
        for parent in path.relative_to(REPO_ROOT).parents:  # importing a module imports its packages
            if parent != Path(".") and (init := REPO_ROOT / parent / "__init__.py").exists():
                todo.append(init)
        for name in imported_at_import_time(path):
            found = module_path(name)
            if found is not None:
                todo.append(found / "__init__.py" if found.is_dir() else found)
    return files


@pytest.mark.parametrize("folder", recipe_folders(), ids=lambda p: p.name)
def test_each_recipes_closure_is_printed(folder, record_property):
    files = closure(folder)
    own = {p: n for p, n in files.items() if folder in p.parents}
    tests = sorted(set(folder.rglob("*.py")) - set(runtime_modules(folder)))
    shared = sorted({str(p.parent.relative_to(REPO_ROOT)) for p in files if folder not in p.parents and p.parent != RECIPES})
    record_property("figures", f"recipes/{folder.name} copied with what it needs: {len(files)} files, "
                               f"{sum(files.values())} lines ({sum(map(code_lines, files))} of code); its own {len(own)} files, {sum(own.values())} lines; "
                               f"from {', '.join(shared) or 'nothing else'}"
                               + (f"; its tests {len(tests)} files, {sum(len(p.read_text().splitlines()) for p in tests)} lines" if tests else "")
                               + (f" (goal: under {FIRST_RECIPE_GOAL})" if folder.name == FIRST_RECIPE else ""))  # fmt: skip
    assert own and all(REPO_ROOT / "recipes" in p.parents for p in files), sorted(map(str, files))


def test_only_what_runs_at_import_is_followed(tmp_path):
    code = ("from recipes.core import errors\nfrom . import workflows\ntry:\n    import recipes.tools.us_states\n"
            "except ImportError:\n    pass\nif TYPE_CHECKING:\n    from recipes.core import health\n\n"
            "def lazily():\n    from recipes.core import litellm_backend\n")  # fmt: skip
    found = imported_at_import_time(RECIPES / "weather" / "worker.py", code)
    assert {"recipes.core", "recipes.core.errors", "recipes.weather.workflows", "recipes.tools.us_states"} <= found
    assert not any("litellm" in name or "health" in name for name in found), found
