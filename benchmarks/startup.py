"""Start-up time of the `sue` command and which heavy stacks each command imports.

    python benchmarks/startup.py [--repeats 5]

Each command runs in a fresh interpreter `repeats` times; the median wall time is printed with
the heavy packages it imported (torch, scikit-learn, SciPy, and the optional encoder stacks,
which no listed command should import). `python -c pass` is the floor. Figures are for the
machine printed first.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HEAVY = (
    "torch", "sklearn", "scipy", "matplotlib", "transformers", "sentence_transformers",
    "open_clip", "spacy", "timm", "torchvision", "PIL", "faiss",
)  # fmt: skip
COMMANDS = {
    "python -c pass": "pass",
    "sue --version": "main(['--version'])",
    "sue --help": "main(['--help'])",
    "sue fit --help": "main(['fit', '--help'])",
    "sue plugins": "main(['plugins'])",
    **{
        f"sue {c} --help": f"main(['{c}', '--help'])"
        for c in (
            "demo",
            "transform",
            "evaluate",
            "experiment",
            "encode",
            "suggest",
            "report",
            "card",
        )  # fmt: skip
    },
    "sue card": "main(['card', '--model', {model!r}])",
    "sue transform (linear)": "main(['transform', '--model', {model!r}, '--modality', 'x', "
    "'--input', {rows!r}, '--out', {out!r}])",
    # the same rows through the whole method, as `sue transform` ran before linear maps
    "load_method.transform": "import numpy as np; from sue_framework.io.model_files import "
    "load_method; load_method({model!r}).transform(np.load({rows!r}), 'x')",
}
PROBE = """
import contextlib, io, sys
from sue_framework.cli import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        {call}
    except SystemExit:
        pass
print('HEAVY:' + ','.join(m for m in {heavy!r} if m in sys.modules))
"""


def model_file(folder: str) -> str:
    """A small fitted linear model (CCA) for `sue card` to read and `sue transform` to apply
    to 10,000 rows of x.npy beside it (fitted and written here, outside the timing)."""
    import numpy as np

    from sue_framework import WeaklyPairedData, registry
    from sue_framework.io.model_files import save_method

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 16)).astype(np.float32)
    y = (x @ rng.normal(size=(16, 12))).astype(np.float32)
    model = registry.get("method", "pair_cca")(out_dim=4, device="cpu")
    model.fit(WeaklyPairedData(x, y, np.stack([np.arange(40)] * 2, 1)))
    np.save(os.path.join(folder, "x.npy"), rng.normal(size=(10_000, 16)).astype(np.float32))
    return str(save_method(model, os.path.join(folder, "m.sue")))


def run(call: str) -> tuple[float, str]:
    code = "pass" if call == "pass" else PROBE.format(call=call, heavy=HEAVY)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds = time.perf_counter() - t0
    return seconds, out.stdout.rpartition("HEAVY:")[2].strip()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    args = ap.parse_args()
    print(
        f"machine: {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print(f"{'command':<22} {'median s':>9}  heavy imports")
    with tempfile.TemporaryDirectory() as tmp:
        model = model_file(tmp)
        for name, call in COMMANDS.items():
            files = {"rows": os.path.join(tmp, "x.npy"), "out": os.path.join(tmp, "z.npy")}
            call = call.format(model=model, **files) if "{model" in call else call
            runs = [run(call) for _ in range(args.repeats)]
            median = statistics.median(t for t, _ in runs)
            print(f"{name:<22} {median:>9.2f}  {runs[-1][1] or '-'}")


if __name__ == "__main__":
    main()
