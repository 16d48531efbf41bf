"""One image of a batch, start to finish, the same on a local thread and in a Ray actor:
read the input, cut it out, write the output atomically, and say how it went as a manifest row.
A failure is a row with a one-line reason, never an exception that stops the job."""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import AlphaLiftError
from ..imageio import SourceImage, load_image, save_image
from ..pipeline import Remover
from .manifest import Row
from .storage import locate


@dataclass(frozen=True)
class Settings:
    """What every worker needs to cut out any image of the job (plain values: Ray pickles it)."""

    format: str = "rgba"
    model: str | None = None
    refine: bool = True
    background: tuple[int, int, int] | None = None
    max_pixels: int | None = None
    backend: str = "auto"
    threads: int | None = None
    download: bool = True


@dataclass(frozen=True)
class Job:
    input: str
    output: str


class _PassesInTurn:
    """A backend called from several lanes: as many passes at once as it allows (OpenVINO's
    streams), the others wait their turn; an ONNX Runtime pass, which uses every core alone,
    runs one at a time. The other stages of other images go on meanwhile."""

    def __init__(self, backend) -> None:
        self._backend = backend
        self._turns = threading.BoundedSemaphore(max(1, getattr(backend, "parallel", 1)))

    def run(self, batch):
        with self._turns:
            return self._backend.run(batch)

    def __getattr__(self, name: str):
        return getattr(self._backend, name)


class SharedRemover(Remover):
    """A Remover that ``lanes`` threads may call at once (the local engine's lanes); it keeps no
    image's runs (a batch sees each image once)."""

    def __init__(self, *args, lanes: int = 1, **kwargs) -> None:
        super().__init__(*args, streams=lanes, remember=False, **kwargs)

    def new_backend(self, spec):
        return _PassesInTurn(super().new_backend(spec))


class Cutter:
    """Holds one Remover (the model loaded once) and cuts out jobs one by one."""

    def __init__(self, settings: Settings, remover: Remover | None = None) -> None:
        self.settings = settings
        self.remover = remover or Remover(backend=settings.backend, threads=settings.threads,
                                          download=settings.download, remember=False)
        self.worker = f"{socket.gethostname()}:{os.getpid()}"

    def load_model(self) -> None:
        """Fetch (once per node, under the store's lock), hash-check and load the model now,
        so a worker that cannot is known before it takes any image."""
        self.remover.backend_for(self.remover.store.catalog.get(self.settings.model))

    def cut(self, job: Job) -> Row:
        started = time.perf_counter()
        row = Row(job.input, job.output, "ok", worker=self.worker)
        try:
            in_store, in_path = locate(job.input)
            found = in_store.stat(in_path)
            if found is not None:
                row.input_mtime, row.input_size = found.mtime, found.size
            image = read_image(job.input, self.settings.max_pixels)
            s = self.settings
            cutout = self.remover.remove(image, model=s.model, refine=s.refine,
                                         foreground=s.format != "mask")
            written = write_image(cutout.to_image(s.format, s.background), job.output,
                                  cutout.icc_profile)
            row.output_size = written
        except AlphaLiftError as exc:
            row.status, row.reason = "failed", one_line(str(exc), job.input)
        except Exception as exc:  # one image's unexpected bug must not stop the job
            row.status = "failed"
            row.reason = one_line(f"unexpected {type(exc).__name__}: {exc}", job.input)
        row.seconds = round(time.perf_counter() - started, 4)
        return row


def one_line(text: str, source: str) -> str:
    text = " ".join(text.split())
    return text if text.startswith(source) else f"{source}: {text}"


def read_image(location: str, limit: int | None) -> SourceImage:
    """A local file straight from its path; anything else fetched into a temporary file first
    (so every check of load_image applies), with errors naming the URI."""
    store, path = locate(location)
    if store.kind == "local":
        return load_image(Path(path), limit=limit)
    try:
        data = store.read_bytes(path)
    except OSError as exc:
        raise AlphaLiftError(f"{location}: could not read it ({exc}).", "Check the URI and your access.") from None
    suffix = os.path.splitext(path)[1]
    with tempfile.TemporaryDirectory(prefix="alphalift-batch-") as folder:
        local = Path(folder) / f"input{suffix}"
        local.write_bytes(data)
        try:
            return load_image(local, limit=limit)
        except AlphaLiftError as exc:
            raise type(exc)(exc.message.replace(str(local), location), exc.hint) from None


def write_image(image, location: str, icc_profile: bytes | None) -> int:
    """Write atomically; returns the output's size in bytes."""
    store, path = locate(location)
    if store.kind == "local":
        save_image(image, Path(path), icc_profile=icc_profile)
        return os.path.getsize(path)
    with tempfile.TemporaryDirectory(prefix="alphalift-batch-") as folder:
        local = Path(folder) / Path(path).name
        save_image(image, local, icc_profile=icc_profile)
        data = local.read_bytes()
    try:
        store.write_bytes(path, data)
    except OSError as exc:
        raise AlphaLiftError(f"{location}: could not write it ({exc}).",
                             "Check the destination and your access.") from None
    return len(data)
