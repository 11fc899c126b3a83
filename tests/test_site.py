"""The site `make site` builds from a test run's executed notebooks (ci/site.py), read in a real browser.

Fast, with made-up runs: how each notebook's run is read (passed, failed, not run, run from another
version of the notebook), widgets staged as their last state, links rewritten for the site, the README
linking each notebook's page; then a small site built from made-up runs, which the browser check must
pass, and a copy of it broken in every way the check guards against, each of which it must name.

Marked ``site``: the site `make site` built in build/site/ from the whole run, checked after the suite
(`make test`'s last step, ``pytest --noconftest -m site tests/test_site.py``; left out of any other run):
every page loads in Chromium with no console error and nothing asked of the network, every internal link
and image resolves, nothing links a loopback address, and each notebook's page matches how its run ended
-- its check cell's output when it passed, the failure when it failed, no outputs when it did not run.
"""

from __future__ import annotations

import functools
import json
import re
import shutil
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
from papermill.execute import ERROR_ANCHOR_MSG, ERROR_MARKER_TAG, ERROR_MESSAGE_TEMPLATE

from ci import site
from ci.run_notebooks import NOTEBOOKS, REPO_ROOT, notebook_paths
from tests.test_streaming_web import browser  # noqa: F401 (the fixture)

LESSON = NOTEBOOKS / "00_setup_and_tour.ipynb"
OTHER_LESSON = NOTEBOOKS / "01_plain_agent.ipynb"
EXERCISE = NOTEBOOKS / "exercises" / "01_tool_as_activity.ipynb"
SOLUTION = NOTEBOOKS / "exercises" / "solutions" / "01_tool_as_activity.ipynb"
#: The banners ci/site.py puts at the top of a page whose notebook failed, or did not run.
FAILED_BANNER = "This notebook failed in the test run"
NOT_RUN_BANNER = "Not run: this page has no outputs"
LOOPBACK = re.compile(r"^(?:https?:)?//(?:localhost|127\.\d+\.\d+\.\d+|0\.0\.0\.0|\[::1\])(?::\d+)?(?:/|$)", re.I)
# A 1x1 PNG: the chart a made-up run draws.
PIXEL = ("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")


# --- made-up runs ------------------------------------------------------------------------------------------

def executed_copy(source: Path, *, check: str = "", error: tuple[str, str] | None = None, chart: bool = False,
                  edit: bool = False):  # fmt: skip
    """``source`` as papermill would have left it: the last code cell printing ``check``, or the cell before
    it raising ``error``; a PNG output on the first code cell; ``edit``: a cell changed since (another version)."""
    notebook = nbformat.read(source, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    notebook.metadata["papermill"] = {"end_time": "2026-01-02T03:04:05+00:00", "exception": bool(error)}
    for i, cell in enumerate(code):
        failing = len(code) - 2 if error else len(code)
        cell.metadata["papermill"] = {"status": "completed" if i < failing else "failed" if i == failing else "pending"}
    if chart:
        code[0].outputs = [nbformat.v4.new_output("display_data", data={"image/png": PIXEL, "text/plain": "<Figure>"})]
    if error:
        code[-2].outputs = [nbformat.v4.new_output("error", ename=error[0], evalue=error[1], traceback=[error[1]])]
        # papermill's marks: a note above the title, an anchor above the cell that raised
        top, here = (nbformat.v4.new_markdown_cell(text, metadata={"tags": [ERROR_MARKER_TAG]})
                     for text in (ERROR_MESSAGE_TEMPLATE % 5, ERROR_ANCHOR_MSG))
        notebook.cells.insert(notebook.cells.index(code[-2]), here)
        notebook.cells.insert(0, top)
    else:
        code[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text=check + "\n")]
    if edit:
        code[0].source += "\n# changed after the run"
    return notebook


def write_run(root: Path, run: str, source: Path, notebook) -> Path:
    folder = root / run if source.parent == NOTEBOOKS else root / "exercises" / f"{source.parent.name}-{run}"
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / source.name)
    return folder / source.name


def fails_with(exercise: Path) -> str:
    return nbformat.read(exercise, as_version=4).metadata["exercise"]["fails_with"]


