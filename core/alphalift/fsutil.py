"""Filesystem helpers: never leave a half-written file where a user or the engine would read it."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import sys
import tempfile
import time
import zlib
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import BinaryIO

CHUNK = 1 << 20
DIGEST_BLOCK = 8 << 20  # block_digest's unit: large enough to hash at full speed on a thread


@contextlib.contextmanager
def atomic_output(path: Path, mode: str = "wb") -> Iterator[BinaryIO]:
    """Write to a temporary file beside ``path``; rename over it only if the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, mode) as handle:
            yield handle  # type: ignore[misc]
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_output(path, "w") as handle:
        handle.write(text)  # type: ignore[arg-type]


def file_digest(path: Path, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(CHUNK), b""):
            digest.update(block)
    return digest.hexdigest()


def block_digest(path: Path, workers: int | None = None) -> str:
    """A whole-file checksum taken before each model load, cheap enough for every start-up.

    The CRC-32 of each DIGEST_BLOCK-byte block, combined by sha256 and tagged with the scheme: it
    catches accidental damage (a flipped region, a truncated copy) at half the CPU time of a
    sha256 (0.06 against 0.12 CPU-seconds for the 176 MB default model), and the blocks are
    summed on several threads (zlib releases the GIL). Not proof against tampering: whoever can
    write the model can write the record beside it.
    """
    size = os.path.getsize(path)

    def block(offset: int) -> bytes:
        with open(path, "rb") as handle:
            handle.seek(offset)
            return zlib.crc32(handle.read(DIGEST_BLOCK)).to_bytes(4, "big")

    offsets = range(0, size, DIGEST_BLOCK)
    workers = workers or min(8, os.cpu_count() or 1, max(1, len(offsets)))
    if workers == 1:
        sums = b"".join(map(block, offsets))
    else:
        with ThreadPoolExecutor(workers) as pool:
            sums = b"".join(pool.map(block, offsets))
    return f"crc32-8M:{hashlib.sha256(size.to_bytes(8, 'big') + sums).hexdigest()}"


def remove_file(path: Path) -> None:
    """Delete a file even if it is read-only (OpenVINO leaves its cache so; Windows refuses to
    delete those until they are made writable); a missing file is fine."""
    try:
        path.unlink(missing_ok=True)
    except PermissionError:
        os.chmod(path, stat.S_IWRITE | stat.S_IREAD)
        path.unlink(missing_ok=True)


def remove_stale_parts(folder: Path, names: Iterable[str] = (),
                       older_than: float | None = None) -> list[Path]:
    """Remove the temporary files atomic_output leaves when its process is killed half-way.

    ``names``: the files whose temporaries go whatever their age (the caller holds the lock under
    which they are written, so no live writer can own one); ``older_than``: seconds, after which
    any temporary in ``folder`` goes. Returns what was removed.
    """
    prefixes = tuple(f".{name}." for name in names)
    now = time.time()
    removed = []
    for part in folder.glob(".*.part") if folder.is_dir() else ():
        try:
            age = now - part.stat().st_mtime
        except OSError:
            continue
        if part.name.startswith(prefixes) or (older_than is not None and age > older_than):
            remove_file(part)
            removed.append(part)
    return removed


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive inter-process lock, so two processes never fetch the same model at once."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - Windows
            import msvcrt

            handle.seek(0)
            while True:
                try:
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def remove_tree(folder: Path) -> None:
    """Delete a folder whose files may be read-only (OpenVINO writes its cache so), which
    Windows refuses to delete until they are made writable; a missing folder is fine."""
    def make_writable_and_retry(function, path, _error) -> None:
        os.chmod(path, stat.S_IWRITE)
        function(path)

    if not folder.exists():
        return
    handler = "onexc" if sys.version_info >= (3, 12) else "onerror"
    shutil.rmtree(folder, **{handler: make_writable_and_retry})
