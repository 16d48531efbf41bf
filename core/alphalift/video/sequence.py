"""One shot's cut-outs, frames given in order: the pipeline's stages with the temporal method
between them (temporal.py). The worker's sequence session and the CLI both drive this."""
from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
from PIL import Image

from ..cutout import Cutout
from ..imageio import SourceImage
from ..pipeline import ProgressFn, Remover, _no_progress
from ..prompts import Prompt
from .temporal import TemporalFilter, TemporalSettings


class SequenceRemover:
    """Cuts out consecutive frames of one shot. ``temporal=False`` is the per-frame mode (each
    frame on its own, as for stills); memory stays that of one frame either way."""

    def __init__(self, remover: Remover, model: str | None = None, refine: bool = True,
                 foreground: bool = True, temporal: bool = True,
                 settings: TemporalSettings = TemporalSettings()) -> None:
        self.remover, self.model, self.refine, self.foreground = remover, model, refine, foreground
        self.filter = TemporalFilter(settings) if temporal else None

    def cut(self, image: SourceImage | Image.Image | np.ndarray | str | Path,
            progress: ProgressFn = _no_progress, cancel: threading.Event | None = None,
            prompt: Prompt | None = None) -> Cutout:
        """The next frame's cut-out; ``prompt`` may change from frame to frame (a keyframed box)."""
        return self.remover.remove(image, model=self.model, refine=self.refine,
                                   foreground=self.foreground, progress=progress, cancel=cancel,
                                   hooks=self.filter, prompt=prompt)

    def new_shot(self) -> None:
        """The next frame does not follow the last one (a new shot, or frames were skipped)."""
        if self.filter is not None:
            self.filter.reset()

    @property
    def cuts(self) -> int:
        """Cuts the temporal method found (frames where it started afresh)."""
        return 0 if self.filter is None else self.filter.cuts
