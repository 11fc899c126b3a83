"""The streaming recipe's web page, in a real browser (headless Chromium driven by
Playwright) against ``python -m recipes.streaming.web`` and a streaming worker, both
subprocesses: the answer grows as it is written, a reload mid-answer follows the same
run to its end, bad input and an unknown run each show one sentence -- and, without a
browser, a taken port or an absent Temporal server end the command with one sentence."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.openai_agents import OpenAIAgentsPlugin

from ci.browser import NoBrowser, find_chromium
from recipes.core.worker import READY_TEXT as WORKER_READY
from recipes.streaming.web import READY_TEXT as WEB_READY
from recipes.streaming.web import sse, with_keepalive
from recipes.streaming.workflows import MAX_QUESTION_CHARS, check_question
from tutorial.processes import REPO_ROOT, python_module
from tutorial.proof import free_port

QUESTION = "Any weather alerts in California?"
# The machine's closed network refuses Chromium's background connections; these keep it from trying.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
#: The answer's text as the page shows it: every text block of the transcript, in order.
ANSWER_JS = "() => [...document.querySelectorAll('#transcript .text')].map(e => e.textContent).join('')"
STATUS_JS = "() => document.getElementById('status').textContent"
DONE_JS = "() => document.getElementById('status').dataset.tone === 'done'"


def _in_thread(coro_fn, *args):
    """Run ``coro_fn(*args)`` on its own thread and loop: Playwright's sync API owns this one's."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro_fn(*args)).result()


@pytest.fixture(scope="module")
def site(temporal_server, weather, tmp_path_factory):
    """A streaming worker on a private task queue (words 50 ms apart, so an answer takes a
    few seconds) and the web page starting runs on that queue, on a free port."""
    tmp = tmp_path_factory.mktemp("streaming-web")
    queue = f"test-streaming-web-{uuid.uuid4().hex[:8]}"
    env = {"TEMPORAL_ADDRESS": temporal_server.address, "AGENT_MODEL_BACKEND": "offline",
           "STREAMING_TASK_QUEUE": queue, "OFFLINE_MODEL_STREAM_PACE": "0.05", "NWS_API_URL": weather.url,
           "AGENT_MODEL_LEDGER": str(tmp / "ledger.jsonl")}  # fmt: skip
    port = free_port()
    worker = python_module("test-streaming-web-worker", "recipes.streaming.worker", env=env,
                           log_path=tmp / "worker.log")  # fmt: skip
    web = python_module("test-streaming-web", "recipes.streaming.web", "--port", str(port), env=env,
                        log_path=tmp / "web.log")  # fmt: skip
    try:
        worker.start()
        web.start()  # both import at once: half the wait
        worker.wait_for_log(WORKER_READY, timeout=60)
        web.wait_for_log(WEB_READY, timeout=60)
        yield {"url": f"http://127.0.0.1:{port}/", "queue": queue, "address": temporal_server.address, "web": web}
    finally:
        web.stop()
        worker.stop()


def chromium_path() -> str:
    """The browser `make test` found or installed (``ci/browser.py``); fails, never skips."""
    try:
        found = find_chromium()
    except NoBrowser as err:
        pytest.fail(str(err))
    if found is None:
        pytest.fail("The browser tests need Chromium or Chrome: `make test` finds or installs one "
                    "(python ci/browser.py), or set CHROMIUM_PATH to a Chromium or Chrome binary.")  # fmt: skip
    return found


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    executable = chromium_path()
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS, headless=True)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1000, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    tab.js_errors = []  # uncaught exceptions in the page's script
    tab.on("pageerror", lambda err: tab.js_errors.append(str(err)))
    try:
        yield tab
    finally:
        context.close()


def _run_id(url: str) -> str:
    assert "?run=" in url, f"the page put no run id in its address: {url}"
    return url.split("?run=", 1)[1].split("&")[0]


async def _run_facts(address: str, queue: str, workflow_id: str) -> dict:
    client = await Client.connect(address, plugins=[OpenAIAgentsPlugin()])
    handle = client.get_workflow_handle(workflow_id)
    result = await asyncio.wait_for(handle.result(), 60)
    runs = [w.id async for w in client.list_workflows(f"TaskQueue = '{queue}'")]
    return {"result": result, "runs": runs}


async def _status(address: str, workflow_id: str) -> WorkflowExecutionStatus | None:
    client = await Client.connect(address)
    return (await client.get_workflow_handle(workflow_id).describe()).status


async def _runs_on(address: str, queue: str) -> list[str]:
    client = await Client.connect(address)
    return [w.id async for w in client.list_workflows(f"TaskQueue = '{queue}'")]


