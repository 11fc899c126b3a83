"""`make site`: the executed notebooks of a test run as a static site, to read without running anything.

The pages are the copies ``make test`` executed into build/notebooks/ (the offline run by default), staged
into build/site-src/ and rendered by Sphinx with myst-nb (configuration: site/conf.py) into build/site/:

- the index is the README's learning path and exercises, their links pointing at the pages;
- one page per notebook, exercise (as stored: its check stops at the first hint, which is what CI
  requires of it) and exercise solution, and the facilitator's guide (docs/workshop.md);
- each notebook page opens with a note: which model produced its outputs, when, from which commit,
  and links to its source notebook and the recipes it drives;
- a notebook whose run failed keeps its page, which says so at the top; one with no executed copy, or
  one executed from another version of the notebook, gets the stored notebook (no outputs) and a note
  saying it was not run; the command names each of them;
- a widget is staged as its last state (static HTML); no page loads anything from the network.

build/site/runs.json lists every notebook page: its source, the executed copy it came from, the model,
and how its run ended (``passed``, ``failed``, ``not run``).

    python ci/site.py                   # from build/notebooks/, the offline run
    python ci/site.py --run chat        # the Chat Completions run, where a notebook has one
    python ci/site.py --require-all     # exit 1 unless every notebook passed (make test)
"""

from __future__ import annotations

import argparse
import copy
import html
import json
import os
import re
import shutil
import subprocess
import sys
import time
import warnings
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script: `ci` importable

from ci.run_notebooks import NOTEBOOKS, OUTPUT_DIR, REPO_ROOT, notebook_paths  # noqa: E402

CONF_DIR = REPO_ROOT / "site"
STAGE_DIR = REPO_ROOT / "build" / "site-src"
SITE_DIR = REPO_ROOT / "build" / "site"
README = REPO_ROOT / "README.md"
WORKSHOP = REPO_ROOT / "docs" / "workshop.md"
EXERCISES = NOTEBOOKS / "exercises"
SOLUTIONS = EXERCISES / "solutions"
#: Where CI's Pages job publishes the site; the README's learning path links its pages there.
SITE_URL = "https://OWNER.github.io/durable-agents-tutorial/"
#: The README sections the index is made of (besides its title and opening paragraph).
INDEX_SECTIONS = ("Read it without running it", "Learning path", "Workshop exercises")

#: The test runs (build/notebooks/<run>/, tests/test_notebooks.py) and the model each ran on.
MODELS = {
    "offline": "the offline stand-in model (`tutorial/offline_model/`: rule-based, not an LLM)",
    "chat": "the model double (a local test double, not an LLM) over Chat Completions",
    "responses": "the model double (a local test double, not an LLM) over the Responses API",
    "claude": "the model double (a local test double, not an LLM) over Anthropic's Messages API, through LiteLLM",
}
PASSED, FAILED, NOT_RUN = "passed", "failed", "not run"
# Cells papermill adds to an executed copy: its parameters, and the note at the top of a failed run.
PAPERMILL_ERROR = "papermill-error-cell-tag"
PAPERMILL_TAGS = {"injected-parameters", PAPERMILL_ERROR}
#: The anchor papermill puts at the cell where a run stopped.
STOPPED_HERE = "papermill-error-cell"


@dataclass
class Page:
    source: str  # the stored notebook, relative to the repository
    kind: str  # "lesson", "exercise" or "solution"
    status: str  # PASSED, FAILED or NOT_RUN
    detail: str  # why it failed or was not run ("" when it passed)
    run: str | None = None  # the test run its outputs come from
    executed: str | None = None  # the executed copy, relative to the repository
    model: str | None = None
    finished: str | None = None  # when the run ended (UTC), from papermill's metadata

    @property
    def page(self) -> str:
        return str(Path(self.source).with_suffix(".html"))


# --- which executed copy, and how its run ended ------------------------------------------------------

def _kind(source: Path) -> str:
    return {NOTEBOOKS: "lesson", EXERCISES: "exercise", SOLUTIONS: "solution"}[source.parent]


def sources() -> list[Path]:
    """Every notebook the site has a page for: the learning path, the exercises, their solutions."""
    exercises = sorted(EXERCISES.glob("[0-9][0-9]_*.ipynb"))
    return notebook_paths() + exercises + sorted(SOLUTIONS.glob("[0-9][0-9]_*.ipynb"))


