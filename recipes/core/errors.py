"""One error type for "you can fix this": a sentence, not a 40-line traceback.

Jupyter (IPython) calls ``_render_traceback_`` when an exception reaches the
top of a cell; returning just the message makes the first thing a workshop
attendee sees the sentence that says what to do. Scripts and pytest still see
an ordinary exception with its traceback.
"""

from __future__ import annotations


class TutorialError(Exception):
    """A problem the reader can fix; the message says what is wrong and what to do."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class ConfigurationError(TutorialError, ValueError):
    """A setting or notebook parameter has a value we cannot use."""
