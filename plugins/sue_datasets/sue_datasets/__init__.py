"""Real paired and labelled data sets for sue_framework, registered through the
``sue_framework`` entry point."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sue_framework import hookimpl
from sue_framework.lazy import lazy_exports

_EXPORTS = {
    "CLDREmojiEnFr": "sue_datasets.text_pairs",
    "ClassFolders": "sue_datasets.labelled",
    "Edges2Shoes": "sue_datasets.paper",
    "EmojiPictureName": "sue_datasets.pictures",
    "EmojiTwoStyles": "sue_datasets.pictures",
    "EncodedItemPairs": "sue_datasets.encoded",
    "EncodedTextPairs": "sue_datasets.text_pairs",
    "FreeDictEnFr": "sue_datasets.text_pairs",
    "KarpathyCaptions": "sue_datasets.paper",
    "MessagesEnFr": "sue_datasets.catalogues",
    "Office31": "sue_datasets.labelled",
    "PolyvoreItems": "sue_datasets.paper",
    "WordNetGlossFr": "sue_datasets.text_pairs",
    "WordNetWordGloss": "sue_datasets.text_pairs",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for type checkers and IDEs; at run time __getattr__ imports
    from sue_datasets.catalogues import MessagesEnFr  # noqa: F401
    from sue_datasets.encoded import EncodedItemPairs  # noqa: F401
    from sue_datasets.labelled import ClassFolders, Office31  # noqa: F401
    from sue_datasets.paper import Edges2Shoes, KarpathyCaptions, PolyvoreItems  # noqa: F401
    from sue_datasets.pictures import EmojiPictureName, EmojiTwoStyles  # noqa: F401
    from sue_datasets.text_pairs import (  # noqa: F401
        CLDREmojiEnFr,
        EncodedTextPairs,
        FreeDictEnFr,
        WordNetGlossFr,
        WordNetWordGloss,
    )


__getattr__ = lazy_exports(__name__, _EXPORTS)  # imports a module on first use

_COMPONENTS = (
    ("dataset", "freedict_en_fr", "sue_datasets.text_pairs:FreeDictEnFr"),
    ("dataset", "wordnet_gloss_fr", "sue_datasets.text_pairs:WordNetGlossFr"),
    ("dataset", "cldr_emoji_en_fr", "sue_datasets.text_pairs:CLDREmojiEnFr"),
    ("dataset", "messages_en_fr", "sue_datasets.catalogues:MessagesEnFr"),
    ("dataset", "wordnet_word_gloss", "sue_datasets.text_pairs:WordNetWordGloss"),
    ("dataset", "emoji_picture_name", "sue_datasets.pictures:EmojiPictureName"),
    ("dataset", "emoji_two_styles", "sue_datasets.pictures:EmojiTwoStyles"),
    ("dataset", "karpathy_captions", "sue_datasets.paper:KarpathyCaptions"),
    ("dataset", "polyvore_items", "sue_datasets.paper:PolyvoreItems"),
    ("dataset", "edges2shoes", "sue_datasets.paper:Edges2Shoes"),
    ("dataset", "class_folders", "sue_datasets.labelled:ClassFolders"),
    ("dataset", "office31", "sue_datasets.labelled:Office31"),
)


@hookimpl
def sue_register(registry) -> None:
    """Register this plugin's components by reference (imported when first used)."""
    registry.register_all(_COMPONENTS)
