"""Real paired text data sets, embedded by real pretrained encoders through the embedding cache.

Each pairs two different encoders, so nothing but the pairs ties the two spaces:
- ``freedict_en_fr``: English headwords (MiniLM) <-> their first French translation (spaCy's
  fr_core_news_md word vectors). A bilingual dictionary.
- ``wordnet_gloss_fr``: WordNet's English definition of a word (MiniLM) <-> the word's French
  translation from FreeDict (spaCy fr vectors). Definitions to translations.
- ``cldr_emoji_en_fr``: an emoji's English CLDR name and keywords (MiniLM) <-> its French name and
  keywords (spaCy fr vectors). Two languages describing the same pictures.
"""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path

import numpy as np

from sue_datasets.encoded import EncodedItemPairs, build_encoder
from sue_datasets.readers import cldr_annotations, freedict_pairs, wordnet_glosses
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

DICTD_DIR = "/usr/share/dictd"
WORDNET_DIR = "/usr/share/wordnet"
CLDR_DIR = "/usr/share/unicode/cldr/common/annotations"


def unique_pairs(tx: list[str], ty: list[str]) -> tuple[list[str], list[str]]:
    """Keep the first pair of each text on either side, so every row has one true partner.

    Parameters
    ----------
    tx, ty : list of str
        Paired texts, tx[i] with ty[i].
    """
    seen_x: set[str] = set()
    seen_y: set[str] = set()
    ox, oy = [], []
    for a, b in zip(tx, ty, strict=True):
        if a in seen_x or b in seen_y:
            continue
        seen_x.add(a)
        seen_y.add(b)
        ox.append(a)
        oy.append(b)
    return ox, oy


class EncodedTextPairs(EncodedItemPairs):
    """Paired texts -> two embedding matrices through two registered encoders.

    Repeated texts are dropped (each row keeps one true partner), then rows that an encoder maps
    to zeros (no known word) are dropped; at most `max_rows` rows are kept, drawn with a fixed
    seed so that every experiment sees the same set. Embeddings are cached in `cache_dir`.

    Parameters
    ----------
    encoder_x, encoder_y : str
        Registered encoders of each side.
    encoder_x_params, encoder_y_params : dict, optional
        Their parameters.
    max_rows : int, optional
        At most this many pairs, drawn with a fixed seed before encoding (None: all).
    cache_dir : str, optional
        Embedding cache folder.
    """

    @keyword_only
    def __init__(
        self,
        encoder_x: str = "sbert",
        *,
        encoder_x_params: dict | None = None,
        encoder_y: str = "spacy",
        encoder_y_params: dict | None = None,
        max_rows: int | None = 4000,
        cache_dir: str | None = None,
    ) -> None:
        super().__init__(
            encoder_x,
            encoder_x_params=encoder_x_params,
            encoder_y=encoder_y,
            encoder_y_params=encoder_y_params,
            max_rows=max_rows,
            cache_dir=cache_dir,
        )

    @abstractmethod
    def texts(self) -> tuple[list[str], list[str]]:
        """(x texts, y texts), x[i] <-> y[i]."""

    def items(self) -> tuple[list, list]:
        return unique_pairs(*self.texts())

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        tx, ty = self.items()
        if not tx:
            raise InputError(f"{type(self).__name__} found no pairs in its source files")
        x = build_encoder(self.encoder_x, self.encoder_x_params, self.cache_dir).encode(tx)
        y = build_encoder(self.encoder_y, self.encoder_y_params, self.cache_dir).encode(ty)
        keep = np.flatnonzero((np.abs(x).sum(1) > 0) & (np.abs(y).sum(1) > 0))
        if self.max_rows is not None and keep.size > self.max_rows:
            keep = np.sort(np.random.default_rng(0).choice(keep, self.max_rows, replace=False))
        self.texts_x_ = [tx[i] for i in keep]
        self.texts_y_ = [ty[i] for i in keep]
        return x[keep], y[keep]


