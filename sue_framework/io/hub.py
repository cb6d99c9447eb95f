"""Sharing fitted models: a model card, a folder layout, and the Hugging Face Hub.

A shared model is a folder (or Hub repository) holding ``model.sue`` and a ``README.md`` model
card. The card is written from the model file's manifest, so it says what the file holds:
method and parameters, the shapes the fit saw, what pair cross-validation chose, and whether
the file carries copies of training rows.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sue_framework.errors import InputError, ModelFileError
from sue_framework.io.array_files import atomic_path
from sue_framework.io.model_files import (
    library_version,
    load_method,
    read_manifest,
    save_method,
    verify_file,
)

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
    """The model card of a manifest already read (and checked) from a model file: markdown,
    with the Hugging Face Hub's metadata block first.

    Parameters
    ----------
    manifest : dict
        What `model_files.read_manifest` or `io.verify_file` returned.
    """
    front = ["---", "library_name: sue_framework",
             "tags: [sue_framework, multimodal, shared-embedding]", "---", ""]  # fmt: skip
    return "\n".join(front + [_markdown(block) for block in card_blocks(manifest)]) + "\n"


def card_html(manifest: dict[str, Any], level: int = 2) -> str:
    """The same card as an HTML fragment (headings from `level` down, tables, lists, code), for
    pages such as `sue report` that show it beside other content.

    Parameters
    ----------
    manifest : dict
        What `model_files.read_manifest` returned.
    level : int
        The heading level of the card's title (its sections are one level below).
    """
    return "\n".join(_html(block, level) for block in card_blocks(manifest))


def card_blocks(manifest: dict[str, Any]) -> list[tuple[str, Any]]:
    """The card's content as blocks, for `card_markdown` and `card_html` to render alike:
    ("title" | "section" | "text", str), ("list", [str]), ("table", (header, rows)) or
    ("code", (language, text)). Text may hold `code` and **bold** spans.

    Parameters
    ----------
    manifest : dict
        What `model_files.read_manifest` returned.
    """
    facts = manifest.get("card", {})
    method = manifest["method"]
    blocks: list[tuple[str, Any]] = [
        ("title", f"{method['name']} (sue_framework)"),
        ("text", f"A shared embedding space for two modalities, fitted with sue_framework "
                 f"{manifest.get('library_version', '?')} (model file format "
                 f"{manifest['format_version']})."),
        ("section", "Method"),
        ("text", f"`{method['name']}` with parameters:"),
        ("code", ("json", json.dumps(method["params"], indent=1, sort_keys=True))),
        ("section", "Training data"),
    ]  # fmt: skip
    training = facts.get("training")
    if training:
        blocks.append(("list", [
            f"x: {training['x_rows']} rows of {training['x_features']} features",
            f"y: {training['y_rows']} rows of {training['y_features']} features",
            f"pairs: {training['pairs']}",
        ]))  # fmt: skip
    else:
        blocks.append(("list", ["not recorded (a file written before model cards)"]))
    said = facts.get("warnings")
    if said:
        blocks += [("section", "Warnings"), ("list", [f"**{text}**" for text in said])]
    selection = facts.get("selection")
    if selection:
        blocks += [
            ("section", "Selection"),
            ("text", f"Pair cross-validation chose `{selection['choice']}`."),
        ]
        if selection["cv_scores"]:
            # files written before `cv_score` existed scored 1/r
            name = selection.get("cv_score", "reciprocal_rank")
            score = _SCORE_WORDS.get(name, name)
            rows = [[k, f"{v:.4f}"] for k, v in selection["cv_scores"].items()]
            blocks.append(("table", (["candidate", f"pair-CV mean {score}"], rows)))
    if "linear" in manifest:
        blocks += [
            ("section", "Linear map"),
            ("text", f"Each side maps as `{manifest['linear']['formula']}` to "
                     f"{manifest['linear']['out_dim']} dimensions; `sue export --format npz` "
                     "writes the arrays."),
        ]  # fmt: skip
    blocks.append(("section", "What the file holds"))
    held = facts.get("input_rows")
    if held:
        listed = ", ".join(f"`{k}` ({' x '.join(map(str, v))})" for k, v in sorted(held.items()))
        blocks.append(("text", (
            f"**Copies of input rows**: {listed}. Whoever has this file has those rows; do not "
            "share it where the training data may not go."
        )))  # fmt: skip
    elif held is not None:
        blocks.append(("text", "No array in the file is a copy of the training rows."))
    else:
        blocks.append(
            ("text", "Unknown whether the file holds training rows (no training shapes recorded).")
        )
    use = (
        "from sue_framework.io.hub import from_hub\n\n"
        'model = from_hub("REPO_OR_FOLDER")\n'
        'zx = model.transform(x_rows, "x")  # and model.transform(y_rows, "y")'
    )
    blocks += [("section", "Use"), ("code", ("python", use))]
    return blocks


def _markdown(block: tuple[str, Any]) -> str:
    kind, body = block
    if kind in ("title", "section"):
        return f"{'#' if kind == 'title' else '##'} {body}\n"
    if kind == "text":
        return f"{body}\n"
    if kind == "list":
        return "".join(f"- {item}\n" for item in body)
    if kind == "table":
        header, rows = body
        lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows]) + "\n"
    language, text = body
    return f"```{language}\n{text}\n```\n"


def _inline(text: str) -> str:
    """Escaped text with the card's `code` and **bold** spans as HTML."""
    out = html.escape(text)
    out = re.sub(r"\*\*(.+?)\*\*", r"<strong>\1</strong>", out)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", out)


def _cell(text: str, numeric: bool) -> str:
    return f"<td class='num'>{_inline(text)}</td>" if numeric else f"<td>{_inline(text)}</td>"


def _html(block: tuple[str, Any], level: int) -> str:
    kind, body = block
    if kind in ("title", "section"):
        h = level if kind == "title" else level + 1
        return f"<h{h}>{_inline(body)}</h{h}>"
    if kind == "text":
        return f"<p>{_inline(body)}</p>"
    if kind == "list":
        return "<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in body) + "</ul>"
    if kind == "table":
        header, rows = body
        head = "".join(f"<th>{_inline(h)}</th>" for h in header)
        cells = "".join(
            "<tr>" + "".join(_cell(c, numeric=k > 0) for k, c in enumerate(r)) + "</tr>"
            for r in rows
        )
        return f"<table class='card'><tr>{head}</tr>{cells}</table>"
    language, text = body
    return f"<pre class='card {language}'><code>{html.escape(text)}</code></pre>"


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
            commit_message=commit_message
            or f"sue_framework {library_version()}: {MODEL_FILE} + card",
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
