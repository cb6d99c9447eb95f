"""Where `auto`'s time goes: cross-validation against the refit, each candidate's fold time,
the refit's self-learning iterations, and the functions that take the most time (cProfile,
own time). The data are auto_scale.py's synthetic 384-d views with 100 pairs.

    python benchmarks/studies/profile_auto.py --rows 4000 [--top 15] \
        [--cv-tol none|1e-3 --cv-patience 3]

Run on a quiet machine: threads of the CV folds and other jobs share the cores.

A one-off study; its figures are quoted by docs/scale.md.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import platform
import pstats
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _paths  # noqa: E402, F401  (the maintained benchmarks on the path)
from auto_scale import PAIRS, views  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402
from sue_framework.methods.auto import CV_PATIENCE, CV_TOL  # noqa: E402


def _optional(kind):
    """An argparse type: a number of `kind`, or "none" for None."""
    return lambda text: None if text.lower() == "none" else kind(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=4000, help="training rows a side")
    ap.add_argument("--top", type=int, default=15, help="functions listed")
    ap.add_argument("--device", default="cpu")
    ap.add_argument(
        "--cv-tol",
        type=_optional(float),
        default=CV_TOL,
        help="auto's cv_tol ('none': the loops' own convergence)",
    )
    ap.add_argument("--cv-patience", type=_optional(int), default=CV_PATIENCE,
                    help="auto's cv_patience ('none': the loops' own)")  # fmt: skip
    args = ap.parse_args()
    x, y = views(args.rows + 400)
    split = paper_split(x, y, n_pairs=PAIRS, n_test=400, seed=0, drop_fraction=0.0)
    model = registry.get("method", "auto")(
        seed=0, device=args.device, cv_tol=args.cv_tol, cv_patience=args.cv_patience
    )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"machine: {platform.machine()}, {os.cpu_count()} cores, load {load:.1f}; "
          f"{args.rows} rows a side, {PAIRS} pairs, 384-d; cv_tol {model.cv_tol}, "
          f"cv_patience {model.cv_patience}")  # fmt: skip
    profile = cProfile.Profile()
    t0 = time.perf_counter()
    profile.enable()
    model.fit(split.train)
    profile.disable()
    total = time.perf_counter() - t0
    cv = sum(model.cv_seconds_.values())
    print(f"fit {total:.1f} s; chose {model.choice_}")
    print(f"candidates' fold seconds, summed over folds (threads overlap): {cv:.1f}")
    for label, seconds in sorted(model.cv_seconds_.items(), key=lambda kv: -kv[1])[:6]:
        score, folds = model.cv_scores_[label], model.cv_folds_[label]
        print(f"  {seconds:7.1f} s  {label}  (CV score {score:.4f}, {folds} folds)")
    aligner = getattr(model.model_, "aligner_", None)
    if hasattr(aligner, "n_iter_"):
        print(f"refit: {aligner.n_iter_} self-learning iterations, {aligner.n_pseudo_} "
              f"dictionary entries, mining engine {aligner.mining_engine_}")  # fmt: skip
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    lines = [ln for ln in out.getvalue().splitlines() if ln.strip()]
    start = next(i for i, ln in enumerate(lines) if ln.lstrip().startswith("ncalls"))
    print("functions by own time (this thread; CV fold threads show as lock waits):")
    print("\n".join(lines[start : start + args.top + 1]))


if __name__ == "__main__":
    main()
