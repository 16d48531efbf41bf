"""Where model bytes come from: plain HTTP, chunked resources (IMG.LY's layout), an npm package.

Each fetcher yields the model file's bytes in order. Chunks named by their sha256 are verified as
they arrive; the store verifies the whole file. Any failure raises SourceError, whose message says
why in a few words, and the store moves on to the next source. An HTTP download that stops making
progress fails (a mirror that trickles a byte at a time would otherwise never end), and npm is
kept from retrying for a minute when its registry cannot be reached at all.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import tarfile
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import requests
import urllib3

from ..config import env_number
from .catalog import Source

BLOCK = 1 << 20
PROGRESS_FLOOR = 64 * 1024  # bytes that must arrive within each http_timeout() seconds
Progress = Callable[[int], None]


class SourceError(Exception):
    """One source failed; the message says why, in a few words."""


def http_timeout() -> tuple[float, float]:
    """(connect, stall) seconds. ALPHALIFT_HTTP_TIMEOUT sets the stall deadline: a download fails
    when fewer than PROGRESS_FLOOR bytes arrive in that many seconds (silence included)."""
    return 10.0, env_number("ALPHALIFT_HTTP_TIMEOUT", float, 60.0, minimum=0.1)


def _pieces(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives: read1 returns what one socket read gives, so a trickle still comes
    back often enough to be timed (read() would wait for a whole block)."""
    raw = response.raw
    if not hasattr(raw, "read1"):  # urllib3 before 2.1: whole blocks only
        yield from response.iter_content(BLOCK)
        return
    while piece := raw.read1(BLOCK, decode_content=True):
        yield piece


def _http_stream(url: str, progress: Progress) -> Iterator[bytes]:
    connect, stall = http_timeout()
    received = 0
    try:
        with requests.get(url, stream=True, timeout=(connect, stall)) as response:
            if response.status_code != 200:
                raise SourceError(f"HTTP {response.status_code}")
            expected = response.headers.get("Content-Length")
            window_start, window_bytes = time.monotonic(), 0
            for block in _pieces(response):
                received += len(block)
                window_bytes += len(block)
                now = time.monotonic()
                if window_bytes >= PROGRESS_FLOOR:
                    window_start, window_bytes = now, 0
                elif now - window_start > stall:
                    raise SourceError(f"stalled: {window_bytes} bytes in the last "
                                      f"{now - window_start:.0f} s (ALPHALIFT_HTTP_TIMEOUT={stall:g})")
                progress(len(block))
                yield block
            wire = response.raw.tell()  # Content-Length counts bytes as sent, maybe compressed
            if expected is not None and wire != int(expected):
                raise SourceError(f"connection closed after {wire} of {expected} bytes")
    except requests.RequestException as exc:
        raise SourceError(_request_reason(exc)) from None
    except urllib3.exceptions.ReadTimeoutError:  # read1 raises urllib3's own errors
        raise SourceError(f"stalled: no data for {stall:g} s (ALPHALIFT_HTTP_TIMEOUT)") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise SourceError(f"connection broke after {received} bytes ({type(exc).__name__})") from None


def _request_reason(exc: requests.RequestException) -> str:
    """A short reason: requests nests the cause several levels deep in its message."""
    if isinstance(exc, requests.Timeout):
        return f"no answer within the timeout ({type(exc).__name__})"
    text = str(exc)
    for marker in ("Failed to resolve", "Connection refused", "Network is unreachable",
                   "No route to host", "Name or service not known", "certificate verify failed"):
        if marker in text:
            return f"{type(exc).__name__}: {marker.lower()}"
    return f"{type(exc).__name__}: {text}"


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


PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy")
QUICK_NPM = ["--fetch-retries=0", "--fetch-timeout=15000"]  # when its registry is unreachable


def _npm_registry_unreachable(npm: str) -> str:
    """Why npm's registry cannot be reached ('' if it can, or if that cannot be told).

    npm retries a failed request for about a minute before giving up; when a plain connection to
    its registry fails, it is run without retries, so an offline user hears why at once. Behind a
    proxy only npm knows the way, so it is left to its own settings.
    """
    try:
        done = subprocess.run([npm, "config", "get", "registry", "https-proxy", "proxy"],
                              capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    settings = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    if any(settings.get(k, "null") not in ("null", "") for k in ("https-proxy", "proxy")) or \
            any(os.environ.get(v) for v in PROXY_VARIABLES):
        return ""
    url = urlsplit(settings.get("registry", ""))
    if not url.hostname:
        return ""
    try:
        with socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                      timeout=5):
            return ""
    except OSError as exc:
        return f"{url.hostname}: {exc.strerror or exc}"


def _npm_reason(stdout: str, stderr: str) -> str:
    """npm's own reason for failing: its --json error summary, else its `npm error code` lines
    (its last line only says where the log is)."""
    try:
        error = json.loads(stdout)["error"]
        summary = str(error.get("summary", "")).removeprefix("FetchError: ").strip()
        return f"{error.get('code', 'error')}: {summary}".strip(": ")
    except (ValueError, KeyError, TypeError, AttributeError):
        pass
    lines = [line.removeprefix("npm error").removeprefix("npm ERR!").strip()
             for line in stderr.splitlines() if line.startswith(("npm error", "npm ERR!"))]
    code = next((line.split()[1] for line in lines if line.startswith("code ")), "")
    detail = next((line for line in lines if line and not line.startswith(
        ("code ", "errno ", "syscall ", "A complete log", "network This", "network In most"))), "")
    return ": ".join(part for part in (code, detail) if part) or \
        (stderr.strip().splitlines() or ["no output"])[-1]


def npm_pack(package: str, workdir: Path) -> Path:
    """Fetch an npm package's tarball with the user's own npm client and configuration."""
    npm = shutil.which("npm")
    if npm is None:
        raise SourceError("npm is not installed")
    quick = QUICK_NPM if _npm_registry_unreachable(npm) else []
    try:
        done = subprocess.run(
            [npm, "pack", package, "--pack-destination", str(workdir), "--json", *quick],
            cwd=workdir, capture_output=True, text=True, timeout=1800, check=False,
        )
    except subprocess.TimeoutExpired:
        raise SourceError("npm pack timed out") from None
    if done.returncode != 0:
        raise SourceError(f"npm pack failed: {_npm_reason(done.stdout, done.stderr)}")
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
    """``source``'s bytes in order; every failure (an OSError too) is a SourceError."""
    blocks = FETCHERS[source.kind](source, progress)
    try:
        while True:
            try:
                block = next(blocks)
            except StopIteration:
                return
            except OSError as exc:
                raise SourceError(f"{type(exc).__name__}: {exc}") from None
            yield block
    finally:
        blocks.close()
