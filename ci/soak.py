"""Find flaky tests before users do: the suite, N times, under an added CPU load.

Starts one busy-loop process per core (``--load``), runs ``make test``'s pytest command ``--runs`` times
while they spin, and lists every test that failed or errored at least once, with how often. The load
processes are stopped by their own pids at the end, however it ends. Exit status 1 when any test failed.

    python ci/soak.py                 # 2 runs, one busy loop per core   (make soak)
    python ci/soak.py --runs 3 --load 4
    python ci/soak.py -- -k notebook  # extra pytest arguments after --
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
REPORTS = REPO_ROOT / "build" / "soak"
BUSY_LOOP = "while True: pass"


def failed_tests(junit_xml: Path) -> list[str]:
    """The tests a pytest run reported as failed or errored, as ``file::name`` (from its JUnit XML)."""
    if not junit_xml.exists():
        return ["(the run wrote no report: it did not get as far as collecting tests)"]
    failed = []
    for case in ET.parse(junit_xml).getroot().iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            failed.append(f"{case.get('classname', '')}::{case.get('name', '')}")
    return failed


def start_load(processes: int) -> list[subprocess.Popen]:
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(processes)]


def stop_load(load: list[subprocess.Popen]) -> None:
    for process in load:
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=2, help="times to run the suite (default 2)")
    parser.add_argument("--load", type=int, default=os.cpu_count() or 1,
                        help="busy-loop processes beside it (default: one per core)")
    parser.add_argument("--workers", default=os.environ.get("TEST_WORKERS", "5"), help="pytest -n (as make test)")
    parser.add_argument("pytest_args", nargs="*", help="more pytest arguments, after --")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.load < 0:
        parser.error("--runs must be at least 1 and --load at least 0")
    # A SIGTERM (a CI limit, a kill by pid) ends the run through the `finally` below: no busy loop left behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))
    REPORTS.mkdir(parents=True, exist_ok=True)
    failures: Counter[str] = Counter()
    durations = []
    load = start_load(args.load)
    print(f"soak: {args.runs} run(s) of the suite beside {args.load} busy-loop process(es) "
          f"(pids {', '.join(str(p.pid) for p in load) or 'none'})", flush=True)  # fmt: skip
    try:
        for run in range(1, args.runs + 1):
            report = REPORTS / f"run-{run}.xml"
            report.unlink(missing_ok=True)
            command = [sys.executable, "-m", "pytest", "-n", str(args.workers), "--dist", "worksteal", "-q",
                       f"--junitxml={report}", *args.pytest_args]  # fmt: skip
            started = time.monotonic()
            suite = subprocess.Popen(command, cwd=REPO_ROOT)
            try:
                returncode = suite.wait()
            except BaseException:  # SIGTERM or Ctrl-C: pytest stops what it started when interrupted
                suite.send_signal(signal.SIGINT)
                suite.wait(timeout=120)
                raise
            durations.append(time.monotonic() - started)
            failed = failed_tests(report) if returncode != 0 else []
            failures.update(failed)
            print(f"soak: run {run}/{args.runs} took {durations[-1]:.0f} s, exit {returncode}, "
                  f"{len(failed)} failed", flush=True)  # fmt: skip
    finally:
        stop_load(load)
    print(f"\nsoak: {args.runs} run(s) under {args.load} busy loop(s), {min(durations):.0f}-{max(durations):.0f} s each; "
          f"{len(failures)} test(s) failed at least once")  # fmt: skip
    for test, times in failures.most_common():
        print(f"  {times}/{args.runs}  {test}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
