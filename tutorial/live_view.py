"""A live view of one workflow run, refreshed from the server while it runs.

    view = LiveRunView(handle, worker=worker, ui_url=nb.temporal.web_ui_url(handle.id, handle.result_run_id))
    await view.refresh()   # optional: open with the run's current state
    view.show()            # displays it and starts refreshing (an asyncio task in the kernel)
    ...                    # kill / restart the worker from the buttons or from code
    await view.wait()      # until the run closes (the view's last refresh)

What it shows, all read from the server: the run's status, a link to it in
the Web UI, and its timeline -- one row per model call and tool call with its
attempts, status and the worker process (identity ``pid@host``) that ran it,
plus what is in flight right now (attempt, worker, last heartbeat). With a
:class:`~tutorial.processes.ManagedProcess` it also shows the worker's
state and offers **Kill worker** (SIGKILL) and **Restart worker** buttons.

Two modes:

``widget``
    ipywidgets in a Jupyter front end (JupyterLab, Notebook 7). Chosen
    automatically when the kernel was started by a Jupyter server.
``text``
    A plain-text display that is updated in place (``update_display_data``).
    Chosen under papermill/nbclient, in a terminal IPython or a plain script
    (where it prints each change). A headless runner records only output of
    the cell it is executing, so an executed notebook keeps the view as it
    was when shown, and ``await view.wait()`` in a later cell prints the
    final timeline there.

``LIVE_VIEW=widget|text`` forces a mode. The refresh loop ends by itself when
the run closes (or after ``max_duration_s``); ``stop()`` ends it earlier.
"""

from __future__ import annotations

import asyncio
import html
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from tutorial.history import Step, activity_steps, render_html, render_table

__all__ = ["LiveRunView", "Snapshot", "choose_mode", "pending_activities", "render_text", "timeline_rows"]

MODE_ENV = "LIVE_VIEW"
MODES = ("auto", "widget", "text")

_STATUS_COLORS = {
    "RUNNING": "#1f6feb",
    "COMPLETED": "#1a7f37",
    "FAILED": "#cf222e",
    "TIMED_OUT": "#cf222e",
    "TERMINATED": "#9a6700",
    "CANCELED": "#9a6700",
}


@dataclass
class Snapshot:
    """What one refresh read from the server (and the worker handle)."""

    workflow_id: str
    run_id: str | None
    status: str
    steps: list[Step] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    worker: str = ""
    error: str = ""
    taken_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))

    @property
    def closed(self) -> bool:
        return self.status not in ("RUNNING", "UNKNOWN", "")


async def pending_activities(handle: Any) -> list[dict[str, Any]]:
    """What the server has in flight for a run -- the history only records an
    attempt when it ends. One dict per activity: ``activity_id``,
    ``activity_type``, ``state`` (scheduled | started | cancel_requested),
    ``attempt``, ``worker`` (identity that last started it), ``heartbeat_age_s``,
    ``heartbeat`` (last heartbeat details) and ``last_failure``."""
    from temporalio.api.enums.v1 import PendingActivityState

    desc = await handle.describe()
    rows = []
    for p in desc.raw_description.pending_activities:
        rows.append(
            {
                "activity_id": p.activity_id,
                "activity_type": p.activity_type.name,
                "state": PendingActivityState.Name(p.state).removeprefix("PENDING_ACTIVITY_STATE_").lower(),
                "attempt": p.attempt,
                "worker": p.last_worker_identity,
                "heartbeat_age_s": _age_s(p.last_heartbeat_time) if p.HasField("last_heartbeat_time") else None,
                "heartbeat": _details_text(p.heartbeat_details) if p.HasField("heartbeat_details") else "",
                "last_failure": p.last_failure.message if p.HasField("last_failure") else "",
            }
        )
    return rows


def _age_s(ts: Any) -> float | None:
    if not ts.seconds:
        return None
    return max(0.0, (datetime.now(timezone.utc) - ts.ToDatetime(tzinfo=timezone.utc)).total_seconds())


def _details_text(payloads: Any) -> str:
    items = list(payloads.payloads)
    if not items:
        return ""
    return items[-1].data.decode(errors="replace").strip('"')


# --------------------------------------------------------------------------- rendering


