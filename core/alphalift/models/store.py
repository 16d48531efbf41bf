"""The model cache: fetch from the catalogue's sources, verify, convert, import, remove.

Layout under ``<home>/models``: ``NAME.onnx`` (the file as published, verified by hash),
``NAME.fp32.onnx`` (its CPU conversion), ``*.verified`` records, ``*.lock`` files, ``compiled/``
(OpenVINO's compilations, see compiled.py) and ``custom.json`` (models the user imported).

A file is used only if its hash was checked. Each record holds the file's size, mtime and digest
(fsutil.block_digest), taken when the store made or verified it; the file an engine is about to
load is digested again and compared, so damage that keeps size and mtime is caught too. A damaged
conversion is rebuilt from the verified original; a damaged original is fetched again, and never
takes an intact conversion with it (an offline user keeps a working model).
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from tqdm import tqdm

from ..errors import AlphaLiftError, InputError, ModelCorruptError, ModelMissingError
from ..fsutil import (CHUNK, atomic_output, atomic_write_text, block_digest, file_digest, file_lock,
                      remove_file, remove_stale_parts, remove_tree)
from .catalog import FAMILY_DEFAULTS, Catalog, ModelSpec, spec_from_dict
from .compiled import CompiledCache
from .sources import SourceError, fetch

PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
STALE_PART_SECONDS = 3600  # any temporary this old in the models folder is a killed writer's


class StoreWriteError(AlphaLiftError):
    """The models folder cannot take a file (disk full, read-only, quota)."""

    code = "store-write-failed"


def alphalift_home() -> Path:
    """ALPHALIFT_HOME, else the platform's per-user data folder."""
    override = os.environ.get("ALPHALIFT_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("alphalift", appauthor=False))


def _size_text(size: int) -> str:
    return f"{size / 1e6:.0f} MB" if size >= 1e6 else f"{size / 1e3:.0f} kB"


def _say_on_stderr(text: str) -> None:
    print(f"alphalift: {text}", file=sys.stderr, flush=True)


@dataclass
class VerifyResult:
    name: str
    status: str  # "ok", "missing", "repaired" (usable again), "corrupt" (a file is gone)
    notes: list[str] = field(default_factory=list)

    @property
    def detail(self) -> str:
        return "; ".join(self.notes)


class ModelStore:
    def __init__(self, root: Path | None = None, catalog: Catalog | None = None) -> None:
        self.root = root or alphalift_home() / "models"
        self.catalog = catalog or Catalog.load(self.root / "custom.json")
        self.show_progress = sys.stderr.isatty()
        self.say: Callable[[str], None] = _say_on_stderr  # a line for the user, e.g. "fetching"

    # -- paths -------------------------------------------------------------------------------
    def original_path(self, spec: ModelSpec) -> Path:
        return self.root / spec.file_name

    @property
    def compiled_cache(self) -> Path:
        """Where a backend keeps its own compilation of the models (OpenVINO); safe to delete."""
        return self.root / "compiled"

    def fp32_path(self, spec: ModelSpec) -> Path:
        return self.root / f"{spec.name}.fp32.onnx"

    @staticmethod
    def _stamp(path: Path) -> Path:
        return path.with_name(path.name + ".verified")

    def _lock(self, spec: ModelSpec):
        return file_lock(self.root / f"{spec.name}.lock")

    # -- records -----------------------------------------------------------------------------
    def _record(self, path: Path, **fields: str) -> None:
        """Remember ``path`` as checked: size, mtime, its digest now, and ``fields``."""
        stat = path.stat()
        record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "digest": block_digest(path),
                  **fields}
        atomic_write_text(self._stamp(path), json.dumps(record))

    def _read_stamp(self, path: Path) -> dict | None:
        try:
            record = json.loads(self._stamp(path).read_text(encoding="utf-8"))
            return record if isinstance(record, dict) else None
        except (OSError, ValueError):
            return None

    def _matching_record(self, path: Path, **fields: str) -> dict | None:
        """The record of ``path`` if it holds these fields and the size and mtime it found."""
        record = self._read_stamp(path)
        if record is None or any(record.get(k) != v for k, v in fields.items()):
            return None
        try:
            stat = path.stat()
        except OSError:
            return None
        if record.get("size") != stat.st_size or record.get("mtime_ns") != stat.st_mtime_ns:
            return None
        return record

    def _unchanged(self, path: Path, **fields: str) -> bool:
        """Cheap (a stat): recorded with these fields, size and mtime as recorded."""
        return self._matching_record(path, **fields) is not None

    def _intact(self, path: Path, **fields: str) -> bool:
        """What an engine loads: unchanged, and every byte digests as recorded."""
        record = self._matching_record(path, **fields)
        if record is None:
            return False
        if "digest" not in record:  # recorded by an AlphaLift that kept only the sha256
            if record.get("sha256") != file_digest(path):
                return False
            self._record(path, **{k: v for k, v in record.items() if k in ("sha256", "source_sha256")})
            return True
        return block_digest(path) == record["digest"]

    def _forget(self, path: Path) -> None:
        remove_file(path)
        remove_file(self._stamp(path))

    def _check_file(self, spec: ModelSpec, path: Path) -> str:
        """Hash ``path`` fully; return '' if it is the catalogue's file, else why not."""
        if spec.size is not None and path.stat().st_size != spec.size:
            return f"size {path.stat().st_size} bytes, expected {spec.size}"
        digest = file_digest(path)
        if digest != spec.sha256:
            return f"sha256 {digest[:16]}…, expected {spec.sha256[:16]}…"
        if spec.md5 and file_digest(path, "md5") != spec.md5:
            return "md5 does not match the publisher's"
        return ""

    def is_cached(self, spec: ModelSpec) -> bool:
        """Cheap: present and recorded as verified (the file is digested when it is loaded)."""
        return self._unchanged(self.original_path(spec), sha256=spec.sha256)

    def _clear_leftovers(self, spec: ModelSpec) -> None:
        """Temporaries of this model's files: their writers were killed (we hold its lock)."""
        remove_stale_parts(self.root, [spec.file_name, self.fp32_path(spec).name],
                           older_than=STALE_PART_SECONDS)

    # -- verify ------------------------------------------------------------------------------
    def verify(self, spec: ModelSpec) -> VerifyResult:
        """Check every file that would be loaded for ``spec`` in full, and repair what can be:
        a damaged original is removed (fetch it again), a damaged conversion rebuilt from the
        verified original, a damaged or outdated compilation removed (compiled again on use)."""
        original, converted = self.original_path(spec), self.fp32_path(spec)
        result = VerifyResult(spec.name, "ok")
        with self._lock(spec):
            self._clear_leftovers(spec)
            original_ok = False
            if original.exists():
                problem = self._check_file(spec, original)
                if problem:
                    self._forget(original)
                    result.status = "corrupt"
                    result.notes.append(f"{original.name}: {problem} (removed; {self._how_to_refetch(spec)})")
                else:
                    self._record(original, sha256=spec.sha256)
                    original_ok = True
            if spec.fp32 == "cpu" and converted.exists():
                if not self._intact(converted, source_sha256=spec.sha256):
                    if original_ok:
                        self._convert(spec, original)
                        result.notes.append(f"{converted.name}: damaged or out of date (rebuilt from "
                                            "the verified original)")
                        result.status = "repaired"
                    else:
                        self._forget(converted)
                        result.notes.append(f"{converted.name}: damaged or out of date (removed)")
                        result.status = "corrupt"
                elif not original.exists():
                    result.notes.append(f"{converted.name}: intact, still used on CPUs")
            elif not original.exists() and result.status == "ok":
                result.status = "missing"
        for problem in CompiledCache(self.compiled_cache).check([original, converted]):
            result.notes.append(f"compiled/{problem.blob}: {problem.reason} (removed; compiled again "
                                "on next use)")
            if result.status == "ok":
                result.status = "repaired"
        return result

    def sweep(self) -> list[str]:
        """Remove what killed writers left: temporaries over an hour old, compilations nobody
        recorded. Says what went, one line each."""
        gone = [f"{part.name}: removed (left by a writer killed half-way)"
                for part in remove_stale_parts(self.root, older_than=STALE_PART_SECONDS)]
        return gone + [f"compiled/{problem.blob}: {problem.reason} (removed)"
                       for problem in CompiledCache(self.compiled_cache).drop_unrecorded()]

    def _how_to_refetch(self, spec: ModelSpec) -> str:
        if spec.sources:
            return f"run `alphalift models download {spec.name}` to fetch it again"
        return f"import the file again with `alphalift models import FILE --as {spec.name}`"

    # -- fetching ----------------------------------------------------------------------------
    def ensure(self, spec: ModelSpec, download: bool = True) -> Path:
        """The verified published file, fetching it if needed (and allowed)."""
        if self.is_cached(spec):
            return self.original_path(spec)
        with self._lock(spec):
            return self._ensure_locked(spec, download)

    def _ensure_locked(self, spec: ModelSpec, download: bool, recheck: bool = False) -> Path:
        """ensure() for a caller holding the model's lock; ``recheck`` hashes a cached file too."""
        path = self.original_path(spec)
        self._clear_leftovers(spec)
        if path.exists() and (recheck or not self.is_cached(spec)):
            # Another process may have finished while we waited for the lock; or it is damaged.
            problem = self._check_file(spec, path)
            if problem:
                self.say(f"{path.name} is damaged ({problem}); removed")
                self._forget(path)
            else:
                self._record(path, sha256=spec.sha256)
        if self.is_cached(spec):
            return path
        if not download:
            raise ModelMissingError(
                f"Model {spec.name!r} is not downloaded.",
                f"Run `alphalift models download {spec.name}`.",
            )
        self._download(spec)
        return path

    def _download(self, spec: ModelSpec) -> None:
        failures: list[str] = []
        size = f" ({_size_text(spec.size)})" if spec.size else ""
        for source in spec.sources:
            self.say(f"fetching {spec.name}{size} from {source.describe()}")
            try:
                self._download_from(spec, source)
                return
            except SourceError as exc:
                failures.append(f"  {source.describe()}: {exc}")
        tried = "\n".join(failures) if failures else "  the catalogue lists no source"
        raise FetchFailedError(
            f"Could not fetch model {spec.name!r}; tried:\n{tried}",
            f"Fetch {spec.file_name} (sha256 {spec.sha256}) yourself and run "
            f"`alphalift models import FILE --as {spec.name}`.",
        )

    def _download_from(self, spec: ModelSpec, source) -> None:
        path = self.original_path(spec)
        sha256 = hashlib.sha256()
        md5 = hashlib.md5() if spec.md5 else None
        size = 0
        bar = tqdm(total=spec.size, unit="B", unit_scale=True, desc=f"{spec.name}",
                   disable=not self.show_progress, leave=False)
        try:
            with _writing(path) as out:
                for block in fetch(source, bar.update):
                    out.write(block)
                    sha256.update(block)
                    if md5 is not None:
                        md5.update(block)
                    size += len(block)
                    if spec.size is not None and size > spec.size:
                        raise SourceError(f"more than the expected {spec.size} bytes")
                if spec.size is not None and size != spec.size:
                    raise SourceError(f"got {size} of {spec.size} bytes")
                if sha256.hexdigest() != spec.sha256:
                    raise SourceError("downloaded file failed its sha256 check")
                if md5 is not None and md5.hexdigest() != spec.md5:
                    raise SourceError("downloaded file failed its md5 check")
        finally:
            bar.close()
        self._record(path, sha256=spec.sha256)

    # -- the file the engine loads -----------------------------------------------------------
    def runtime_path(self, spec: ModelSpec, device: str = "cpu", download: bool = True) -> Path:
        """The file the engine should load for ``device`` (the fp32 conversion on CPUs, if any),
        digested and found intact just now; a damaged one is rebuilt or fetched again first."""
        if spec.fp32 == "cpu" and device == "cpu":
            return self._converted(spec, download)
        original = self.original_path(spec)
        if self._intact(original, sha256=spec.sha256):
            return original
        with self._lock(spec):
            return self._ensure_locked(spec, download, recheck=True)

    def _converted(self, spec: ModelSpec, download: bool) -> Path:
        converted = self.fp32_path(spec)
        if self._intact(converted, source_sha256=spec.sha256):
            return converted
        with self._lock(spec):
            if self._intact(converted, source_sha256=spec.sha256):  # another process converted it
                return converted
            if converted.exists():
                self.say(f"{converted.name} is damaged or out of date; rebuilding it")
            original = self._ensure_locked(spec, download, recheck=True)
            self._convert(spec, original)
        return converted

    def _convert(self, spec: ModelSpec, original: Path) -> None:
        """Write the fp32 conversion of the verified ``original`` (the caller holds the lock)."""
        from .convert import convert_to_fp32

        converted = self.fp32_path(spec)
        self._forget(converted)
        CompiledCache(self.compiled_cache).forget(converted)  # compiled from the old conversion
        data = convert_to_fp32(original)
        with _writing(converted) as out:
            out.write(data)
        self._record(converted, source_sha256=spec.sha256)

    def cached_runtime_path(self, spec: ModelSpec) -> Path | None:
        """What `models path` prints: the file the CPU engine loads, if present."""
        if spec.fp32 == "cpu" and self._unchanged(self.fp32_path(spec), source_sha256=spec.sha256):
            return self.fp32_path(spec)
        if self.is_cached(spec):
            return self.original_path(spec)
        return None

    # -- import / remove ---------------------------------------------------------------------
    def import_file(self, file: Path, name: str, family: str | None = None) -> ModelSpec:
        """Copy a model file into the cache: verified against the catalogue, or registered.

        Nothing is removed before the new file is in place; importing the store's own file
        (saved there by hand) only verifies and records it.
        """
        if not PLAIN_NAME.fullmatch(name):
            raise InputError(f"--as {name!r} is not a plain model name.",
                             "Use letters, digits, '-' and '_' only (no folders, no dots), "
                             "e.g. --as my-model.")
        if not file.is_file():
            raise InputError(f"{file}: no such file.", "Give the path of an .onnx model file.")
        if name in self.catalog and not self.catalog.get(name).custom:
            spec = self.catalog.get(name)
            with self._lock(spec):
                problem = self._check_file(spec, file)
                if problem:
                    raise ModelCorruptError(
                        f"{file} is not the catalogue's {name!r} model ({problem}).",
                        "Check you downloaded the right file, or import it under a new name "
                        "with --family.",
                    )
                self._copy_in(file, spec)
            return spec
        if family is None and name in self.catalog:
            family = self.catalog.get(name).family  # importing a custom model again
        if family is None:
            raise InputError(
                f"{name!r} is not in the catalogue.",
                "To register a custom model, say its architecture with --family "
                "(u2net, isnet or birefnet).",
            )
        if family not in FAMILY_DEFAULTS:
            raise InputError(f"Unknown family {family!r}.", "Use u2net, isnet or birefnet.")
        _check_onnx(file)
        digest = file_digest(file)
        spec = spec_from_dict(name, {**FAMILY_DEFAULTS[family], "family": family, "sha256": digest,
                                     "size": file.stat().st_size, "licence": "unknown (custom)",
                                     "description": f"custom model imported from {file.name}"},
                              custom=True)
        with self._lock(spec):
            self._copy_in(file, spec)
            self.catalog.register_custom(spec)
        return spec

    def _copy_in(self, file: Path, spec: ModelSpec) -> None:
        """Put ``file`` (already checked to be ``spec``'s) in place; the caller holds the lock."""
        target = self.original_path(spec)
        self._clear_leftovers(spec)
        if not (target.exists() and os.path.samefile(file, target)):
            with open(file, "rb") as src, _writing(target) as out:
                shutil.copyfileobj(src, out, CHUNK)
            if file_digest(target) != spec.sha256:
                self._forget(target)
                raise ModelCorruptError(f"Copying {file} changed its bytes.", "Check the disk.")
        self._record(target, sha256=spec.sha256)
        converted = self.fp32_path(spec)
        if converted.exists() and not self._unchanged(converted, source_sha256=spec.sha256):
            self._forget(converted)  # converted from the file this one replaced
            CompiledCache(self.compiled_cache).forget(converted)

    def remove(self, spec: ModelSpec) -> bool:
        with self._lock(spec):
            existed = self.original_path(spec).exists() or self.fp32_path(spec).exists()
            self._forget(self.original_path(spec))
            self._forget(self.fp32_path(spec))
            self.catalog.unregister_custom(spec.name)
        remove_tree(self.compiled_cache)  # a removed model's compilations go too
        return existed


@contextlib.contextmanager
def _writing(path: Path) -> Iterator[BinaryIO]:
    """atomic_output, with a failed write (a full disk, say) as one line naming the folder; the
    body's other errors pass through (a download's SourceError moves on to the next source)."""
    try:
        with atomic_output(path) as out:
            yield out
    except OSError as exc:
        raise StoreWriteError(
            f"Could not write {path.name} in {path.parent}: {exc.strerror or exc}.",
            "Free some space there (or point ALPHALIFT_HOME at another disk) and try again.",
        ) from None


class FetchFailedError(ModelMissingError):
    """Every source failed: one line per source says why, then what to do."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message, hint)
        self.args = (f"{message}\n{hint}",)


def _check_onnx(file: Path) -> None:
    """Refuse a file that is not an ONNX model now, rather than when it is first loaded."""
    import onnx

    try:
        model = onnx.load(str(file), load_external_data=False)
        usable = bool(model.graph.node and model.graph.input and model.graph.output)
    except Exception:  # protobuf's DecodeError and friends: not a model
        usable = False
    if not usable:
        raise InputError(f"{file} is not an ONNX model.",
                         "Give the .onnx file of a segmentation model (u2net, isnet or birefnet).")
