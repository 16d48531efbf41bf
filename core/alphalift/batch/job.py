"""A batch job from SOURCE to DEST: list, name, skip what is done, run an engine, report.

Everything that can fail without the model is settled first (SOURCE, DEST, the model's name,
the colour); outputs that cannot be written are failed rows before any image is cut out.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import AlphaLiftError, InputError
from ..fsutil import remove_stale_parts
from ..imageio import OutputError
from ..outputs import Folders, path_key
from .engine import EngineOptions, engine_named
from .listing import MANIFEST_NAME, Item, has_wildcard, list_source
from .manifest import Manifest, Row
from .naming import output_names
from .progress import Progress
from .storage import Store, locate
from .work import Job, Settings

LOCK_NAME = ".alphalift-batch.lock"


@dataclass
class Request:
    source: str
    dest: str
    settings: Settings
    engine: str = "local"
    engine_options: EngineOptions = field(default_factory=EngineOptions)
    force: bool = False


@dataclass
class Tally:
    total: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, row: Row) -> None:
        if row.status == "ok":
            self.done += 1
        elif row.status == "skipped":
            self.skipped += 1
        else:
            self.failed += 1

    def summary(self, manifest: str) -> str:
        seconds = time.monotonic() - self.started
        rate = f" ({self.done / seconds:.2f} images/s)" if self.done and seconds > 0 else ""
        return (f"alphalift: batch: {self.total} images: {self.done} cut out, {self.skipped} "
                f"skipped (done before), {self.failed} failed, in {seconds:.1f} s{rate}; "
                f"manifest: {manifest}")


def options_of(request: Request, model_sha256: str, model_name: str) -> dict:
    """What decides an output's pixels; a re-run redoes an image when any of it changed."""
    s = request.settings
    return {"format": s.format, "model": model_name, "model_sha256": model_sha256,
            "refine": s.refine, "bg": list(s.background) if s.background else None}


class Recorder:
    """Where every row goes: the manifest, the counts, the progress bar and, for a failure, one
    line on stderr. A second row for one input (a retried Ray task) is dropped."""

    def __init__(self, manifest: Manifest, tally: Tally, progress: Progress, options: dict) -> None:
        self.manifest, self.tally, self.progress, self.options = manifest, tally, progress, options
        self.seen: set[str] = set()

    def __call__(self, row: Row) -> None:
        if row.input in self.seen:
            return
        self.seen.add(row.input)
        row.options = self.options
        self.manifest.record(row)
        self.tally.add(row)
        if row.status == "failed":
            self.progress.write(f"alphalift: error: {row.reason}")
        if row.status != "skipped":
            self.progress.advance()


def run(request: Request) -> Tally:
    """Run the whole job; every input gets a manifest row. Returns the counts."""
    from ..models import ModelStore

    spec = ModelStore().catalog.get(request.settings.model)  # unknown model: nothing touched
    options = options_of(request, spec.sha256, spec.name)
    dest_store, dest = locate(request.dest)
    with _dest_ready(dest_store, dest, request.dest):
        items = _list(request, dest_store, dest)
        jobs = [Job(item.input, dest_store.uri(dest_store.join(dest, name)))
                for item, name in zip(items, output_names([item.relative for item in items]))]
        manifest = Manifest(dest_store, dest_store.join(dest, MANIFEST_NAME))
        tally = Tally(total=len(jobs))
        unwritable = _unwritable(dest_store, jobs, items)
        with Progress() as progress:
            record = Recorder(manifest, tally, progress, options)
            todo = []
            for job in jobs:
                if job.output in unwritable:
                    record(Row(job.input, job.output, "failed", reason=unwritable[job.output]))
                elif not request.force and (prior := _done_before(manifest, dest_store, job, options)):
                    record(prior)
                else:
                    todo.append(job)
            progress.start(len(todo))
            try:
                if todo:  # nothing left to do: no model loaded, no cluster joined
                    engine_named(request.engine).run(todo, request.settings,
                                                     request.engine_options, record)
            finally:
                _sweep_leftovers(dest_store, jobs)
                manifest.close()
        print(tally.summary(dest_store.uri(manifest.path)), file=sys.stdout, flush=True)
        return tally


