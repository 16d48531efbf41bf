"""The model cache: fetch from the catalogue's sources, verify, convert, import, remove.

Layout under ``<home>/models``: ``NAME.onnx`` (the file as published, verified by hash),
``NAME.fp32.onnx`` (its CPU conversion), ``*.verified`` stamps, ``*.lock`` files and
``custom.json`` (models the user imported). A file is used only if its hash was checked; a stamp
records size, mtime and hash, so the check is a stat() until the file changes.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from ..errors import InputError, ModelCorruptError, ModelMissingError
from ..fsutil import CHUNK, atomic_output, atomic_write_text, file_digest, file_lock, remove_tree
from .catalog import FAMILY_DEFAULTS, Catalog, ModelSpec, spec_from_dict
from .sources import SourceError, fetch


def alphalift_home() -> Path:
    """ALPHALIFT_HOME, else the platform's per-user data folder."""
    override = os.environ.get("ALPHALIFT_HOME")
    if override:
        return Path(override).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("alphalift", appauthor=False))


@dataclass
class VerifyResult:
    name: str
    status: str  # "ok", "missing", "corrupt"
    detail: str = ""


class ModelStore:
    def __init__(self, root: Path | None = None, catalog: Catalog | None = None) -> None:
        self.root = root or alphalift_home() / "models"
        self.catalog = catalog or Catalog.load(self.root / "custom.json")
        self.show_progress = sys.stderr.isatty()

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

    # -- verification ------------------------------------------------------------------------
    def _write_stamp(self, path: Path, sha256: str, **extra: str) -> None:
        stat = path.stat()
        record = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256, **extra}
        atomic_write_text(self._stamp(path), json.dumps(record))

    def _read_stamp(self, path: Path) -> dict | None:
        try:
            return json.loads(self._stamp(path).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _stamp_matches(self, path: Path, sha256: str) -> bool:
        record = self._read_stamp(path)
        if record is None or record.get("sha256") != sha256 or not path.exists():
            return False
        stat = path.stat()
        return record.get("size") == stat.st_size and record.get("mtime_ns") == stat.st_mtime_ns

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
        """Cheap: present and stamped as verified (a full check happens on `models verify`)."""
        return self._stamp_matches(self.original_path(spec), spec.sha256)

    def verify(self, spec: ModelSpec) -> VerifyResult:
        """Re-hash the cached file; a corrupt one is deleted so it is fetched again."""
        path = self.original_path(spec)
        if not path.exists():
            return VerifyResult(spec.name, "missing")
        problem = self._check_file(spec, path)
        if problem:
            self._discard(spec)
            return VerifyResult(spec.name, "corrupt", problem + " (removed)")
        self._write_stamp(path, spec.sha256)
        return VerifyResult(spec.name, "ok")

    def _discard(self, spec: ModelSpec) -> None:
        for path in (self.original_path(spec), self.fp32_path(spec)):
            path.unlink(missing_ok=True)
            self._stamp(path).unlink(missing_ok=True)

    # -- fetching ----------------------------------------------------------------------------
    def ensure(self, spec: ModelSpec, download: bool = True) -> Path:
        """The verified published file, fetching it if needed (and allowed)."""
        path = self.original_path(spec)
        if self.is_cached(spec):
            return path
        with file_lock(self.root / f"{spec.name}.lock"):
            # Another process may have finished while we waited for the lock.
            if path.exists() and not self.is_cached(spec):
                problem = self._check_file(spec, path)
                if not problem:
                    self._write_stamp(path, spec.sha256)
                else:
                    self._discard(spec)
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
        for source in spec.sources:
            try:
                self._download_from(spec, source)
                return
            except SourceError as exc:
                failures.append(f"{source.describe()}: {exc}")
        tried = "; ".join(failures) or "the catalogue lists no source"
        raise ModelMissingError(
            f"Could not fetch model {spec.name!r}. Tried: {tried}.",
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
            with atomic_output(path) as out:
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
        except OSError as exc:
            raise SourceError(f"could not write the model file: {exc}") from None
        finally:
            bar.close()
        self._write_stamp(path, spec.sha256)

    # -- the file the engine loads -----------------------------------------------------------
    def runtime_path(self, spec: ModelSpec, device: str = "cpu", download: bool = True) -> Path:
        """The file the engine should load for ``device``: the fp32 conversion on CPUs, if any."""
        original = self.ensure(spec, download=download)
        if spec.fp32 != "cpu" or device != "cpu":
            return original
        converted = self.fp32_path(spec)
        if self._conversion_is_current(spec):
            return converted
        with file_lock(self.root / f"{spec.name}.lock"):
            if self._conversion_is_current(spec):  # another process converted while we waited
                return converted
            from .convert import convert_to_fp32

            with atomic_output(converted) as out:
                convert_to_fp32(original, out)
            self._write_stamp(converted, file_digest(converted), source_sha256=spec.sha256)
        return converted

    def _conversion_is_current(self, spec: ModelSpec) -> bool:
        converted = self.fp32_path(spec)
        record = self._read_stamp(converted)
        return bool(record and record.get("source_sha256") == spec.sha256
                    and self._stamp_matches(converted, record.get("sha256", "")))

    def cached_runtime_path(self, spec: ModelSpec) -> Path | None:
        """What `models path` prints: the file the CPU engine loads, if present."""
        if not self.is_cached(spec):
            return None
        if spec.fp32 == "cpu" and self._conversion_is_current(spec):
            return self.fp32_path(spec)
        return self.original_path(spec)

    # -- import / remove ---------------------------------------------------------------------
    def import_file(self, file: Path, name: str, family: str | None = None) -> ModelSpec:
        """Copy a model file into the cache: verified against the catalogue, or registered."""
        if not file.is_file():
            raise InputError(f"{file}: no such file.", "Give the path of an .onnx model file.")
        if name in self.catalog and not self.catalog.get(name).custom:
            spec = self.catalog.get(name)
            with file_lock(self.root / f"{spec.name}.lock"):
                problem = self._check_file(spec, file)
                if problem:
                    raise ModelCorruptError(
                        f"{file} is not the catalogue's {name!r} model ({problem}).",
                        "Check you downloaded the right file, or import it under a new name "
                        "with --family.",
                    )
                self._copy_in(file, spec, spec.sha256)
            return spec
        if family is None:
            raise InputError(
                f"{name!r} is not in the catalogue.",
                "To register a custom model, say its architecture with --family "
                "(u2net, isnet or birefnet).",
            )
        if family not in FAMILY_DEFAULTS:
            raise InputError(f"Unknown family {family!r}.", "Use u2net, isnet or birefnet.")
        digest = file_digest(file)
        spec = spec_from_dict(name, {**FAMILY_DEFAULTS[family], "family": family, "sha256": digest,
                                     "size": file.stat().st_size, "licence": "unknown (custom)",
                                     "description": f"custom model imported from {file.name}"},
                              custom=True)
        with file_lock(self.root / f"{spec.name}.lock"):
            self._copy_in(file, spec, digest)
            self.catalog.register_custom(spec)
        return spec

    def _copy_in(self, file: Path, spec: ModelSpec, sha256: str) -> None:
        target = self.original_path(spec)
        self._discard(spec)
        with atomic_output(target) as out, open(file, "rb") as src:
            shutil.copyfileobj(src, out, CHUNK)
        if file_digest(target) != sha256:
            self._discard(spec)
            raise ModelCorruptError(f"Copying {file} changed its bytes.", "Check the disk.")
        self._write_stamp(target, sha256)

    def remove(self, spec: ModelSpec) -> bool:
        with file_lock(self.root / f"{spec.name}.lock"):
            existed = self.original_path(spec).exists()
            self._discard(spec)
            self.catalog.unregister_custom(spec.name)
        remove_tree(self.compiled_cache)  # a removed model's compilations go too
        return existed
