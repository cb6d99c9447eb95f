"""VecMap (Artetxe, Labaka, Agirre, ACL 2018), the standard semi-supervised self-learning method,
side by side with this project's methods on the wide suite: same splits, same seeds, same
machine, one process after another.

VecMap runs as its own process from a checkout whose path you give (it is GPL-3 and never part
of this project): `git clone https://github.com/artetxem/vecmap`. Its `--semi_supervised`
recipe gets the training rows of each modality as two embedding files and the training pairs
as its seed dictionary. Two adaptations, both outside its code:
- VecMap needs both sides of one width: the wider side is projected on its leading principal
  directions (fit on its training rows) down to the narrower width;
- VecMap writes mapped embeddings of the rows it was given, not a map: its final map is linear
  in its normalised input (unit length, centred on the training rows, unit length), so it is
  recovered by least squares from the training rows (residual printed) and applied to the test
  rows, which VecMap never sees, as with every other method here.

    python benchmarks/vecmap.py --vecmap ~/src/vecmap --pairings freedict_en_fr --pairs 25

With `--cuda` both sides run on the GPU: VecMap with its own `--cuda` (it needs CuPy), this
project's methods with device "cuda".
"""

from __future__ import annotations

import argparse
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import load, parse, r10  # noqa: E402

from sue_framework import paper_split, registry  # noqa: E402

OURS = {
    "auto": ("auto", {}),
    "self_train": ("self_train", {}),
    "pair-only (CV)": ("auto", {"pair_only": True}),
}


def _write(path: Path, prefix: str, rows: np.ndarray) -> None:
    with path.open("w") as fh:
        fh.write(f"{rows.shape[0]} {rows.shape[1]}\n")
        for i, r in enumerate(rows):
            fh.write(f"{prefix}{i} " + " ".join(f"{v:.7g}" for v in r) + "\n")


def _read(path: Path) -> dict[str, np.ndarray]:
    with path.open() as fh:
        fh.readline()
        return {
            w: np.array(v.split(), dtype=np.float64) for w, v in (ln.split(" ", 1) for ln in fh)
        }


def _normalise(rows: np.ndarray, mean: np.ndarray | None = None):
    """VecMap's unit, centre, unit; the centre from `rows` unless given."""
    u = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-30)
    mean = u.mean(0) if mean is None else mean
    c = u - mean
    return c / np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-30), mean


class _Mapped:
    """Test rows through VecMap's recovered linear maps."""

    def __init__(self, maps) -> None:
        self.maps = maps

    def transform(self, rows: np.ndarray, modality: str) -> np.ndarray:
        project, mean, w = self.maps[modality]
        return _normalise(project(rows), mean)[0] @ w


def run_vecmap(
    checkout: Path, split, seed: int, timeout: float, cuda: bool = False
) -> tuple[_Mapped, float, float]:
    """(model, seconds of VecMap's process, worst relative residual of the recovered maps);
    `cuda` runs VecMap on the GPU."""
    tr = split.train
    width = min(tr.x.shape[1], tr.y.shape[1])
    projections = {}
    for m, rows in (("x", tr.x), ("y", tr.y)):
        if rows.shape[1] == width:
            projections[m] = lambda r: np.asarray(r, dtype=np.float64)
        else:
            mu = rows.mean(0)
            _, _, vh = np.linalg.svd(rows - mu, full_matrices=False)
            projections[m] = lambda r, mu=mu, v=vh[:width].T: (np.asarray(r, np.float64) - mu) @ v
    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp)
        _write(d / "src.emb", "x", projections["x"](tr.x))
        _write(d / "trg.emb", "y", projections["y"](tr.y))
        (d / "seed.dict").write_text("".join(f"x{i} y{j}\n" for i, j in tr.pairs))
        cmd = [
            sys.executable,
            str(checkout / "map_embeddings.py"),
            "--semi_supervised",
            str(d / "seed.dict"),
            str(d / "src.emb"),
            str(d / "trg.emb"),
            str(d / "src.out"),
            str(d / "trg.out"),
            "--seed",
            str(seed),
            *(["--cuda"] if cuda else []),
        ]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, timeout=timeout, capture_output=True, cwd=checkout)
        seconds = time.perf_counter() - t0
        outs = {"x": _read(d / "src.out"), "y": _read(d / "trg.out")}
    maps, residual = {}, 0.0
    for m, rows, prefix in (("x", tr.x, "x"), ("y", tr.y, "y")):
        inp, mean = _normalise(projections[m](rows))
        out = np.stack([outs[m][f"{prefix}{i}"] for i in range(rows.shape[0])])
        w, *_ = np.linalg.lstsq(inp, out, rcond=None)
        residual = max(residual, float(np.linalg.norm(inp @ w - out) / np.linalg.norm(out)))
        maps[m] = (projections[m], mean, w)
    return _Mapped(maps), seconds, residual


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--vecmap", required=True, type=Path, help="path of a VecMap checkout")
    ap.add_argument("--pairings", default="freedict_en_fr,emoji_two_styles")
    ap.add_argument("--pairs", default="25")
    ap.add_argument("--seeds", default="0")
    ap.add_argument("--timeout", type=float, default=3600.0, help="seconds per VecMap run")
    ap.add_argument("--cuda", action="store_true", help="both sides on the GPU")
    args = ap.parse_args()
    if not (args.vecmap / "map_embeddings.py").is_file():
        raise SystemExit(f"{args.vecmap} holds no map_embeddings.py: give a VecMap checkout")
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores; R@10 in %, mean of both "
        "directions; seconds of each fit, side by side in this process",
        flush=True,
    )
    print("| pairing | pairs | seed | VecMap | " + " | ".join(OURS) + " |")
    print("| --- | ---: | ---: | ---: | " + " | ".join("---:" for _ in OURS) + " |")
    for p in parse(args.pairings):
        x, y = load(p)
        for n in (int(v) for v in args.pairs.split(",")):
            for seed in (int(v) for v in args.seeds.split(",")):
                split = paper_split(x, y, n_pairs=n, n_test=400, seed=seed)
                try:
                    model, secs, resid = run_vecmap(
                        args.vecmap, split, seed, args.timeout, args.cuda
                    )
                    cells = [
                        f"{r10(model, split.x_test, split.y_test):.1f} ({secs:.0f} s, "
                        f"map residual {resid:.0e})"
                    ]
                except subprocess.TimeoutExpired:
                    cells = [f"not done in {args.timeout:.0f} s"]
                for name, params in OURS.values():
                    t0 = time.perf_counter()
                    device = "cuda" if args.cuda else "auto"
                    ours = registry.get("method", name)(seed=seed, device=device, **params)
                    ours.fit(split.train)
                    dt = time.perf_counter() - t0
                    cells.append(f"{r10(ours, split.x_test, split.y_test):.1f} ({dt:.1f} s)")
                print(f"| {p.name} | {n} | {seed} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