def _list(request: Request, dest_store: Store, dest: str) -> list[Item]:
    wildcard = has_wildcard(request.source)
    source_store, source = (None, None) if wildcard else locate(request.source)
    if source_store is not None and source_store.kind == dest_store.kind and source == dest:
        raise InputError(f"DEST {request.dest} is SOURCE itself, so outputs would land on inputs.",
                         "Choose another DEST (a folder inside SOURCE is fine: it is never read).")
    items = list_source(request.source, exclude=(dest_store.kind, dest))
    if not items:
        raise InputError(f"{request.source}: no images found.",
                         "Pass a folder, a glob, or a .txt/.csv/.parquet list of images.")
    return items


@contextlib.contextmanager
def _dest_ready(store: Store, dest: str, shown: str) -> Iterator[None]:
    """DEST exists and is a folder; on a disk, one job at a time writes into it."""
    if store.kind != "local":
        yield
        return
    if os.path.exists(dest) and not os.path.isdir(dest):
        raise OutputError(f"DEST {shown} is a file.", "Choose a folder for the outputs.")
    Folders().check(Path(dest))  # created and probed: read-only or missing permission, one line now
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows
        yield
        return
    with open(os.path.join(dest, LOCK_NAME), "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise AlphaLiftError(f"another alphalift batch is writing to {shown}.",
                                 "Wait for it to finish, or choose another DEST.") from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _unwritable(store: Store, jobs: list[Job], items: list[Item]) -> dict[str, str]:
    """Outputs known now to be unwritable (on a disk): over an input, onto a folder, or in a
    folder that cannot be made or written; each maps to its one-line reason."""
    if store.kind != "local":
        return {}
    inputs = {path_key(Path(item.input)) for item in items if "://" not in item.input}
    folders = Folders()
    reasons = {}
    for job in jobs:
        target = Path(job.output)
        try:
            if path_key(target) in inputs:
                raise OutputError(f"{target} is one of the inputs; AlphaLift never overwrites an input.",
                                  "Choose another DEST.")
            if target.is_dir():
                raise OutputError(f"{target} is a folder.", "Move it away, or choose another DEST.")
            folders.check(target.parent)
        except AlphaLiftError as exc:
            reasons[job.output] = f"{job.input}: {exc}"
    return reasons


def _done_before(manifest: Manifest, store: Store, job: Job, options: dict) -> Row | None:
    """The skipped row for ``job`` if its output is whole (the size the manifest recorded),
    newer than its input (which has not changed size), and made with these options."""
    prior = manifest.earlier(job.input)
    if prior is None or prior.status not in ("ok", "skipped") or prior.output != job.output:
        return None
    if prior.options != options:
        return None
    output = store.stat(locate(job.output)[1])
    in_store, in_path = locate(job.input)
    source = in_store.stat(in_path)
    if output is None or source is None or output.size != prior.output_size:
        return None
    if output.mtime < source.mtime or source.size != prior.input_size:
        return None
    return Row(job.input, job.output, "skipped", options=options, seconds=0.0,
               input_mtime=source.mtime, input_size=source.size, output_size=output.size,
               worker=prior.worker)


def _sweep_leftovers(store: Store, jobs: list[Job]) -> None:
    """Temporary files of writers killed half-way (a Ray actor, an interrupted run): with the job
    over and DEST locked, no live writer owns one."""
    by_folder: dict[str, list[str]] = defaultdict(list)
    for job in jobs:
        path = locate(job.output)[1]
        if store.kind == "local" or getattr(store.fs, "type_name", "") == "local":
            by_folder[os.path.dirname(path)].append(os.path.basename(path))
    for folder, names in by_folder.items():
        remove_stale_parts(Path(folder), names)
