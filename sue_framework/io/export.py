"""A fitted model taken out of the project: its maps as plain arrays (.npz) or as ONNX graphs,
each folder with a README that states what the files compute.

`npz` covers the linear maps (`linear_map.LinearMap`); `onnx` covers them, ASIF's anchor
representations and SUE pipelines whose first stage is the identity or PCA (their matcher's
network included), one graph per side (input "rows" (n, d) float32, output "z" (n, k) float32).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np

from sue_framework.errors import InputError
from sue_framework.io.array_files import atomic_path
from sue_framework.io.linear_map import FORMULA, SIDES, LinearMap, affine_module

FORMATS = ("npz", "onnx")


def export_model(model_path: str | Path, folder: str | Path, fmt: str, *,
                 force: bool = False) -> list[Path]:  # fmt: skip
    """Write the model file's maps into `folder` as `fmt` ("npz" or "onnx") with a README.md;
    returns the files written.

    Parameters
    ----------
    model_path : str or Path
        A model file from `sue fit` / `save`.
    folder : str or Path
        The folder to write into (made if missing; one that holds files needs `force`).
    fmt : str
        "npz" (linear maps as arrays) or "onnx" (one graph per side).
    force : bool
        Write into a folder that already holds files (replacing the exported ones).
    """
    from sue_framework.io.model_files import read_linear_map, read_manifest

    if fmt not in FORMATS:
        raise InputError(f"format must be one of {FORMATS}, got {fmt!r}")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; give a folder to export into")
    if not force and folder.is_dir() and any(folder.iterdir()):
        raise InputError(f"{folder} is not empty; export into a new or empty folder, or pass "
                         "--force to replace the exported files")  # fmt: skip
    manifest = read_manifest(model_path)
    name = manifest["method"]["name"]
    linear = read_linear_map(model_path)
    if fmt == "npz":
        if linear is None:
            raise InputError(
                f"{model_path} ({name}) is not one linear map per side, so it has no arrays to "
                "export as npz; export it with --format onnx"
            )
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / "map.npz") as tmp:
            linear.save_npz(tmp)
        written = [folder / "map.npz"]
        readme = _npz_readme(name, linear)
    else:
        modules = _onnx_modules(model_path, linear, name)
        folder.mkdir(parents=True, exist_ok=True)
        written = []
        for side, (module, width) in modules.items():
            with atomic_path(folder / f"{side}.onnx") as tmp:
                _write_onnx(module, width, tmp)
            written.append(folder / f"{side}.onnx")
        readme = _onnx_readme(name, {m: w for m, (_, w) in modules.items()}, linear)
    with atomic_path(folder / "README.md") as tmp:
        tmp.write_text(readme + _provenance(model_path, manifest), encoding="utf-8")
    return [*written, folder / "README.md"]


def _npz_readme(name: str, linear: LinearMap) -> str:
    shapes = "\n".join(
        f"| {m} | {side.matrix.shape[0]} | {side.matrix.shape[1]} | {side.scale:g} |"
        for m, side in linear.sides.items()
    )
    return f"""# The {name} map, as arrays

`map.npz` holds, for each side `m` of `x` and `y`, three float64 arrays: `m_mean` (d,),
`m_scale` (1,) and `m_matrix` (d, k). A row `v` of side `m` maps into the shared space as

    {FORMULA.replace("x - ", "v - ")}

with `mean`, `scale` and `matrix` the side's arrays. sue_framework computes it in float32
(rows cast to float32 first), so float64 results agree with it to about 1e-6. Compare the two
sides' rows by cosine similarity, as sue_framework's retrieval does.

| side | input width d | output width k | scale |
| --- | ---: | ---: | ---: |
{shapes}

```python
import numpy as np

m = np.load("map.npz")
zx = m["x_scale"] * (x_rows - m["x_mean"]) @ m["x_matrix"]
zy = m["y_scale"] * (y_rows - m["y_mean"]) @ m["y_matrix"]
```
"""


def _onnx_readme(name: str, widths: dict[str, int], linear: LinearMap | None) -> str:
    what = (
        f"the linear map `{FORMULA}`" if linear is not None
        else f"the {name} model's transform (its stages in one graph)"
    )  # fmt: skip
    rows = "\n".join(f"| `{m}.onnx` | {m} | {w} |" for m, w in widths.items())
    return f"""# The {name} map, as ONNX

One graph per side computes {what}. Each takes the input `rows`, float32 of shape (n, d), and
gives `z`, float32 of shape (n, k), for any n. Compare the two sides' outputs by cosine
similarity, as sue_framework's retrieval does.

| file | side | input width d |
| --- | --- | ---: |
{rows}

```python
import numpy as np
import onnxruntime as ort

zx = ort.InferenceSession("x.onnx").run(None, {{"rows": x_rows.astype(np.float32)}})[0]
```
"""


def _provenance(model_path: str | Path, manifest: dict[str, Any]) -> str:
    facts = {
        "model_file": Path(model_path).name,
        "method": manifest["method"]["name"],
        "sue_framework": manifest.get("library_version"),
        "training": manifest.get("card", {}).get("training"),
    }
    return "\n## Where it came from\n\n```json\n" + json.dumps(facts, indent=1) + "\n```\n"


def _onnx_modules(model_path: str | Path, linear: LinearMap | None, name: str) -> dict:
    """Each side's torch module and input width: from the linear map, else from the method's
    own `onnx_module(modality)` (ASIF, SUE pipelines), else a refusal that says what is
    covered."""
    if linear is not None:
        return {
            m: (affine_module(side.mean, side.matrix, side.scale), side.matrix.shape[0])
            for m, side in linear.sides.items()
        }
    from sue_framework.io.model_files import load_method

    method = load_method(model_path)
    get = getattr(method, "onnx_module", None)
    modules = {m: get(m) for m in SIDES} if callable(get) else {}
    if not modules or any(v is None for v in modules.values()):
        raise InputError(
            f"{model_path} ({name}) cannot be exported as ONNX yet: export covers linear maps, "
            "ASIF, and SUE pipelines whose first stage is the identity or PCA (their MMD, "
            "adversarial or OT network included); a spectral first stage (the exact solver's "
            "extension searches its training rows) is not covered"
        )
    return modules


def _write_onnx(module: Any, width: int, path: Path) -> None:
    """Export `module` (rows (n, width) float32 -> z) to `path`, with n dynamic."""
    import contextlib
    import io

    import torch

    example = torch.zeros((2, width), dtype=torch.float32)
    exporter = logging.getLogger("torch.onnx")  # its notes on optional packages it skipped
    level = exporter.level
    exporter.setLevel(logging.ERROR)
    try:
        with contextlib.redirect_stdout(io.StringIO()):  # the exporter's steps go to stdout
            torch.onnx.export(
                module.eval(),
                (example,),
                str(path),
                input_names=["rows"],
                output_names=["z"],
                dynamic_shapes=({0: torch.export.Dim("n")},),
                dynamo=True,
                external_data=False,  # one self-contained file: its weights inside
                verbose=False,
            )
    finally:
        exporter.setLevel(level)


def onnx_transform(path: str | Path, rows: np.ndarray) -> np.ndarray:
    """Run an exported graph with onnxruntime (installed separately): for checks and examples.

    Parameters
    ----------
    path : str or Path
        An exported `x.onnx` or `y.onnx`.
    rows : ndarray of shape (n, d)
        Rows of that side.
    """
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"rows": np.asarray(rows, dtype=np.float32)})[0]
