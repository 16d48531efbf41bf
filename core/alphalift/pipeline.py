"""One cut-out, start to finish; the only module that knows the order of the stages.

load/normalise -> segment (model) -> refine (matting: alpha + foreground colours) -> user's alpha.
A Remover keeps one inference session per model, so hosts and batches pay the load once, and the
model's last few outputs, so a prompt that only moves points does not run the network again.
With a prompt (prompts/): the model sees the box's view as well as the whole photo and the answer
whose subject spans the box is believed, the points edit that probability, the matting stage
refines the box with a margin, and nothing outside the box is subject.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from .cutout import Cutout
from .engine import Backend, create_backend, preferred_backend_name, thread_count
from .errors import CancelledError
from .imageio import SourceImage, check_size, from_pil, load_image
from .models import ModelSpec, ModelStore
from .prompts import Prompt
from .prompts.box import believed, model_window
from .prompts.cache import RecentCache, frozen, pixels_key
from .prompts.points import point_probability
from .prompts.window import Window, box_alpha, box_window, points_in_window
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
                 threads: int | None = None, download: bool = True, streams: int = 1,
                 remember: bool = True) -> None:
        """``remember``: keep the last runs so a prompt's next point skips the network and most
        of the matting (hosts, the worker); a batch, which never sees an image twice, says False
        and skips digesting and copying every image."""
        self.store = store or ModelStore()
        self.backend_choice = backend
        self.threads = thread_count(threads)
        self.streams = streams  # model passes wanted at once (batch lanes); see create_backend
        self.download = download
        self.remember = remember
        self._backends: dict[str, Backend] = {}
        self._lock = threading.Lock()
        # the model's last outputs (read-only) and the matting stage's last runs (matting/partial.py)
        self.probabilities = RecentCache(entries=4 if remember else 0)
        self.refined = RecentCache(entries=2 if remember else 0)

    def backend_for(self, spec: ModelSpec) -> Backend:
        with self._lock:
            backend = self._backends.get(spec.name)
            if backend is None:
                backend = self.new_backend(spec)
                self._backends[spec.name] = backend
            return backend

    def new_backend(self, spec: ModelSpec) -> Backend:
        """The backend for ``spec``, built once per model (a subclass may wrap it)."""
        name = preferred_backend_name(spec, self.backend_choice)
        return create_backend(name, lambda device: self.store.runtime_path(spec, device, self.download),
                              self.threads, self.store.compiled_cache, self.streams)

    def _key_of(self, pixels: np.ndarray) -> bytes:
        """The key the caches know ``pixels`` by; nothing to digest for a Remover that keeps nothing."""
        return pixels_key(pixels) if self.remember else b""

    def probability(self, rgb: np.ndarray, key: bytes, spec: ModelSpec, backend: Backend,
                    window: Window) -> np.ndarray:
        """The model's probability for the window of ``rgb`` (whose pixels_key is ``key``), from
        the cache when it saw these pixels before. Read-only: it may be shared with the cache."""
        left, top, right, bottom = window
        cache_key = (key, spec.name, window)
        mask = self.probabilities.get(cache_key)
        if mask is None:
            mask = segment(rgb[top:bottom, left:right], spec, backend)
            if self.remember:
                mask = frozen(mask)
                self.probabilities.put(cache_key, mask)
        return mask

    def matte(self, source: SourceImage, key: tuple, probability: np.ndarray, part: Window,
              model_size: tuple[int, int], foreground: bool,
              adjust: Callable[[np.ndarray], np.ndarray] | None) -> tuple[np.ndarray, np.ndarray]:
        """The matting stage on the ``part`` window; without an ``adjust`` hook, a run on the same
        pixels as the last one solves again only where its trimap and band changed."""
        from .matting import refine_matte
        from .matting.refine import refine_again

        left, top, right, bottom = part
        rgb, colour = source.rgb[top:bottom, left:right], source.colour[top:bottom, left:right]
        probability = probability[top:bottom, left:right]
        if adjust is not None:
            return refine_matte(rgb, probability, model_size, foreground=foreground, colour=colour,
                                adjust_alpha=adjust)
        memory_key = (key, part, foreground, model_size)
        run = refine_again(rgb, probability, model_size, self.refined.get(memory_key),
                           foreground=foreground, colour=colour)
        if not self.remember:
            return run.alpha, run.colours
        run = run.kept()
        self.refined.put(memory_key, run)
        return run.alpha.copy(), run.colours.copy()

    def remove(self, image: SourceImage | Image.Image | np.ndarray | str | Path,
               model: str | None = None, refine: bool = True, foreground: bool = True,
               progress: ProgressFn = _no_progress,
               cancel: threading.Event | None = None, hooks: StageHooks | None = None,
               prompt: Prompt | None = None) -> Cutout:
        """``prompt``: a box the subject lies in and points on (include) or off (exclude) it, in
        the image's pixels; checked against the image (PromptError names the field)."""
        def checkpoint(fraction: float, stage: str) -> None:
            if cancel is not None and cancel.is_set():
                raise CancelledError("Cancelled.", "Nothing was changed.")
            progress(fraction, stage)

        source = as_source_image(image)
        width, height = source.size
        if prompt is not None:
            prompt = None if prompt.is_empty else prompt.check(width, height)
        spec = self.store.catalog.get(model)
        checkpoint(0.0, "load-model")
        backend = self.backend_for(spec)
        checkpoint(0.1, "segment")
        window = box_window(prompt.box if prompt else None, width, height)
        whole = window == (0, 0, width, height)
        inside = None if prompt is None else box_alpha(prompt.box, width, height)
        key = self._key_of(source.rgb)
        mask = self.probability(source.rgb, key, spec, backend, (0, 0, width, height))
        views = [mask]
        if prompt is not None and prompt.box is not None:
            view = model_window(prompt.box, width, height)
            views.append(paste(self.probability(source.rgb, key, spec, backend, view), view, (height, width)))
            mask = believed(views[1], views[0], window)
        if prompt is not None:
            left, top, right, bottom = window
            mask = point_probability(source.rgb[top:bottom, left:right], mask[top:bottom, left:right],
                                     points_in_window(prompt, window),
                                     guides=[v[top:bottom, left:right] for v in views if v is not mask])
            # The matting stage sees the object go on past the box's edge (the box cuts it after).
            mask = paste(mask, window, (height, width), extend=True)
        if hooks is not None:
            mask = hooks.probability(source.rgb, mask.copy())
        colours = source.colour
        if refine:
            checkpoint(0.6, "refine")
            adjust = None if hooks is None else (lambda alpha: hooks.alpha(source.rgb, alpha))
            # Without temporal hooks the matting stage only needs the box and a margin for context.
            part = (0, 0, width, height) if whole or hooks is not None else \
                grown(window, max(8, round(0.02 * max(width, height))), width, height)
            colour_key = key if source.colour is source.rgb else self._key_of(source.colour)
            alpha, part_colours = self.matte(source, (key, colour_key), mask, part, spec.input_size,
                                             foreground, adjust)
            mask = paste(alpha, part, (height, width))
            if part == (0, 0, width, height):
                colours = part_colours
            else:
                left, top, right, bottom = part
                colours = source.colour.copy()
                colours[top:bottom, left:right] = part_colours
        if inside is not None:
            mask = mask * inside
        if source.alpha is not None:
            mask = mask * source.alpha
        checkpoint(1.0, "done")
        return Cutout(mask.astype(np.float32, copy=False), colours, source.colour, source.icc_profile)


