"""Model files: one safetensors file whose header carries a JSON manifest. Never pickle.

The manifest names the method by registry name with its parameters as JSON (components given
as instances are stored by registry name and parameters too), so loading rebuilds the method
through the registry and restores its arrays. Writes are atomic: a failed save leaves any
existing file untouched. Integrity: the manifest records a SHA-256 of every array (with its name,
dtype and shape) and the header carries a SHA-256 of the manifest, so a file changed after it
was written (flipped bytes, a torn copy) is refused on load, naming what differs.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
from safetensors import safe_open
from safetensors.numpy import save_file

from sue_framework.errors import ModelFileError, UnknownComponentError
from sue_framework.io.array_files import atomic_path
from sue_framework.io.linear_map import FORMULA, PREFIX, LinearMap
from sue_framework.registry import registry

FORMAT = "sue_framework.model"
FORMAT_VERSION = 2
READABLE_VERSIONS = (1, 2)  # version 1: the same layout without checksums
_COMPONENT = "__component__"
_MANIFEST_HASH = "manifest_sha256"


def _digest(name: str, array: np.ndarray) -> str:
    """SHA-256 of one array's name, dtype, shape and bytes (C order)."""
    h = hashlib.sha256(f"{name}\0{array.dtype.str}\0{list(array.shape)}\0".encode())
    h.update(np.ascontiguousarray(array).data.cast("B"))
    return h.hexdigest()


def _text_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def library_version() -> str:
    """The sue_framework version that writes model files."""
    try:
        return version("sue-framework")
    except PackageNotFoundError:  # running from a source tree
        return "0+unknown"