def candidates(source: Path, notebooks_dir: Path, preferred: str) -> list[tuple[str, Path]]:
    """Where a test run may have executed ``source``, the preferred run first: build/notebooks/<run>/ for
    the learning path, build/notebooks/exercises/<exercises|solutions>-<run>/ for the workshop."""
    runs = [preferred] + [run for run in MODELS if run != preferred]
    if _kind(source) == "lesson":
        return [(run, notebooks_dir / run / source.name) for run in runs]
    return [(run, notebooks_dir / "exercises" / f"{source.parent.name}-{run}" / source.name) for run in runs]


def _code(notebook) -> list[tuple[str, str]]:
    return [(cell.cell_type, cell.source) for cell in notebook.cells
            if not PAPERMILL_TAGS & set(cell.get("metadata", {}).get("tags", []))]  # fmt: skip


def _errors(notebook) -> list[dict]:
    return [out for cell in notebook.cells for out in cell.get("outputs", []) if out.output_type == "error"]


def unfinished(executed) -> list[int]:
    """The code cells (numbered from 1) papermill did not complete: a failed one and those after it, or
    those a run still going (or killed: a timeout, a cancelled CI job) has not reached."""
    code = [cell for cell in executed.cells if cell.cell_type == "code"]
    return [i for i, cell in enumerate(code, 1) if cell.metadata.get("papermill", {}).get("status") != "completed"]


def outcome(source: Path, executed) -> tuple[str, str]:
    """How the executed copy's run ended: (PASSED or FAILED, what went wrong). An exercise as stored passes
    when its check stopped it with "Not yet" and the hint its metadata names, as tests/test_exercises.py requires."""
    errors, left = _errors(executed), unfinished(executed)
    if _kind(source) == "exercise":
        expected = executed.metadata.get("exercise", {}).get("fails_with", "")
        if len(errors) == 1 and errors[0].ename == "NotYet" and expected in errors[0].evalue:
            return PASSED, ""
        if not errors and not left:
            return FAILED, "its check did not stop it with its first hint: the exercise as stored passed"
    elif not errors and not left and not executed.metadata.get("papermill", {}).get("exception"):
        return PASSED, ""
    if not errors:
        return FAILED, (f"the run did not finish: code cell {left[0]} and the {len(left) - 1} after it never "
                        f"completed (still running, or stopped)" if left else "papermill marked the run failed")
    evalue = errors[0].evalue.strip()
    return FAILED, f"{errors[0].ename}: {evalue.splitlines()[0]}" if evalue else errors[0].ename


def find_run(source: Path, notebooks_dir: Path = OUTPUT_DIR, preferred: str = "offline") -> tuple[Page, object]:
    """The page for ``source`` and the notebook it shows: the first executed copy of this version of the
    notebook (same cells as the stored one), else the stored notebook, not run."""
    stored = nbformat.read(source, as_version=4)
    rel = str(source.relative_to(REPO_ROOT))
    older = []
    for run, path in candidates(source, notebooks_dir, preferred):
        if not path.exists():
            continue
        executed = nbformat.read(path, as_version=4)
        if _code(executed) != _code(stored):
            older.append(_shown(path))
            continue
        status, detail = outcome(source, executed)
        finished = executed.metadata.get("papermill", {}).get("end_time")
        return Page(rel, _kind(source), status, detail, run, _shown(path), MODELS[run], finished), executed
    copies = f"its executed cop{'y' if len(older) == 1 else 'ies'} ({', '.join(older)})"
    detail = (f"{copies} {'is' if len(older) == 1 else 'are'} of another version of the notebook" if older
              else f"no executed copy in {_shown(notebooks_dir)}/")
    return Page(rel, _kind(source), NOT_RUN, detail), stored


def _shown(path: Path) -> str:
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


# --- staging: the pages' sources ----------------------------------------------------------------------

