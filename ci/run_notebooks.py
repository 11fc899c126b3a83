"""Execute notebooks with papermill, the way CI and `make notebooks` do.

Each notebook runs top to bottom in a fresh kernel, with the notebooks folder
as its working directory. The executed copy (with outputs) goes to
build/notebooks/ so a failure can be opened at the failing cell; the stored
notebook is never written to.

    python ci/run_notebooks.py                       # every notebook, in order
    python ci/run_notebooks.py notebooks/01_*.ipynb  # some
    python ci/run_notebooks.py -p model offline      # override a parameter
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import papermill

REPO_ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = REPO_ROOT / "notebooks"
OUTPUT_DIR = REPO_ROOT / "build" / "notebooks"
DEFAULT_TIMEOUT_S = 300
#: Set in a notebook run's environment: the kernel and everything it starts inherit it, so what a run
#: left behind can be found (:func:`processes_tagged`).
RUN_TAG_ENV = "TUTORIAL_NOTEBOOK_RUN"


def notebook_paths() -> list[Path]:
    """The learning path, in order: notebooks/NN_*.ipynb."""
    return sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))


def timeout_for(path: Path) -> int:
    """A notebook may ask for more time in its metadata: {"tutorial": {"timeout_s": N}}."""
    meta = json.loads(path.read_text(encoding="utf-8")).get("metadata", {})
    return int(meta.get("tutorial", {}).get("timeout_s", DEFAULT_TIMEOUT_S))


def processes_tagged(tag: str) -> set[int]:
    """Processes whose environment carries this run's tag: the kernel and
    everything it started (children inherit the environment)."""
    marker = f"{RUN_TAG_ENV}={tag}"
    if Path("/proc/self/environ").exists():
        found = set()
        for entry in Path("/proc").glob("[0-9]*"):
            try:
                if f"{marker}\0".encode() in (entry / "environ").read_bytes():
                    found.add(int(entry.name))
            except OSError:
                continue
        return found
    # No /proc (macOS): BSD ps prints each process's environment after its command with `e`.
    listing = subprocess.run(["ps", "-axeww", "-o", "pid=,command="], capture_output=True, text=True, check=True)
    return {int(line.split(None, 1)[0]) for line in listing.stdout.splitlines() if marker in line}


def run_notebook(path: Path, parameters: dict | None = None, output_dir: Path = OUTPUT_DIR) -> Path:
    """Execute one notebook; return the path of the executed copy.

    Raises papermill.PapermillExecutionError (naming the failing cell) on failure.
    The timeout applies to each cell: nbclient's default would wait forever.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    output = output_dir / path.name
    papermill.execute_notebook(
        str(path),
        str(output),
        parameters=parameters or {},
        kernel_name="python3",  # the kernel of the Python running this (the venv's)
        cwd=str(path.parent),
        execution_timeout=timeout_for(path),
        progress_bar=False,
        # One print() can reach the kernel as several stream messages when the machine is busy
        # ("solved: " and "Solved: ..." apart); merged, a cell's printed lines read as printed.
        coalesce_streams=True,
    )
    return output


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: every notebooks/NN_*.ipynb")
    parser.add_argument("-p", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="set a parameter (value parsed as JSON when it parses, else a string)")
    args = parser.parse_args(argv)
    parameters = {}
    for name, value in args.p:
        try:
            parameters[name] = json.loads(value)
        except json.JSONDecodeError:
            parameters[name] = value
    failed = 0
    paths = args.notebooks or notebook_paths()
    for path in paths:
        started = time.monotonic()
        try:
            output = run_notebook(path.resolve(), parameters)
        except papermill.PapermillExecutionError as err:
            failed += 1
            print(f"FAIL {path.name} ({time.monotonic() - started:.1f}s): {err.ename}: {err.evalue}")
            print(f"     executed copy: {OUTPUT_DIR / path.name}")
        else:
            print(f"ok   {path.name} ({time.monotonic() - started:.1f}s) -> {output.relative_to(REPO_ROOT)}")
    print(f"{len(paths) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
