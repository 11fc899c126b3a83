"""Show a streamed run as it arrives: in place in JupyterLab, plain text under papermill.

    watch = StreamWatch(client, workflow_id, view=StreamView("Any weather alerts in California?"))
    await watch.follow()                                          # until the run ends
    await watch.follow(until=lambda u: len(u.view.pending) >= 40)  # ...or until this holds
    ...                                                           # (kill the worker here)
    await watch.follow()                                          # carries on where it stopped

``StreamWatch`` drives :func:`recipes.streaming.subscriber.follow` and keeps every
:class:`~recipes.streaming.subscriber.Update` (with its ``at`` time), so a cell can measure
and prove what a person saw. Stopping and following again resumes from the same offset
with the same reader, so a withdrawal across the two calls is still recognised.

``StreamView`` shows it, in one of two modes:

``live``
    One output updated in place through an IPython display handle: the committed text, the
    text of the model call in flight (blue, with a cursor), a withdrawn attempt struck
    through, and a status line. Chosen when the kernel belongs to a Jupyter server
    (JupyterLab, Notebook 7) -- the same test as the live run view's widget mode.
``print``
    Append-only plain text (:func:`~recipes.streaming.subscriber.rendered_changes`): what
    changed is printed as it arrives, a withdrawal as a note followed by the new text.
    Chosen under papermill/nbclient (which records printed output, not in-place updates),
    in a terminal and in scripts.

``LIVE_VIEW=widget`` (live) or ``LIVE_VIEW=text`` (print) forces a mode, as for the live run view.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import time
from collections.abc import Callable
from typing import Any

from recipes.core.errors import TutorialError
from recipes.streaming.subscriber import StreamReader, Update, follow, rendered_changes
from recipes.streaming.transcript import View
from tutorial.live_view import _current_request_id, choose_mode

__all__ = ["StreamView", "StreamWatch", "render_html"]

#: The live display is redrawn at most this often; the last state is always drawn.
REDRAW_S = 1 / 30

_NOT_YET = object()
_STATUS_TEXT = {"thinking": "the model is writing", "running_tool": "a tool is running"}
_GREY, _BLUE, _RED = "#6e7781", "#1f6feb", "#cf222e"


def render_html(view: View, *, title: str = "", status: str = "", withdrawn: str = "") -> str:
    """The live mode's HTML for ``view``: committed text black, pending text blue."""
    def span(color: str, text: str) -> str:
        return f'<span style="color:{color}">{html.escape(text)}</span>'

    parts = []
    for s in view.snapshot.segments:
        if s.kind == "text":
            parts.append(html.escape(s.text))
        elif s.kind == "tool_call":
            parts.append("\n" + span(_GREY, f"→ {s.tool_name}({s.detail})") + "\n")
        else:
            parts.append(span(_GREY, f"← {s.tool_name}: {s.detail}") + "\n")
    if view.pending:
        parts.append(span(_BLUE, view.pending))
    if not view.snapshot.finished:
        parts.append(span(_BLUE, "▌"))
    if view.snapshot.error:
        parts.append("\n" + span(_RED, f"[failed] {view.snapshot.error}"))
    gone = ""
    if withdrawn:
        gone = (
            f'<div style="margin-top:6px;color:{_RED}">withdrawn — the attempt that wrote it was superseded by a '
            f"retry: <del>{html.escape(withdrawn)}</del></div>"
        )
    head = html.escape(" · ".join(x for x in (title, status) if x))
    return (
        '<div style="font-family:ui-monospace,monospace;font-size:12.5px;border:1px solid #d0d7de;'
        'border-radius:6px;padding:8px 10px;max-width:980px">'
        f'<div style="color:#57606a;margin-bottom:4px">{head}</div>'
        f'<div style="white-space:pre-wrap">{"".join(parts)}</div>{gone}</div>'
    )


class _HTML:
    def __init__(self, markup: str, text: str) -> None:
        self.markup, self.text = markup, text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text


