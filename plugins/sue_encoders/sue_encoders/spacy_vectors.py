"""Static word vectors from a spaCy pipeline package (e.g. fr_core_news_md, 300-d)."""

from __future__ import annotations

import numpy as np

from sue_encoders.base import BatchedEncoder
from sue_framework.errors import InputError
from sue_framework.keywords import keyword_only

# only the tokenizer and the vector table are used; the trained pipes are never loaded
_PIPES = (
    "tok2vec",
    "morphologizer",
    "tagger",
    "parser",
    "senter",
    "ner",
    "attribute_ruler",
    "lemmatizer",
    "trainable_lemmatizer",
    "entity_ruler",
)


class SpacyVectorsEncoder(BatchedEncoder):
    """Texts -> the mean of their tokens' static word vectors (a bag of words, no context).

    Tokens without a vector (also after lower-casing) and punctuation are left out of the mean;
    a text with none of its tokens in the vocabulary embeds to zeros, which data sets built on
    this encoder drop. `model` is an installed spaCy package name or a folder.

    Parameters
    ----------
    model : str
        An installed spaCy package name or a folder.
    batch_size : int
        Texts per spaCy batch.
    normalize : bool
        L2-normalise each embedding.
    cache_dir : str, optional
        Folder of the resumable embedding cache (keyed by content and model); None: no cache.
    progress : bool
        Show a progress bar over the batches.
    """

    @keyword_only
    def __init__(
        self,
        model: str = "fr_core_news_md",
        *,
        batch_size: int = 512,
        normalize: bool = False,
        cache_dir: str | None = None,
        progress: bool = False,
    ) -> None:
        self.model = model
        self.batch_size = batch_size
        self.normalize = normalize
        self.cache_dir = cache_dir
        self.progress = progress
        self._nlp = None

    @property
    def encoder_id(self) -> str:
        return f"spacy:{self.model}:{self._version()}:norm{int(self.normalize)}"

    def _version(self) -> str:
        """The model's version, read from its package metadata or its folder's meta.json, so
        that a cache lookup need not load the model."""
        import json
        from importlib import metadata
        from pathlib import Path

        meta = Path(self.model) / "meta.json"
        if meta.is_file():
            return str(json.loads(meta.read_text()).get("version", "?"))
        try:
            return metadata.version(self.model)
        except metadata.PackageNotFoundError:
            return str(self._load().meta.get("version", "?"))

    def _load(self):
        if self._nlp is not None:
            return self._nlp
        try:
            import spacy
        except ImportError as exc:
            raise InputError(
                "the spacy encoder needs spaCy: pip install 'sue-encoders[spacy]'"
            ) from exc
        try:
            self._nlp = spacy.load(self.model, exclude=list(_PIPES))
        except OSError as exc:
            raise InputError(
                f"spaCy model {self.model!r} is not installed ({str(exc).splitlines()[0][:160]}). "
                f"Install its package, e.g. pip install {self.model.replace('_', '-')}, or pass "
                "a local folder as model=PATH"
            ) from exc
        if self._nlp.vocab.vectors.shape[0] == 0:
            raise InputError(
                f"spaCy model {self.model!r} has no word vectors; use a md or lg model"
            )
        return self._nlp

    def _encode_batch(self, items: list) -> np.ndarray:
        if not all(isinstance(t, str) for t in items):
            raise InputError("the spacy encoder takes texts (str)")
        nlp = self._load()
        vectors = nlp.vocab.vectors
        out = np.zeros((len(items), vectors.shape[1]), dtype=np.float32)
        for i, doc in enumerate(nlp.tokenizer.pipe(items)):
            rows = []
            for tok in doc:
                if tok.is_punct or tok.is_space:
                    continue
                for form in (tok.text, tok.lower_):
                    key = nlp.vocab.strings[form]
                    if key in vectors:
                        rows.append(vectors[key])
                        break
            if rows:
                out[i] = np.mean(rows, axis=0)
        if self.normalize:
            norms = np.linalg.norm(out, axis=1, keepdims=True)
            out = np.divide(out, norms, out=np.zeros_like(out), where=norms > 0)
        return out