def test_each_run_is_read_as_it_ended(tmp_path):
    hint = f"NotYet: {fails_with(EXERCISE)} Hint: do it."
    write_run(tmp_path, "offline", LESSON, executed_copy(LESSON, check="Setup checked: fine."))
    write_run(tmp_path, "offline", OTHER_LESSON, executed_copy(OTHER_LESSON, error=("AssertionError", "paid twice")))
    write_run(tmp_path, "chat", EXERCISE, executed_copy(EXERCISE, error=("NotYet", hint)))
    write_run(tmp_path, "offline", SOLUTION, executed_copy(SOLUTION, check="Exercise 01 solved: yes", edit=True))
    found = {source.name if source != SOLUTION else "solution": site.find_run(source, tmp_path)[0]
             for source in (LESSON, OTHER_LESSON, EXERCISE, SOLUTION, NOTEBOOKS / "02_temporal_fundamentals.ipynb")}
    assert (found[LESSON.name].status, found[LESSON.name].run) == (site.PASSED, "offline")
    assert found[OTHER_LESSON.name].status == site.FAILED and "AssertionError: paid twice" in found[OTHER_LESSON.name].detail
    assert found[EXERCISE.name].status == site.PASSED, "an exercise as stored passes when it stops at its hint"
    assert found["solution"].status == site.NOT_RUN and "another version" in found["solution"].detail
    assert found["02_temporal_fundamentals.ipynb"].status == site.NOT_RUN
    assert "no executed copy" in found["02_temporal_fundamentals.ipynb"].detail


def test_a_run_that_did_not_finish_failed(tmp_path):
    """papermill writes the executed copy as it goes: a run still going, or killed, has cells it never completed."""
    notebook = executed_copy(LESSON, check="")
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    for cell in code[-3:]:
        cell.metadata["papermill"]["status"] = "pending"
        cell.outputs = []
    write_run(tmp_path, "offline", LESSON, notebook)
    page, _ = site.find_run(LESSON, tmp_path)
    assert page.status == site.FAILED, page
    assert page.detail.startswith(f"the run did not finish: code cell {len(code) - 2} and the 2 after it"), page.detail


def test_an_exercise_fails_unless_its_check_stopped_it_with_its_hint(tmp_path):
    for error, expected in ((("NotYet", "Something else. Hint: x"), "NotYet: Something else"),
                            (("NameError", "name 'agent' is not defined"), "NameError"), (None, "as stored passed")):
        notebook = executed_copy(EXERCISE, error=error, check="Exercise 01 solved: by accident")
        write_run(tmp_path, "chat", EXERCISE, notebook)
        page, _ = site.find_run(EXERCISE, tmp_path)
        assert page.status == site.FAILED and expected in page.detail, (error, page)


def test_the_preferred_run_is_shown_where_there_is_one_and_another_run_where_not(tmp_path):
    write_run(tmp_path, "chat", LESSON, executed_copy(LESSON, check="Setup checked: on chat"))
    assert site.find_run(LESSON, tmp_path, "offline")[0].run == "chat"
    write_run(tmp_path, "offline", LESSON, executed_copy(LESSON, check="Setup checked: offline"))
    page, _ = site.find_run(LESSON, tmp_path, "offline")
    assert (page.run, page.model) == ("offline", site.MODELS["offline"])
    assert site.find_run(LESSON, tmp_path, "chat")[0].run == "chat"


def approval_widget() -> tuple[dict, dict]:
    """A widget output and the notebook's widget state, as notebook 09's approval panel leaves them."""
    def model(name: str, **state) -> dict:
        return {"model_name": name, "state": {"_model_name": name, **state}}

    state = {"box": model("VBoxModel", children=["IPY_MODEL_title", "IPY_MODEL_buttons", "IPY_MODEL_out"]),
             "title": model("HTMLModel", value="<b>Approval needed</b> &mdash; approval-1"),
             "buttons": model("HBoxModel", children=["IPY_MODEL_yes", "IPY_MODEL_no"]),
             "yes": model("ButtonModel", description="Approve", disabled=True),
             "no": model("ButtonModel", description="Reject <now>", disabled=True),
             "out": model("OutputModel", outputs=[{"output_type": "stream", "name": "stdout", "text": "Approving <1>\n"}])}
    output = nbformat.v4.new_output("display_data", data={
        "application/vnd.jupyter.widget-view+json": {"model_id": "box", "version_major": 2, "version_minor": 0},
        "text/plain": "VBox(children=...)"})  # fmt: skip
    return output, {"application/vnd.jupyter.widget-state+json": {"state": state, "version_major": 2}}


