"""The room's set-up files, checked against the Makefile and .ci/run (fast, nothing runs):
.devcontainer/devcontainer.json (Codespaces, VS Code dev containers) and the GitHub Actions
workflow for forks, .github/workflows/test.yml, with its job graph: the Pages job deploys the
site the `make test` job built, after it passed, from a push only."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
import yaml  # PyYAML: installed with papermill (requirements.txt), which reads YAML itself

from ci.run_notebooks import REPO_ROOT
from ci.site import SITE_DIR

DEVCONTAINER = REPO_ROOT / ".devcontainer" / "devcontainer.json"
WORKFLOW = REPO_ROOT / ".github" / "workflows" / "test.yml"
MAKEFILE = REPO_ROOT / "Makefile"
CI_RUN = REPO_ROOT / ".ci" / "run"

REQUIRED_PORTS = (8233, 8888)


# --- JSONC: JSON with // and /* */ comments and trailing commas (what VS Code accepts) ------------

def strip_jsonc(text: str) -> str:
    """``text`` as plain JSON: comments and trailing commas outside strings removed. A comment
    becomes spaces (its newlines kept), so json's error positions still point into the file."""
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            if j >= n:
                raise ValueError(f"unterminated string at offset {i}")
            out.append(text[i:j + 1])
            i = j + 1
        elif text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            if j < 0:
                raise ValueError(f"unterminated /* comment at offset {i}")
            out.append(re.sub(r"[^\n]", " ", text[i:j + 2]))
            i = j + 2
        else:
            out.append(c)
            i += 1
    return _drop_trailing_commas("".join(out))


def _drop_trailing_commas(text: str) -> str:
    """A comma followed (past whitespace) by ``}`` or ``]``, outside strings, becomes a space."""
    chars = list(text)
    i, n = 0, len(chars)
    while i < n:
        if chars[i] == '"':
            i += 1
            while i < n and chars[i] != '"':
                i += 2 if chars[i] == "\\" else 1
        elif chars[i] == ",":
            j = i + 1
            while j < n and chars[j] in " \t\r\n":
                j += 1
            if j < n and chars[j] in "}]":
                chars[i] = " "
        i += 1
    return "".join(chars)