@dataclass
class Repository:
    """Where the site links a file of this commit: the repository's web address, when known (CI names it;
    else a GitHub remote ``origin``), and the commit."""

    url: str | None
    commit: str
    dirty: bool = False

    @classmethod
    def here(cls) -> Repository:
        def git(*args: str) -> str:
            try:
                return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True).stdout.strip()
            except OSError:  # no git
                return ""

        if os.environ.get("GITHUB_REPOSITORY"):
            url = f"{os.environ.get('GITHUB_SERVER_URL', 'https://github.com')}/{os.environ['GITHUB_REPOSITORY']}"
        else:
            origin = git("remote", "get-url", "origin")
            remote = re.match(r"(?:https://|git@)github\.com[/:]([\w.-]+/[\w.-]+?)(?:\.git)?$", origin)
            url = f"https://github.com/{remote.group(1)}" if remote else None
        commit = os.environ.get("GITHUB_SHA") or git("rev-parse", "HEAD") or "unknown"
        return cls(url, commit, dirty=bool(git("status", "--porcelain", "--untracked-files=no")))

    def link(self, path: str, text: str | None = None) -> str:
        """Markdown for a file or folder of the repository: a link to it at this commit, or its name."""
        shown = text or f"`{path}`"
        if not self.url:
            return shown
        kind = "tree" if (REPO_ROOT / path).is_dir() else "blob"
        return f"[{shown}]({self.url}/{kind}/{self.commit}/{path})"

    def describe(self) -> str:
        return f"commit `{self.commit[:12]}`" + (" with uncommitted changes" if self.dirty else "")


def recipes_driven(notebook) -> list[str]:
    """The recipe folders a notebook's code imports, the shared spine (core, tools) last."""
    code = "\n".join(cell.source for cell in notebook.cells if cell.cell_type == "code")
    found = set(re.findall(r"\brecipes\.([a-z_]+)", code))
    return [f"recipes/{name}/" for name in sorted(found, key=lambda name: (name in ("core", "tools"), name))]


def _when(finished: str | None) -> str:
    return datetime.fromisoformat(finished).strftime("%Y-%m-%d %H:%M UTC") if finished else "at a time not recorded"


def note(page: Page, notebook, repo: Repository) -> str:
    """The admonition at the top of a notebook's page: how its outputs came about, and its sources."""
    recipes = ", ".join(repo.link(path) for path in recipes_driven(notebook))
    sources = f"Source: {repo.link(page.source)} (stored without outputs)" + (
        f" · the recipe{'s' if ',' in recipes else ''} it drives: {recipes}" if recipes else "")
    calls_no_model = notebook.metadata.get("tutorial", {}).get("model_paths") == ["no model"]
    model = "no model (it calls none)" if calls_no_model else page.model
    run = f"the test run of {repo.describe()}, ended {_when(page.finished)}, on {model}"
    local = ("Addresses such as `localhost:8233` in the outputs were on the machine that ran it: run the notebook "
             "yourself (`make lab`) to open them.")
    if page.status == NOT_RUN:
        title, style = "Not run: this page has no outputs", "warning"
        body = f"This build has no run of this notebook: {page.detail}. Below is the notebook as stored."
    elif page.status == FAILED:
        title, style = "This notebook failed in the test run", "error"
        marked = any(f'id="{STOPPED_HERE}"' in cell.source for cell in notebook.cells if cell.cell_type == "markdown")
        stopped = f'<a href="#{STOPPED_HERE}">where it failed</a>' if marked else "where it failed"
        body = (f"Its outputs are from {run}, which ended with {page.detail}. They stop {stopped}: this page "
                f"does not show the lesson proven.")
    elif page.kind == "exercise":
        solution = Path("solutions") / Path(page.source).name
        title, style = "The exercise as stored: its check stops at the first hint", "note"
        body = (f"Its outputs are from {run}: the check stopped it with *Not yet* and its first hint, as the tests "
                f"require of an exercise nobody has solved. [The solution, executed]({solution}).")
    else:
        title, style = "Executed by the tests: passed", "tip"
        body = f"The outputs below are from {run}; its last cell checked the lesson."
    closing = "" if page.status == NOT_RUN else f"\n\n{local}"  # no outputs, no addresses in them
    return f":::{{admonition}} {title}\n:class: {style}\n{body}\n\n{sources}{closing}\n:::\n"


def widget_html(model_id: str, models: dict) -> str:
    """A widget's last state as static HTML: its text and, disabled, its buttons (they act in JupyterLab)."""
    state = models.get(model_id, {}).get("state", {})
    name = state.get("_model_name", "")
    if name in ("HTMLModel", "HTMLMathModel"):
        return f"<div>{state.get('value', '')}</div>"
    if name == "LabelModel":
        return f"<div>{html.escape(state.get('value', ''))}</div>"
    if name == "ButtonModel":
        return f"<button disabled>{html.escape(state.get('description', ''))}</button>"
    if name == "OutputModel":
        return "".join(f"<pre>{html.escape(out.get('text', ''))}</pre>" if out["output_type"] == "stream"
                       else out.get("data", {}).get("text/html", "") for out in state.get("outputs", []))  # fmt: skip
    children = "".join(widget_html(child.removeprefix("IPY_MODEL_"), models) for child in state.get("children", []))
    direction = "row" if name == "HBoxModel" else "column"
    return f'<div style="display: flex; flex-direction: {direction}; gap: 0.5em">{children}</div>'


