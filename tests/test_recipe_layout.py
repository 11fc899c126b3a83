"""The layout's rule, held against every import: a recipe needs only what its
README's ``Needs:`` line names; ``recipes/core`` needs nothing; no recipe imports
another recipe or the tutorial's machinery (``tutorial/``, beside ``recipes/``);
no module grows past ~600 lines."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from ci.run_notebooks import REPO_ROOT

RECIPES = REPO_ROOT / "recipes"
#: Not recipes: what a project copies with any recipe, and the shared tools.
SHARED = {"core", "tools"}
#: The tutorial's machinery: a top-level package beside recipes/, never imported by one.
MACHINERY = "tutorial"
MAX_LINES = 600


def recipe_folders() -> list[Path]:
    return sorted(p for p in RECIPES.iterdir() if p.is_dir() and (p / "__init__.py").exists()
                  and p.name not in SHARED)  # fmt: skip


def declared_needs(folder: Path) -> set[str]:
    """The folders named on the README's ``Needs:`` line (its first line after the title)."""
    lines = [line for line in (folder / "README.md").read_text(encoding="utf-8").splitlines() if line.strip()]
    assert lines[0].startswith("# "), f"{folder.name}/README.md starts with a title"
    needs = lines[1]
    assert needs.startswith("Needs:"), f"{folder.name}/README.md: the line after the title says 'Needs: ...'"
    if needs.strip().rstrip(".") == "Needs: nothing":
        return set()
    paths = re.findall(r"`([^`]+)`", needs)
    assert paths, f"{folder.name}/README.md: name each need as a path in backticks, or say 'Needs: nothing'"
    for path in paths:
        assert (REPO_ROOT / path).is_dir(), f"{folder.name}/README.md needs {path}, which does not exist"
    return {Path(p).relative_to("recipes").parts[0] for p in paths}


def imported_folders(folder: Path) -> dict[str, list[str]]:
    """recipes/<folder> (or ``tutorial``) -> the files under ``folder`` that import it (absolute imports only)."""
    found: dict[str, list[str]] = {}
    for path in folder.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module] if node.module != "recipes" else [f"recipes.{a.name}" for a in node.names]
            for name in names:
                parts = name.split(".")
                if parts[0] == "recipes" and len(parts) > 1:
                    found.setdefault(parts[1], []).append(str(path.relative_to(REPO_ROOT)))
                elif parts[0] == MACHINERY:
                    found.setdefault(MACHINERY, []).append(str(path.relative_to(REPO_ROOT)))
    return found


@pytest.mark.parametrize("folder", recipe_folders(), ids=lambda p: p.name)
def test_a_recipe_imports_only_itself_and_what_it_declares(folder):
    allowed = declared_needs(folder) | {folder.name}
    assert not declared_needs(folder) & {p.name for p in recipe_folders()}, \
        "a recipe needs only recipes/core and recipes/tools, never another recipe or tutorial/"
    undeclared = {name: files for name, files in imported_folders(folder).items() if name not in allowed}
    assert not undeclared, f"{folder.name} imports folders its README does not name: {undeclared}"


def test_core_imports_nothing_else_from_recipes():
    others = {name: files for name, files in imported_folders(RECIPES / "core").items() if name != "core"}
    assert not others, f"recipes/core must be copyable on its own: {others}"


def test_tools_import_only_core():
    others = {name: files for name, files in imported_folders(RECIPES / "tools").items() if name not in {"tools", "core"}}
    assert not others, others


def test_no_module_is_much_over_600_lines():
    long = {str(p.relative_to(REPO_ROOT)): n for p in [*RECIPES.rglob("*.py"), *(REPO_ROOT / MACHINERY).rglob("*.py")]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}  # fmt: skip
    assert not long, f"split these by responsibility: {long}"


def test_the_readme_lists_every_recipe_and_what_is_not_one():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for folder in [*recipe_folders(), *(RECIPES / name for name in sorted(SHARED))]:
        assert f"| `recipes/{folder.name}/` |" in readme, f"README's recipe table lacks recipes/{folder.name}/"
    assert f"`{MACHINERY}/`, beside `recipes/`" in readme, f"README says where {MACHINERY}/ is and that it is no recipe"
