"""What every notebook does first: check its parameters, pick the model and the
Temporal server, and route traces locally. One call, one printed summary."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from recipes.core.errors import ConfigurationError
from recipes.core.models import ModelChoice, choose_model
from recipes.core.tracing import install_tracing
from tutorial.settings import TemporalSettings
from tutorial.traces import LocalTraceCollector, collector

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def check_parameter(name: str, value: object, expected: type | tuple[type, ...]) -> None:
    """Fail with one sentence when a notebook parameter has the wrong type."""
    if isinstance(value, bool) and expected in (int, float):
        ok = False  # True is an int in Python, but never a sensible number here
    else:
        ok = isinstance(value, expected)
    if not ok:
        names = (
            " or ".join(t.__name__ for t in expected)
            if isinstance(expected, tuple)
            else expected.__name__
        )
        raise ConfigurationError(
            f"Parameter {name!r} should be a {names}, got {value!r} "
            f"({type(value).__name__}); fix it in the parameters cell or the -p option."
        )


@dataclass
class NotebookSetup:
    model: ModelChoice
    temporal: TemporalSettings
    traces: LocalTraceCollector

    def worker_env(self) -> dict[str, str]:
        """Environment for a worker subprocess: same model, same Temporal server."""
        return {**self.model.as_env(), **self.temporal.as_env()}


def setup(model: str = "", model_name: str = "", temporal_address: str = "", quiet: bool = False) -> NotebookSetup:
    """Validate the parameters cell and resolve model + Temporal settings.

    Empty strings mean "use the environment / defaults" (see README, Switches).
    """
    for name, value in (("model", model), ("model_name", model_name), ("temporal_address", temporal_address)):
        check_parameter(name, value, str)
    choice = choose_model(model or None, model_name or None)
    temporal = TemporalSettings.load(address=temporal_address or None)
    install_tracing(model=choice)
    traces = collector()
    # Workers report a failed workflow task at WARNING with a full traceback;
    # the notebooks show failures through the history instead.
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    if not quiet:
        print(f"Model:    {choice.describe()}")
        print(f"Temporal: {temporal.address} (namespace {temporal.namespace})")
    return NotebookSetup(choice, temporal, traces)


def learning_path() -> list[tuple[str, str, str]]:
    """(file, title, what you'll learn) for each notebook, read from its first cell."""
    rows = []
    for path in sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")):
        first = json.loads(path.read_text(encoding="utf-8"))["cells"][0]
        text = "".join(first["source"]) if isinstance(first["source"], list) else first["source"]
        title = text.splitlines()[0].lstrip("# ").strip()
        learn = ""
        if "What you'll learn" in text:
            after = text.split("What you'll learn", 1)[1].split("What you need", 1)[0]
            learn = " ".join(line.strip("-*: ").strip() for line in after.splitlines() if line.strip("-*: ").strip())
        rows.append((path.name, title, learn))
    return rows



async def wait_until(predicate, timeout: float = 30.0, what: str = "the condition", poll_s: float = 0.1):
    """Poll ``predicate()`` (sync or async) until it returns something truthy; return that value.

    Notebooks wait on evidence (a ledger entry, a history event), never on a
    bare sleep, so they are as fast as the machine allows and fail clearly.
    Async, so a worker running in the same kernel keeps working meanwhile.
    """
    import asyncio
    import inspect
    import time

    from recipes.core.errors import TutorialError

    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() > deadline:
            raise TutorialError(f"Timed out after {timeout:.0f}s waiting for {what}.")
        await asyncio.sleep(poll_s)
