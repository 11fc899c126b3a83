"""Every notebook in notebooks/ is a test, twice over: papermill runs it top to bottom in a fresh
kernel with the offline model, and once against the model wire-format double on one of the paths
the real-model backends use: Chat Completions for ``openai-compatible`` (``chat``), the Responses
API for ``openai`` (``responses``), or Anthropic's Messages API through LiteLLM for ``litellm``
(``claude``). Its last cell asserts the lesson it teaches. A notebook's metadata names its paths and
why that wire format (``"tutorial": {"model_paths": ["offline", "chat"], "model_paths_why": "..."}``);
one that calls no model runs once, on the double, which must then see no request. A notebook whose
metadata says ``"model_double": "small model"`` meets a double that acts like the small local model
real users bring (the ``small_model_double`` fixture): its checks must hold whatever the model's plan and speed. Each wire format is
run by at least two notebooks. A second run of a notebook on another wire format proves the same
lesson again at ~3 CPU-seconds per kernel and worker start, on a CPU-bound suite.

After each run: nothing the notebook started is still running; nothing tried to
reach another machine (all outside traffic goes to a logging proxy that refuses
it); and with the double, the notebook sent it at least one model request and its
API key appears in no history, ledger line, log or executed notebook. Executed
copies are kept in build/notebooks/<backend>/.
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import pytest
from temporalio.api.history.v1 import History
from temporalio.client import Client

from ci.run_notebooks import OUTPUT_DIR, REPO_ROOT, RUN_TAG_ENV, notebook_paths, processes_tagged, run_notebook
from tutorial.ledger import Ledger

#: offline: the rule-based stand-in; chat / responses / claude: the wire-format double.
BACKENDS = {"offline": "offline", "chat": "openai-compatible", "responses": "openai", "claude": "litellm"}
#: Which of the double's formats each path speaks (its ``env(provider=...)``).
DOUBLE_PROVIDER = {"chat": "openai", "responses": "openai", "claude": "anthropic"}
#: Model settings a developer's shell may carry; a notebook run sets its own.
MODEL_ENV = ("AGENT_MODEL_BACKEND", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_DEFAULT_MODEL", "AGENT_TRACE_EXPORT",
             "LITELLM_MODEL", "LITELLM_API_BASE", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "AGENT_MODEL_TIMEOUTS")  # fmt: skip


def assert_nothing_left(tag: str, what: str) -> None:
    deadline = time.monotonic() + 5
    while (left := processes_tagged(tag)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{what} left processes running: {sorted(left)}"


async def _histories_since(address: str, started: datetime) -> list[bytes]:
    """Each history as the server stores it (protobuf bytes: payloads raw, not base64 as in JSON)."""
    client = await Client.connect(address)
    query = f"StartTime >= '{started.isoformat()}'"
    return [History(events=(await client.get_workflow_handle(w.id, run_id=w.run_id).fetch_history()).events).SerializeToString()
            async for w in client.list_workflows(query)]  # fmt: skip


def places_holding(secret: str, *, executed: Path, started: datetime, ledger_mark: int, server) -> list[str]:
    """Where ``secret`` shows up: the server's database (every history, as stored, also
    runs the visibility index has not listed yet), the histories of every workflow listed
    as started since ``started``, the ledger since ``ledger_mark``, process logs written
    since, the executed notebook."""
    found = []
    db = Path(server.db_file) if server.db_file else None
    for part in (db, *(db.parent.glob(db.name + "-*") if db else ())):
        if part is not None and part.exists() and secret.encode() in part.read_bytes():
            found.append(f"the server's database {part}")
    for history in asyncio.run(_histories_since(server.address, started)):
        if secret.encode() in history:
            found.append(f"the history of a workflow: {history[:80]!r}...")
    ledger = Ledger()
    if any(secret in str(entry) for entry in ledger.entries(since=ledger_mark)):
        found.append(str(ledger.path))
    for log in (REPO_ROOT / "build" / "logs").glob("*.log"):
        if log.stat().st_mtime >= started.timestamp() and secret in log.read_text(errors="replace"):
            found.append(str(log))
    if secret in executed.read_text(encoding="utf-8"):
        found.append(str(executed))
    return found


#: ``model_paths`` for a notebook that calls no model: its one run, on the double, proves it.
NO_MODEL = ["no model"]
#: The ``model_double`` a notebook's metadata may ask for instead of the double's own rules.
DOUBLES = {None: "model_double", "small model": "small_model_double"}


WIRE_FORMATS = [name for name in BACKENDS if name != "offline"]


@functools.cache
def _tutorial_meta(path: Path) -> dict:
    """The notebook's ``metadata.tutorial``, read once per session."""
    return json.loads(path.read_text(encoding="utf-8")).get("metadata", {}).get("tutorial", {})


