"""The layout's rule, held against every edge between the project's folders: a recipe needs only
what its README's ``Needs:`` line names; ``recipes/core`` needs nothing; no recipe reaches another
recipe, and nothing in ``recipes/`` reaches the tutorial's machinery (``tutorial/``, beside
``recipes/``: it uses recipes, never the other way round); no module grows past ~600 lines.

An edge is an import, or a module named in a string where code loads or runs it: the argument of
``importlib.import_module`` / ``__import__``, of the tutorial's ``spawn(module, ...)`` and
``python_module(name, module, ...)``, the word after ``-m`` (in an argument list, or in a string that
is a command: ``"python -m x ..."``), a constant that is a dotted name in one of the project's packages
(``MODULE = "recipes.mcp.server"``), and the entry points in pyproject.toml. Docstrings, comments and
a command quoted inside a sentence (an error message's advice) are prose, not edges."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci.run_notebooks import REPO_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pytest's own dependency there
    import tomli as tomllib

RECIPES = REPO_ROOT / "recipes"
#: Not recipes: what a project copies with any recipe, and the shared tools.
SHARED = {"core", "tools"}
#: The tutorial's machinery: a top-level package beside recipes/, never reached from one.
MACHINERY = "tutorial"
TUTORIAL = REPO_ROOT / MACHINERY
#: The project's top-level packages besides recipes (ci and tests are namespace packages).
TOP_LEVEL = {MACHINERY, "ci", "tests"}
MAX_LINES = 600

#: Calls whose argument at this position is a module name (the tutorial's process helpers included).
MODULE_ARGUMENT = {"import_module": 0, "__import__": 0, "spawn": 0, "python_module": 1}
DOTTED = re.compile(r"[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+")
COMMAND = re.compile(r"\s*\S*python[\d.]*\s+(?:-\S+\s+)*-m\s+([A-Za-z_][\w.]*\w)")


@dataclass(frozen=True)
class Edge:
    source: str  # a file, from the repository's root
    line: int
    module: str  # the dotted name it reaches
    how: str  # import, import_module, spawn, python_module, -m, name, entry point

    def __str__(self) -> str:
        return f"{self.source}:{self.line} {self.how} {self.module}"


def place(module: str) -> str | None:
    """The folder a module name belongs to (``recipes/core``, ``tutorial``, ...); None outside the project."""
    parts = module.split(".")
    if parts[0] == "recipes" and len(parts) > 1:
        return f"recipes/{parts[1]}"
    return parts[0] if parts[0] in TOP_LEVEL else None


def module_path(module: str) -> Path | None:
    """The file or package folder of a module of the project, if there is one."""
    path = REPO_ROOT.joinpath(*module.split("."))
    for candidate in (path.with_suffix(".py"), path):
        if candidate.exists():
            return candidate
    return None


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def _text(node: ast.AST) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def edges_in(path: Path, code: str | None = None) -> list[Edge]:
    """Every edge that one Python file (``code``, if given, stands for its text) has to a module."""
    source = str(path.relative_to(REPO_ROOT))
    tree = ast.parse(path.read_text(encoding="utf-8") if code is None else code, filename=source)
    package = path.relative_to(REPO_ROOT).parts[:-1]  # what a relative import starts from
    prose = _docstrings(tree)
    read: set[int] = set()  # strings already taken as a module name
    edges: list[Edge] = []

    def add(node: ast.AST, module: str, how: str) -> None:
        read.add(id(node))
        edges.append(Edge(source, node.lineno, module, how))

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name, "import")
        elif isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            if module in {"recipes", *TOP_LEVEL} or not node.module:  # from recipes import core
                for alias in node.names:
                    add(node, f"{module}.{alias.name}", "import")
            else:
                add(node, module, "import")
        elif isinstance(node, ast.Call):
            func = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
            at = MODULE_ARGUMENT.get(func)
            if at is not None and len(node.args) > at and (name := _text(node.args[at])):
                add(node.args[at], name, func)
        if isinstance(node, (ast.List, ast.Tuple, ast.Call)):
            items = node.args if isinstance(node, ast.Call) else node.elts
            for flag, value in zip(items, items[1:]):
                if _text(flag) == "-m" and (name := _text(value)):
                    add(value, name, "-m")
    for node in ast.walk(tree):  # the strings no rule above has read
        if (text := _text(node)) is None or id(node) in prose or id(node) in read:
            continue
        if command := COMMAND.match(text):
            add(node, command[1], "-m")
        elif DOTTED.fullmatch(name := text.split(":")[0]) and place(name):  # module or module:object
            add(node, name, "name")
    return edges


def entry_point_edges() -> list[Edge]:
    """pyproject.toml's entry points: each reaches its object's module. The registration is the
    project's, outside every recipe: a package that plugs into a hook which core reads by group."""
    text = (REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8")
    project = tomllib.loads(text).get("project", {})
    groups = {"console_scripts": project.get("scripts", {}), "gui_scripts": project.get("gui-scripts", {}),
              **project.get("entry-points", {})}  # fmt: skip
    edges = []
    for group, entries in groups.items():
        for name, target in entries.items():
            line = next((i for i, row in enumerate(text.splitlines(), 1) if re.match(rf"\s*{re.escape(name)}\s*=", row)), 0)
            edges.append(Edge("pyproject.toml", line, target.split(":")[0].strip(), f"entry point {group}:{name}"))
    return edges


def edges_under(folder: Path) -> list[Edge]:
    return [edge for path in sorted(folder.rglob("*.py")) for edge in edges_in(path)]


def reached(folder: Path) -> dict[str, list[str]]:
    """The project's folders that the files under ``folder`` reach -> the edges, as file:line how module."""
    found: dict[str, list[str]] = {}
    for edge in edges_under(folder):
        if where := place(edge.module):
            found.setdefault(where, []).append(str(edge))
    return found


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
        assert Path(path).parts[0] == "recipes", f"{folder.name}/README.md needs {path}: a recipe needs only recipes/core and recipes/tools"
    return {Path(p).relative_to("recipes").parts[0] for p in paths}


@pytest.mark.parametrize("folder", recipe_folders(), ids=lambda p: p.name)
def test_a_recipe_reaches_only_itself_and_what_it_declares(folder):
    allowed = {f"recipes/{name}" for name in declared_needs(folder) | {folder.name}}
    assert not declared_needs(folder) & {p.name for p in recipe_folders()}, \
        "a recipe needs only recipes/core and recipes/tools, never another recipe or tutorial/"
    undeclared = {where: edges for where, edges in reached(folder).items() if where not in allowed}
    assert not undeclared, f"{folder.name} reaches folders its README does not name: {undeclared}"


def test_core_reaches_nothing_else():
    others = {where: edges for where, edges in reached(RECIPES / "core").items() if where != "recipes/core"}
    assert not others, f"recipes/core must be copyable on its own: {others}"


def test_tools_reach_only_core():
    others = {where: edges for where, edges in reached(RECIPES / "tools").items()
              if where not in {"recipes/tools", "recipes/core"}}  # fmt: skip
    assert not others, others


def test_nothing_in_recipes_reaches_the_tutorial():
    """The tutorial uses recipes; a recipe, core or the tools never load, import or run the tutorial."""
    upward = [str(edge) for edge in edges_under(RECIPES) if place(edge.module) == MACHINERY]
    assert not upward, f"recipes/ must not reach {MACHINERY}/ (a copied recipe has none): {upward}"


def test_recipes_holds_no_tutorial():
    assert MACHINERY not in [p.name for p in RECIPES.iterdir()], (
        f"recipes/ holds recipes only; the tutorial's machinery is {MACHINERY}/ at the top "
        f"(a recipes/{MACHINERY}/ holding only __pycache__/ is left from before the move: delete it)"
    )


def test_every_module_named_exists():
    """An edge by name is read only if the name is right: each module that recipes/, tutorial/ and the
    entry points name in the project is there (a move that missed a string fails here)."""
    named = [*edges_under(RECIPES), *edges_under(TUTORIAL), *entry_point_edges()]
    missing = [str(edge) for edge in named if place(edge.module) and not module_path(edge.module)
               and not (edge.how == "name" and module_path(edge.module.rpartition(".")[0]))]  # fmt: skip
    assert not missing, f"these name modules that are not there: {missing}"


def test_core_finds_the_offline_stand_in_by_entry_point():
    """The offline stand-in reaches core the plugin way: pyproject.toml registers it in the group that
    core looks up by name, and core names no module of the tutorial (test_core_reaches_nothing_else)."""
    from recipes.core.models import BACKEND_ENTRY_POINTS

    offline = [edge for edge in entry_point_edges() if edge.how == f"entry point {BACKEND_ENTRY_POINTS}:offline"]
    assert [place(edge.module) for edge in offline] == [MACHINERY], offline


def test_the_tutorial_meters_model_calls_through_cores_provider_wrappers():
    """The model-call meter reaches core the plugin way too: pyproject.toml registers the tutorial's ``meter`` in
    the group of provider wrappers core puts around every provider it hands out; core names no meter or ledger."""
    from recipes.core.models import PROVIDER_WRAPPER_ENTRY_POINTS

    wrappers = [edge for edge in entry_point_edges() if edge.how.startswith(f"entry point {PROVIDER_WRAPPER_ENTRY_POINTS}:")]
    assert [(edge.how.rpartition(":")[2], place(edge.module)) for edge in wrappers] == [("meter", MACHINERY)], wrappers


def test_the_install_registers_every_entry_point_pyproject_declares():
    """Notebooks and worker subprocesses find the offline model and the meter in the installed metadata, not in
    pyproject.toml: an install older than the file would leave them out without a word."""
    from importlib.metadata import entry_points

    groups = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"].get("entry-points", {})
    stale = [f"{group}:{name} = {target}" for group, entries in groups.items() for name, target in entries.items()
             if {e.name: e.value for e in entry_points(group=group)}.get(name) != target]  # fmt: skip
    assert not stale, f"the install does not register {stale}: run `make install`"


def test_the_edge_reader_sees_every_kind_of_edge():
    code = '''"""Docstring: python -m tutorial.in_prose, importlib.import_module("tutorial.in_prose")."""
import importlib, subprocess, sys
from recipes.core import models
from . import settings
from tutorial.proof import free_port
MODULE = "tutorial.mcp_lab"
importlib.import_module("tutorial.offline_model")
__import__("tutorial.history")
subprocess.run([sys.executable, "-m", "tutorial.nws_service"])
spawn("tutorial.model_double", [])
python_module("name", "tutorial.temporal_server", "start")
COMMAND = "python -m tutorial.live_view --port 1"
LABEL = "tutorial.local-blobs"  # not a module name
ADVICE = "no keyring: make one with `python -m tutorial.in_prose new`"  # a sentence, not a command
'''
    edges = {(edge.how, edge.module) for edge in edges_in(RECIPES / "core" / "sample.py", code)}
    assert edges >= {("import", "recipes.core"), ("import", "recipes.core.settings"),
                     ("import", "tutorial.proof"), ("name", "tutorial.mcp_lab"),
                     ("import_module", "tutorial.offline_model"), ("__import__", "tutorial.history"),
                     ("-m", "tutorial.nws_service"), ("spawn", "tutorial.model_double"),
                     ("python_module", "tutorial.temporal_server"), ("-m", "tutorial.live_view")}, edges  # fmt: skip
    assert not {edge for edge in edges if "in_prose" in edge[1] or "blobs" in edge[1]}, edges


def test_no_module_is_much_over_600_lines():
    long = {str(p.relative_to(REPO_ROOT)): n for p in [*RECIPES.rglob("*.py"), *TUTORIAL.rglob("*.py")]
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}  # fmt: skip
    assert not long, f"split these by responsibility: {long}"


def test_the_readme_lists_every_recipe_and_what_is_not_one():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    for folder in [*recipe_folders(), *(RECIPES / name for name in sorted(SHARED))]:
        assert f"| `recipes/{folder.name}/` |" in readme, f"README's recipe table lacks recipes/{folder.name}/"
    assert f"`{MACHINERY}/`, beside `recipes/`" in readme, f"README says where {MACHINERY}/ is and that it is no recipe"
