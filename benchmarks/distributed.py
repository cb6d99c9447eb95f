"""One process against two: a whole `sue` fit (sharded kNN graph, data-parallel SpectralNet and
MMD matcher) under torchrun, on the same cores.

    python benchmarks/distributed.py --sizes 10000,30000 --dim 128
    python benchmarks/distributed.py --sizes 100000,1000000 --dim 768 --device cuda  # N GPUs

For each n, the same fit runs as: one process on all `--cores` threads; and `--nproc`
processes on cores / nproc threads each (gloo on CPU, NCCL on GPUs), the layout a CPU node
would use. Rounds alternate the two (shared machines drift); the median per stage is printed,
with how far the two runs' embeddings are apart: the mean sin^2 of the principal angles
between their spectral and universal subspaces (0: the same span; blind to the signs and
rotations that eigen- and CCA solvers may pick differently after float-order differences),
and the largest entry-wise difference of the universal embeddings. Figures are for the
machine printed first.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import numpy as np

from sue_framework.components.spectral.accuracy import subspace_sin2

WORKER = textwrap.dedent(
    """
    import json, sys, time, warnings
    import numpy as np
    warnings.simplefilter("ignore")
    from sue_framework.runtime.distributed import init_group, rank, world_size
    from sue_framework.methods.sue import SUE
    from scale import data

    init_group()
    n, dim, epochs = (int(a) for a in sys.argv[1:4])
    device, out = sys.argv[4], sys.argv[5]
    x = data(n, dim, seed=0)
    # y: a non-linear function of x plus noise, so the pairs carry a real link
    rng = np.random.default_rng(2)
    y = np.tanh(x @ rng.normal(size=(dim, dim)) * 2) + 0.05 * rng.normal(size=(n, dim))
    pairs = np.stack([np.arange(500)] * 2, 1)
    model = SUE(solver="spectralnet", se_dim=10, out_dim=8, device=device,
                solver_params=dict(training="rayleigh", epochs=epochs, batch_size=1024,
                                   hidden=(256, 256)),
                matcher_params=dict(epochs=epochs, batch_size=512))
    start = time.perf_counter()
    model.fit((x, y.astype(np.float32), pairs))
    wall = time.perf_counter() - start
    if rank() == 0:
        se = model.stage_outputs(x[:2000], "x")["se"]
        np.savez(out + ".npz", se=se, z=model.transform(y[:2000].astype(np.float32), "y"))
        json.dump({"wall": wall, **model.timings_, "world": world_size()}, open(out + ".json", "w"))
    """
)


def run(n, dim, device, epochs, nproc, threads, workdir, tag) -> dict:
    script = Path(workdir) / "worker.py"
    script.write_text(WORKER)
    path = os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "SUE_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads),
           "PYTHONPATH": path}  # fmt: skip
    out = str(Path(workdir) / tag)
    args = [str(n), str(dim), str(epochs), device, out]
    if nproc == 1:
        cmd = [sys.executable, str(script), *args]
    else:
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               f"--nproc_per_node={nproc}", str(script), *args]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(done.stderr[-3000:])
    result = json.loads(Path(out + ".json").read_text())
    result.update(np.load(out + ".npz"))
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,30000")
    ap.add_argument("--dim", type=int, default=128)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--nproc", type=int, default=2)
    ap.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    cpu = platform.processor() or platform.machine()
    print(
        f"machine: {platform.node()}, {cpu}, {os.cpu_count()} cores visible, using "
        f"{a.cores}; python {platform.python_version()}"
    )
    layouts = [(1, a.cores), (a.nproc, max(1, a.cores // a.nproc))]
    stages = ("wall", "spectral", "aligner", "matcher")
    with tempfile.TemporaryDirectory() as tmp:
        for n in map(int, a.sizes.split(",")):
            runs: dict[int, list[dict]] = {p: [] for p, _ in layouts}
            for r in range(a.rounds):
                for p, t in layouts if r % 2 == 0 else layouts[::-1]:
                    runs[p].append(run(n, a.dim, a.device, a.epochs, p, t, tmp, f"n{n}p{p}r{r}"))
            med = {
                p: {k: float(np.median([x[k] for x in rs])) for k in stages}
                for p, rs in runs.items()
            }
            a1, an = runs[1][0], runs[a.nproc][0]
            sin2 = {k: subspace_sin2(a1[k], an[k]) / a1[k].shape[1] for k in ("se", "z")}
            agreement = {
                "spectral_subspace_sin2": sin2["se"],
                "universal_subspace_sin2": sin2["z"],
                "universal_max_abs_diff": float(np.abs(a1["z"] - an["z"]).max()),
            }
            one, many = med[1], med[a.nproc]
            print(json.dumps({"n": n, "dim": a.dim, "epochs": a.epochs, "one_process": one,
                              f"{a.nproc}_processes": many,
                              "speedup_wall": round(one["wall"] / many["wall"], 3),
                              "speedup_spectral": round(one["spectral"] / many["spectral"], 3),
                              "speedup_matcher": round(one["matcher"] / many["matcher"], 3),
                              "agreement": agreement}), flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