def model_paths(path: Path) -> list[str]:
    """The backends a notebook runs on, from its metadata: offline and one wire format (or "no model")."""
    meta = _tutorial_meta(path)
    paths = meta.get("model_paths")
    assert paths and meta.get("model_paths_why"), f"{path.name}: say which model paths it runs on, and why"
    assert paths == NO_MODEL or (paths[0] == "offline" and len(paths) == 2 and paths[1] in WIRE_FORMATS), (
        f"{path.name}: model_paths must be {NO_MODEL} or ['offline', one of {WIRE_FORMATS}], not {paths}")
    assert meta.get("model_double") in DOUBLES, f"{path.name}: model_double must be one of {list(DOUBLES)}"
    return paths


def _double_fixture(path: Path) -> str:
    return DOUBLES[_tutorial_meta(path).get("model_double")]


def _notebook_runs() -> list:
    # A run against the small-model double mostly waits on its 5 tokens a second: started first, it overlaps the rest.
    def slow(path: Path, backend: str) -> bool:
        return backend != "offline" and _double_fixture(path) == "small_model_double"

    return [pytest.param(path, backend, id=f"{path.stem}-{backend.replace(' ', '-')}",
                         marks=[pytest.mark.slow] if slow(path, backend) else [])
            for path in notebook_paths() for backend in model_paths(path)]  # fmt: skip


def _last_request(double) -> int:
    """The sequence number of the double's latest request (its log keeps the newest only)."""
    logged = double.requests()
    return logged[-1]["seq"] if logged else 0


@pytest.mark.notebook
@pytest.mark.parametrize(("path", "backend"), _notebook_runs())
def test_notebook_runs_and_proves_its_lesson(path, backend, temporal_server, egress, request, monkeypatch,
                                             record_property):  # fmt: skip
    calls_no_model = backend == NO_MODEL[0]
    if calls_no_model:
        backend = "chat"
    for name in MODEL_ENV:
        monkeypatch.delenv(name, raising=False)
    fixture = _double_fixture(path)
    double = request.getfixturevalue(fixture) if backend != "offline" else None
    double_env = double.env(provider=DOUBLE_PROVIDER[backend]) if double else {}
    if double and fixture == "small_model_double":
        double_env["AGENT_MODEL_TIMEOUTS"] = "local"  # as the README says to for a model on this machine's CPU
    env = {"AGENT_MODEL_BACKEND": BACKENDS[backend], **double_env, **egress.env()}
    tag = uuid.uuid4().hex
    for name, value in {**env, RUN_TAG_ENV: tag}.items():
        monkeypatch.setenv(name, value)
    egress_before = len(egress.attempts)
    started, ledger_mark = datetime.now(timezone.utc), Ledger().mark()
    requests_before = _last_request(double) if double else 0

    t0 = time.monotonic()
    executed = run_notebook(path, output_dir=OUTPUT_DIR / backend)
    # Listed in the log's "measured" section: which notebook ran on which model path, and how long.
    record_property("figures", f"notebook {path.stem} on {backend} ({BACKENDS[backend]}): "
                               f"{time.monotonic() - t0:.0f}s -> {executed.relative_to(REPO_ROOT)}")  # fmt: skip

    # The kernel is gone now; whatever it started (workers, services, servers) must be gone too.
    assert_nothing_left(tag, path.name)
    assert egress.attempts[egress_before:] == [], "tried to reach another machine"
    if double:
        sent = _last_request(double) - requests_before
        if calls_no_model:
            assert sent == 0, f"{path.name} says it calls no model, and sent the model {sent} request(s)"
        else:
            assert sent > 0, f"{path.name} sent the {backend} model path no request: this run proved nothing about it"
        key = double.env()["OPENAI_API_KEY"]  # the one key the double takes, whichever provider's variable
        assert not places_holding(key, executed=executed, started=started, ledger_mark=ledger_mark,
                                  server=temporal_server), "the API key was written down"  # fmt: skip


