"""Run a Python module as a child of a notebook or a test, and end it when that parent is gone.

``atexit`` in the parent does not run when the parent is SIGKILLed (a kernel restart does that); the
watchdog started here (:func:`tutorial.local_service.when_parent_exits`) is what then ends the child. The
tutorial's process manager starts every Python child this way (:func:`tutorial.processes.python_module`),
so the recipes' entrypoints know nothing of it.

    python -m tutorial.child recipes.weather.worker [args ...]
"""

from __future__ import annotations

import os
import runpy
import sys

from tutorial.local_service import when_parent_exits

if __name__ == "__main__":
    if len(sys.argv) < 2:
        raise SystemExit("usage: python -m tutorial.child MODULE [ARGS ...]")
    # No clean-up on the way out: the parent that would have asked for one is gone too.
    when_parent_exits(os.getppid(), lambda: os._exit(0), sys.argv[1])
    sys.argv = sys.argv[1:]
    runpy.run_module(sys.argv[0], run_name="__main__", alter_sys=True)
