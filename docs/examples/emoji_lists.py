"""Write the emoji pictures and their names as two lists, one item a line, in the same order:
pictures.txt (paths of Google's 64 x 64 drawings) and names.txt (their English names). The
search page (docs/search.md) starts from them.

    python docs/examples/emoji_lists.py emoji-datasource-google
"""

from __future__ import annotations

import sys
from pathlib import Path

from sue_datasets.pictures import emoji_pictures


def main(folder: str) -> None:
    found = emoji_pictures(Path(folder), "google")
    codes = sorted(found)
    Path("pictures.txt").write_text("".join(f"{found[c][0].resolve()}\n" for c in codes))
    Path("names.txt").write_text("".join(f"{found[c][1]}\n" for c in codes))
    print(f"wrote pictures.txt and names.txt: {len(codes)} emoji")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "emoji-datasource-google")
