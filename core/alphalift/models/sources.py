"""Where model bytes come from: plain HTTP, chunked resources (IMG.LY's layout), an npm package.

Each fetcher yields the model file's bytes in order. Chunks named by their sha256 are verified as
they arrive; the store verifies the whole file. Any failure raises SourceError, and the store moves
on to the next source.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import requests

from .catalog import Source

BLOCK = 1 << 20
Progress = Callable[[int], None]


class SourceError(Exception):
    """One source failed; the message says why, in a few words."""


def http_timeout() -> tuple[float, float]:
    """(connect, read) seconds; ALPHALIFT_HTTP_TIMEOUT overrides the read timeout."""
    return 10.0, float(os.environ.get("ALPHALIFT_HTTP_TIMEOUT", "60"))


def _http_stream(url: str, progress: Progress) -> Iterator[bytes]:
    try:
        with requests.get(url, stream=True, timeout=http_timeout()) as response:
            if response.status_code != 200:
                raise SourceError(f"HTTP {response.status_code}")
            expected = response.headers.get("Content-Length")
            received = 0
            for block in response.iter_content(BLOCK):
                received += len(block)
                progress(len(block))
                yield block
            if expected is not None and received != int(expected):
                raise SourceError(f"connection closed after {received} of {expected} bytes")
    except requests.RequestException as exc:
        raise SourceError(f"{type(exc).__name__}: {exc}") from None


def fetch_http(source: Source, progress: Progress) -> Iterator[bytes]:
    yield from _http_stream(source.url, progress)


def _chunk_list(resources_json: bytes, key: str) -> list[str]:
    try:
        entry = json.loads(resources_json)[key]
        return [chunk["hash"] for chunk in entry["chunks"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise SourceError(f"resources.json has no usable entry {key!r} ({exc})") from None


def _verified(name: str, data: bytes) -> bytes:
    if hashlib.sha256(data).hexdigest() != name:
        raise SourceError(f"chunk {name[:12]}… failed its sha256 check")
    return data


def fetch_chunked(source: Source, progress: Progress) -> Iterator[bytes]:
    """resources.json at ``source.url``; chunks beside it, each named by its sha256."""
    index = b"".join(_http_stream(source.url, lambda n: None))
    base = source.url.rsplit("/", 1)[0]
    for name in _chunk_list(index, source.key):
        yield _verified(name, b"".join(_http_stream(f"{base}/{name}", progress)))


def npm_pack(package: str, workdir: Path) -> Path:
    """Fetch an npm package's tarball with the user's own npm client and configuration."""
    npm = shutil.which("npm")
    if npm is None:
        raise SourceError("npm is not installed")
    try:
        done = subprocess.run(
            [npm, "pack", package, "--pack-destination", str(workdir), "--json"],
            cwd=workdir, capture_output=True, text=True, timeout=1800, check=False,
        )
    except subprocess.TimeoutExpired:
        raise SourceError("npm pack timed out") from None
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise SourceError(f"npm pack failed: {last}")
    try:
        filename = json.loads(done.stdout)[0]["filename"]
    except (ValueError, KeyError, IndexError):
        raise SourceError("npm pack gave no tarball name") from None
    # npm writes scoped names as scope-name-version.tgz
    candidates = [workdir / filename, workdir / filename.lstrip("@").replace("/", "-")]
    for candidate in candidates:
        if candidate.exists():
            return candidate
    raise SourceError(f"npm pack did not write {filename}")


def fetch_npm(source: Source, progress: Progress) -> Iterator[bytes]:
    with tempfile.TemporaryDirectory(prefix="alphalift-npm-") as tmp:
        tarball = npm_pack(source.package, Path(tmp))
        try:
            with tarfile.open(tarball, "r:gz") as archive:
                def member(name: str) -> bytes:
                    handle = archive.extractfile(f"package/dist/{name}")
                    if handle is None:
                        raise KeyError(name)
                    return handle.read()

                for name in _chunk_list(member("resources.json"), source.key):
                    data = _verified(name, member(name))
                    progress(len(data))
                    yield data
        except (tarfile.TarError, KeyError, OSError) as exc:
            raise SourceError(f"npm package is not in the expected layout ({exc})") from None


FETCHERS: dict[str, Callable[[Source, Progress], Iterator[bytes]]] = {
    "http": fetch_http,
    "chunked": fetch_chunked,
    "npm": fetch_npm,
}


def fetch(source: Source, progress: Progress) -> Iterator[bytes]:
    return FETCHERS[source.kind](source, progress)
