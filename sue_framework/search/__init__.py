"""Search over a collection with a fitted model: the index of one side's collection (`index`),
queries from either side (`query`) and the local search page (`serve`).

May import the floors below (foundation, runtime, core, storage); models are read from their
files.
"""

from sue_framework.search.query import search

__all__ = ["search"]