def paste(part: np.ndarray, window: Window, shape: tuple[int, int], extend: bool = False) -> np.ndarray:
    """``part`` placed at ``window`` in a float32 array of ``shape``: zero around it, or with
    ``extend`` its edge values repeated outwards."""
    left, top, right, bottom = window
    if part.shape == tuple(shape):
        return part
    if extend:
        height, width = shape
        return np.pad(part, ((top, height - bottom), (left, width - right)), mode="edge").astype(np.float32)
    whole = np.zeros(shape, np.float32)
    whole[top:bottom, left:right] = part
    return whole


def grown(window: Window, margin: int, width: int, height: int) -> Window:
    left, top, right, bottom = window
    return max(0, left - margin), max(0, top - margin), min(width, right + margin), min(height, bottom + margin)


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
                      progress: ProgressFn = _no_progress,
                      box: Sequence[float] | None = None, include: Iterable[Sequence[float]] = (),
                      exclude: Iterable[Sequence[float]] = ()) -> Cutout:
    """Cut the subject out of ``image`` (a path, a Pillow image or an HxWx{3,4} uint8 array).

    ``refine`` runs the matting stage (true alpha at the edges, decontaminated colours);
    ``foreground=False`` skips the colour estimation when only the mask is wanted.
    ``box`` (x0, y0, x1, y1), ``include`` and ``exclude`` points (x, y), in pixels from the
    top-left corner, say what the subject is: it lies in the box, on the include points and off
    the exclude ones.
    """
    return default_remover().remove(image, model=model, refine=refine, foreground=foreground,
                                    progress=progress, prompt=Prompt.of(box, include, exclude))