class FreeDictEnFr(EncodedTextPairs):
    """English headword <-> first French translation (FreeDict eng-fra, 8.8k headwords).

    Parameters
    ----------
    dictd_dir : str
        Folder of the FreeDict eng-fra dictionary (Debian's dict-freedict-eng-fra).
    **kwargs
        Passed to `EncodedTextPairs`: encoders, their parameters, `max_rows`, `cache_dir`.
    """

    def __init__(self, dictd_dir: str = DICTD_DIR, **kwargs) -> None:
        super().__init__(**kwargs)
        self.dictd_dir = dictd_dir

    def texts(self) -> tuple[list[str], list[str]]:
        pairs = freedict_pairs(Path(self.dictd_dir))
        return [a for a, _ in pairs], [b for _, b in pairs]


class WordNetGlossFr(EncodedTextPairs):
    """WordNet definition of an English word <-> the word's French translation (FreeDict).

    Parameters
    ----------
    dictd_dir : str
        Folder of the FreeDict eng-fra dictionary.
    wordnet_dir : str
        Folder of the WordNet database (Debian's wordnet-base).
    **kwargs
        Passed to `EncodedTextPairs`: encoders, their parameters, `max_rows`, `cache_dir`.
    """

    @keyword_only
    def __init__(
        self, dictd_dir: str = DICTD_DIR, *, wordnet_dir: str = WORDNET_DIR, **kwargs
    ) -> None:
        super().__init__(**kwargs)
        self.dictd_dir = dictd_dir
        self.wordnet_dir = wordnet_dir

    def texts(self) -> tuple[list[str], list[str]]:
        glosses = wordnet_glosses(Path(self.wordnet_dir))
        pairs = [(glosses[h], fr) for h, fr in freedict_pairs(Path(self.dictd_dir)) if h in glosses]
        return [a for a, _ in pairs], [b for _, b in pairs]


class WordNetWordGloss(EncodedTextPairs):
    """An English word or phrase (MiniLM) <-> the WordNet definition of its most frequent sense
    (MiniLM by default): over 100k pairs. Both sides go through one encoder unless told
    otherwise, so the raw spaces are already comparable; what is measured is how a map learned
    from few pairs and many unpaired rows compares with one from the pairs alone.

    Parameters
    ----------
    wordnet_dir : str
        Folder of the WordNet database.
    encoder_y : str
        Registered encoder of the definitions (the words' encoder, MiniLM, by default too).
    max_rows : int, optional
        At most this many pairs (fixed seed); None: all.
    **kwargs
        Passed to `EncodedTextPairs`: the other encoder settings and `cache_dir`.
    """

    @keyword_only
    def __init__(
        self,
        wordnet_dir: str = WORDNET_DIR,
        *,
        encoder_y: str = "sbert",
        max_rows: int | None = None,
        **kwargs,
    ) -> None:
        super().__init__(encoder_y=encoder_y, max_rows=max_rows, **kwargs)
        self.wordnet_dir = wordnet_dir

    def texts(self) -> tuple[list[str], list[str]]:
        glosses = wordnet_glosses(Path(self.wordnet_dir))
        return list(glosses), list(glosses.values())


class CLDREmojiEnFr(EncodedTextPairs):
    """An emoji's English name and keywords <-> its French ones (CLDR annotations, ~1.9k).

    Parameters
    ----------
    cldr_dir : str
        The CLDR annotations folder (Debian's unicode-cldr-core).
    **kwargs
        Passed to `EncodedTextPairs`: encoders, their parameters, `max_rows`, `cache_dir`.
    """

    def __init__(self, cldr_dir: str = CLDR_DIR, **kwargs) -> None:
        super().__init__(**kwargs)
        self.cldr_dir = cldr_dir

    def texts(self) -> tuple[list[str], list[str]]:
        en = cldr_annotations(Path(self.cldr_dir), "en")
        fr = cldr_annotations(Path(self.cldr_dir), "fr")
        common = [cp for cp in en if cp in fr]
        return [en[cp] for cp in common], [fr[cp] for cp in common]
