"""Translated message catalogues (GNU gettext ``.mo`` files): every English user-interface string
of the installed programs beside its translation. A Debian system ships tens of thousands of
them under ``/usr/share/locale/<lang>/LC_MESSAGES``: a real, large source of paired sentences.
"""

from __future__ import annotations

import re
import struct
from pathlib import Path

from sue_datasets.readers import need
from sue_datasets.text_pairs import EncodedTextPairs
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

MO_MAGIC = 0x950412DE
LOCALE_DIR = "/usr/share/locale"
_MNEMONIC = re.compile(r"(?<![\w&])[_&](?=\w)")  # "_File", "&Open": keyboard accelerators
_SPACES = re.compile(r"\s+")


def read_mo(path: Path) -> list[tuple[str, str]]:
    """(message, translation) of every translated entry of a ``.mo`` file, in file order.

    Plural entries keep their singular forms; a message context ("ctx\\x04msg") is dropped; the
    header entry (empty message) is left out.

    Parameters
    ----------
    path : Path
        A compiled gettext catalogue.
    """
    data = Path(path).read_bytes()
    if len(data) < 20:
        raise InputError(f"{path} is too short to be a .mo file ({len(data)} bytes)")
    for order in ("<", ">"):
        if struct.unpack(order + "I", data[:4])[0] == MO_MAGIC:
            break
    else:
        raise InputError(f"{path} is not a gettext .mo file (bad magic number)")
    n, orig, trans = struct.unpack(order + "3I", data[8:20])
    if max(orig, trans) + 8 * n > len(data):
        raise InputError(f"{path} is truncated: its table of {n} entries runs past the end")

    def string(table: int, i: int) -> str:
        size, off = struct.unpack(order + "2I", data[table + 8 * i : table + 8 * i + 8])
        if off + size > len(data):
            raise InputError(f"{path} is truncated: entry {i} runs past the end")
        return data[off : off + size].split(b"\0")[0].decode("utf-8", "replace")

    out = []
    for i in range(n):
        msg = string(orig, i).split("\x04")[-1]
        tr = string(trans, i)
        if msg and tr:
            out.append((msg, tr))
    return out


def clean(text: str) -> str:
    """A catalogue string as a person reads it: accelerator markers removed, whitespace
    collapsed (format directives such as %s stay: they are part of the message).

    Parameters
    ----------
    text : str
        A catalogue string.
    """
    return _SPACES.sub(" ", _MNEMONIC.sub("", text)).strip()


def catalogue_pairs(
    locale_dir: Path, lang: str, domains: list[str] | None = None, max_chars: int = 300
) -> list[tuple[str, str]]:
    """(English message, translation) over the ``.mo`` files of `lang` (all domains, sorted by
    name, or those named), cleaned; entries translated as themselves (names, codes) and texts
    longer than `max_chars` (help pages) are left out.

    Parameters
    ----------
    locale_dir : Path
        The folder of installed catalogues.
    lang : str
        The translation language.
    domains : list of str, optional
        Catalogues to read (None: all).
    max_chars : int
        Longer messages are left out.
    """
    folder = need(
        Path(locale_dir) / lang / "LC_MESSAGES", "the packages' translations", "locale_dir"
    )
    files = sorted(folder.glob("*.mo"))
    if domains is not None:
        wanted = set(domains)
        files = [f for f in files if f.stem in wanted]
        missing = wanted - {f.stem for f in files}
        if missing:
            raise InputError(f"no catalogue for domains {sorted(missing)} in {folder}")
    out = []
    for f in files:
        for msg, tr in read_mo(f):
            a, b = clean(msg), clean(tr)
            if a and b and a.casefold() != b.casefold() and max(len(a), len(b)) <= max_chars:
                out.append((a, b))
    return out


class MessagesEnFr(EncodedTextPairs):
    """English program messages (MiniLM) <-> their French translations (spaCy fr vectors),
    from the French gettext catalogues installed under `locale_dir` (about 55k distinct pairs
    on a Debian 12 system with git, coreutils, binutils, PostgreSQL and iso-codes).

    Parameters
    ----------
    locale_dir : str
        The folder of installed gettext catalogues.
    lang : str
        The translation language (its LC_MESSAGES folder).
    domains : list of str, optional
        Catalogues (text domains) to read; None: all.
    max_rows : int, optional
        At most this many pairs (fixed seed); None: all.
    **kwargs
        Passed to `EncodedTextPairs`: encoders, their parameters, `cache_dir`.
    """

    @keyword_only
    def __init__(
        self,
        locale_dir: str = LOCALE_DIR,
        *,
        lang: str = "fr",
        domains: list[str] | None = None,
        max_rows: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(max_rows=max_rows, **kwargs)
        self.locale_dir = locale_dir
        self.lang = lang
        self.domains = domains

    def texts(self) -> tuple[list[str], list[str]]:
        pairs = catalogue_pairs(Path(self.locale_dir), self.lang, self.domains)
        return [a for a, _ in pairs], [b for _, b in pairs]