@pytest.mark.notebook
def test_parameters_override_the_environment(temporal_server, model_double, egress, weather, monkeypatch):
    """papermill -p: the environment says "the double, via Chat Completions"; the parameters say
    "offline, and this weather API" -- and the parameters win (notebook 03's nws_api_url branch)."""
    for name, value in {"AGENT_MODEL_BACKEND": "openai-compatible", **model_double.env(), **egress.env()}.items():
        monkeypatch.setenv(name, value)
    weather.reset()
    model_requests = len(model_double.requests())
    path = next(p for p in notebook_paths() if p.name.startswith("03_"))
    executed = run_notebook(path, {"model": "offline", "nws_api_url": weather.url}, output_dir=OUTPUT_DIR / "parameters")
    text = executed.read_text(encoding="utf-8")
    assert "Model:    offline" in text and f"Weather API: {weather.url}" in text
    assert "CA" in [r["area"] for r in weather.requests()], "the notebook's worker called the API it was given"
    assert len(model_double.requests()) == model_requests, "no request went to the model the environment named"


def test_the_key_search_finds_a_key_where_it_is(tmp_path, temporal_server):
    """The search above must be able to fail: plant the key in a history and a notebook."""
    key = f"sk-planted-{uuid.uuid4().hex}"
    started, mark = datetime.now(timezone.utc), Ledger().mark()

    async def plant():
        client = await Client.connect(temporal_server.address)
        return await client.start_workflow("NoSuchWorkflow", key, id=f"planted-{uuid.uuid4().hex[:6]}",
                                           task_queue=f"nobody-{uuid.uuid4().hex[:6]}")  # fmt: skip

    handle = asyncio.run(plant())
    notebook = tmp_path / "executed.ipynb"
    notebook.write_text(f'{{"cells": [{{"outputs": ["{key}"]}}]}}', encoding="utf-8")
    try:
        # The visibility index that lists workflows lags behind on a busy server: wait for it.
        found = places_holding(key, executed=notebook, started=started, ledger_mark=mark, server=temporal_server)
        deadline = time.monotonic() + 60
        while not any(f.startswith("the history of a workflow") for f in found) and time.monotonic() < deadline:
            time.sleep(1)
            found = places_holding(key, executed=notebook, started=started, ledger_mark=mark, server=temporal_server)
    finally:
        asyncio.run(handle.terminate("planted for a test"))
    assert str(notebook) in found and any(f.startswith("the history of a workflow") for f in found), found
    if temporal_server.db_file:  # a server this tutorial started: its database file is searched too
        assert any(f.startswith("the server's database") for f in found), found


def test_each_wire_format_is_run_by_at_least_two_notebooks():
    runs_on = {fmt: [p.stem[:2] for p in notebook_paths() if fmt in model_paths(p)] for fmt in WIRE_FORMATS}
    assert all(len(notebooks) >= 2 for notebooks in runs_on.values()), runs_on


def test_nothing_left_sees_a_process_it_tagged(monkeypatch):
    tag = uuid.uuid4().hex
    monkeypatch.setenv(RUN_TAG_ENV, tag)
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(AssertionError, match="left processes running"):
            assert_nothing_left(tag, "this test")
    finally:
        child.kill()
        child.wait()