def timeline_rows(snapshot: Snapshot) -> list[dict[str, Any]]:
    """One row per step, numbered; steps in flight show their live attempt and heartbeat."""
    pending = {p["activity_id"]: p for p in snapshot.pending}
    rows = []
    for n, step in enumerate(snapshot.steps, start=1):
        p = pending.get(step.activity_id)
        status, worker, detail = step.status, step.identity, step.failure or step.result
        attempts: Any = step.attempts or ""
        if p is not None:
            attempts = p["attempt"]
            worker = p["worker"] or worker
            if p["state"] == "started":
                age = p.get("heartbeat_age_s")
                status = "running"
                detail = f"heartbeat {age:.1f}s ago" if age is not None else "started"
                if p.get("heartbeat"):
                    detail += f" ({p['heartbeat']})"
            else:
                status = "retry pending" if p["attempt"] > 1 else "scheduled"
                detail = f"waiting for a worker; last failure: {p['last_failure']}" if p.get("last_failure") else "waiting for a worker"
        elif step.last_failure and step.status == "completed":
            detail = f"{detail}  (retried after: {step.last_failure})"
        rows.append(
            {
                "#": n,
                "step": step.kind,
                "attempts": attempts,
                "status": status,
                "worker": worker,
                "detail": _clip(detail, 70),
            }
        )
    return rows


def render_text(snapshot: Snapshot, ui_url: str | None = None, note: str = "") -> str:
    """The view as plain text (papermill outputs, terminals, logs)."""
    head = f"Run {snapshot.workflow_id}: {snapshot.status or 'not read yet'}"
    if snapshot.taken_at:
        head += f"   (as of {snapshot.taken_at.astimezone().strftime('%H:%M:%S')})"
    lines = [head]
    if ui_url:
        lines.append(f"Web UI: {ui_url}")
    if snapshot.worker:
        lines.append(f"Worker: {snapshot.worker}")
    for text in (snapshot.error, note):
        if text:
            lines.append(f"Note: {text}")
    rows = timeline_rows(snapshot)
    lines.append(render_table(rows) if rows else "(no steps yet)")
    return "\n".join(lines)


def render_html_view(snapshot: Snapshot, ui_url: str | None = None, note: str = "") -> str:
    color = _STATUS_COLORS.get(snapshot.status, "#57606a")
    badge = (
        f"<span style='background:{color};color:white;border-radius:4px;padding:1px 6px'>"
        f"{html.escape(snapshot.status)}</span>"
    )
    link = f" &middot; <a href='{html.escape(ui_url)}' target='_blank'>open in the Web UI</a>" if ui_url else ""
    parts = [f"<div><b>Run</b> <code>{html.escape(snapshot.workflow_id)}</code> {badge}{link}</div>"]
    if snapshot.worker:
        parts.append(f"<div><b>Worker:</b> {html.escape(snapshot.worker)}</div>")
    for text in (snapshot.error, note):
        if text:
            parts.append(f"<div style='color:#9a6700'>{html.escape(text)}</div>")
    rows = timeline_rows(snapshot)
    parts.append(render_html(rows) if rows else "<p><em>(no steps yet)</em></p>")
    return "".join(parts)


def _clip(text: str, width: int) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"


def choose_mode(mode: str = "auto") -> str:
    """``widget`` when a Jupyter front end can render widgets, else ``text``."""
    mode = (os.environ.get(MODE_ENV) or mode or "auto").strip().lower()
    if mode not in MODES:
        from recipes.core.errors import ConfigurationError

        raise ConfigurationError(f"Live view mode must be one of {', '.join(MODES)}, got {mode!r}.")
    if mode != "auto":
        return mode
    try:
        import ipywidgets  # noqa: F401
        from IPython import get_ipython
    except ImportError:
        return "text"
    shell = get_ipython()
    # A kernel started by a Jupyter server (JupyterLab, Notebook) has JPY_SESSION_NAME;
    # papermill/nbclient kernels do not, and nobody would see a widget there.
    if shell is None or not hasattr(shell, "kernel") or not os.environ.get("JPY_SESSION_NAME"):
        return "text"
    return "widget"


# --------------------------------------------------------------------------- the view


def _current_request_id() -> str | None:
    """The id of the execute request (cell run) being handled by the kernel, if any."""
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        parent = kernel.get_parent("shell") if kernel is not None else None
        return (parent or {}).get("header", {}).get("msg_id")
    except Exception:
        return None


