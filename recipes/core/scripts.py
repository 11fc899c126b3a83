"""What every terminal entrypoint shares: one line instead of a traceback, and a wait for a run's result
that rides out a short Temporal outage.

    if __name__ == "__main__":
        run_script(main())        # TutorialError -> "error: <sentence>" on stderr, exit 1

``-v`` / ``--verbose`` or ``DEBUG=1`` prints the traceback instead. Anything that is not a
:class:`TutorialError` is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import sys
import time
import traceback
from collections.abc import Coroutine
from typing import Any, TypeVar

from temporalio.client import WorkflowFailureError, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from recipes.core.errors import ConfigurationError, TutorialError

T = TypeVar("T")
OUTAGE_GRACE_S = 30.0  # how long a starter waits for a result while the Temporal server is unreachable


class RunFailed(TutorialError):
    """A workflow run ended in failure; the message names its root cause."""


def verbose(argv: list[str] | None = None) -> bool:
    """``-v`` / ``--verbose`` in ``argv`` (default ``sys.argv``), or ``DEBUG`` set to a true value."""
    args = sys.argv[1:] if argv is None else argv
    return os.environ.get("DEBUG", "").strip().lower() not in ("", "0", "false", "no") or bool({"-v", "--verbose"} & set(args))


def add_verbose_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``-v`` / ``--verbose`` on the parser and its subcommands (read by :func:`run_script`)."""
    subcommands = [p for a in parser._actions if isinstance(a, argparse._SubParsersAction) for p in a.choices.values()]
    for sub in [parser, *subcommands]:  # SUPPRESS: a subcommand's default must not undo a -v given before it
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS, help="full tracebacks on errors")
    return parser


def run_script(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` for an entrypoint holding a Temporal client: a :class:`TutorialError` is one line on
    stderr and exit 1, Ctrl-C exits 130. A client alive at interpreter shutdown can abort the process
    (temporalio/sdk-python#300: exit 134 in about 1 run in 10 here), so it is collected first."""
    try:
        return asyncio.run(main)
    except TutorialError as err:
        traceback.print_exc() if verbose() else print(f"error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    finally:
        gc.collect()


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1 (``--runs 0`` gets one sentence)."""
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {text!r}")
    return int(text)


def require_text(name: str, value: str | None, example: str) -> str:
    """``value`` stripped, or one sentence saying it is empty (before any workflow starts)."""
    if not (text := (value or "").strip()):
        raise ConfigurationError(f"The {name} is empty; give one, e.g. {example!r}.")
    return text


def root_cause(error: BaseException) -> str:
    """The innermost cause of a workflow failure, e.g. ``InvalidState: 'ZZ' is not a US state code``."""
    cause: BaseException = error
    while (inner := getattr(cause, "cause", None) or cause.__cause__) is not None:
        cause = inner
    return f"{getattr(cause, 'type', None) or type(cause).__name__}: {getattr(cause, 'message', None) or cause}"


def is_outage(err: RPCError) -> bool:
    """The server is unreachable (down, restarting), as opposed to refusing the call."""
    down = (RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNKNOWN)
    return err.status in down or "connect" in str(err).lower()


class OutageGrace:
    """Rides out a server outage of up to ``grace_s`` seconds across the retries of one call:
    :meth:`tolerate` each ``RPCError``, :meth:`reset` once the server answers."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s, self._down_since = grace_s, None

    def reset(self) -> None:
        self._down_since = None

    def tolerate(self, err: RPCError, doing: str) -> None:
        """Return if ``err`` is an outage within the grace (retry after a pause); re-raise anything else,
        and a :class:`TutorialError` once the outage has lasted longer."""
        if not is_outage(err):
            raise err
        self._down_since = self._down_since or time.monotonic()
        if time.monotonic() - self._down_since > self.grace_s:
            raise TutorialError(f"Lost the Temporal server for over {self.grace_s:.0f}s while {doing}") from None


async def wait_for_result(handle: WorkflowHandle, *, ui_url: str | None = None, grace_s: float = OUTAGE_GRACE_S) -> Any:
    """``await handle.result()``, but a server outage of up to ``grace_s`` seconds is waited out (the run
    goes on without us), and a failed run is a :class:`RunFailed` naming its root cause and Web UI link."""
    link, outage = f" Web UI: {ui_url}" if ui_url else "", OutageGrace(grace_s)
    while True:
        try:
            return await handle.result()
        except WorkflowFailureError as err:
            raise RunFailed(f"Workflow {handle.id} failed: {root_cause(err)}.{link}") from None
        except RPCError as err:
            outage.tolerate(err, f"waiting for {handle.id}; the run itself goes on on the server.{link}")
            print(f"(Temporal server unreachable, still waiting for {handle.id} ...)", file=sys.stderr, flush=True)
            await asyncio.sleep(1.0)
