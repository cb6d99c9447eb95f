"""Readers for real paired text material that Debian packages ship, in their published formats.

- FreeDict bilingual dictionaries (dictd format: a ``.index`` of base64 offsets and a gzip or
  dictzip ``.dict.dz``), package ``dict-freedict-eng-fra``, GPL-2.0-or-later.
- WordNet 3.0 (``index.<pos>`` and ``data.<pos>`` files), package ``wordnet-base``, WordNet
  licence (BSD-like).
- Unicode CLDR emoji annotations (``common/annotations/<lang>.xml``), package
  ``unicode-cldr-core``, Unicode licence.
"""

from __future__ import annotations

import gzip
import re
import xml.etree.ElementTree as ET
from pathlib import Path

from sue_framework.errors import InputError

_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NUMBERED = re.compile(r"^\d+\.\s*")


def need(path: Path, package: str, param: str) -> Path:
    """`path` if it exists, else an InputError saying which package provides it.

    Parameters
    ----------
    path : Path
        The file or folder needed.
    package : str
        The Debian package that provides it.
    param : str
        The parameter that points elsewhere.
    """
    if not path.exists():
        raise InputError(
            f"{path} not found. Install it with: apt-get install {package} (Debian/Ubuntu), "
            f"or pass {param}= pointing at a folder that holds it"
        )
    return path


def _b64_number(s: str) -> int:
    n = 0
    for ch in s:
        n = n * 64 + _B64.index(ch)
    return n


def read_dictd(index: Path, data: Path) -> dict[str, str]:
    """Headword -> entry text of a dictd dictionary (metadata entries ``00database*`` left out).

    Parameters
    ----------
    index, data : Path
        The dictionary's .index and .dict(.dz) files.
    """
    raw = data.read_bytes()
    body = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    entries: dict[str, str] = {}
    for line in index.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) < 3 or parts[0].startswith("00database") or parts[0].startswith("00-"):
            continue
        off, size = _b64_number(parts[1]), _b64_number(parts[2])
        entries.setdefault(parts[0], body[off : off + size].decode("utf-8", "replace"))
    return entries


def first_translation(entry: str) -> str | None:
    """The first sense's first translation of a FreeDict entry ("word /pron/" then senses).

    Parameters
    ----------
    entry : str
        A FreeDict entry's text.
    """
    lines = [ln.strip() for ln in entry.strip().splitlines()[1:] if ln.strip()]
    if not lines:
        return None
    first = _NUMBERED.sub("", lines[0])
    first = re.split(r"[,;]", first)[0].strip()
    return first or None


def freedict_pairs(folder: Path, name: str = "freedict-eng-fra") -> list[tuple[str, str]]:
    """(headword, first translation) for every entry of a FreeDict dictionary.

    Parameters
    ----------
    folder : Path
        The dictd folder.
    name : str
        The dictionary's file name stem.
    """
    folder = Path(folder)
    pkg = "dict-" + name
    index = need(folder / f"{name}.index", pkg, "dictd_dir")
    data = need(folder / f"{name}.dict.dz", pkg, "dictd_dir")
    out = []
    for head, entry in read_dictd(index, data).items():
        tr = first_translation(entry)
        if tr:
            out.append((head.strip(), tr))
    return out


def wordnet_glosses(folder: Path) -> dict[str, str]:
    """Lemma (spaces, not underscores) -> definition of its most frequent sense, nouns first.

    WordNet's index files list a lemma's synsets by sense frequency; the definition is the gloss
    up to its first quoted example.

    Parameters
    ----------
    folder : Path
        The WordNet database folder.
    """
    folder = Path(folder)
    out: dict[str, str] = {}
    for pos in ("noun", "verb", "adj", "adv"):
        index = need(folder / f"index.{pos}", "wordnet-base", "wordnet_dir")
        data = need(folder / f"data.{pos}", "wordnet-base", "wordnet_dir")
        with open(data, "rb") as fh:
            for line in index.read_text(encoding="utf-8").splitlines():
                if line.startswith(" "):
                    continue  # licence header
                f = line.split()
                lemma = f[0].replace("_", " ")
                if lemma in out:
                    continue
                n_ptr = int(f[3])
                offset = int(f[4 + n_ptr + 2])
                fh.seek(offset)
                record = fh.readline().decode("utf-8", "replace")
                gloss = record.split(" | ", 1)[1] if " | " in record else ""
                definition = gloss.split('"')[0].strip().rstrip(";").strip()
                if definition:
                    out[lemma] = definition
    return out


def cldr_annotations(folder: Path, lang: str) -> dict[str, str]:
    """Emoji -> "name: keyword, keyword, ..." from CLDR's annotations for `lang`.

    Parameters
    ----------
    folder : Path
        CLDR's annotations folder.
    lang : str
        The language ("en", "fr").
    """
    path = need(Path(folder) / f"{lang}.xml", "unicode-cldr-core", "cldr_dir")
    names: dict[str, str] = {}
    keywords: dict[str, str] = {}
    for node in ET.parse(path).getroot().iter("annotation"):
        cp, text = node.get("cp"), (node.text or "").strip()
        if not cp or not text or text == "↑↑↑":
            continue
        if node.get("type") == "tts":
            names[cp] = text
        else:
            keywords[cp] = ", ".join(k.strip() for k in text.split("|"))
    return {cp: f"{names[cp]}: {keywords.get(cp, names[cp])}" for cp in names}
