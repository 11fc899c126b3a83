"""Approve or reject a pending tool call from a notebook: two buttons, or a parameter.

    panel = ApprovalPanel(session, request, auto=auto_approve).show()
    ...                                  # next cell
    reply = await panel.reply()

In JupyterLab, ``show()`` draws the request with **Approve** and **Reject**
buttons; a click sends the ``decide_approval`` update in the background and
prints the agent's reply under the buttons. Run the next cell after clicking:
a running cell blocks the kernel from receiving the click, so :meth:`reply`
does not wait for one -- it says "click first" instead of hanging.

Under papermill (or whenever you want it), ``auto="approve"`` or
``auto="reject"`` decides at once, exactly as a click would.

Notebook machinery, not part of the session recipe: it draws Jupyter widgets and checks
a papermill parameter. What a copy of the recipe needs for approvals is the client's
``Session.pending()`` / ``approve()`` / ``reject()``, which this panel calls; a service
puts its own interface (a web page, a chat button) in front of those.
"""

from __future__ import annotations

import asyncio
import html
from typing import Any

from recipes.agent_session.client import Session
from recipes.agent_session.workflows import ApprovalRequest, Reply
from recipes.core.errors import ConfigurationError, TutorialError

__all__ = ["AUTO_CHOICES", "ApprovalPanel", "check_auto"]

AUTO_CHOICES = ("approve", "reject", "")


def check_auto(value: Any) -> str:
    """Validate an ``auto_approve`` notebook parameter."""
    if value not in AUTO_CHOICES:
        raise ConfigurationError(
            f"auto_approve should be 'approve', 'reject' or '' (decide with the buttons), got {value!r}."
        )
    return value


class ApprovalPanel:
    def __init__(self, session: Session, request: ApprovalRequest, *, auto: str = "", reason: str = "") -> None:
        self.session = session
        self.request = request
        self.auto = check_auto(auto)
        self.reason = reason
        self.decision: bool | None = None
        self._task: asyncio.Task | None = None
        self._buttons: list[Any] = []
        self._out: Any = None

    # ---------------------------------------------------------------- display
    def describe(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.request.arguments.items())
        return f"{self.request.request_id}: the agent wants to call {self.request.tool}({args})"

    def show(self) -> ApprovalPanel:
        from IPython.display import display

        try:
            import ipywidgets as widgets
        except ImportError:  # pragma: no cover - ipywidgets is in requirements.txt
            widgets = None
        if widgets is not None:
            title = widgets.HTML(f"<b>Approval needed</b> &mdash; {html.escape(self.describe())}")
            approve = widgets.Button(description="Approve", button_style="success", icon="check")
            reject = widgets.Button(description="Reject", button_style="danger", icon="times")
            approve.on_click(lambda _: self._decide(True, "approved in the notebook"))
            reject.on_click(lambda _: self._decide(False, self.reason or "rejected in the notebook"))
            self._buttons = [approve, reject]
            self._out = widgets.Output()
            display(widgets.VBox([title, widgets.HBox(self._buttons), self._out]))
        else:  # pragma: no cover
            print("Approval needed:", self.describe())
        if self.auto:
            approve_it = self.auto == "approve"
            why = "approved automatically (auto_approve)" if approve_it else (self.reason or "rejected automatically (auto_approve)")
            self._say(f"auto_approve={self.auto!r}: deciding now.")
            self._decide(approve_it, why)
        else:
            self._say("Click Approve or Reject, then run the next cell.")
        return self

    def _say(self, text: str) -> None:
        if self._out is not None:
            self._out.append_stdout(text + "\n")
        else:  # pragma: no cover
            print(text)

    # ---------------------------------------------------------------- deciding
    def _decide(self, approve: bool, reason: str) -> None:
        if self._task is not None:
            return  # one decision per request
        self.decision = approve
        for button in self._buttons:
            button.disabled = True
        self._say(("Approving" if approve else "Rejecting") + f" {self.request.request_id} ...")
        self._task = asyncio.ensure_future(self.session.decide(self.request.request_id, approve, reason))
        self._task.add_done_callback(self._report)

    def _report(self, task: asyncio.Task) -> None:
        if task.cancelled():
            self._say("The decision was cancelled.")
        elif task.exception() is not None:
            self._say(f"The decision failed: {task.exception()}")
        else:
            self._say(f"Agent: {task.result().text}")

    @property
    def decided(self) -> bool:
        return self._task is not None

    async def reply(self, timeout: float = 60.0) -> Reply:
        """The agent's reply after the decision (raises if nobody has decided yet)."""
        if self._task is None:
            raise TutorialError(
                f"Nobody has decided {self.request.request_id} yet: click Approve or Reject above "
                "(or set auto_approve), then run this cell again."
            )
        return await asyncio.wait_for(asyncio.shield(self._task), timeout=timeout)