class _Text:
    """A display object whose only representation is plain text."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __repr__(self) -> str:
        return self.text

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        p.text(self.text)


class LiveRunView:
    """Timeline + status + Web UI link (+ worker buttons) for one run, kept fresh.

    Args:
        handle: the run's ``WorkflowHandle``.
        worker: the worker's ``ManagedProcess``, for its state and the buttons.
        ui_url: link to the run in the Temporal Web UI.
        interval: seconds between refreshes.
        mode: ``auto`` | ``widget`` | ``text`` (see the module docstring).
        max_duration_s: the refresh loop gives up after this long.
    """

    def __init__(
        self,
        handle: Any,
        *,
        worker: Any = None,
        ui_url: str | None = None,
        interval: float = 0.5,
        mode: str = "auto",
        max_duration_s: float = 600.0,
    ) -> None:
        self.handle = handle
        self.worker = worker
        self.ui_url = ui_url
        self.interval = interval
        self.mode = choose_mode(mode)
        self.max_duration_s = max_duration_s
        self.snapshot = Snapshot(handle.id, getattr(handle, "result_run_id", None), "")
        self.refreshes = 0
        self.task: asyncio.Task | None = None
        self._display: Any = None
        self._last_text = ""
        self._widgets: dict[str, Any] = {}
        self._message = ""
        self._print_updates = False
        self._shown_in: str | None = None  # the execute request (cell run) that displayed the view
        self._stopped = False  # stop() was called: the buttons are off for good

    # -- reading ----------------------------------------------------------------
    async def refresh(self) -> Snapshot:
        """Read status, history and pending activities once; re-render."""
        snap = Snapshot(self.handle.id, getattr(self.handle, "result_run_id", None), self.snapshot.status)
        try:
            desc = await self.handle.describe()
            snap.status = desc.status.name if desc.status is not None else "UNKNOWN"
            snap.run_id = desc.run_id
            snap.steps = activity_steps(await self.handle.fetch_history())
            snap.pending = await pending_activities(self.handle) if not snap.closed else []
        except Exception as err:  # the server may be restarting: keep the last timeline
            snap.steps, snap.pending = self.snapshot.steps, self.snapshot.pending
            snap.error = f"could not reach the server ({type(err).__name__}); retrying"
        snap.worker = self._worker_text()
        self.snapshot = snap
        self.refreshes += 1
        self._render()
        return snap

    def _worker_text(self) -> str:
        w = self.worker
        if w is None:
            return ""
        earlier = [p for p in getattr(w, "pids", []) if p != w.pid]
        state = f"running, pid {w.pid}" if w.running else f"not running (last exit code {w.returncode})"
        return state + (f"; earlier pids {earlier}" if earlier else "")

    def text(self) -> str:
        return render_text(self.snapshot, self.ui_url, self._message)

    def html(self) -> str:
        return render_html_view(self.snapshot, self.ui_url, self._message)

    # -- showing ----------------------------------------------------------------
    def show(self, *, start: bool = True) -> None:
        """Display the view (widget or text) and start refreshing it."""
        if self.mode == "widget":
            self._build_widgets()
            self._display_obj(self._widgets["box"])
        else:
            self._display = self._display_obj(_Text(self.text()), display_id=True)
        self._shown_in = _current_request_id()
        if start:
            self.start()

    def _display_obj(self, obj: Any, display_id: bool = False) -> Any:
        try:
            from IPython import get_ipython
            from IPython.display import display
        except ImportError:
            get_ipython = None  # type: ignore[assignment]
        if get_ipython is None or get_ipython() is None:
            # A plain script: print now and on every change.
            print(obj if not isinstance(obj, _Text) else obj.text, flush=True)
            self._print_updates = True
            return None
        return display(obj, display_id=display_id) if display_id else display(obj)

    @property
    def buttons(self) -> dict[str, Any]:
        """The widget mode's ``{"kill": Button, "restart": Button}`` (empty in text mode)."""
        return {name: self._widgets[name] for name in ("kill", "restart") if name in self._widgets}

    @property
    def buttons_active(self) -> bool:
        """The buttons act only while the run is open and the view has not been stopped."""
        return self.worker is not None and not self._stopped and not self.snapshot.closed

    def _render(self) -> None:
        if self.mode == "widget" and self._widgets:
            self._widgets["view"].value = self.html()
            running = bool(self.worker is not None and self.worker.running)
            self._widgets["kill"].disabled = not (self.buttons_active and running)
            self._widgets["restart"].disabled = not self.buttons_active
            return
        text = self.text()
        if text == self._last_text:
            return
        self._last_text = text
        if self._display is not None:
            self._display.update(_Text(text))
        elif self._print_updates:
            print(text, flush=True)

    def _build_widgets(self) -> None:
        import ipywidgets as widgets

        view = widgets.HTML(self.html())
        kill = widgets.Button(description="Kill worker", button_style="danger", icon="skull",
                              tooltip="SIGKILL the worker process, like a crash")  # fmt: skip
        restart = widgets.Button(description="Restart worker", button_style="success", icon="refresh",
                                 tooltip="Start a new worker process")  # fmt: skip
        kill.on_click(lambda _b: self._on_kill())
        restart.on_click(lambda _b: self._on_restart())
        buttons = [kill, restart] if self.worker is not None else []
        box = widgets.VBox([view, widgets.HBox(buttons)]) if buttons else widgets.VBox([view])
        self._widgets = {"view": view, "kill": kill, "restart": restart, "box": box}

    def _on_kill(self) -> None:
        """The Kill button: SIGKILL, recorded on the worker handle with what was in flight."""
        if not self.buttons_active:  # a disabled button can still be click()ed from code
            return
        from tutorial.processes import ProcessError

        context = {
            "run_status": self.snapshot.status,
            "in_flight": [dict(p) for p in self.snapshot.pending if p["state"] == "started"],
        }

        async def kill() -> None:
            try:
                # In a thread: a restart holding the handle's lock must not block the kernel.
                pid = await asyncio.to_thread(self.worker.kill, by="button", context=context)
                self._message = f"worker pid {pid} killed (SIGKILL) at {time.strftime('%H:%M:%S')}"
            except ProcessError as err:
                self._message = str(err)
            self._render()

        asyncio.ensure_future(kill())

    def _on_restart(self) -> None:
        """The Restart button: start the worker (a new pid) unless it is running."""
        if not self.buttons_active:
            return
        self._message = "starting the worker..."
        self._render()

        async def restart() -> None:
            try:
                started = await asyncio.to_thread(self.worker.ensure_running)
                self._message = (f"worker started, pid {self.worker.pid}" if started
                                 else f"the worker is already running (pid {self.worker.pid})")  # fmt: skip
            except Exception as err:
                self._message = f"restart failed: {err}"
            self._render()

        asyncio.ensure_future(restart())

    # -- refreshing -------------------------------------------------------------
    def start(self) -> asyncio.Task:
        """Start the refresh loop (an asyncio task; needs a running event loop,
        which a Jupyter kernel always has)."""
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self._loop(), name=f"live-view-{self.handle.id}")
        return self.task

    async def _loop(self) -> Snapshot:
        started = time.monotonic()
        while True:
            snap = await self.refresh()
            if snap.closed:
                return snap
            if time.monotonic() - started > self.max_duration_s:
                self._message = f"live view stopped after {self.max_duration_s:g}s; call refresh() to update"
                self._render()
                return snap
            await asyncio.sleep(self.interval)

    async def wait(self, timeout: float | None = 120.0, *, echo: bool | None = None) -> Snapshot:
        """Wait until the refresh loop has ended (the run closed); return the last snapshot.

        A headless runner such as papermill only records output that belongs to
        the cell it is executing, not the in-place updates the loop makes while
        other cells run. So in text mode, called from another cell than the one
        that showed the view, the final view is printed here (``echo``); called
        from the same cell, the display is brought up to date in place.
        """
        task = self.task or self.start()
        await asyncio.wait_for(asyncio.shield(task), timeout)
        elsewhere = self._shown_in is None or _current_request_id() != self._shown_in
        if echo if echo is not None else (self.mode == "text" and elsewhere and not self._print_updates):
            print(self.text(), flush=True)
        elif self._display is not None:
            self._display.update(_Text(self.text()))  # from the calling cell, so a headless runner records it
        return self.snapshot

    def stop(self) -> None:
        """End the refresh loop now and switch the buttons off for good; the
        display shows the worker's state as it is now."""
        if self.task is not None and not self.task.done():
            self.task.cancel()
        self._stopped = True
        self.snapshot.worker = self._worker_text()
        self._render()

    @property
    def running(self) -> bool:
        return self.task is not None and not self.task.done()

    def __repr__(self) -> str:
        return self.text()
