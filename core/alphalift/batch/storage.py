"""Where a batch reads and writes: local paths, or URIs that pyarrow's filesystems open.

Plain paths need nothing beyond the core. A URI (``s3://``, ``gs://``, ``file://``, …) goes
through pyarrow (installed with ``alphalift[ray]``), so the same job runs on one machine's disk,
a shared folder or object storage. Every write is atomic: a temporary name and a rename on a
disk, a single upload (the object appears whole or not at all) on object storage.
"""
from __future__ import annotations

import functools
import os
import posixpath
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..errors import AlphaLiftError, InputError
from ..fsutil import atomic_output

_URI = re.compile(r"^(?P<scheme>[A-Za-z][A-Za-z0-9+.-]+)://")


class StorageError(AlphaLiftError):
    code = "storage-failed"


@dataclass(frozen=True)
class FileStat:
    size: int
    mtime: float  # seconds since the epoch


def is_uri(text: str) -> bool:
    return bool(_URI.match(text))


class LocalStore:
    """Plain paths on this machine's disks (or a shared folder mounted on every node)."""

    kind = "local"

    def absolute(self, text: str) -> str:
        return os.path.abspath(os.path.expanduser(text))

    def uri(self, path: str) -> str:
        return path

    def join(self, base: str, relative: str) -> str:
        return os.path.join(base, *relative.split("/"))

    def parent(self, path: str) -> str:
        return os.path.dirname(path)

    def relative(self, path: str, base: str) -> str:
        return Path(os.path.relpath(path, base)).as_posix()

    def stat(self, path: str) -> FileStat | None:
        """Size and modification time of a file; None where there is no file."""
        try:
            info = os.stat(path)
        except OSError:
            return None
        return FileStat(info.st_size, info.st_mtime) if os.path.isfile(path) else None

    def is_dir(self, path: str) -> bool:
        return os.path.isdir(path)

    def walk(self, folder: str) -> Iterator[str]:
        """Every file under ``folder``, at any depth, in a stable order."""
        for root, dirs, files in os.walk(folder):
            dirs.sort()
            for name in sorted(files):
                yield os.path.join(root, name)

    def read_bytes(self, path: str) -> bytes:
        with open(path, "rb") as handle:
            return handle.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        with atomic_output(Path(path)) as out:
            out.write(data)


class ArrowStore:
    """A pyarrow filesystem (S3, GCS, HDFS, a local disk through ``file://``)."""

    kind = "arrow"

    def __init__(self, filesystem, scheme: str) -> None:
        self.fs = filesystem
        self.scheme = scheme

    def absolute(self, text: str) -> str:
        return text

    def uri(self, path: str) -> str:
        return f"{self.scheme}://{path}"

    def join(self, base: str, relative: str) -> str:
        return posixpath.join(base, relative)

    def parent(self, path: str) -> str:
        return posixpath.dirname(path)

    def relative(self, path: str, base: str) -> str:
        return posixpath.relpath(path, base)

    def stat(self, path: str) -> FileStat | None:
        from pyarrow import fs

        info = self.fs.get_file_info(path)
        if info.type != fs.FileType.File:
            return None
        mtime = info.mtime.timestamp() if info.mtime is not None else 0.0
        return FileStat(info.size or 0, mtime)

    def is_dir(self, path: str) -> bool:
        from pyarrow import fs

        return self.fs.get_file_info(path).type == fs.FileType.Directory

    def walk(self, folder: str) -> Iterator[str]:
        from pyarrow import fs

        selector = fs.FileSelector(folder, recursive=True)
        infos = self.fs.get_file_info(selector)
        yield from sorted(info.path for info in infos if info.type == fs.FileType.File)

    def read_bytes(self, path: str) -> bytes:
        with self.fs.open_input_stream(path) as stream:
            return stream.read()

    def write_bytes(self, path: str, data: bytes) -> None:
        """On a disk, a temporary name beside the output renamed over it (the name the local
        writer uses, so a killed writer's leftover is found the same way); on object storage
        one upload, which appears whole or not at all."""
        folder, name = posixpath.split(path)
        self.fs.create_dir(folder, recursive=True)
        if self.fs.type_name != "local":
            with self.fs.open_output_stream(path) as out:
                out.write(data)
            return
        temporary = posixpath.join(folder, f".{name}.{uuid.uuid4().hex[:8]}.part")
        try:
            with self.fs.open_output_stream(temporary) as out:
                out.write(data)
            self.fs.move(temporary, path)
        except BaseException:
            self.fs.delete_file(temporary) if self.stat(temporary) else None
            raise


Store = LocalStore | ArrowStore


def locate(text: str) -> tuple[Store, str]:
    """The store that reads ``text`` and the path within it."""
    match = _URI.match(text)
    if not match:
        store = LocalStore()
        return store, store.absolute(text)
    rest = text[match.end():]
    root, slash, path = rest.partition("/")
    if "?" in text:  # options in the query: pyarrow reads them each time
        store, base = _open(text, match["scheme"])
        return store, base.rstrip("/") or "/"
    store, base = _root(f"{match['scheme']}://{root}", match["scheme"])
    joined = f"{base.rstrip('/')}/{path}" if slash else base
    return store, joined.rstrip("/") or "/"


@functools.lru_cache(maxsize=64)
def _root(root: str, scheme: str) -> tuple[ArrowStore, str]:
    """One filesystem per bucket or host (creating one resolves credentials: slow at scale)."""
    return _open(root, scheme)


def _open(text: str, scheme: str) -> tuple[ArrowStore, str]:
    try:
        from pyarrow import fs
    except ImportError:
        raise InputError(f"{text}: reading URIs needs pyarrow, which is not installed.",
                         "Install it with: pip install 'alphalift[ray]' (or pass a local path).") from None
    try:
        filesystem, path = fs.FileSystem.from_uri(text + "/" if text.endswith("://") else text)
    except (ValueError, OSError) as exc:
        raise InputError(f"{text}: pyarrow cannot open this URI ({exc}).",
                         "Check the scheme, the bucket and your credentials.") from None
    return ArrowStore(filesystem, scheme.lower()), path
