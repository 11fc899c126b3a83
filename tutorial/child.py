"""Run a Python module as a child of a notebook or a test, and end it when that parent is gone.

``atexit`` in the parent does not run when the parent is SIGKILLed (a kernel restart does that); this
watchdog is what then ends the child. The tutorial's process manager starts every Python child this way
(:func:`tutorial.processes.python_module`), so the recipes' entrypoints know nothing of it.

    python -m tutorial.child recipes.weather.worker [args ...]
"""

from __future__ import annotations

import os
import runpy
import sys
import threading
import time


def exit_with_parent(poll_s: float = 0.5) -> None:
    """Exit at once (no clean-up: the parent's is gone too) when the parent process is no longer ours."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m tutorial.child MODULE [ARGS ...]")
    exit_with_parent()
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
