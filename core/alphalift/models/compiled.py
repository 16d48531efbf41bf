"""A backend's compiled models (OpenVINO's CACHE_DIR), trusted only as far as they were recorded.

OpenVINO loads a cached blob if its header names the model file's size and modification time, so
a damaged blob gives a garbage matte without any error, and a blob made from an older model file
(another thread count, say) stays on disk for good. Here every blob written while compiling is
recorded in ``manifest.json`` with its digest and the model file it was made from; before a
compile the blobs of that model are checked, and a blob that is damaged, unrecorded (left by a
killed process, or by an older AlphaLift) or made from another version of the model is deleted,
so OpenVINO compiles afresh. A lock keeps two processes from compiling into the folder at once.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from ..fsutil import atomic_write_text, block_digest, file_lock, remove_file

MANIFEST = "manifest.json"
LOCK = "compile.lock"
OWN_FILES = (MANIFEST, LOCK)


@dataclass
class Problem:
    """A blob that was removed, and why (for `models verify`)."""

    blob: str
    reason: str


def _identity(path: Path) -> list[int]:
    stat = path.stat()
    return [stat.st_size, stat.st_mtime_ns]


class CompiledCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    # -- manifest ----------------------------------------------------------------------------
    def _read(self) -> dict[str, dict]:
        try:
            data = json.loads((self.folder / MANIFEST).read_text(encoding="utf-8"))
            return data if isinstance(data, dict) else {}
        except (OSError, ValueError):
            return {}

    def _write(self, manifest: dict[str, dict]) -> None:
        atomic_write_text(self.folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))

    def _blobs(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.iterdir()
                      if p.is_file() and p.name not in OWN_FILES and not p.name.endswith(".part"))

    # -- checks ------------------------------------------------------------------------------
    def _sweep(self, manifest: dict[str, dict], models: set[str], unrecorded: bool) -> list[Problem]:
        """Delete the damaged or outdated blobs of ``models`` and, if ``unrecorded``, the blobs
        nobody recorded (their model is unknown, so any compile might pick them up)."""
        problems = []
        present = {blob.name: blob for blob in self._blobs()}
        for name in [n for n in manifest if n not in present]:
            del manifest[name]
        for name, blob in present.items():
            record = manifest.get(name)
            if record is None:
                reason = "not recorded when it was compiled" if unrecorded else ""
            else:
                reason = self._check(blob, record) if record.get("model") in models else ""
            if reason:
                problems.append(Problem(name, reason))
                remove_file(blob)
                manifest.pop(name, None)
        return problems

    @staticmethod
    def _check(blob: Path, record: dict) -> str:
        model = Path(record.get("model", ""))
        try:
            if _identity(model) != record.get("model_identity"):
                return f"made from an older {model.name}"
        except OSError:
            return f"made from {model.name}, which is gone"
        if _identity(blob) != record.get("identity") or block_digest(blob) != record.get("digest"):
            return "damaged (its digest differs from the one recorded when it was compiled)"
        return ""

    def _locked_sweep(self, models: set[str], unrecorded: bool) -> list[Problem]:
        if not self.folder.is_dir():
            return []
        with file_lock(self.folder / LOCK):
            manifest = self._read()
            problems = self._sweep(manifest, models, unrecorded)
            self._write(manifest)
        return problems

    def check(self, models: list[Path]) -> list[Problem]:
        """Digest the blobs compiled from ``models``; delete and name those unfit to load."""
        return self._locked_sweep({str(m) for m in models}, unrecorded=False)

    def drop_unrecorded(self) -> list[Problem]:
        """Delete the blobs no compile recorded (a killed compile's, an older AlphaLift's)."""
        return self._locked_sweep(set(), unrecorded=True)

    def forget(self, model: Path) -> None:
        """Delete the blobs compiled from ``model`` (it is being replaced)."""
        if not self.folder.is_dir():
            return
        with file_lock(self.folder / LOCK):
            manifest = self._read()
            for name, record in list(manifest.items()):
                if record.get("model") == str(model):
                    remove_file(self.folder / name)
                    del manifest[name]
            self._write(manifest)

    @contextlib.contextmanager
    def compiling(self, model: Path) -> Iterator[None]:
        """Around a compile of ``model``: clear what must not be loaded, then record what is new."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with file_lock(self.folder / LOCK):
            manifest = self._read()
            self._sweep(manifest, {str(model)}, unrecorded=True)
            before = {blob.name: _identity(blob) for blob in self._blobs()}
            try:
                yield
            except BaseException:  # the compile failed: whatever it wrote may be incomplete
                for blob in self._blobs():
                    if before.get(blob.name) != _identity(blob):
                        remove_file(blob)
                        manifest.pop(blob.name, None)
                self._write(manifest)
                raise
            for blob in self._blobs():
                if before.get(blob.name) != _identity(blob):
                    manifest[blob.name] = {"model": str(model), "model_identity": _identity(model),
                                           "identity": _identity(blob), "digest": block_digest(blob)}
            self._write(manifest)