def load_jsonc(path: Path) -> dict:
    return json.loads(strip_jsonc(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize(("jsonc", "expected"), [
    ('{"url": "http://localhost:8233" // the Web UI\n}', {"url": "http://localhost:8233"}),
    ('{"glob": "/* not a comment */", /* a comment */ "n": 1}', {"glob": "/* not a comment */", "n": 1}),
    ('{"quote": "a \\" // still in the string", "slash": "\\\\"} // end',
     {"quote": 'a " // still in the string', "slash": "\\"}),
    ('{"a": [1, 2,], "b": {"c": 3,},}', {"a": [1, 2], "b": {"c": 3}}),
    ('{"commas": ",]", "x": /* * ** */ 2}', {"commas": ",]", "x": 2}),
    ("// only a comment, no newline at the end\n[1] // and again", [1]),
], ids=["url-in-string", "block-in-string", "escaped-quote", "trailing-commas", "stars", "line-comment-at-eof"])
def test_strip_jsonc(jsonc, expected):
    assert json.loads(strip_jsonc(jsonc)) == expected


def test_strip_jsonc_keeps_lines_and_refuses_what_it_cannot_read():
    text = '{\n  /* two\n  lines */ "a": 1 // c\n}'
    assert strip_jsonc(text).count("\n") == text.count("\n")
    with pytest.raises(ValueError, match="unterminated /\\*"):
        strip_jsonc('{"a": 1 /* never closed }')
    with pytest.raises(ValueError, match="unterminated string"):
        strip_jsonc('{"a": "never closed}')


# --- the Makefile's targets and the `make` commands the files run -----------------------------------

def make_targets(makefile: Path) -> set[str]:
    """Targets named at the start of a line, ``name:`` (not ``name := value``, not ``$(VAR):``)."""
    targets = set()
    for line in makefile.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^([A-Za-z0-9_.-]+(?:[ \t]+[A-Za-z0-9_.-]+)*)[ \t]*::?(?!=)", line)
        if m:
            targets.update(m.group(1).split())
    return targets


def make_goals(command: str) -> list[str]:
    """The target of every ``make ...`` in a shell command (options and VAR=value skipped; the
    first other word is the target, so prose after it in an ``echo`` is not taken for one)."""
    goals = []
    for m in re.finditer(r"(?<![\w./-])make((?:[ \t]+[^\s;&|'\"`()]+)+)", command):
        words = [w for w in m.group(1).split() if not w.startswith("-") and "=" not in w]
        if words:
            goals.append(words[0])
    return goals


def test_make_targets_and_goals_are_read_as_make_reads_them(tmp_path):
    makefile = tmp_path / "Makefile"
    makefile.write_text("PY := x\nA ?= 1\n.PHONY: lab\nlab: server\n\techo make\ntest unit: install\n$(VENV)/ok: x\n")
    assert make_targets(makefile) == {".PHONY", "lab", "test", "unit"}
    assert make_goals("make install") == ["install"]
    assert make_goals("cd x && make -j2 TEST_WORKERS=0 test; echo 'then run make lab to start'") == ["test", "lab"]
    assert make_goals("cmake --build . && makers all && automake") == []


def commands(value) -> list[str]:
    """A devcontainer lifecycle command: a string, an argument list, or named commands."""
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [" ".join(map(str, value))]
    if isinstance(value, dict):
        return [c for v in value.values() for c in commands(v)]
    raise TypeError(f"not a lifecycle command: {value!r}")


def unknown_goals(command_lines: list[str], makefile: Path) -> list[str]:
    targets = make_targets(makefile)
    return [f"`make {goal}` (in {line!r}): no such target in the Makefile"
            for line in command_lines for goal in make_goals(line) if goal not in targets]


# --- the two files --------------------------------------------------------------------------------

def devcontainer_problems(path: Path, makefile: Path) -> list[str]:
    config = load_jsonc(path)
    problems = []
    if "image" not in config and "build" not in config:
        problems.append("neither `image` nor `build`")
    if not config.get("postCreateCommand"):
        problems.append("no `postCreateCommand` (it should run `make install`)")
    elif "install" not in [g for c in commands(config["postCreateCommand"]) for g in make_goals(c)]:
        problems.append("`postCreateCommand` does not run `make install`")
    ports = config.get("forwardPorts", [])
    problems += [f"`forwardPorts` lacks {port}" for port in REQUIRED_PORTS if port not in ports]
    labels = config.get("portsAttributes", {})
    problems += [f"port {port} has no label in `portsAttributes`" for port in ports
                 if not labels.get(str(port), {}).get("label")]
    lines = commands(config.get("postCreateCommand")) + commands(config.get("postAttachCommand"))
    return problems + unknown_goals(lines, makefile)


def last_command(script: Path) -> str:
    """The last line of a shell script that is neither blank, a comment nor a closing keyword."""
    lines = [ln.strip() for ln in script.read_text(encoding="utf-8").splitlines()]
    return [ln for ln in lines if ln and not ln.startswith("#") and ln not in ("fi", "done", "esac", "}")][-1]


def workflow_problems(path: Path, makefile: Path, ci_run: Path) -> list[str]:
    workflow = yaml.safe_load(path.read_text(encoding="utf-8"))
    problems = []
    # YAML 1.1 reads a bare `on` key as the boolean True.
    triggers = workflow.get("on", workflow.get(True))
    triggers = [triggers] if isinstance(triggers, str) else list(triggers or [])
    problems += [f"not run on {event}" for event in ("push", "pull_request") if event not in triggers]
    jobs = workflow.get("jobs") or {}
    if not jobs:
        problems.append("no jobs")
    problems += [f"job {name!r} has no `timeout-minutes`" for name, job in jobs.items() if "timeout-minutes" not in job]
    runs = [step["run"].strip() for job in jobs.values() for step in job.get("steps", []) if "run" in step]
    ci_command = last_command(ci_run)
    if ci_command not in runs:
        problems.append(f"no step runs {ci_command!r}, the command .ci/run ends with")
    return problems + unknown_goals(runs, makefile)


def make_recipe(makefile: Path, target: str) -> list[str]:
    """The command lines of ``target``'s recipe (the tab-indented lines after ``target:``)."""
    lines = makefile.read_text(encoding="utf-8").splitlines()
    start = next((i for i, line in enumerate(lines) if re.match(rf"^{re.escape(target)}[ \t]*:(?!=)", line)), None)
    if start is None:
        return []
    recipe = []
    for line in lines[start + 1:]:
        if not line.startswith("\t"):
            break
        recipe.append(line.strip())
    return recipe


def _needs(job: dict) -> list[str]:
    needs = job.get("needs") or []
    return [needs] if isinstance(needs, str) else list(needs)


def _uses(step: dict, action: str) -> bool:
    return str(step.get("uses", "")).startswith(f"{action}@")


def pages_problems(path: Path, makefile: Path, ci_run: Path) -> list[str]:
    """The Pages job deploys what the job running .ci/run's command uploaded from the folder `make test`
    built the site in, after that command passed, and only from a push (never a pull request's code)."""
    jobs = yaml.safe_load(path.read_text(encoding="utf-8")).get("jobs") or {}
    problems = [f"job {name!r} needs {need!r}, which is not a job of the workflow"
                for name, job in jobs.items() for need in _needs(job) if need not in jobs]  # fmt: skip
    site_dir = str(SITE_DIR.relative_to(REPO_ROOT))
    if not any("ci/site.py" in line and "--out" not in line for line in make_recipe(makefile, "test")):
        problems.append(f"make test does not build the site (ci/site.py, into {site_dir})")
    ci_command = last_command(ci_run)
    steps = {name: job.get("steps", []) for name, job in jobs.items()}
    testing = [name for name in jobs if any(s.get("run", "").strip() == ci_command for s in steps[name])]
    deploying = [name for name in jobs if any(_uses(s, "actions/deploy-pages") for s in steps[name])]
    if not testing or len(deploying) != 1:
        return problems + [f"no job deploys the site to GitHub Pages (actions/deploy-pages) after {ci_command!r}"
                           if not deploying else f"{len(deploying)} jobs deploy to GitHub Pages: {deploying}"]
    tests, deploy = testing[0], jobs[deploying[0]]
    if tests not in _needs(deploy):
        problems.append(f"the Pages job {deploying[0]!r} does not wait for {tests!r}, the job that runs {ci_command!r}")
    permissions = deploy.get("permissions") or {}
    problems += [f"the Pages job lacks `permissions: {name}: write`" for name in ("pages", "id-token")
                 if permissions.get(name) != "write"]  # fmt: skip
    if (deploy.get("environment") or {}).get("name") != "github-pages":
        problems.append("the Pages job's environment is not github-pages")
    ran = next(i for i, s in enumerate(steps[tests]) if s.get("run", "").strip() == ci_command)
    uploads = [(i, s) for i, s in enumerate(steps[tests]) if _uses(s, "actions/upload-pages-artifact")]
    if not uploads:
        problems.append(f"job {tests!r} uploads no site for Pages (actions/upload-pages-artifact)")
    for i, step in uploads:
        uploaded = str((step.get("with") or {}).get("path", "")).rstrip("/")
        if uploaded != site_dir:
            problems.append(f"job {tests!r} uploads {uploaded!r} for Pages, not {site_dir!r}, the site make test built")
        if i < ran:
            problems.append(f"job {tests!r} uploads the site before {ci_command!r} has built it")
        if step.get("if") != deploy.get("if"):
            problems.append("the site's upload and the Pages job run under different conditions")
    if "github.event_name == 'push'" not in str(deploy.get("if", "")):
        problems.append("the Pages job can deploy a pull request's site: give it `if: github.event_name == 'push' && ...`")
    return problems


def test_the_devcontainer_installs_with_make_and_forwards_the_ports():
    problems = devcontainer_problems(DEVCONTAINER, MAKEFILE)
    assert not problems, "\n".join(problems)


def test_the_workflow_runs_what_ci_runs():
    assert last_command(CI_RUN) == "make test"  # if .ci/run changes, the workflow must follow it
    problems = workflow_problems(WORKFLOW, MAKEFILE, CI_RUN)
    assert not problems, "\n".join(problems)


def test_the_workflow_deploys_the_site_make_test_built_after_it_passed():
    problems = pages_problems(WORKFLOW, MAKEFILE, CI_RUN)
    assert not problems, "\n".join(problems)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is not in {path.name}: update this test's breakages"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


# Each check, broken once in a copy: (file to edit, text, replacement, the problem expected).
BREAKAGES = {
    "target-renamed": ("Makefile", "\ninstall:", "\nsetup:", "`make install` (in 'make install'): no such target"),
    "test-target-renamed": ("Makefile", "\ntest: install", "\ncheck: install", "`make test` (in 'make test'): no such"),
    "port-dropped": ("devcontainer.json", "[8233, ", "[", "`forwardPorts` lacks 8233"),
    "label-dropped": ("devcontainer.json", '"label": "JupyterLab"', '"labels": "JupyterLab"', "port 8888 has no label"),
    "no-image": ("devcontainer.json", '"image":', '"imagine":', "neither `image` nor `build`"),
    "no-post-create": ("devcontainer.json", '"postCreateCommand"', '"postStartCommand"', "no `postCreateCommand`"),
    "no-timeout": ("test.yml", "timeout-minutes:", "timeout-hours:", "has no `timeout-minutes`"),
    "no-pull-request": ("test.yml", "  pull_request:", "  workflow_dispatch:", "not run on pull_request"),
    "ci-diverged": ("run", "\nmake test", "\nmake test TEST_WORKERS=2", "no step runs 'make test TEST_WORKERS=2'"),
    "pages-before-tests": ("test.yml", "    needs: test\n", "", "does not wait for 'test'"),
    "pages-needs-nothing": ("test.yml", "    needs: test\n", "    needs: tests\n", "needs 'tests', which is not a job"),
    "pages-no-id-token": ("test.yml", "      id-token: write\n", "", "lacks `permissions: id-token: write`"),
    "pages-other-folder": ("test.yml", "path: build/site/", "path: build/notebooks/", "uploads 'build/notebooks' for Pages"),
    "pages-from-pull-requests": ("test.yml", "needs: test\n    if: github.event_name == 'push' && ", "needs: test\n    if: ",
                                 "can deploy a pull request's site"),
    "pages-no-deploy": ("test.yml", "actions/deploy-pages@", "actions/deploy-page@", "no job deploys the site"),
    "site-not-built": ("Makefile", "\t$(PY) ci/site.py --require-all\n", "", "make test does not build the site"),
}


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_each_check_fails_when_broken(tmp_path, breakage):
    name, old, new, expected = breakage
    copies = {p.name: Path(shutil.copy(p, tmp_path / p.name)) for p in (DEVCONTAINER, WORKFLOW, MAKEFILE, CI_RUN)}
    assert devcontainer_problems(copies["devcontainer.json"], copies["Makefile"]) == []
    assert workflow_problems(copies["test.yml"], copies["Makefile"], copies["run"]) == []
    assert pages_problems(copies["test.yml"], copies["Makefile"], copies["run"]) == []
    _edit(copies[name], old, new)
    problems = (devcontainer_problems(copies["devcontainer.json"], copies["Makefile"])
                + workflow_problems(copies["test.yml"], copies["Makefile"], copies["run"])
                + pages_problems(copies["test.yml"], copies["Makefile"], copies["run"]))
    assert any(expected in p for p in problems), problems
