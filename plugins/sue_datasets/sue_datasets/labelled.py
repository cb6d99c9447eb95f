"""Labelled image sets of the paper's classification tasks, read from class folders and embedded
by registered encoders through the embedding cache. Nothing is downloaded.

- ``class_folders``: ImageNet-style ``ROOT/CLASS/IMAGE`` folders for zero-shot classification
  (paper App. A.2): each image pairs the prompt of its class ("A photo of a {class}"), and the
  set hands the zero-shot task the encoded prompts of every class as ``zy``.
- ``office31``: two Office-31 domains for cross-domain classification (App. A.3): an image of
  one domain pairs an image of the same class in the other (App. D.4); the rest of each
  domain's images join training as unpaired rows.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from sue_datasets.encoded import build_encoder
from sue_framework.errors import InputError
from sue_framework.interfaces import Dataset
from sue_framework.keywords import keyword_only

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp"}
IMAGENET_HELP = (
    "give root=FOLDER holding one sub-folder of images per class, as ImageNet's train/ and "
    "val/ folders are laid out (https://image-net.org/download; a few classes suffice, as in "
    "the paper's seven), and synset_mapping=LOC_synset_mapping.txt to name WordNet-id folders"
)
OFFICE31_HELP = (
    "download Office-31 (https://faculty.cc.gatech.edu/~judy/domainadapt/, "
    "domain_adaptation_images.tar.gz) and give root=FOLDER holding amazon/, dslr/ and webcam/, "
    "each with images/CLASS/*.jpg (or CLASS/*.jpg)"
)


def class_images(folder: Path, how: str) -> dict[str, list[str]]:
    """Class name -> its image paths (sorted) for a ``FOLDER/CLASS/IMAGE`` layout.

    Parameters
    ----------
    folder : Path
        A folder of class folders.
    how : str
        How to get the data, for the message when it is missing.
    """
    if not folder.is_dir():
        raise InputError(f"no class folder at {folder}: {how}")
    classes = {}
    for sub in sorted(p for p in folder.iterdir() if p.is_dir()):
        files = sorted(str(f) for f in sub.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES)
        if files:
            classes[sub.name] = files
    if not classes:
        raise InputError(f"{folder} holds no CLASS/ sub-folders with images: {how}")
    return classes


def synset_names(path: str | None) -> dict[str, str]:
    """WordNet id -> first readable name, from ImageNet's LOC_synset_mapping.txt
    ("n01440764 tench, Tinca tinca" per line); {} without a file.

    Parameters
    ----------
    path : str, optional
        ImageNet's LOC_synset_mapping.txt.
    """
    if path is None:
        return {}
    p = Path(path)
    if not p.is_file():
        raise InputError(f"no synset mapping at {p}: {IMAGENET_HELP}")
    names = {}
    for line in p.read_text().splitlines():
        wnid, _, rest = line.strip().partition(" ")
        if wnid and rest:
            names[wnid] = rest.split(",")[0].strip()
    return names


def _sample(files: list[str], cap: int | None, rng: np.random.Generator) -> list[str]:
    if cap is None or len(files) <= cap:
        return files
    return [files[i] for i in np.sort(rng.choice(len(files), cap, replace=False))]


class ClassFolders(Dataset):
    """ImageNet-style class folders for zero-shot classification.

    Rows: every image (at most `max_per_class` per class, drawn with a fixed seed) as x, paired
    with the prompt of its class as y (`template`, e.g. "A photo of a {}"). `classes` picks and
    orders the classes (folder names; default all). Class names come from `class_names`
    (folder -> name), else `synset_mapping`, else the folder name with "_" as spaces. The
    zero-shot task receives every class's encoded prompt as ``zy`` and the image classes as
    labels.

    Parameters
    ----------
    root : str
        Folder with one subfolder of images per class.
    classes : list of str, optional
        Class folders to use, in order (default all).
    template : str
        The prompt of a class, with "{}" for its name.
    class_names : dict, optional
        Folder name -> class name.
    synset_mapping : str, optional
        ImageNet's LOC_synset_mapping.txt, to name WordNet-id folders.
    max_per_class : int, optional
        At most this many images per class (fixed seed).
    encoder_x, encoder_y : str
        Registered encoders of each side.
    encoder_x_params, encoder_y_params : dict, optional
        Their parameters.
    cache_dir : str, optional
        Embedding cache folder (resumable, keyed by content and model); None: no cache.
    """

    @keyword_only
    def __init__(
        self,
        root: str,
        *,
        classes: list[str] | None = None,
        template: str = "A photo of a {}",
        class_names: dict[str, str] | None = None,
        synset_mapping: str | None = None,
        max_per_class: int | None = None,
        encoder_x: str = "dinov2",
        encoder_x_params: dict | None = None,
        encoder_y: str = "sbert",
        encoder_y_params: dict | None = None,
        cache_dir: str | None = None,
    ) -> None:
        self.root = root
        self.classes = classes
        self.template = template
        self.class_names = class_names
        self.synset_mapping = synset_mapping
        self.max_per_class = max_per_class
        self.encoder_x = encoder_x
        self.encoder_x_params = encoder_x_params
        self.encoder_y = encoder_y
        self.encoder_y_params = encoder_y_params
        self.cache_dir = cache_dir

    def _read(self) -> None:
        if "{}" not in self.template:
            raise InputError(f"template needs a '{{}}' for the class name, got {self.template!r}")
        found = class_images(Path(self.root), IMAGENET_HELP)
        chosen = list(found) if self.classes is None else list(self.classes)
        absent = [c for c in chosen if c not in found]
        if absent:
            raise InputError(
                f"classes {absent} have no image folder under {self.root}; it holds "
                f"{sorted(found)[:10]}{' ...' if len(found) > 10 else ''}"
            )
        names = {**synset_names(self.synset_mapping), **(self.class_names or {})}
        rng = np.random.default_rng(0)
        files, labels = [], []
        for k, c in enumerate(chosen):
            picked = _sample(found[c], self.max_per_class, rng)
            files += picked
            labels += [k] * len(picked)
        self.classes_ = chosen
        self.prompts_ = [self.template.format(names.get(c, c.replace("_", " "))) for c in chosen]
        self.files_ = files
        self.labels_ = np.asarray(labels, dtype=np.int64)

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        self._read()
        images = build_encoder(self.encoder_x, self.encoder_x_params, self.cache_dir)
        texts = build_encoder(self.encoder_y, self.encoder_y_params, self.cache_dir)
        self.prompt_rows_ = np.asarray(texts.encode(self.prompts_))
        return np.asarray(images.encode(self.files_)), self.prompt_rows_[self.labels_]

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "labels_"):
            self.load()
        return self.labels_, self.labels_

    def task_inputs(self) -> dict[str, np.ndarray]:
        if not hasattr(self, "prompt_rows_"):
            self.load()
        return {"zy": self.prompt_rows_}


def _domain_folder(root: Path, domain: str) -> Path:
    base = root / domain
    if not base.is_dir():
        raise InputError(f"no {domain}/ domain folder at {base}: {OFFICE31_HELP}")
    return base / "images" if (base / "images").is_dir() else base


class Office31(Dataset):
    """Two Office-31 domains (x: `domain_x`, y: `domain_y`) for cross-domain classification.

    As in the paper (App. D.4), pairs are images of the same class: within each class the
    images of each domain are shuffled (fixed seed) and the i-th of x pairs the i-th of y, up to
    the smaller count. The other images of each domain are unpaired training rows. Labels are
    the class of each row. The paper's augmentation (rotation, flips, brightness, contrast to
    ~30k Amazon and ~9k DSLR images) is not applied.

    Parameters
    ----------
    root : str
        The Office-31 folder (one subfolder per domain).
    domain_x, domain_y : str
        The two domains: "amazon", "dslr" or "webcam".
    encoder_x, encoder_y : str
        Registered encoders of each side.
    encoder_x_params, encoder_y_params : dict, optional
        Their parameters.
    cache_dir : str, optional
        Embedding cache folder (resumable, keyed by content and model); None: no cache.
    """

    @keyword_only
    def __init__(
        self,
        root: str,
        *,
        domain_x: str = "amazon",
        domain_y: str = "dslr",
        encoder_x: str = "vicreg",
        encoder_x_params: dict | None = None,
        encoder_y: str = "dinov2",
        encoder_y_params: dict | None = None,
        cache_dir: str | None = None,
    ) -> None:
        self.root = root
        self.domain_x = domain_x
        self.domain_y = domain_y
        self.encoder_x = encoder_x
        self.encoder_x_params = encoder_x_params
        self.encoder_y = encoder_y
        self.encoder_y_params = encoder_y_params
        self.cache_dir = cache_dir

    def load(self) -> tuple[np.ndarray, np.ndarray]:
        root = Path(self.root)
        if not root.is_dir():
            raise InputError(f"no Office-31 folder at {root}: {OFFICE31_HELP}")
        fx = class_images(_domain_folder(root, self.domain_x), OFFICE31_HELP)
        fy = class_images(_domain_folder(root, self.domain_y), OFFICE31_HELP)
        classes = sorted(set(fx) & set(fy))
        if not classes:
            raise InputError(
                f"domains {self.domain_x} and {self.domain_y} share no class folder; "
                f"{OFFICE31_HELP}"
            )
        rng = np.random.default_rng(0)
        paired: tuple[list[str], list[str], list[int]] = ([], [], [])  # x files, y files, labels
        rest_x: list[str] = []
        rest_y: list[str] = []
        for k, c in enumerate(classes):
            ax = [fx[c][i] for i in rng.permutation(len(fx[c]))]
            ay = [fy[c][i] for i in rng.permutation(len(fy[c]))]
            m = min(len(ax), len(ay))
            paired[0].extend(ax[:m])
            paired[1].extend(ay[:m])
            paired[2].extend([k] * m)
            rest_x += ax[m:]
            rest_y += ay[m:]
        enc_x = build_encoder(self.encoder_x, self.encoder_x_params, self.cache_dir)
        enc_y = build_encoder(self.encoder_y, self.encoder_y_params, self.cache_dir)
        x = np.asarray(enc_x.encode(paired[0] + rest_x))
        y = np.asarray(enc_y.encode(paired[1] + rest_y))
        m = len(paired[2])
        self.classes_ = classes
        self.labels_ = np.asarray(paired[2], dtype=np.int64)
        self.unpaired_ = (x[m:], y[m:])
        return x[:m], y[:m]

    def labels(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "labels_"):
            self.load()
        return self.labels_, self.labels_

    def unpaired(self) -> tuple[np.ndarray, np.ndarray]:
        if not hasattr(self, "unpaired_"):
            self.load()
        return self.unpaired_
