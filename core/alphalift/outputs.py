"""What `alphalift remove` reads and where it writes, settled before the model runs.

Names: beside each input `<stem>-cutout.png` (`-mask`, `-foreground`), or `<stem>.png` in
--out-dir. When inputs of one run would share a name (a.png and a.jpg; B.png and b.webp, which a
case-insensitive disk cannot tell apart; x.png from two folders into one --out-dir), each of them
adds its extension (`a-png.png`, `a-jpg.png`), then a counter if still taken (`x-png-2.png`).

A folder's files named like the output of an image beside them (`a-cutout.png` next to `a.jpg`)
are AlphaLift's earlier outputs, and a folder run skips them; files named on the command line are
always inputs.
"""
from __future__ import annotations

import itertools
import os
import re
import tempfile
import unicodedata
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError, OutputExistsError
from .imageio import OutputError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".tga",
                  ".jp2", ".ppm", ".pgm", ".pbm", ".psd", ".ico", ".heic", ".avif"}
KIND_SUFFIX = {"rgba": "cutout", "mask": "mask", "foreground": "foreground"}
_OWN_OUTPUT = re.compile(r"(?P<base>.+)-(?:cutout|mask|foreground)\.png", re.IGNORECASE)
_COUNTER = re.compile(r"-\d+$")


@dataclass
class Inputs:
    files: list[Path] = field(default_factory=list)
    skipped: dict[Path, list[str]] = field(default_factory=dict)  # folder -> earlier outputs


def _fold(text: str) -> str:
    """How a case-insensitive, Unicode-normalising disk (macOS, Windows) compares names."""
    return unicodedata.normalize("NFC", text).casefold()


def path_key(path: Path) -> str:
    """Two paths with one key may be one file on some disk."""
    return _fold(str(path.parent.resolve() / path.name))


def input_keys(files: list[Path]) -> set[str]:
    """What check_target compares against, so no output lands on an input on any disk."""
    return {key for path in files for key in _file_keys(path)}


def _file_keys(path: Path) -> set[str]:
    return {path_key(path), path_key(path.resolve())}  # as named, and with links followed


def expand_inputs(inputs: list[Path]) -> Inputs:
    """Files as given; folders give their image files (not recursive, sorted) but AlphaLift's
    earlier outputs. A file reached twice is one input."""
    found = Inputs()
    seen: set[Path] = set()
    for item in inputs:
        if item.is_dir():
            images = sorted(p for p in item.iterdir()
                            if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            own = earlier_outputs(images)
            if own:
                found.skipped[item] = [p.name for p in images if p in own]
            candidates = [p for p in images if p not in own]
        else:
            candidates = [item]
        for path in candidates:
            if path.resolve() not in seen:
                seen.add(path.resolve())
                found.files.append(path)
    return found


def earlier_outputs(images: list[Path]) -> set[Path]:
    """Those of one folder's ``images`` named as AlphaLift names the output of another of them:
    `<base>-cutout|mask|foreground.png` where base is a sibling's `<stem>` or `<stem>-<ext>`
    (with or without a counter). A user's own `portrait-mask.png` with no `portrait.*` stays."""
    bases: set[str] = set()
    for image in images:
        bases |= {_fold(image.stem), _fold(f"{image.stem}-{image.suffix[1:]}")}
    own = set()
    for image in images:
        match = _OWN_OUTPUT.fullmatch(image.name)
        if match and {_fold(match["base"]), _fold(_COUNTER.sub("", match["base"]))} & bases:
            own.add(image)
    return own


def plan_targets(files: list[Path], out_dir: Path | None, fmt: str) -> list[Path]:
    """One output path per input, no two alike on any disk (see the module's docstring)."""
    def target(source: Path, tag: str = "") -> Path:
        stem = f"{source.stem}-{tag}" if tag else source.stem
        if out_dir is not None:
            return out_dir / f"{stem}.png"
        return source.with_name(f"{stem}-{KIND_SUFFIX[fmt]}.png")

    plain = [target(source) for source in files]
    wanted = Counter(path_key(path) for path in plain)
    taken = {key for key, count in wanted.items() if count == 1}
    targets = []
    for source, path in zip(files, plain):
        if wanted[path_key(path)] > 1:
            path = _first_free(source, target, taken)
            taken.add(path_key(path))
        targets.append(path)
    return targets


def _first_free(source: Path, target: Callable[[Path, str], Path], taken: set[str]) -> Path:
    extension = source.suffix[1:].lower()
    for number in itertools.count(1):
        tag = "-".join(part for part in (extension, str(number) if number > 1 else "") if part)
        path = target(source, tag)
        if path_key(path) not in taken:
            return path
    raise AssertionError("unreachable")


def check_out_dir(out_dir: Path, inputs: list[Path]) -> None:
    """--out-dir must not be a folder this run reads: its `<stem>.png` outputs cannot be told
    from photos, so the next run would cut them out again."""
    for item in inputs:
        if item.is_dir() and out_dir.exists() and out_dir.resolve() == item.resolve():
            raise InputError(f"--out-dir {out_dir} is also an input folder, so its outputs would be "
                             "read as inputs next time.",
                             "Choose another folder, or leave --out-dir out to write "
                             "<name>-cutout.png beside each image.")


def check_target(target: Path, inputs: set[str], force: bool) -> None:
    """Refuse to write over a folder, an input (``inputs``: input_keys(), so A.png is a.png too,
    as on a case-insensitive disk), or (without --force) an existing file."""
    if target.is_dir():
        raise OutputError(f"{target} is a folder.",
                          "Name a file (-o cut.png), or write into the folder with --out-dir.")
    if _file_keys(target) & inputs:
        raise OutputExistsError(f"{target} is one of the inputs; AlphaLift never overwrites an input.",
                                "Choose another -o or --out-dir.")
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists.", "Pass --force to overwrite it.")


class Folders:
    """Output folders, each created if needed and probed once (a file made and deleted), so an
    unwritable one is found before the model runs rather than after every image."""

    def __init__(self) -> None:
        self._verdicts: dict[Path, OutputError | None] = {}

    def check(self, folder: Path) -> None:
        key = folder.resolve()
        if key not in self._verdicts:
            self._verdicts[key] = probe(folder)
        error = self._verdicts[key]
        if error is not None:
            raise error


def probe(folder: Path) -> OutputError | None:
    if folder.exists() and not folder.is_dir():
        return OutputError(f"{folder} is a file, not a folder.", "Choose a folder for the outputs.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=folder, prefix=".alphalift-probe-")
        os.close(handle)
        os.unlink(name)
    except OSError as exc:
        return OutputError(f"cannot write to {folder} ({exc.strerror or exc}).",
                           "Choose a folder you can write to.")
    return None
