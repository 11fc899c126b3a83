"""Code in a recipe's README cannot drift from the recipe: a fenced ``python`` block preceded by a marker
line naming a file,

    <!-- from: recipes/chaining/workflows.py -->
    ```python
    triage = await Runner.run(team.triage_extractor(), question)
    ```

must appear in that file as written -- line for line, once both are dedented, trailing whitespace
ignored. A snippet that no longer matches fails with the README, the block's first line and the file, so
whoever changed the code updates the README in the same change. No server, no imports of the recipes:
plain text."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

from ci.run_notebooks import REPO_ROOT
from tests.test_recipe_layout import declared_needs

RECIPES = REPO_ROOT / "recipes"
MARKER = re.compile(r"^\s*<!--\s*from:\s*(?P<path>\S+)\s*-->\s*$")
OPENING = re.compile(r"^\s*```\s*(?P<lang>[\w+-]*)\s*$")
#: READMEs whose every python block must carry a marker (and that have at least one): the recipes written
#: with this check. Other READMEs opt in block by block, by adding markers.
CHECKED = ("weather", "chaining", "parallel_agents", "agent_session", "coding_agent", "timeline")


@dataclass(frozen=True)
class Block:
    readme: Path
    line: int  # where the block's code starts (1-based)
    lang: str
    code: str
    source: str | None  # the marker's path, if the block has one

    @property
    def where(self) -> str:
        return f"{self.readme.relative_to(REPO_ROOT)}:{self.line}"

    @property
    def first_line(self) -> str:
        return next((line.strip() for line in self.code.splitlines() if line.strip()), "")


def blocks(readme: Path) -> list[Block]:
    """Every fenced block of ``readme``, with the marker line just above it (blank lines between allowed).
    A marker that no block follows is a block of its own with no code, so it is reported, not ignored."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    pending: tuple[int, str] | None = None  # (line, path) of a marker waiting for its block
    i = 0
    while i < len(lines):
        if marker := MARKER.match(lines[i]):
            if pending:
                found.append(Block(readme, pending[0], "", "", pending[1]))
            pending = (i + 1, marker["path"])
        elif opening := OPENING.match(lines[i]):
            end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), len(lines))
            found.append(Block(readme, i + 2, opening["lang"], "\n".join(lines[i + 1 : end]), pending and pending[1]))
            pending = None
            i = end
        elif lines[i].strip():
            if pending:
                found.append(Block(readme, pending[0], "", "", pending[1]))
            pending = None
        i += 1
    if pending:
        found.append(Block(readme, pending[0], "", "", pending[1]))
    return found


def _normal(lines: list[str]) -> list[str]:
    """Dedented, trailing whitespace gone, no blank lines at either end."""
    out = [line.rstrip() for line in textwrap.dedent("\n".join(line.rstrip() for line in lines)).split("\n")]
    while out and not out[0]:
        out.pop(0)
    while out and not out[-1]:
        out.pop()
    return out


def appears_in(code: str, text: str) -> bool:
    """Whether ``code`` is a run of consecutive lines of ``text``, each side dedented on its own."""
    want = _normal(code.splitlines())
    if not want:
        return False
    have = text.splitlines()
    return any(have[i].strip() == want[0].strip() and _normal(have[i : i + len(want)]) == want
               for i in range(len(have) - len(want) + 1))  # fmt: skip


def recipe_readmes() -> list[Path]:
    return sorted(RECIPES.glob("*/README.md"))


def marked_blocks() -> list[Block]:
    return [block for readme in recipe_readmes() for block in blocks(readme) if block.source]


@pytest.mark.parametrize("block", marked_blocks(), ids=lambda b: f"{b.readme.parent.name}:{b.line}")
def test_a_marked_snippet_is_in_its_file_as_written(block):
    assert block.lang == "python" and block.code.strip(), (
        f"{block.where}: the marker <!-- from: {block.source} --> must stand just above a ```python block")
    path = REPO_ROOT / block.source
    assert path.is_file(), f"{block.where}: the block starting {block.first_line!r} names {block.source}, which does not exist"
    own = {block.readme.parent.name, *declared_needs(block.readme.parent)}
    assert Path(block.source).parts[:2] in {("recipes", name) for name in own}, (
        f"{block.where}: a README shows its own recipe's code or what it needs ({', '.join(sorted(own))}), "
        f"not {block.source}")
    if not appears_in(block.code, path.read_text(encoding="utf-8")):
        pytest.fail(f"{block.readme.relative_to(REPO_ROOT)}: the python block starting {block.first_line!r} "
                    f"(line {block.line}) is not in {block.source} as written; update the snippet or the code",
                    pytrace=False)  # fmt: skip


@pytest.mark.parametrize("name", CHECKED)
def test_every_python_block_of_these_readmes_is_held_to_its_source(name):
    readme = RECIPES / name / "README.md"
    python = [block for block in blocks(readme) if block.lang == "python"]
    assert any(block.source for block in python), f"{readme.relative_to(REPO_ROOT)} shows no snippet of its code"
    loose = [f"line {block.line}: {block.first_line!r}" for block in python if not block.source]
    assert not loose, (f"{readme.relative_to(REPO_ROOT)}: these python blocks have no <!-- from: path --> marker "
                       f"above them, so nothing checks them: {loose}")  # fmt: skip


# --------------------------------------------------------------------------- the check itself
SOURCE = '''class A:
    def run(self):
        with trace("x"):
            first = 1

            second = 2   
        return first
'''


@pytest.mark.parametrize(
    ("snippet", "found"),
    [
        ('with trace("x"):\n    first = 1\n\n    second = 2', True),  # dedented, a blank line inside
        ('        with trace("x"):\n            first = 1', True),  # indented as in the file
        ("second = 2\nreturn first", False),  # the second line is at another depth in the file
        ('with trace("x"):\n    first = 2', False),  # the code changed
        ("first = 1\nsecond = 2", False),  # a line left out
        ("", False),
    ],
    ids=["dedented", "as-indented", "other-depth", "changed", "line-left-out", "empty"],
)
def test_a_snippet_matches_only_consecutive_lines_as_written(snippet, found):
    assert appears_in(snippet, SOURCE) is found


def test_markers_find_their_blocks_and_report_a_marker_with_no_block(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("# T\n\n<!-- from: recipes/x.py -->\n\n```python\na = 1\n```\n\n```python\nb = 2\n```\n\n"
                      "<!-- from: recipes/y.py -->\nSome prose.\n\n```bash\nls\n```\n")  # fmt: skip
    found = [(b.line, b.lang, b.code, b.source) for b in blocks(readme)]
    assert found == [(6, "python", "a = 1", "recipes/x.py"), (10, "python", "b = 2", None),
                     (13, "", "", "recipes/y.py"), (17, "bash", "ls", None)]  # fmt: skip
