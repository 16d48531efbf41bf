"""What a batch reads: a folder (at any depth), a glob, or a list file, each input with the
relative path its output mirrors under DEST.

- a folder: its image files at any depth (by extension), relative to the folder;
- a glob (``shoots/*/raw/*.jpg``, ``**`` for any depth): the image files it matches, relative to
  the folder before its first wildcard;
- a list file: ``.txt`` (one path or URI a line; blank lines and ``#`` comments skipped),
  ``.csv`` or ``.parquet`` with a ``path`` column; relative entries are relative to the list's
  own folder, and outputs mirror the entries' layout below their common folder.
"""
from __future__ import annotations

import csv
import io
import posixpath
import re
from dataclasses import dataclass

from ..errors import InputError
from ..outputs import IMAGE_SUFFIXES
from .storage import Store, is_uri, locate

LIST_SUFFIXES = (".txt", ".csv", ".parquet")
MANIFEST_NAME = "alphalift-manifest.jsonl"


@dataclass(frozen=True)
class Item:
    input: str  # what the worker opens: an absolute path or a URI
    relative: str  # posix path below the source's root; the output mirrors it under DEST


def is_image(name: str) -> bool:
    return posixpath.splitext(name)[1].lower() in IMAGE_SUFFIXES


def has_wildcard(text: str) -> bool:
    return any(char in text for char in "*?[")


Excluded = tuple[str, str] | None  # (store kind, folder): DEST, never read from


def list_source(source: str, exclude: Excluded = None) -> list[Item]:
    """Every input of ``source``, sorted; nothing under ``exclude`` (DEST) is read."""
    if has_wildcard(source):
        return _glob(source, exclude)
    store, path = locate(source)
    if store.is_dir(path):
        return _folder(store, path, exclude)
    if store.stat(path) is None:
        raise InputError(f"{source}: no such file or folder.",
                         "Pass a folder, a glob, or a .txt/.csv/.parquet list of images.")
    if path.lower().endswith(LIST_SUFFIXES):
        return _list_file(store, path, source)
    return [Item(store.uri(path), posixpath.basename(path.replace("\\", "/")))]


def _inside(store: Store, path: str, exclude: Excluded) -> bool:
    if exclude is None or exclude[0] != store.kind:
        return False
    relative = store.relative(path, exclude[1])
    return relative == "." or not relative.startswith("..")


def _folder(store: Store, root: str, exclude: Excluded) -> list[Item]:
    items = []
    for path in store.walk(root):
        relative = store.relative(path, root)
        hidden = any(part.startswith(".") for part in relative.split("/"))
        if is_image(path) and not hidden and not _inside(store, path, exclude):
            items.append(Item(store.uri(path), relative))
    return items


def _glob(pattern: str, exclude: Excluded) -> list[Item]:
    """Wildcards only in the part after the last fixed folder: walk from there and match."""
    parts = pattern.replace("\\", "/").split("/") if not is_uri(pattern) else pattern.split("/")
    fixed = []
    for part in parts:
        if has_wildcard(part):
            break
        fixed.append(part)
    base_text = "/".join(fixed) or "."
    if is_uri(pattern) and len(fixed) < 3:  # "s3://" has no folder to walk
        raise InputError(f"{pattern}: a URI glob needs a fixed bucket before its first wildcard.",
                         "Write e.g. s3://bucket/photos/**/*.jpg.")
    store, base = locate(base_text)
    matcher = translate("/".join(parts[len(fixed):]))
    items = []
    if store.is_dir(base):
        for path in store.walk(base):
            relative = store.relative(path, base)
            if matcher.fullmatch(relative) and is_image(path) and not _inside(store, path, exclude):
                items.append(Item(store.uri(path), relative))
    if not items:
        raise InputError(f"{pattern}: matches no image files.", "Check the pattern.")
    return items


def translate(glob: str) -> re.Pattern[str]:
    """A glob as a regular expression over posix paths: ``**/`` any folders (none included),
    ``*`` and ``?`` within one name, ``[...]`` a class."""
    out, i = [], 0
    while i < len(glob):
        if glob.startswith("**/", i):
            out.append("(?:[^/]*/)*")
            i += 3
        elif glob.startswith("**", i):
            out.append(".*")
            i += 2
        elif glob[i] == "*":
            out.append("[^/]*")
            i += 1
        elif glob[i] == "?":
            out.append("[^/]")
            i += 1
        elif glob[i] == "[" and glob.find("]", i + 2) != -1:
            end = glob.find("]", i + 2)
            body = glob[i + 1:end]
            out.append("[" + ("^" + body[1:] if body.startswith("!") else body) + "]")
            i = end + 1
        else:
            out.append(re.escape(glob[i]))
            i += 1
    return re.compile("".join(out))


def _list_file(store: Store, path: str, shown: str) -> list[Item]:
    entries = read_list(store, path, shown)
    if not entries:
        raise InputError(f"{shown}: the list names no images.", "Put one path a line (or a path column).")
    base = store.parent(path)
    located = []
    for entry in entries:
        if not is_uri(entry) and store.kind == "local":
            entry = store.join(base, entry) if not posixpath.isabs(entry.replace("\\", "/")) else entry
        elif not is_uri(entry):
            entry = store.uri(store.join(base, entry))
        entry_store, entry_path = locate(entry)
        located.append((entry_store.uri(entry_path), _layout_key(entry_store.uri(entry_path))))
    root = _common_folder([key for _, key in located])
    items, seen = [], set()
    for uri, key in located:
        if uri not in seen:  # a file listed twice is one input
            seen.add(uri)
            items.append(Item(uri, key[len(root):].lstrip("/") if root else key))
    return items


def _layout_key(location: str) -> str:
    """A posix path that keeps the scheme apart: /a/b.png, s3/bucket/b.png."""
    match = re.match(r"^([A-Za-z][A-Za-z0-9+.-]+)://(.*)$", location)
    if match:
        return f"{match[1]}/{match[2].lstrip('/')}"
    return location.replace("\\", "/").lstrip("/")


def _common_folder(keys: list[str]) -> str:
    folders = [key.split("/")[:-1] for key in keys]
    common = folders[0]
    for parts in folders[1:]:
        size = 0
        while size < min(len(common), len(parts)) and common[size] == parts[size]:
            size += 1
        common = common[:size]
    return "/".join(common)


def read_list(store: Store, path: str, shown: str) -> list[str]:
    """The entries of a .txt, .csv or .parquet list, in order."""
    data = store.read_bytes(path)
    suffix = posixpath.splitext(path.lower())[1]
    if suffix == ".txt":
        lines = (line.strip() for line in data.decode("utf-8-sig").splitlines())
        return [line for line in lines if line and not line.startswith("#")]
    if suffix == ".csv":
        reader = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
        if "path" not in (reader.fieldnames or []):
            raise InputError(f"{shown}: the CSV has no 'path' column.",
                             "Name the column of image paths 'path' in the header line.")
        return [row["path"].strip() for row in reader if (row.get("path") or "").strip()]
    return _parquet_paths(data, shown)


def _parquet_paths(data: bytes, shown: str) -> list[str]:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError(f"{shown}: reading Parquet needs pyarrow, which is not installed.",
                         "Install it with: pip install 'alphalift[ray]', or list the paths in a .txt.") from None
    try:
        table = pq.read_table(pa.BufferReader(data), columns=["path"])
    except (pa.ArrowInvalid, KeyError) as exc:
        raise InputError(f"{shown}: no readable 'path' column ({exc}).",
                         "Write the image paths in a string column named 'path'.") from None
    return [value.strip() for value in table.column("path").to_pylist() if value and value.strip()]
