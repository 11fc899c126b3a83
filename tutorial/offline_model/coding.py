"""The plan for a coding agent: read the failing test, patch the code, run the tests, say what changed.

Used when an agent has the coding recipe's tools (``read_file``, ``search``, ``apply_patch``,
``run_tests``: :data:`CODING_TOOLS`), by the offline model and, over the wire formats, by the model
double (``tutorial.model_double.coding``), each in its own words. It is a fixed plan over plain data,
not understanding:

1. the failing test: a ``*test*.py`` file the request names, else the one the first test run's
   traceback names (``run_tests`` first);
2. ``read_file`` it;
3. the change: the request's first two backquoted snippets, ``old`` then ``new`` ("`percent / 10`
   should be `percent / 100`"). Without them the stand-in cannot work out a fix: it runs the tests
   and says so. The file to change: one the request names, else the first line ``search`` finds
   holding ``old``; ``read_file`` it;
4. ``apply_patch``: the first line holding ``old``, with up to three lines of context either side;
5. ``run_tests``, then the answer.

A tool that failed (its result starts ``Tool <name> failed``) ends the plan: the answer says what
could not be done. Each step depends only on the request and the calls already made with their
outputs, so the plan is as stateless as the models that follow it.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

CODING_TOOLS = frozenset({"read_file", "search", "apply_patch", "run_tests"})
CONTEXT_LINES = 3

_TEST_FILE = re.compile(r"[\w./-]*test[\w./-]*\.py\b")
_PY_FILE = re.compile(r"[\w./-]+\.py\b")
_SNIPPET = re.compile(r"`([^`\n]+)`")
_TRACEBACK_FILE = re.compile(r'File "([^"]*test[^"]*\.py)"')
_EXIT_CODE = re.compile(r"^exit code (-?\d+)", re.M)


@dataclass(frozen=True)
class Call:
    """A tool call made since the request, with its output (None while there is none)."""

    name: str
    arguments: dict[str, Any]
    output: str | None


@dataclass(frozen=True)
class Step:
    """The next tool call of the plan."""

    tool: str
    arguments: dict[str, Any]
    why: str


@dataclass(frozen=True)
class Report:
    """What the plan found, for the answer: the change made (or why none was), and the last test run."""

    changed: tuple[str, str, str] | None  # (file, old, new)
    problem: str | None
    tests_passed: bool | None
    test_summary: str


def is_coding_agent(tool_names: Collection[str]) -> bool:
    return CODING_TOOLS <= set(tool_names)


def _failed(call: Call) -> bool:
    return (call.output or "").startswith(f"Tool {call.name} failed")


def _calls(calls: Sequence[Call], name: str, **arguments: Any) -> list[Call]:
    return [c for c in calls if c.name == name and all(c.arguments.get(k) == v for k, v in arguments.items())]


def _change(request: str) -> tuple[str, str] | None:
    snippets = _SNIPPET.findall(request)
    return (snippets[0], snippets[1]) if len(snippets) >= 2 and snippets[0] != snippets[1] else None


def _test_file(request: str, calls: Sequence[Call]) -> str | None:
    if found := _TEST_FILE.search(request):
        return found.group(0)
    for run in _calls(calls, "run_tests"):
        if traceback := _TRACEBACK_FILE.search(run.output or ""):
            return posixpath.basename(traceback.group(1))
    return None


def _source_file(request: str, test_file: str | None, old: str, calls: Sequence[Call]) -> str | None:
    named = [f for f in _PY_FILE.findall(request) if f != test_file and "test" not in posixpath.basename(f)]
    if named:
        return named[0]
    for found in _calls(calls, "search", text=old):
        for line in (found.output or "").splitlines():
            path, _, rest = line.partition(":")
            if old in rest:
                return path.removeprefix("./")
    return None


def patch_for(path: str, source: str, old: str, new: str) -> str | None:
    """An apply_patch text replacing ``old`` by ``new`` on the first line of ``source`` holding it."""
    lines = source.splitlines()
    at = next((i for i, line in enumerate(lines) if old in line), None)
    if at is None:
        return None
    before = lines[max(0, at - CONTEXT_LINES):at]
    after = lines[at + 1:at + 1 + CONTEXT_LINES]
    hunk = [f" {line}" for line in before] + [f"-{lines[at]}", f"+{lines[at].replace(old, new, 1)}"]
    hunk += [f" {line}" for line in after]
    return "\n".join(["*** Begin Patch", f"*** Update File: {path}", "@@", *hunk, "*** End Patch"]) + "\n"


def next_step(request: str, calls: Sequence[Call]) -> Step | None:
    """The next tool call, or None: time to answer (see :func:`report`)."""
    if any(_failed(c) for c in calls) or any(c.output is None for c in calls):
        return None
    test_file = _test_file(request, calls)
    if test_file is None:
        return None if _calls(calls, "run_tests") else Step("run_tests", {}, "the request names no test file")
    if not _calls(calls, "read_file", path=test_file):
        return Step("read_file", {"path": test_file}, "read the failing test")
    change = _change(request)
    if change is None:
        return None if _calls(calls, "run_tests") else Step("run_tests", {}, "no change named: run the tests")
    old, new = change
    source = _source_file(request, test_file, old, calls)
    if source is None:
        return None if _calls(calls, "search", text=old) else Step("search", {"text": old}, "find the line to change")
    read = _calls(calls, "read_file", path=source)
    if not read:
        return Step("read_file", {"path": source}, "read the code to change")
    patches = _calls(calls, "apply_patch")
    if not patches:
        patch = patch_for(source, read[-1].output or "", old, new)
        return Step("apply_patch", {"patch": patch}, "patch the line") if patch else None
    if not any(i > calls.index(patches[-1]) for i, c in enumerate(calls) if c.name == "run_tests"):
        return Step("run_tests", {}, "check the fix")
    return None


def report(request: str, calls: Sequence[Call]) -> Report:
    """What the calls made show, once :func:`next_step` has nothing left."""
    problem = next((c.output for c in calls if _failed(c)), None)
    change = _change(request)
    patched = [c for c in _calls(calls, "apply_patch") if not _failed(c)]
    changed = None
    if change and patched:
        path = re.search(r"^\*\*\* Update File: (.+)$", patched[-1].arguments.get("patch", ""), re.M)
        changed = (path.group(1) if path else "the code", *change)
    elif problem is None and change is None:
        problem = "the request names no change as two backquoted snippets (`old` ... `new`), and these rules cannot work one out"
    elif problem is None and not patched:
        problem = f"no file holds `{change[0]}`" if change else None
    runs = [c for c in _calls(calls, "run_tests") if not _failed(c)]
    if not runs:
        return Report(changed, problem, None, "the tests were not run")
    output = runs[-1].output or ""
    code = _EXIT_CODE.search(output)
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    summary = " ".join(line for line in lines if line.startswith("Ran ") or line in ("OK",) or line.startswith("FAILED"))
    return Report(changed, problem, code is not None and code.group(1) == "0", summary or (lines[-1] if lines else ""))


def answer_text(found: Report) -> str:
    """The offline stand-in's answer (the model double words its own)."""
    tests = ("the tests were not run" if found.tests_passed is None else
             f"the tests pass ({found.test_summary})" if found.tests_passed else f"the tests still fail ({found.test_summary})")
    if found.changed:
        path, old, new = found.changed
        return f"I changed `{old}` to `{new}` in {path}; {tests}."
    return f"I made no change: {found.problem}; {tests}."
