"""Run as a script, a study sees its own folder on the path; this puts the maintained
benchmarks (suite, auto_scale, real_summary, ...) there too, so a study imports them by name."""

import sys
from pathlib import Path

BENCHMARKS = str(Path(__file__).resolve().parents[1])
if BENCHMARKS not in sys.path:
    sys.path.insert(1, BENCHMARKS)
