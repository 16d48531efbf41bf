"""One cut-out, start to finish; the only module that knows the order of the stages.

load/normalise -> segment (model) -> refine (matting: alpha + foreground colours) -> user's alpha.
A Remover keeps one inference session per model, so hosts and batches pay the load once.
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from .cutout import Cutout
from .engine import Backend, create_backend, preferred_backend_name, thread_count
from .errors import CancelledError
from .imageio import SourceImage, check_size, from_pil, load_image
from .models import ModelSpec, ModelStore
from .segment import segment

ProgressFn = Callable[[float, str], None]


def _no_progress(fraction: float, stage: str) -> None:
    pass


class StageHooks(Protocol):
    """What a caller may do between the stages of one cut-out (the video sequence mode steadies
    each frame against the previous one: video/temporal.py). Each returns the values to go on with."""

    def probability(self, rgb: np.ndarray, probability: np.ndarray) -> np.ndarray:
        """After segmentation: the model's float32 HxW probability at full resolution."""

    def alpha(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """After matting, before the foreground colours: the float32 HxW alpha."""


class Remover:
    """Holds the model store and one backend per model; thread-safe for sequential callers."""

    def __init__(self, store: ModelStore | None = None, backend: str = "auto",
                 threads: int | None = None, download: bool = True) -> None:
        self.store = store or ModelStore()
        self.backend_choice = backend
        self.threads = thread_count(threads)
        self.download = download
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()

    def backend_for(self, spec: ModelSpec) -> Backend:
        with self._lock:
            backend = self._backends.get(spec.name)
            if backend is None:
                name = preferred_backend_name(spec, self.backend_choice)
                backend = create_backend(
                    name, lambda device: self.store.runtime_path(spec, device, self.download),
                    self.threads, self.store.compiled_cache)
                self._backends[spec.name] = backend
            return backend

    def remove(self, image: SourceImage | Image.Image | np.ndarray | str | Path,
               model: str | None = None, refine: bool = True, foreground: bool = True,
               progress: ProgressFn = _no_progress,
               cancel: threading.Event | None = None, hooks: StageHooks | None = None) -> Cutout:
        def checkpoint(fraction: float, stage: str) -> None:
            if cancel is not None and cancel.is_set():
                raise CancelledError("Cancelled.", "Nothing was changed.")
            progress(fraction, stage)

        source = as_source_image(image)
        spec = self.store.catalog.get(model)
        checkpoint(0.0, "load-model")
        backend = self.backend_for(spec)
        checkpoint(0.1, "segment")
        mask = segment(source.rgb, spec, backend)
        if hooks is not None:
            mask = hooks.probability(source.rgb, mask)
        colours = source.colour
        if refine:
            from .matting import refine_matte

            checkpoint(0.6, "refine")
            adjust = None if hooks is None else (lambda alpha: hooks.alpha(source.rgb, alpha))
            mask, colours = refine_matte(source.rgb, mask, spec.input_size, foreground=foreground,
                                         colour=source.colour, adjust_alpha=adjust)
        if source.alpha is not None:
            mask = mask * source.alpha
        checkpoint(1.0, "done")
        return Cutout(mask.astype(np.float32, copy=False), colours, source.colour, source.icc_profile)


def as_source_image(image: SourceImage | Image.Image | np.ndarray | str | Path) -> SourceImage:
    if isinstance(image, SourceImage):
        return image
    if isinstance(image, (str, Path)):
        return load_image(Path(image))
    if isinstance(image, np.ndarray):
        image = Image.fromarray(image)
    check_size(*image.size)
    return from_pil(image)


_default: Remover | None = None


def default_remover() -> Remover:
    global _default
    if _default is None:
        _default = Remover()
    return _default


def remove_background(image: SourceImage | Image.Image | np.ndarray | str | Path,
                      model: str | None = None, refine: bool = True, foreground: bool = True,
                      progress: ProgressFn = _no_progress) -> Cutout:
    """Cut the subject out of ``image`` (a path, a Pillow image or an HxWx{3,4} uint8 array).

    ``refine`` runs the matting stage (true alpha at the edges, decontaminated colours);
    ``foreground=False`` skips the colour estimation when only the mask is wanted.
    """
    return default_remover().remove(image, model=model, refine=refine, foreground=foreground,
                                    progress=progress)