class StreamView:
    """What a person watching the run sees (see the module docstring for the two modes)."""

    def __init__(self, title: str = "", *, mode: str = "auto") -> None:
        self.title = title
        self.mode = "live" if choose_mode(mode) == "widget" else "print"
        self.view = View()
        self.withdrawn = ""
        self.updates = 0
        self._shown = ""  # print mode: the text printed so far
        self._printed_in: object = _NOT_YET  # ...and the cell (execute request) it was printed in
        self._handles: dict[str | None, Any] = {}  # live mode: one display per cell that showed it
        self._drawn_at = 0.0
        self._redraw: asyncio.TimerHandle | None = None

    def show(self, update: Update) -> None:
        """Show ``update`` (called by :class:`StreamWatch` for each one)."""
        self.updates += 1
        self.view = update.view
        if update.text and update.kind != "delta":  # withdrawn, or replaced by a snapshot
            self.withdrawn = update.text
        if self.mode == "print":
            self._print(update)
        else:
            self._draw(force=update.kind != "delta")

    def status(self) -> str:
        snap = self.view.snapshot
        text = _STATUS_TEXT.get(snap.status, snap.status)
        return f"{text} · {snap.model_calls} model call(s) done · {self.updates} updates"

    def text(self) -> str:
        return self.view.render()

    # -- print mode ---------------------------------------------------------------
    def _print(self, update: Update) -> None:
        cell = _current_request_id()
        if cell != self._printed_in:  # first output in this cell: open with what is shown so far
            again = self._printed_in is not _NOT_YET
            self._printed_in = cell
            if self.title or again:
                print(f"[{self.title}{' (continued)' if again else ''}]", flush=True)
            if again:
                print(self._shown, end="", flush=True)
        if update.kind == "delta":  # a batch of deltas arrives at once: print it as one piece
            self._later(self._print_now)
            return
        self._print_now()
        if update.kind in ("done", "failed"):
            print(f"\n[{update.kind}]", flush=True)

    def _print_now(self) -> None:
        self._cancel_later()
        now = self.view.render()
        change = rendered_changes(self._shown, now)
        if change:
            print(change, end="", flush=True)
        self._shown = now

    def _later(self, fn: Callable[[], None]) -> None:
        """Call ``fn`` in :data:`REDRAW_S` (once, however often asked); now if there is no event loop."""
        if self._redraw is not None:
            return
        try:
            self._redraw = asyncio.get_running_loop().call_later(REDRAW_S, fn)
        except RuntimeError:
            fn()

    def _cancel_later(self) -> None:
        if self._redraw is not None:
            self._redraw.cancel()
            self._redraw = None

    # -- live mode ----------------------------------------------------------------
    def _html(self) -> _HTML:
        markup = render_html(self.view, title=self.title, status=self.status(), withdrawn=self.withdrawn)
        return _HTML(markup, self.text())

    def _draw(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < REDRAW_S:
            self._later(lambda: self._draw(force=True))  # draw the latest state a moment later
            return
        self._cancel_later()
        self._drawn_at = now
        from IPython.display import display

        cell = _current_request_id()
        obj = self._html()
        if cell not in self._handles:  # first shown from this cell: a display of its own
            self._handles[cell] = display(obj, display_id=True)
        for handle in self._handles.values():
            if handle is not None:
                handle.update(obj)

    def flush(self) -> None:
        """Show the last state now (the end of a ``follow``)."""
        if not self.updates:
            return
        if self.mode == "live":
            self._draw(force=True)
        elif self._redraw is not None:
            self._print_now()


class StreamWatch:
    """Follow one streamed run, show it on a :class:`StreamView`, keep every update.

    Args:
        client: a Temporal client with ``OpenAIAgentsPlugin()`` (its data converter).
        workflow_id: the run to follow.
        view: where to show it; ``None`` shows nothing (for timing runs).
        started_at: ``time.monotonic()`` when the question was asked (default: now),
            the zero of :attr:`first_text_s` and :attr:`done_s`.
    """

    def __init__(self, client: Any, workflow_id: str, *, view: StreamView | None = None,
                 started_at: float | None = None) -> None:  # fmt: skip
        self.client = client
        self.workflow_id = workflow_id
        self.view = view
        self.started_at = time.monotonic() if started_at is None else started_at
        self.reader = StreamReader()
        self.updates: list[Update] = []

    async def follow(self, until: Callable[[Update], bool] | None = None, timeout: float = 120.0) -> Update | None:
        """Follow from where the last call stopped until the run ends (the ``done`` or
        ``failed`` update is returned) or ``until(update)`` holds (that update is returned)."""
        if self.finished:
            return self.last

        async def run() -> Update | None:
            stream = follow(self.client, self.workflow_id, from_offset=self.reader.offset, reader=self.reader)
            async with contextlib.aclosing(stream):
                async for update in stream:
                    self.updates.append(update)
                    if self.view is not None:
                        self.view.show(update)
                    if update.kind in ("done", "failed") or (until is not None and until(update)):
                        return update
            return None

        try:
            return await asyncio.wait_for(run(), timeout)
        except asyncio.TimeoutError:
            what = "the condition" if until is not None else "the run to end"
            raise TutorialError(
                f"Followed {self.workflow_id} for {timeout:.0f}s without seeing {what}; "
                f"{len(self.updates)} updates so far, the last: {self.last.kind if self.last else 'none'}. "
                "Is a worker polling the run's task queue?"
            ) from None
        finally:
            if self.view is not None:
                self.view.flush()

    # -- what was seen --------------------------------------------------------------
    @property
    def last(self) -> Update | None:
        return self.updates[-1] if self.updates else None

    @property
    def finished(self) -> bool:
        return self.last is not None and self.last.kind in ("done", "failed")

    @property
    def text(self) -> str:
        """The answer text shown now (committed text and the pending text)."""
        return self.last.view.text if self.last else ""

    @property
    def withdrawn(self) -> list[str]:
        """The text of every attempt that was withdrawn, in order."""
        return list(self.reader.withdrawn)

    def of_kind(self, kind: str) -> list[Update]:
        return [u for u in self.updates if u.kind == kind]

    @property
    def first_text_s(self) -> float | None:
        """Seconds from the question to the first answer text shown."""
        first = next((u for u in self.updates if u.kind == "delta"), None)
        return None if first is None else first.at - self.started_at

    @property
    def done_s(self) -> float | None:
        """Seconds from the question to the final answer shown."""
        return self.last.at - self.started_at if self.finished and self.last else None

    @property
    def naive_text(self) -> str:
        """What a subscriber that only appends text deltas would show: every attempt's text, glued."""
        return "".join(u.text for u in self.updates if u.kind == "delta")