def freeze_widgets(notebook) -> None:
    """Each widget output becomes the HTML of its last state, and the widget state goes: a page needs no
    widget JavaScript (myst-nb would load it from a CDN)."""
    widgets = notebook.metadata.pop("widgets", {})
    models = widgets.get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    for cell in notebook.cells:
        for out in cell.get("outputs", []):
            view = out.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
            if view:
                out["data"]["text/html"] = (widget_html(view["model_id"], models)
                                            + "<p><em>A widget, as the run left it.</em></p>")


def stage_notebook(page: Page, notebook, repo: Repository, into: Path) -> None:
    staged = copy.deepcopy(notebook)
    freeze_widgets(staged)
    # papermill's notes on a run that raised: the one it puts above the title gives way to this page's own
    # note; the one at the cell that raised stays, unless the exercise stopped at its hint as it should.
    marks = [cell for cell in staged.cells if PAPERMILL_ERROR in cell.metadata.get("tags", [])]
    dropped = marks if page.status == PASSED else marks[:1]
    staged.cells = cells = [cell for cell in staged.cells if not any(cell is mark for mark in dropped)]
    after_title = 1 if cells and cells[0].cell_type == "markdown" and cells[0].source.startswith("# ") else 0
    if page.kind == "solution" and after_title:  # its title is the exercise's: the navigation tells them apart
        cells[0].source = cells[0].source.replace("# ", "# Solution · ", 1)
    cells.insert(after_title, nbformat.v4.new_markdown_cell(note(page, notebook, repo)))
    target = into / page.source
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(staged, target)


LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]+)\)")


def rewrite_links(text: str, base: str, staged: set[str], repo: Repository) -> str:
    """Links of a Markdown file at ``base`` (a folder of the repository) as the site needs them: a page of
    the site stays relative (one of SITE_URL becomes relative), a web address stays, any other file of
    the repository (or a README section the index leaves out) points at the repository."""

    def one(match: re.Match) -> str:
        text, target = match.groups()
        if target.startswith(SITE_URL):
            page = target[len(SITE_URL):]
            target = next((os.path.relpath(s, base or ".") for s in staged
                           if Path(s).with_suffix(".html") == Path(page)), target)  # fmt: skip
            return f"[{text}]({target})"
        if re.match(r"[a-z]+:", target):
            return match.group(0)
        path, _, anchor = target.partition("#")
        in_repo = os.path.normpath(os.path.join(base, path)) if path else ("README.md" if not base else base)
        if in_repo in staged and path:
            return match.group(0)
        if not path and in_repo == "README.md" and any(anchor == _anchor(s) for s in INDEX_SECTIONS):
            return match.group(0)
        linked = repo.link(in_repo, text)
        return linked.replace(")", f"#{anchor})") if anchor and repo.url else linked

    return LINK.sub(one, text)


def _anchor(heading: str) -> str:
    return re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-")


def readme_sections(readme: str) -> dict[str, str]:
    """The README cut at its ``## `` headings: {"": the title and opening, heading: section}."""
    parts = re.split(r"^## (.+)$", readme, flags=re.M)
    return {"": parts[0], **{heading.strip(): body for heading, body in zip(parts[1::2], parts[2::2])}}


def index_markdown(readme: str, pages: list[Page], staged: set[str], repo: Repository) -> str:
    """The README's title and opening, its learning path and exercises, the build's own summary, and the
    site's navigation."""
    sections = readme_sections(readme)
    opening = sections[""].split("\n\n")[:2]  # the title and the first paragraph
    body = "\n\n".join(opening) + "\n\n" + summary_note(pages, repo) + "\n"
    body += "".join(f"## {name}\n{sections[name]}" for name in INDEX_SECTIONS if name in sections)
    body = rewrite_links(body, "", staged, repo)
    lessons = [p for p in pages if p.kind == "lesson"]
    workshop = ["docs/workshop.md"] + [p.source for p in pages if p.kind != "lesson"]
    return body + "".join(
        f"\n```{{toctree}}\n:hidden:\n:caption: {caption}\n\n" + "\n".join(str(Path(s).with_suffix("")) for s in docs)
        + "\n```\n" for caption, docs in (("Learning path", [p.source for p in lessons]), ("Workshop", workshop)))


