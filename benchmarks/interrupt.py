"""How long the quick test tier takes to stop after Ctrl-C (SIGINT), sent at several moments.

    python benchmarks/interrupt.py [--after 5,12,20,28,36,44]

Each moment starts `pytest -m "not slow" -q` in a fresh process (with SIGINT at its default, as
in a terminal), waits that many seconds, sends SIGINT and times the exit; the line pytest
printed last is shown. Prints the machine first; the figures are for that machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import signal
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--after", default="5,12,20,28,36,44", help="seconds before each SIGINT")
    args = ap.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")  # fmt: skip
    for delay in (float(v) for v in args.after.split(",")):
        proc = subprocess.Popen(
            [sys.executable, "-m", "pytest", "-m", "not slow", "-q", "-p", "no:cacheprovider"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        time.sleep(delay)
        t0 = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate()
        last = (out.strip().splitlines() or [""])[-1][:90]
        print(f"SIGINT after {delay:4.0f} s: exit {proc.returncode} in "
              f"{time.perf_counter() - t0:.2f} s ({last})")  # fmt: skip


if __name__ == "__main__":
    main()