def test_a_widget_is_staged_as_its_last_state():
    notebook = nbformat.v4.new_notebook()
    output, notebook.metadata["widgets"] = approval_widget()
    notebook.cells = [nbformat.v4.new_code_cell("panel.show()", outputs=[output])]
    site.freeze_widgets(notebook)
    data = notebook.cells[0].outputs[0]["data"]
    assert "widgets" not in notebook.metadata and "application/vnd.jupyter.widget-view+json" not in data
    shown = data["text/html"]
    assert "<b>Approval needed</b> &mdash; approval-1" in shown
    assert "<button disabled>Approve</button>" in shown and "<button disabled>Reject &lt;now&gt;</button>" in shown
    assert "<pre>Approving &lt;1&gt;\n</pre>" in shown and "flex-direction: row" in shown


def test_links_point_at_pages_of_the_site_or_at_the_repository():
    staged = {"notebooks/05_kill_the_worker.ipynb", "docs/workshop.md"}
    on_github = site.Repository("https://github.com/o/r", "abc123")
    text = ("[a](notebooks/05_kill_the_worker.ipynb) [b](" + site.SITE_URL + "notebooks/05_kill_the_worker.html) "
            "[c](recipes/durability/) [d](#learning-path) [e](#the-offline-model) [f](https://example.org/x) "
            "[g](docs/workshop.md)")
    assert site.rewrite_links(text, "", staged, on_github) == (
        "[a](notebooks/05_kill_the_worker.ipynb) [b](notebooks/05_kill_the_worker.ipynb) "
        "[c](https://github.com/o/r/tree/abc123/recipes/durability) [d](#learning-path) "
        "[e](https://github.com/o/r/blob/abc123/README.md#the-offline-model) [f](https://example.org/x) "
        "[g](docs/workshop.md)")
    unknown = site.Repository(None, "abc123")
    assert site.rewrite_links("[c](recipes/durability/) [h](../notebooks/05_kill_the_worker.ipynb)", "docs", staged,
                              unknown) == "c [h](../notebooks/05_kill_the_worker.ipynb)"  # fmt: skip


def test_the_readme_links_each_notebook_and_its_page():
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    missing = []
    for source in notebook_paths() + sorted((NOTEBOOKS / "exercises").glob("[0-9][0-9]_*.ipynb")):
        rel = source.relative_to(REPO_ROOT)
        page = site.SITE_URL + str(rel.with_suffix(".html"))
        missing += [f"{rel}: no link to {target}" for target in (rel, page) if f"]({target})" not in readme]
    assert not missing, "\n".join(missing)


# --- the browser check ----------------------------------------------------------------------------------

class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


def serve(folder: Path) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _text(value: str) -> str:
    return " ".join(value.split())


def expected_on_page(run: dict, root: Path) -> tuple[list[str], list[str]]:
    """What a notebook's page must show, and must not, read from its executed copy (not from ci/site.py's
    verdict): its check cell's printed lines when the run passed, the error when it failed, a banner."""
    if not run["executed"]:
        return [NOT_RUN_BANNER], [FAILED_BANNER]
    executed = nbformat.read(root / run["executed"], as_version=4)
    errors = [out for cell in executed.cells for out in cell.get("outputs", []) if out.output_type == "error"]
    if run["kind"] == "exercise":  # as stored, it must stop at its first hint
        hint = executed.metadata["exercise"]["fails_with"]
        ok = bool(errors) and errors[0].ename == "NotYet" and hint in errors[0].evalue
        return ([hint], [FAILED_BANNER, NOT_RUN_BANNER]) if ok else ([FAILED_BANNER], [])
    completed = {cell.metadata.get("papermill", {}).get("status") for cell in executed.cells if cell.cell_type == "code"}
    if errors or completed != {"completed"} or executed.metadata.get("papermill", {}).get("exception"):
        return [FAILED_BANNER] + [error.ename for error in errors[:1]], [NOT_RUN_BANNER]
    check = [cell for cell in executed.cells if cell.cell_type == "code"][-1]
    printed = [line for out in check.outputs if out.output_type == "stream" for line in out.text.splitlines()]
    return printed or ["(the check cell printed nothing)"], [FAILED_BANNER, NOT_RUN_BANNER]