def summary_note(pages: list[Page], repo: Repository) -> str:
    passed = sum(p.status == PASSED for p in pages)
    lines = [f"- {p.status}: [`{Path(p.source).relative_to('notebooks')}`]({p.source}) -- {p.detail}"
             for p in pages if p.status != PASSED]  # fmt: skip
    style = "tip" if not lines else "warning"
    return (f":::{{admonition}} Executed by the tests, {repo.describe()}\n:class: {style}\n"
            f"Every page is a notebook as the test run executed it, outputs included: {passed} of {len(pages)} "
            f"notebooks passed." + ("\n\n" + "\n".join(lines) if lines else "") + "\n:::\n")


# --- the build -----------------------------------------------------------------------------------------

def build(notebooks_dir: Path = OUTPUT_DIR, preferred: str = "offline", out: Path = SITE_DIR,
          stage: Path = STAGE_DIR) -> tuple[list[Page], int]:  # fmt: skip
    """Stage every page from ``notebooks_dir`` and render the site into ``out``; (the pages, Sphinx's exit code)."""
    repo = Repository.here()
    doctrees = stage.parent / f"{stage.name}-doctrees"  # Sphinx's cache, kept out of the published folder
    for folder in (stage, doctrees, out):
        shutil.rmtree(folder, ignore_errors=True)
    pages = []
    for source in sources():
        page, notebook = find_run(source, notebooks_dir, preferred)
        stage_notebook(page, notebook, repo, stage)
        pages.append(page)
    staged = {p.source for p in pages} | {"docs/workshop.md"}
    (stage / "docs").mkdir(parents=True, exist_ok=True)
    (stage / "docs" / "workshop.md").write_text(
        rewrite_links(WORKSHOP.read_text(encoding="utf-8"), "docs", staged, repo), encoding="utf-8")
    (stage / "index.md").write_text(index_markdown(README.read_text(encoding="utf-8"), pages, staged, repo),
                                    encoding="utf-8")  # fmt: skip
    from sphinx.cmd.build import build_main
    from sphinx.deprecation import RemovedInSphinx11Warning

    with warnings.catch_warnings():  # myst-parser 5.2 on Sphinx 9: theirs to change, not ours
        warnings.simplefilter("ignore", RemovedInSphinx11Warning)
        code = build_main(["-b", "html", "-q", "-W", "--keep-going", "-c", str(CONF_DIR), "-d", str(doctrees),
                           str(stage), str(out)])  # fmt: skip
    if code == 0:
        runs = [{**asdict(p), "page": p.page} for p in pages]
        (out / "runs.json").write_text(json.dumps(runs, indent=1) + "\n", encoding="utf-8")
    return pages, code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", default="offline", choices=list(MODELS),
                        help="the test run whose outputs a page shows, where the notebook has one (default: offline)")
    parser.add_argument("--notebooks", type=Path, default=OUTPUT_DIR, help="where the runs are (build/notebooks/)")
    parser.add_argument("--out", type=Path, default=SITE_DIR, help="where the site goes (build/site/)")
    parser.add_argument("--require-all", action="store_true", help="exit 1 unless every notebook passed")
    args = parser.parse_args(argv)
    started = time.monotonic()
    pages, code = build(args.notebooks.resolve(), args.run, args.out.resolve())
    if code != 0:
        print(f"make site: Sphinx failed (exit {code}); its messages are above.", file=sys.stderr)
        return 1
    for page in pages:
        if page.status != PASSED:
            print(f"  {page.status.upper():8} {page.source}: {page.detail}")
    passed = sum(p.status == PASSED for p in pages)
    print(f"Site: {_shown(args.out.resolve() / 'index.html')} in {time.monotonic() - started:.0f} s: "
          f"{passed} of {len(pages)} notebooks passed, from {_shown(args.notebooks.resolve())}/ "
          f"(the {args.run} run where there is one).")
    return 1 if args.require_all and passed < len(pages) else 0


if __name__ == "__main__":
    sys.exit(main())
