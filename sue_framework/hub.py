"""Sharing fitted models: a model card, a folder layout, and the Hugging Face Hub.

A shared model is a folder (or Hub repository) holding ``model.sue`` and a ``README.md`` model
card. The card is written from the model file's manifest, so it says what the file holds:
method and parameters, the shapes the fit saw, what pair cross-validation chose, and whether
the file carries copies of training rows.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sue_framework import __version__
from sue_framework.array_files import atomic_path
from sue_framework.errors import InputError, ModelFileError
from sue_framework.model_files import load_method, read_manifest, save_method, verify_file

MODEL_FILE = "model.sue"
CARD_FILE = "README.md"
# how a card names each `CVSelect.cv_score`
_SCORE_WORDS = {
    "reciprocal_rank": "reciprocal rank (1/r)",
    "root_rank": "1/sqrt(r)",
    "log_rank": "-log(r)",
}


def model_card(path: str | Path) -> str:
    """The model card (markdown, with Hub metadata) of a model file, after its checksums are
    verified (a damaged file gets no card that would help share it).

    Parameters
    ----------
    path : str or Path
        The model file.
    """
    return card_markdown(verify_file(path))


def card_markdown(manifest: dict[str, Any]) -> str:
    """The model card of a manifest already read (and checked) from a model file.

    Parameters
    ----------
    manifest : dict
        What `model_files.read_manifest` or `io.verify_file` returned.
    """
    facts = manifest.get("card", {})
    method = manifest["method"]
    lines = [
        "---",
        "library_name: sue_framework",
        "tags: [sue_framework, multimodal, shared-embedding]",
        "---",
        "",
        f"# {method['name']} (sue_framework)",
        "",
        f"A shared embedding space for two modalities, fitted with sue_framework "
        f"{manifest.get('library_version', '?')} (model file format "
        f"{manifest['format_version']}).",
        "",
        "## Method",
        "",
        f"`{method['name']}` with parameters:",
        "",
        "```json",
        json.dumps(method["params"], indent=1, sort_keys=True),
        "```",
        "",
        "## Training data",
        "",
    ]
    training = facts.get("training")
    if training:
        lines += [
            f"- x: {training['x_rows']} rows of {training['x_features']} features",
            f"- y: {training['y_rows']} rows of {training['y_features']} features",
            f"- pairs: {training['pairs']}",
        ]
    else:
        lines.append("- not recorded (a file written before model cards)")
    said = facts.get("warnings")
    if said:
        lines += ["", "## Warnings", ""] + [f"- **{text}**" for text in said]
    selection = facts.get("selection")
    if selection:
        lines += ["", "## Selection", "", f"Pair cross-validation chose `{selection['choice']}`."]
        if selection["cv_scores"]:
            # files written before `cv_score` existed scored 1/r
            name = selection.get("cv_score", "reciprocal_rank")
            score = _SCORE_WORDS.get(name, name)
            lines += ["", f"| candidate | pair-CV mean {score} |", "| --- | ---: |"]
            lines += [f"| {k} | {v:.4f} |" for k, v in selection["cv_scores"].items()]
    lines += ["", "## What the file holds", ""]
    rows = facts.get("input_rows")
    if rows:
        listed = ", ".join(f"`{k}` ({' x '.join(map(str, v))})" for k, v in sorted(rows.items()))
        lines.append(
            f"**Copies of input rows**: {listed}. Whoever has this file has those rows; do not "
            "share it where the training data may not go."
        )
    elif rows is not None:
        lines.append("No array in the file is a copy of the training rows.")
    else:
        lines.append("Unknown whether the file holds training rows (no training shapes recorded).")
    lines += [
        "",
        "## Use",
        "",
        "```python",
        "from sue_framework.hub import from_hub",
        "",
        'model = from_hub("REPO_OR_FOLDER")',
        'zx = model.transform(x_rows, "x")  # and model.transform(y_rows, "y")',
        "```",
        "",
    ]
    return "\n".join(lines)


def export_folder(model: Any, folder: str | Path, *, force: bool = False) -> Path:
    """Write `model` (a fitted method, or the path of a model file) as a shareable folder:
    ``model.sue`` and its ``README.md`` card. A model file is verified, then copied as it is:
    loading and saving it again would drop what a load does not restore (auto's CV scores).
    A folder that already holds files is refused unless `force` (then the two are replaced).

    Parameters
    ----------
    model : fitted method or path
        A fitted method, or the path of a model file (copied as it is, after verification).
    folder : str or Path
        The folder to write model.sue and README.md into.
    force : bool
        Write into a folder that already holds files (replacing those two).
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{folder} is a file; give a folder to export into")
    if not force and folder.is_dir() and any(folder.iterdir()):
        raise InputError(
            f"{folder} is not empty; export into a new or empty folder, or pass force=True "
            "(sue card --export ... --force) to replace its model.sue and README.md"
        )
    if isinstance(model, (str, Path)):
        manifest = verify_file(model)  # refuse anything that is not an intact model file
        folder.mkdir(parents=True, exist_ok=True)
        with atomic_path(folder / MODEL_FILE) as tmp:
            shutil.copyfile(model, tmp)
    else:
        folder.mkdir(parents=True, exist_ok=True)
        manifest = read_manifest(save_method(model, folder / MODEL_FILE))
    with atomic_path(folder / CARD_FILE) as tmp:
        tmp.write_text(card_markdown(manifest))
    return folder


def push_to_hub(
    model: Any,
    repo_id: str,
    *,
    token: str | None = None,
    private: bool = False,
    revision: str | None = None,
    commit_message: str | None = None,
    api: Any = None,
) -> Any:
    """Upload `model` (a fitted method, or a model file's path) with its card to a Hugging
    Face Hub model repository (created if missing). `api` is an `huggingface_hub.HfApi`
    (default: one with `token`).

    Parameters
    ----------
    model : fitted method or path
        What to upload (see `export_folder`).
    repo_id : str
        The Hub repository, "user/name" (created if missing).
    token : str, optional
        A Hugging Face token; None uses the logged-in one.
    private : bool
        Create the repository as private.
    revision : str, optional
        The branch to upload to.
    commit_message : str, optional
        The commit's message.
    api : HfApi, optional
        The client to use (tests pass a stand-in).
    """
    if api is None:
        api = _hf().HfApi(token=token)
    api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        export_folder(model, tmp)
        return api.upload_folder(
            repo_id=repo_id,
            folder_path=tmp,
            repo_type="model",
            revision=revision,
            commit_message=commit_message or f"sue_framework {__version__}: {MODEL_FILE} + card",
        )


def from_hub(repo_or_folder: str | Path, *, revision: str | None = None,
             token: str | None = None) -> Any:  # fmt: skip
    """A fitted model from a folder written by `export_folder` / `push_to_hub`, or from a Hub
    repository id (downloaded into the Hugging Face cache; `HF_HUB_OFFLINE=1` uses the cache
    only).

    Parameters
    ----------
    repo_or_folder : str or Path
        A folder written by `export_folder`, or a Hub repository id.
    revision : str, optional
        The Hub branch, tag or commit.
    token : str, optional
        A Hugging Face token for private repositories.
    """
    local = Path(repo_or_folder)
    if local.is_dir():
        if not (local / MODEL_FILE).is_file():
            raise ModelFileError(f"{local} holds no {MODEL_FILE}; it is not a shared sue model")
        return load_method(local / MODEL_FILE)
    hf = _hf()
    try:
        path = hf.hf_hub_download(
            str(repo_or_folder), MODEL_FILE, revision=revision, token=token, repo_type="model"
        )
    except Exception as exc:  # offline, missing repo or file, no access: one clear message
        raise ModelFileError(
            f"could not get {MODEL_FILE} of {repo_or_folder!r} from the Hugging Face Hub "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}). Check the "
            "repository id and your network or token, or give a local folder"
        ) from exc
    return load_method(path)


def _hf() -> Any:
    try:
        import huggingface_hub
    except ImportError:
        raise ModelFileError(
            "sharing through the Hub needs huggingface_hub: pip install 'sue-framework[hub]'"
        ) from None
    return huggingface_hub
