"""Output names: DEST mirrors SOURCE's layout, and two inputs never share an output.

``sub/a.jpg`` is cut out to ``DEST/sub/a.png``. Where inputs of one folder would share a name
(``a.jpg`` and ``a.png``; ``B.png`` and ``b.webp``, one file on a case-insensitive disk), each
adds its extension (``a-jpg.png``, ``a-png.png``) and then a counter if still taken: the rule
`alphalift remove` uses (outputs.plan_targets), applied folder by folder. Names depend only on
the listing, so a re-run of the same SOURCE finds the same outputs.
"""
from __future__ import annotations

import unicodedata
from collections import defaultdict
from pathlib import Path, PurePosixPath

from ..outputs import plan_targets


def _fold(text: str) -> str:
    return unicodedata.normalize("NFC", text).casefold()


def output_names(relatives: list[str]) -> list[str]:
    """One relative output path (posix, ``.png``) per relative input path, no two alike even on
    a case-insensitive disk; the first spelling of a folder names it for all its inputs."""
    groups: dict[str, list[int]] = defaultdict(list)
    spelling: dict[str, str] = {}
    for index, relative in enumerate(relatives):
        folder = str(PurePosixPath(relative).parent)
        key = _fold(folder)
        spelling.setdefault(key, folder)
        groups[key].append(index)
    names = [""] * len(relatives)
    for key, indices in groups.items():
        folder = PurePosixPath(spelling[key])
        sources = [Path(PurePosixPath(relatives[i]).name) for i in indices]
        # plan_targets compares names within one out_dir; a fixed stand-in folder keeps its
        # checks from touching any real disk path.
        targets = plan_targets(sources, Path("/alphalift-batch-names"), "rgba")
        for index, target in zip(indices, targets):
            names[index] = str(folder / target.name) if str(folder) != "." else target.name
    return names
