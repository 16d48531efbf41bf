"""Refine again only where the probability changed since the last run on the same pixels.

Moving a point changes the probability in one region; the matting stage is local (its alpha at a
pixel depends on the band around it), so the previous matte stays right away from the change and
only a window around the change is solved again. The window is solved with a margin of context
and pasted without it, so its border conditions never reach the pasted pixels.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Window = tuple[int, int, int, int]  # left, top, right, bottom; right/bottom exclusive
RefineFn = Callable[[Window], tuple[np.ndarray, np.ndarray]]  # window -> (alpha, colours) there


@dataclass(frozen=True)
class Refined:
    """One run of the matting stage: what it was given and what it made."""

    probability: np.ndarray
    alpha: np.ndarray
    colours: np.ndarray


def changed_window(before: np.ndarray, after: np.ndarray, tolerance: float = 1e-4) -> Window | None:
    """The bounds of the pixels whose probability moved; None when none did."""
    rows, cols = np.nonzero(np.abs(after - before) > tolerance)
    if rows.size == 0:
        return None
    return int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1


def _grow(window: Window, margin: int, width: int, height: int) -> Window:
    left, top, right, bottom = window
    return max(0, left - margin), max(0, top - margin), min(width, right + margin), min(height, bottom + margin)


def refine_changes(probability: np.ndarray, previous: Refined, refine: RefineFn, margin: int,
                   largest: float = 0.5) -> tuple[np.ndarray, np.ndarray] | None:
    """(alpha, colours) for ``probability`` from ``previous`` and a re-solve of the changed part;
    None when the change covers more than ``largest`` of the image (a whole run is as cheap)."""
    height, width = probability.shape
    changed = changed_window(previous.probability, probability)
    if changed is None:
        return previous.alpha.copy(), previous.colours.copy()
    pasted = _grow(changed, margin, width, height)
    solved = _grow(changed, 2 * margin, width, height)
    if (solved[2] - solved[0]) * (solved[3] - solved[1]) > largest * width * height:
        return None
    part_alpha, part_colours = refine(solved)
    alpha, colours = previous.alpha.copy(), previous.colours.copy()
    inner = (slice(pasted[1] - solved[1], pasted[3] - solved[1]), slice(pasted[0] - solved[0], pasted[2] - solved[0]))
    alpha[pasted[1]:pasted[3], pasted[0]:pasted[2]] = part_alpha[inner]
    colours[pasted[1]:pasted[3], pasted[0]:pasted[2]] = part_colours[inner]
    return alpha, colours