def site_problems(browser, folder: Path, root: Path = REPO_ROOT) -> list[str]:  # noqa: F811
    """Every page of the site in ``folder`` opened in Chromium; what is wrong, one line each."""
    server = serve(folder)
    origin = f"http://127.0.0.1:{server.server_port}"
    problems, ids, links = [], {}, set()
    context = browser.new_context()
    try:
        page = context.new_page()
        page.set_default_timeout(20_000)

        def outside(route):
            problems.append(f"{current}: asked the network for {route.request.url}")
            route.abort()

        context.route(lambda url: not url.startswith(origin + "/"), outside)
        page.on("console", lambda msg: msg.type == "error" and problems.append(f"{current}: console error: {msg.text}"))
        page.on("pageerror", lambda err: problems.append(f"{current}: script error: {err}"))
        page.on("response", lambda r: r.status >= 400 and not r.url.endswith("/favicon.ico") and problems.append(
            f"{current}: {r.url} answered {r.status}"))
        pages = sorted(str(p.relative_to(folder)) for p in folder.rglob("*.html"))
        texts = {}
        for current in pages:
            page.goto(f"{origin}/{current}", wait_until="load")
            seen = page.evaluate("""() => ({
                ids: [...document.querySelectorAll('[id]')].map(e => e.id),
                links: [...document.querySelectorAll('a[href]')].map(a => [a.getAttribute('href'), a.href]),
                sources: [...document.querySelectorAll('[src]')].map(e => e.getAttribute('src')),
                broken: [...document.images].filter(i => !(i.complete && i.naturalWidth > 0)).map(i => i.src),
                outputImages: document.querySelectorAll('.cell_output img').length,
                text: document.body.innerText})""")
            ids[current], texts[current] = set(seen["ids"]), seen
            problems += [f"{current}: image does not render: {src}" for src in seen["broken"]]
            problems += [f"{current}: points at a loopback address as if it worked: {raw}"
                         for raw in [raw for raw, _ in seen["links"]] + seen["sources"] if LOOPBACK.match(raw)]
            links |= {(current, raw, absolute) for raw, absolute in seen["links"] if absolute.startswith(origin + "/")}
        for current, raw, absolute in sorted(links):
            path, fragment = unquote(urlsplit(absolute).path.lstrip("/")), urlsplit(absolute).fragment
            target = folder / path
            if target.is_dir():
                target, path = target / "index.html", str(Path(path) / "index.html")
            if not target.is_file():
                problems.append(f"{current}: link {raw!r} leads nowhere ({path} is not in the site)")
            elif fragment and path in ids and unquote(fragment) not in ids[path]:
                problems.append(f"{current}: link {raw!r}: {path} has no #{fragment}")
        problems += notebook_page_problems(folder, texts, root)
    finally:
        context.close()
        server.shutdown()
    return problems


def notebook_page_problems(folder: Path, seen: dict, root: Path) -> list[str]:
    """Each notebook's page against its run: what it must show and must not, its charts, none left out."""
    runs = json.loads((folder / "runs.json").read_text(encoding="utf-8"))
    problems = []
    for run in runs:
        shown = seen.get(run["page"])
        if shown is None:
            problems.append(f"{run['source']}: its page {run['page']} is not in the site")
            continue
        text = _text(shown["text"])
        must, must_not = expected_on_page(run, root)
        problems += [f"{run['page']}: does not show {_text(line)!r}" for line in must if _text(line) not in text]
        problems += [f"{run['page']}: shows {line!r}" for line in must_not if line in text]
        if run["executed"]:
            executed = nbformat.read(root / run["executed"], as_version=4)
            charts = sum(any(kind.startswith("image/") for kind in out.get("data", {}))
                         for cell in executed.cells for out in cell.get("outputs", []))  # fmt: skip
            if shown["outputImages"] < charts:
                problems.append(f"{run['page']}: {charts} chart(s) in the run, {shown['outputImages']} on the page")
    listed = {run["source"] for run in runs}
    problems += [f"{rel}: no page" for rel in (str(p.relative_to(REPO_ROOT)) for p in site.sources()) if rel not in listed]
    return problems


