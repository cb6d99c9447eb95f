"""Real paired and labelled data sets for sue_framework, registered through the
``sue_framework`` entry point."""

from sue_datasets.catalogues import MessagesEnFr
from sue_datasets.encoded import EncodedItemPairs
from sue_datasets.labelled import ClassFolders, Office31
from sue_datasets.paper import Edges2Shoes, KarpathyCaptions, PolyvoreItems
from sue_datasets.pictures import EmojiPictureName, EmojiTwoStyles
from sue_datasets.text_pairs import (
    CLDREmojiEnFr,
    EncodedTextPairs,
    FreeDictEnFr,
    WordNetGlossFr,
    WordNetWordGloss,
)
from sue_framework import hookimpl

__all__ = [
    "CLDREmojiEnFr",
    "ClassFolders",
    "Edges2Shoes",
    "EmojiPictureName",
    "EmojiTwoStyles",
    "EncodedItemPairs",
    "EncodedTextPairs",
    "FreeDictEnFr",
    "KarpathyCaptions",
    "MessagesEnFr",
    "Office31",
    "PolyvoreItems",
    "WordNetGlossFr",
    "WordNetWordGloss",
]


@hookimpl
def sue_register(registry) -> None:
    registry.register("dataset", "freedict_en_fr", FreeDictEnFr)
    registry.register("dataset", "wordnet_gloss_fr", WordNetGlossFr)
    registry.register("dataset", "cldr_emoji_en_fr", CLDREmojiEnFr)
    registry.register("dataset", "messages_en_fr", MessagesEnFr)
    registry.register("dataset", "wordnet_word_gloss", WordNetWordGloss)
    registry.register("dataset", "emoji_picture_name", EmojiPictureName)
    registry.register("dataset", "emoji_two_styles", EmojiTwoStyles)
    registry.register("dataset", "karpathy_captions", KarpathyCaptions)
    registry.register("dataset", "polyvore_items", PolyvoreItems)
    registry.register("dataset", "edges2shoes", Edges2Shoes)
    registry.register("dataset", "class_folders", ClassFolders)
    registry.register("dataset", "office31", Office31)