def encode_params(value: Any, where: str = "params") -> Any:
    """JSON-ready form of estimator params; registered components nest by (kind, name, params).

    Parameters
    ----------
    value : any
        Parameters (JSON data, or registered components, nested).
    where : str
        Where the value sits, for messages.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [encode_params(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, dict):
        if not all(isinstance(k, str) for k in value):
            raise ModelFileError(f"{where} has non-string keys; model files store JSON objects")
        return {k: encode_params(v, f"{where}.{k}") for k, v in value.items()}
    found = registry.name_of(value) if hasattr(value, "get_params") else None
    if found is None:
        raise ModelFileError(
            f"cannot save {where}: a {type(value).__name__} is neither JSON data nor a registered "
            "component; register its class with registry.register(kind, name, cls) to save it"
        )
    kind, name = found
    params = encode_params(value.get_params(deep=False), f"{where}<{name}>")
    provider = registry.provider_of(kind, name)
    return {_COMPONENT: {"kind": kind, "name": name, "params": params, "provider": provider}}


def decode_params(value: Any) -> Any:
    """Inverse of `encode_params`: JSON back to parameters (stages given as instances rebuilt).

    Parameters
    ----------
    value : any
        The JSON form `encode_params` wrote.
    """
    if isinstance(value, list):
        return [decode_params(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {_COMPONENT}:
            spec = value[_COMPONENT]
            factory = _factory(spec["kind"], spec["name"], spec.get("provider"))
            params = decode_params(spec["params"])
            # files written when components took child stages by name keep loading
            return factory(**registry.resolve_children(factory, params))
        return {k: decode_params(v) for k, v in value.items()}
    return value


def _factory(kind: str, name: str, provider: str | None) -> Any:
    """The registered factory a model file names; when it is missing, the error names the
    package that provided it when the file was written."""
    try:
        return registry.get(kind, name)
    except UnknownComponentError as exc:
        if not provider:
            raise
        raise UnknownComponentError(
            f"this model file needs the {kind} {name!r}, which the package {provider!r} "
            f"provided when the file was written and which is not installed now: pip install "
            f"{provider}"
        ) from exc


def card_facts(method: Any, state: dict[str, np.ndarray]) -> dict[str, Any]:
    """What a model card says beyond the parameters: the shapes the fit saw, what pair
    cross-validation chose (methods that choose), what the fit warned about (`fit_warnings_`,
    such as too few pairs), and which arrays are copies of input rows (the exact solver keeps
    its training rows for the Nystrom extension; ASIF its pairs).

    Parameters
    ----------
    method : fitted method
        The method being saved.
    state : dict of str to ndarray
        Its arrays, as saved.
    """
    training = getattr(method, "training_", None)
    facts: dict[str, Any] = {"training": training}
    said = [str(w) for w in getattr(method, "fit_warnings_", [])]
    if said:  # what the fit warned about travels with the model
        facts["warnings"] = said
    if hasattr(method, "choice_"):
        facts["selection"] = {
            "choice": str(method.choice_),
            "cv_scores": {str(k): float(v) for k, v in getattr(method, "cv_scores_", {}).items()},
            "cv_score": str(getattr(method, "cv_score", "reciprocal_rank")),
        }
    if training:
        widths = {training["x_features"], training["y_features"]}
        counts = {training["x_rows"], training["y_rows"], training["pairs"]}
        facts["input_rows"] = {
            k: list(v.shape)
            for k, v in state.items()
            if v.ndim == 2 and v.shape[1] in widths and v.shape[0] in counts
        }
    return facts


def save_method(method: Any, path: str | Path) -> Path:
    """Write a fitted method (anything with get_params / get_state, registered as a method).

    Parameters
    ----------
    method : fitted method
        A registered method with `get_params` and `get_state`.
    path : str or Path
        The model file to write (atomically).
    """
    path = Path(path)
    found = registry.name_of(method)
    if found is None or found[0] != "method":
        raise ModelFileError(
            f"{type(method).__name__} is not a registered method; register it to save it"
        )
    manifest = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "library_version": library_version(),
        "method": {
            "name": found[1],
            "params": encode_params(method.get_params(deep=False)),
            "provider": registry.provider_of("method", found[1]),
        },
    }
    raw = method.get_state()
    linear = LinearMap.of(method)
    if linear is not None:  # the map as plain arrays: transform and export without torch
        raw = {**raw, **linear.state()}
        manifest["linear"] = {"formula": FORMULA, "out_dim": linear.out_dim}
    state = {k: np.ascontiguousarray(np.atleast_1d(v)) for k, v in raw.items()}
    manifest["card"] = card_facts(method, state)
    manifest["scalar_keys"] = sorted(k for k, v in raw.items() if np.ndim(v) == 0)
    manifest["checksums"] = {k: _digest(k, v) for k, v in sorted(state.items())}
    text = json.dumps(manifest)
    with atomic_path(path) as tmp:
        save_file(state, str(tmp), metadata={"manifest": text, _MANIFEST_HASH: _text_digest(text)})
    return path


def _sniff(path: Path) -> None:
    """Refuse files that are not safetensors before any parser sees them (pickle above all)."""
    if not path.is_file():
        raise ModelFileError(f"no model file at {path}")
    with open(path, "rb") as fh:
        head = fh.read(9)
    if not head:
        raise ModelFileError(f"{path} is empty (0 bytes): not a model file, or a failed copy")
    # safetensors: 8-byte little-endian header length, then the JSON header
    if len(head) == 9 and head[8:9] == b"{":
        n = int.from_bytes(head[:8], "little")
        if 0 < n <= path.stat().st_size - 8:
            return
        raise ModelFileError(
            f"{path} is truncated: its header says {n} bytes of manifest follow, the file has "
            f"{path.stat().st_size - 8}; restore it from a good copy"
        )
    if head[:1] == b"\x80" or head[:2] == b"PK":
        raise ModelFileError(
            f"{path} is a pickle or torch.save archive; sue_framework model files are safetensors "
            "with a JSON manifest and are never unpickled. Re-save the model with SUE.save()"
        )
    if len(head) < 9:
        raise ModelFileError(
            f"{path} is truncated or not a model file: {len(head)} bytes, shorter than any "
            "safetensors header"
        )
    raise ModelFileError(f"{path} is not a sue_framework model file (no safetensors header)")


def read_manifest(path: str | Path) -> dict[str, Any]:
    """A model file's JSON manifest (method, parameters, checksums, card), checked but without
    loading the arrays.

    Parameters
    ----------
    path : str or Path
        The model file.
    """
    path = Path(path)
    _sniff(path)
    try:
        with safe_open(str(path), framework="np") as fh:
            meta = fh.metadata() or {}
    except Exception as exc:
        raise ModelFileError(f"{path} is corrupt or truncated: {exc}") from exc
    try:
        manifest = json.loads(meta["manifest"])
    except (KeyError, json.JSONDecodeError, RecursionError) as exc:
        if "manifest" in meta:
            raise _damaged(path, "its manifest is not valid JSON") from exc
        raise ModelFileError(
            f"{path} is a safetensors file without a sue_framework manifest"
        ) from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a sue_framework model file")
    if _MANIFEST_HASH in meta:  # whatever version the manifest claims: it may have been edited
        if meta[_MANIFEST_HASH] != _text_digest(meta["manifest"]):
            raise _damaged(path, "its manifest does not match the manifest checksum")
    elif manifest.get("format_version") != 1:
        raise _damaged(path, "it lacks the manifest checksum every file since format 2 carries")
    if manifest.get("format_version") not in READABLE_VERSIONS:
        raise ModelFileError(
            f"{path} uses model format version {manifest.get('format_version')} (written by "
            f"sue_framework {manifest.get('library_version')}); this sue_framework "
            f"{library_version()} reads versions {', '.join(map(str, READABLE_VERSIONS))}. "
            "Load it with the version that wrote it, or refit"
        )
    _check_layout(path, manifest, checked=_MANIFEST_HASH in meta)
    return manifest


def _check_layout(path: Path, manifest: dict[str, Any], checked: bool) -> None:
    """Refuse a manifest whose fields do not have the types a model file's have."""
    method = manifest.get("method")
    problems = []
    if not isinstance(method, dict) or not isinstance(method.get("name"), str):
        problems.append("'method' must be an object with a string 'name'")
    elif not isinstance(method.get("params"), dict):
        problems.append("'method.params' must be an object")
    if checked and not (
        isinstance(manifest.get("checksums"), dict)
        and all(isinstance(v, str) for v in manifest["checksums"].values())
    ):
        problems.append("'checksums' must map array names to digests")
    scalars = manifest.get("scalar_keys", [])
    if not isinstance(scalars, list) or not all(isinstance(k, str) for k in scalars):
        problems.append("'scalar_keys' must be a list of names")
    card = manifest.get("card", {})
    if not isinstance(card, dict) or not isinstance(card.get("training") or {}, dict):
        problems.append("'card' must be an object")
    elif not (isinstance(said := card.get("warnings", []), list)
              and all(isinstance(w, str) for w in said)):  # fmt: skip
        problems.append("'card.warnings' must be a list of strings")
    if problems:
        raise _damaged(path, f"its manifest is malformed ({'; '.join(problems)})")


