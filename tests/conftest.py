"""Shared fixtures: one Temporal dev server for the test session, local tracing, the
NWS stand-in, the OpenAI wire-format double, and a logger of outside connections."""

from __future__ import annotations

import os
import time
import uuid

import pytest


@pytest.fixture(scope="session", autouse=True)
def local_tracing():
    """Keep Agents SDK traces local, as the notebooks do (no export warnings without a key)."""
    from recipes.core.tracing import install_tracing
    from tutorial.traces import collector

    install_tracing()
    return collector()


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    """The dev server is started (or found) once, by the process that runs the
    session -- with ``-n``, the controller, before any worker asks for it -- and
    stopped by it at the end if it started it."""
    if _is_xdist_worker(config) or config.option.collectonly:
        return
    from tutorial.temporal_server import ensure_server

    config.stash[_SERVER] = ensure_server()


_RUN_ORDER = {"slow": 0, "notebook": 1, "integration": 2, "browser": 2}


def pytest_collection_modifyitems(config, items):
    """Longest first. With ``-n``, xdist hands tests out in this order (``--dist worksteal``
    rebalances the rest), so a minute-long test started last would end the session alone while
    the other processes sit idle: tests marked ``slow`` first, then the notebooks, then the
    tests that start processes, then the rest. Each group keeps its own order.

    A test marked ``site`` reads the site built from the whole run's notebooks, so it runs only when
    asked for by ``-m site`` (`make test`'s last step), never beside the notebooks it reads."""
    if "site" not in (config.option.markexpr or ""):
        later = [item for item in items if item.get_closest_marker("site")]
        if later:
            config.hook.pytest_deselected(items=later)
            items[:] = [item for item in items if item not in later]

    def group(item) -> int:
        return min((rank for marker, rank in _RUN_ORDER.items() if item.get_closest_marker(marker)), default=3)

    items.sort(key=group)


def pytest_unconfigure(config):
    server = config.stash.get(_SERVER, None)
    if server is not None and server.started_here:
        server.stop()


_SERVER = pytest.StashKey()


@pytest.fixture(scope="session")
def temporal_server():
    """The server at TEMPORAL_ADDRESS (default localhost:7233), which the session started or found."""
    from tutorial.temporal_server import ensure_server

    return ensure_server()


def pytest_sessionfinish(session, exitstatus):
    # Free Temporal clients before interpreter shutdown: one still alive then can
    # abort the process after the summary (temporalio/sdk-python#300).
    import gc

    gc.collect()


FIGURES = "figures"


#: What `make test` should take on an idle 2-core machine, install excluded (issue: a newcomer's first run).
SUITE_TARGET_S = 600


def pytest_sessionstart(session):
    session.config.stash[_STARTED] = time.monotonic()


def pytest_terminal_summary(terminalreporter, config):
    """Measured figures tests recorded (``record_property("figures", text)``), printed
    in the normal log whether the test ran here or in an xdist worker; then the suite's
    own time against its target, with the machine's cores (a figure, never a failure)."""
    lines = [value for report in terminalreporter.getreports("passed") + terminalreporter.getreports("failed")
             for name, value in report.user_properties if name == FIGURES]  # fmt: skip
    if lines:
        terminalreporter.section("measured")
        for text in sorted(lines):  # grouped by their prefix ("chaos: ...", "notebook ...")
            terminalreporter.write_line(text)
    started = config.stash.get(_STARTED, None)
    if started is not None and not _is_xdist_worker(config):
        took = time.monotonic() - started
        terminalreporter.write_line(
            f"suite: {took // 60:.0f} min {took % 60:.0f} s on {os.cpu_count()} core(s), install excluded "
            f"(target on an idle 2-core machine: under {SUITE_TARGET_S // 60} min; load average now "
            f"{os.getloadavg()[0]:.1f})")  # fmt: skip


_STARTED = pytest.StashKey()


@pytest.fixture(scope="module")
def no_deadlock_detection():
    """For a module whose in-process workers read the ~3 MB alert history: Temporal's 2 s deadlock
    detector fired on a starved machine (make soak) while the workflow deserialized it, and the worker,
    whose workflow thread could not be stopped, then never shut down (the test hung). These tests are
    about payloads, not deadlocks: ``TEMPORAL_DEBUG`` turns the detector off for the workers they start."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("TEMPORAL_DEBUG", "1")
        yield


@pytest.fixture(scope="module")
def weather():
    """The local NWS-shaped weather service for one test module, with
    NWS_API_URL pointing at it (restored afterwards)."""
    from tutorial.nws_service import WeatherService

    service = WeatherService.start(port=0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NWS_API_URL", service.url)
        try:
            yield service
        finally:
            service.stop()


def _keyed_double(**options):
    """A model double requiring a known fake key (so a test can look for that key everywhere it must not be)."""
    from tutorial.model_double import ModelDouble

    with ModelDouble.start(api_key=f"sk-double-{uuid.uuid4().hex}", **options) as double:
        yield double


@pytest.fixture(scope="session")
def model_double():
    """The wire-format double, by its own rules."""
    yield from _keyed_double()


@pytest.fixture(scope="session")
def small_model_double():
    """The double acting like a small open-weights model on a CPU, as issue 28 met one (a 1.5B model under
    llama.cpp): ``#misbehave:slow``'s profile on every request -- one tool call a question, then the answer,
    5 tokens a second after a 2 s first token."""
    from tutorial.model_double.misbehaviour import SLOW

    yield from _keyed_double(small_model=SLOW)


@pytest.fixture(scope="session")
def egress():
    """A proxy on loopback that records (and refuses) every attempt to reach another machine."""
    from tests.egress import EgressLogger

    with EgressLogger() as logger:
        yield logger
