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