@pytest.mark.integration
@pytest.mark.browser
def test_the_answer_streams_in_and_a_reload_mid_answer_follows_the_same_run(browser, site, page, record_property):
    runs_before = _in_thread(_runs_on, site["address"], site["queue"])
    page.goto(site["url"])
    page.fill("#question", QUESTION)
    asked = time.monotonic()
    page.click("#ask")
    page.wait_for_url("**/?run=stream-*")
    workflow_id = _run_id(page.url)
    assert page.get_attribute("#ui-link", "href").endswith(f"/workflows/{workflow_id}")
    page.wait_for_selector("#transcript .tool")
    tool_s = time.monotonic() - asked

    # 1. The text grows while the run goes on: distinct lengths, each longer, status not done.
    lengths: list[int] = []
    first_text_s = None
    deadline = time.monotonic() + 30
    while len(lengths) < 3 and time.monotonic() < deadline:
        length = len(page.evaluate(ANSWER_JS))
        if length and first_text_s is None:
            first_text_s = time.monotonic() - asked
        if length and (not lengths or length != lengths[-1]):
            assert not page.evaluate(DONE_JS), f"the run finished before the text was seen growing: {lengths}"
            lengths.append(length)
        page.wait_for_timeout(40)
    assert len(lengths) >= 3 and lengths == sorted(set(lengths)), f"the answer did not grow while written: {lengths}"
    assert "get_weather_alerts" in page.text_content("#transcript"), "the tool call is shown"

    # 2. Reload mid-answer: same run id, the text is back, and it completes.
    assert _in_thread(_status, site["address"], workflow_id) == WorkflowExecutionStatus.RUNNING, "reloaded mid-answer"
    shown_before_reload = page.evaluate(ANSWER_JS)
    page.reload()
    reloaded = time.monotonic()
    assert _run_id(page.url) == workflow_id
    page.wait_for_function(f"() => ({ANSWER_JS})().length >= {len(shown_before_reload)}")
    text_again_s = time.monotonic() - reloaded
    assert page.input_value("#question") == QUESTION, "the page shows the run's question again"
    page.wait_for_function(DONE_JS, timeout=30_000)
    done_s = time.monotonic() - asked
    final_text = page.evaluate(ANSWER_JS)
    facts = _in_thread(_run_facts, site["address"], site["queue"], workflow_id)
    assert final_text == facts["result"], "the page's text is the workflow's result, nothing doubled or missing"
    assert 0 < len(shown_before_reload) < len(final_text), "the reload came mid-answer"
    assert page.text_content("#run-id") == workflow_id
    assert sorted(set(facts["runs"]) - set(runs_before)) == [workflow_id], f"the reload started no run: {facts['runs']}"
    assert page.evaluate("() => source.readyState") == 2, "the page closed its event stream after done"
    assert not page.js_errors
    record_property("figures", f"streaming web: tool call shown {tool_s:.2f}s and first text {first_text_s:.2f}s "
                               f"after Ask, done {done_s:.1f}s after, "
                               f"text back {text_again_s:.2f}s after a reload; {len(final_text)} chars")  # fmt: skip


@pytest.mark.integration
@pytest.mark.browser
def test_bad_input_and_an_unknown_run_each_show_one_sentence(browser, site, page):
    runs_before = _in_thread(_runs_on, site["address"], site["queue"])
    page.goto(site["url"])
    for question, why in (("   ", "empty"), ("x" * (MAX_QUESTION_CHARS + 1), "too long")):
        with pytest.raises(ValueError) as expected:
            check_question(question)
        page.fill("#question", question)
        page.click("#ask")
        page.wait_for_function("() => document.getElementById('problem').textContent !== ''")
        assert page.text_content("#problem") == str(expected.value), why
        assert "?run=" not in page.url and page.is_hidden("#run"), f"no run shown for a question {why}"
        page.evaluate("() => { document.getElementById('problem').textContent = ''; }")

    page.goto(site["url"] + "?run=stream-doesnotexist")
    page.wait_for_function(f"() => ({STATUS_JS})().includes('No run with id')")
    status = page.evaluate(STATUS_JS)
    assert status.startswith("No run with id 'stream-doesnotexist'") and "check the id" in status, status
    assert page.evaluate("() => source.readyState") == 2, "the page stopped reconnecting"
    assert page.is_hidden("#ui-link")
    assert _in_thread(_runs_on, site["address"], site["queue"]) == runs_before, "bad input started no run"
    assert not page.js_errors


@pytest.mark.integration
def test_a_taken_port_and_an_absent_server_each_end_with_one_sentence():
    """No browser: the command's own errors, exit code 1 and one line on stderr."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**os.environ, "STREAMING_WEB_PORT": str(port), "PYTHONPATH": str(REPO_ROOT)}
        env.pop("DEBUG", None)
        absent = {**env, "STREAMING_WEB_PORT": str(free_port()), "TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
        command = [sys.executable, "-m", "recipes.streaming.web"]
        procs = [subprocess.Popen(command, env=e, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for e in (env, absent)]  # fmt: skip
        (_, port_err), (_, absent_err) = (p.communicate(timeout=60) for p in procs)
    assert [p.returncode for p in procs] == [1, 1], (port_err, absent_err)
    assert port_err == (f"error: port {port} on 127.0.0.1 is in use (another copy of this page, or another program); "
                        "pass --port or set STREAMING_WEB_PORT.\n")  # fmt: skip
    assert absent_err.startswith("error: No Temporal server answers at 127.0.0.1:") and absent_err.count("\n") == 1, absent_err
    assert "Traceback" not in port_err + absent_err


def test_a_quiet_stream_gets_keepalives_and_loses_no_item():
    async def slow():
        try:
            for n in range(3):
                await asyncio.sleep(0.25)
                yield n
        finally:
            closed.append(True)

    async def scenario():
        got = [item async for item in with_keepalive(slow(), 0.1)]
        stream = with_keepalive(slow(), 0.1)
        await anext(stream)  # a keepalive, with the next item still pending
        await stream.aclose()  # the page went away
        await asyncio.sleep(0.01)
        return got

    closed: list[bool] = []
    got = _in_thread(scenario)  # its own thread: a browser test leaves Playwright's loop on this one
    assert [n for n in got if n is not None] == [0, 1, 2] and got.count(None) >= 4, got
    assert closed == [True, True], "the follow() under a stream ends with it"
    assert sse("view", {"a": "x\ny"}) == 'event: view\ndata: {"a": "x\\ny"}\n\n'
    assert sse(None, comment="keepalive") == ": keepalive\n\n"


def test_the_page_is_self_contained():
    """No build step, nothing from another site: the machine running it may have no internet."""
    page = (Path(REPO_ROOT) / "recipes" / "streaming" / "page.html").read_text(encoding="utf-8")
    assert "http://" not in page and "https://" not in page and "<script src" not in page
