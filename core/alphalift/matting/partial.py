"""What one run of the matting stage remembers, and where the next run on the same pixels must
solve again.

The stage is not local as a whole: its trimap follows connected components and the image's peak,
and the foreground colours are smoothed over the photo. Its costly steps are local, though: the
closed-form alpha at a band pixel depends on the band around it, and the guided upsampling on a
few working pixels around it. So a later run recomputes the cheap global steps on the whole image
(refine.py), compares their results with this memory, and solves and upsamples again only where
they differ, grown by a margin of context; the band beyond the margin keeps its solved alpha and
holds the re-solved part in place as known values.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np
from scipy import ndimage

from .resample import neighbours
from .trimap import UNKNOWN


@dataclass(frozen=True)
class Refined:
    """One run of the matting stage: what it was given and what it made (arrays read-only).

    ``work_*`` are at the working resolution: the photo's colours in [0, 1], the probability, the
    trimap and solver weights built from it, the solver's alpha (before snapping) and the snapped
    alpha the full resolution is upsampled from. ``exact`` is false when the solver fell back to
    its simpler estimate: such a run is no base for a partial one.
    """

    probability: np.ndarray
    alpha: np.ndarray
    colours: np.ndarray
    work_image: np.ndarray
    work_probability: np.ndarray
    trimap: np.ndarray
    weights: np.ndarray
    solved: np.ndarray
    work_alpha: np.ndarray
    exact: bool = True

    def kept(self) -> Refined:
        """This run with read-only arrays, copied where a caller may still hold them: safe to
        keep for the next run."""
        arrays = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if isinstance(value, np.ndarray):
                if value.flags.writeable or value.base is not None:
                    value = value.copy()
                value.setflags(write=False)
                arrays[item.name] = value
        return replace(self, **arrays)


def grow(mask: np.ndarray, margin: int) -> np.ndarray:
    """``mask`` dilated by a square of ``margin`` pixels each way (separable: fast at any size)."""
    if margin <= 0:
        return mask.copy()
    return ndimage.maximum_filter(mask.view(np.uint8), size=2 * margin + 1, mode="constant").astype(bool)


def solve_region(previous: Refined, trimap: np.ndarray, weights: np.ndarray,
                 probability: np.ndarray, margin: int, largest: float = 0.5) -> np.ndarray | None:
    """The working pixels whose band must be solved again (bool HxW), or None when the change
    reaches more than ``largest`` of the band (a whole run is as cheap and exact)."""
    band = trimap == UNKNOWN
    # The band's prior and weights enter the solve; elsewhere only the trimap does.
    changed = (trimap != previous.trimap) \
        | (band & ((weights != previous.weights) | (probability != previous.work_probability)))
    region = grow(changed, margin)
    if (band & region).sum() > largest * max(int(band.sum()), 1):
        return None
    return region


def upsample_region(previous: Refined, trimap: np.ndarray, work_alpha: np.ndarray,
                    full_shape: tuple[int, int], reach: int) -> np.ndarray:
    """The full-resolution pixels (bool) whose upsampled alpha may differ from the previous run's:
    those reading, through bilinear sampling, a working pixel within ``reach`` of a change."""
    changed = grow((trimap != previous.trimap) | (work_alpha != previous.work_alpha), reach)
    low_height, low_width = changed.shape
    row_pairs = neighbours(np.arange(full_shape[0]), full_shape[0], low_height)
    col_pairs = neighbours(np.arange(full_shape[1]), full_shape[1], low_width)
    hit = np.zeros(full_shape, bool)
    for rows in row_pairs:
        for cols in col_pairs:
            hit |= changed[np.ix_(rows, cols)]
    return hit
