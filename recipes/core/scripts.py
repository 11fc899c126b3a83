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

#: How long a starter keeps waiting for a result while the Temporal server is unreachable.
OUTAGE_GRACE_S = 30.0
_UNAVAILABLE = {RPCStatusCode.UNAVAILABLE, RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNKNOWN}


class RunFailed(TutorialError):
    """A workflow run ended in failure; the message names its root cause."""


def verbose(argv: list[str] | None = None) -> bool:
    """``-v`` / ``--verbose`` in ``argv`` (default ``sys.argv``), or ``DEBUG`` set to a true value."""
    args = sys.argv[1:] if argv is None else argv
    debug = os.environ.get("DEBUG", "").strip().lower() not in ("", "0", "false", "no")
    return debug or "-v" in args or "--verbose" in args


def add_verbose_flag(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``-v`` / ``--verbose``: print tracebacks instead of one line (read by :func:`run_script`)."""
    for sub in [parser, *_subparsers(parser)]:
        # SUPPRESS: a subcommand's default must not undo a -v given before it.
        sub.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                         help="full tracebacks on errors")  # fmt: skip
    return parser


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    return [p for action in parser._actions if isinstance(action, argparse._SubParsersAction)
            for p in action.choices.values()]  # fmt: skip


def run_script(main: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run`` for an entrypoint holding a Temporal client: a :class:`TutorialError` is one line on
    stderr and exit 1, Ctrl-C exits 130. A client alive at interpreter shutdown can abort the process
    (temporalio/sdk-python#300: exit 134 in about 1 run in 10 here), so it is collected first."""
    try:
        return asyncio.run(main)
    except TutorialError as err:
        if verbose():
            traceback.print_exc()
        else:
            print(f"error: {err}", file=sys.stderr, flush=True)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
    finally:
        gc.collect()


def positive_int(text: str) -> int:
    """An ``argparse`` type: a whole number of at least 1 (``--runs 0`` gets one sentence)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def require_text(name: str, value: str | None, example: str) -> str:
    """``value`` stripped, or one sentence saying it is empty (before any workflow starts)."""
    text = (value or "").strip()
    if not text:
        raise ConfigurationError(f"The {name} is empty; give one, e.g. {example!r}.")
    return text


def root_cause(error: BaseException) -> str:
    """The innermost cause of a workflow failure, e.g. ``InvalidState: 'ZZ' is not a US state code``."""
    cause: BaseException = error
    while getattr(cause, "cause", None) is not None or cause.__cause__ is not None:
        cause = getattr(cause, "cause", None) or cause.__cause__  # type: ignore[assignment]
    kind = getattr(cause, "type", None) or type(cause).__name__
    message = getattr(cause, "message", None) or str(cause)
    return f"{kind}: {message}"


def is_outage(err: RPCError) -> bool:
    """The server is unreachable (down, restarting), as opposed to refusing the call."""
    return err.status in _UNAVAILABLE or "connect" in str(err).lower()


class OutageGrace:
    """Rides out a Temporal server outage of up to ``grace_s`` seconds across the retries of
    one call: :meth:`tolerate` each ``RPCError``, :meth:`reset` once the server answers."""

    def __init__(self, grace_s: float) -> None:
        self.grace_s = grace_s
        self._down_since: float | None = None

    def reset(self) -> None:
        self._down_since = None

    def tolerate(self, err: RPCError, doing: str) -> None:
        """Return if ``err`` is an outage still within the grace (retry after a pause); re-raise
        anything else, and a :class:`TutorialError` saying "Lost the Temporal server for over
        N s while <doing>" once the outage has lasted longer."""
        if not is_outage(err):
            raise err
        now = time.monotonic()
        self._down_since = self._down_since or now
        if now - self._down_since > self.grace_s:
            raise TutorialError(f"Lost the Temporal server for over {self.grace_s:.0f}s while {doing}") from None


async def wait_for_result(handle: WorkflowHandle, *, ui_url: str | None = None, grace_s: float = OUTAGE_GRACE_S) -> Any:
    """``await handle.result()``, but a server outage of up to ``grace_s`` seconds is
    waited out (the run goes on without us), and a failed run is a :class:`RunFailed`
    naming its root cause and the Web UI link."""
    link = f" Web UI: {ui_url}" if ui_url else ""
    outage = OutageGrace(grace_s)
    while True:
        try:
            return await handle.result()
        except WorkflowFailureError as err:
            raise RunFailed(f"Workflow {handle.id} failed: {root_cause(err)}.{link}") from None
        except RPCError as err:
            outage.tolerate(err, f"waiting for {handle.id}; the run itself goes on on the server.{link}")
            print(f"(Temporal server unreachable, still waiting for {handle.id} ...)", file=sys.stderr, flush=True)
            await asyncio.sleep(1.0)