@pytest.fixture(scope="module")
def made_up_site(tmp_path_factory):
    """A site built from made-up runs: 00 passed and 01 failed (each with a chart), exercise 01 at its hint, the
    rest not run."""
    tmp = tmp_path_factory.mktemp("site")
    runs = tmp / "notebooks"
    write_run(runs, "offline", LESSON, executed_copy(LESSON, check="Setup checked: server answered.", chart=True))
    write_run(runs, "offline", OTHER_LESSON, executed_copy(OTHER_LESSON, error=("AssertionError", "paid twice"),
                                                          chart=True))  # fmt: skip
    write_run(runs, "chat", EXERCISE, executed_copy(EXERCISE, error=("NotYet", f"{fails_with(EXERCISE)} Hint: x")))
    pages, code = site.build(runs, out=tmp / "site", stage=tmp / "site-src")
    assert code == 0, "Sphinx failed on the made-up runs"
    return tmp / "site", tmp


@pytest.mark.browser
def test_a_site_from_made_up_runs_passes_the_browser_check(browser, made_up_site):  # noqa: F811
    folder, root = made_up_site
    runs = {run["source"]: run for run in json.loads((folder / "runs.json").read_text(encoding="utf-8"))}
    assert runs[str(OTHER_LESSON.relative_to(REPO_ROOT))]["status"] == site.FAILED
    problems = site_problems(browser, folder, root)
    assert not problems, "\n".join(problems)


# (file in the site, text, replacement, the problem the check must report)
BREAKAGES = {
    "image": (None, None, None, "image does not render"),
    "link": ("index.html", "</article>", '<a href="notebooks/99_missing.html">x</a></article>', "leads nowhere"),
    "fragment": ("index.html", "</article>", '<a href="docs/workshop.html#no-such-part">x</a></article>',
                 "has no #no-such-part"),
    "network": ("docs/workshop.html", "</head>", '<script src="https://cdn.example.org/x.js"></script></head>',
                "asked the network for https://cdn.example.org/x.js"),
    "loopback": ("docs/workshop.html", "</article>", '<a href="http://localhost:8233/">Web UI</a></article>',
                 "points at a loopback address"),
    "script": ("genindex.html", "</body>", "<script>throw new Error('on purpose')</script></body>", "on purpose"),
    "failure-hidden": ("notebooks/01_plain_agent.html", FAILED_BANNER, "Executed by the tests: passed",
                       f"does not show {FAILED_BANNER!r}"),
    "chart-missing": ("notebooks/00_setup_and_tour.html", "<img ", "<span ", "1 chart(s) in the run, 0 on the page"),
    "check-missing": ("notebooks/00_setup_and_tour.html", "Setup checked: server answered.", "Setup: fine.",
                      "does not show 'Setup checked: server answered.'"),
}


@pytest.mark.browser
def test_the_browser_check_names_each_thing_broken_on_purpose(browser, made_up_site, tmp_path):  # noqa: F811
    folder, root = made_up_site
    broken = Path(shutil.copytree(folder, tmp_path / "site"))
    for image in (broken / "_images").iterdir():
        image.write_bytes(b"not a png")
    for name, (file, old, new, _) in BREAKAGES.items():
        if file:
            text = (broken / file).read_text(encoding="utf-8")
            assert old in text, f"{name}: {old!r} is not in {file}: update this test"
            (broken / file).write_text(text.replace(old, new), encoding="utf-8")
    problems = site_problems(browser, broken, root)
    missed = [name for name, (*_, expected) in BREAKAGES.items() if not any(expected in p for p in problems)]
    assert not missed, f"not reported: {missed}\n" + "\n".join(problems)


@pytest.mark.site
def test_the_built_site_reads_as_the_run_ended(browser):  # noqa: F811
    runs = site.SITE_DIR / "runs.json"
    assert runs.exists(), f"no site in {site.SITE_DIR}: `make site` builds it (after `make test`)"
    problems = site_problems(browser, site.SITE_DIR)
    assert not problems, "\n".join(problems)