def _damaged(path: Path, what: str) -> ModelFileError:
    return ModelFileError(
        f"{path} is damaged: {what}. The file changed after it was written (a bad copy or "
        "disk); restore it from a good copy, or refit"
    )


def _verify(path: Path, checksums: dict[str, str], arrays: dict[str, np.ndarray]) -> None:
    """Refuse arrays that are missing, extra, or not the bytes that were saved."""
    missing = sorted(set(checksums) - set(arrays))
    extra = sorted(set(arrays) - set(checksums))
    if missing or extra:
        raise _damaged(
            path,
            f"it lacks arrays {missing} and holds unknown arrays {extra}"
            if missing and extra
            else f"it lacks the arrays {missing}"
            if missing
            else f"it holds unknown arrays {extra}",
        )
    bad = [k for k in sorted(arrays) if _digest(k, arrays[k]) != checksums[k]]
    if bad:
        shown = ", ".join(repr(k) for k in bad[:3]) + (" ..." if len(bad) > 3 else "")
        raise _damaged(path, f"array(s) {shown} do not match their checksums")


def read_arrays(path: str | Path, manifest: dict[str, Any]) -> dict[str, np.ndarray]:
    """The file's arrays, verified against the manifest's checksums where it has them.

    Parameters
    ----------
    path : str or Path
        The model file.
    manifest : dict
        Its manifest (`read_manifest`).
    """
    path = Path(path)
    try:
        with safe_open(str(path), framework="np") as fh:
            arrays = {k: fh.get_tensor(k) for k in fh.keys()}
    except Exception as exc:
        raise _damaged(path, f"its arrays cannot be read ({exc})") from exc
    if "checksums" in manifest:
        _verify(path, manifest["checksums"], arrays)
    else:
        warnings.warn(
            f"{path} is a format-1 model file, written without checksums, so its integrity "
            "cannot be checked; save it again to add them",
            stacklevel=3,
        )
    return arrays


def read_linear_map(path: str | Path) -> LinearMap | None:
    """The map a model file carries (checked against its checksums), without building the
    method or importing torch; None for a model that is not linear, or a file written before
    models carried their map.

    Parameters
    ----------
    path : str or Path
        A model file from `sue fit` / `save`.
    """
    manifest = read_manifest(path)
    if "linear" not in manifest:
        return None
    return LinearMap.from_state(read_arrays(path, manifest), manifest["method"]["name"])


def load_transformer(path: str | Path) -> Any:
    """What maps rows of a model file most cheaply: its linear map (numpy alone) where the file
    carries one, else the whole method (`load_method`). Either has ``transform(rows, modality)``
    with the same results.

    Parameters
    ----------
    path : str or Path
        A model file from `sue fit` / `save`.
    """
    return read_linear_map(path) or load_method(path)


def verify_file(path: str | Path) -> dict[str, Any]:
    """Check a model file completely (header, manifest and every array's checksum) without
    building the model; returns its manifest. For anything that passes a file on.

    Parameters
    ----------
    path : str or Path
        The model file.
    """
    path = Path(path)
    manifest = read_manifest(path)
    read_arrays(path, manifest)
    return manifest


def load_method(path: str | Path) -> Any:
    """Rebuild a fitted method from a model file written by `save_method`.

    Parameters
    ----------
    path : str or Path
        The model file.
    """
    path = Path(path)
    manifest = read_manifest(path)
    spec = manifest["method"]
    try:
        factory = _factory("method", spec["name"], spec.get("provider"))
        method = factory(**decode_params(spec["params"]))
    except UnknownComponentError:
        raise
    except TypeError as exc:  # a parameter this version no longer takes
        raise ModelFileError(
            f"{path} was written by sue_framework {manifest.get('library_version')} with "
            f"settings this version {library_version()} does not take ({exc}); load it with the "
            "version that wrote it, or refit"
        ) from exc
    except (KeyError, ValueError, AttributeError, RecursionError) as exc:
        raise _damaged(path, f"its method parameters cannot be rebuilt ({exc!r})") from exc
    scalars = set(manifest.get("scalar_keys", []))
    arrays = read_arrays(path, manifest)
    state = {
        k: (v[0] if k in scalars else v) for k, v in arrays.items() if not k.startswith(PREFIX)
    }
    try:
        method.set_state(state)
    except KeyError as exc:
        raise ModelFileError(f"{path} lacks arrays the model needs: {exc}") from exc
    training = manifest.get("card", {}).get("training")
    if training:
        method.training_ = training
    return method
