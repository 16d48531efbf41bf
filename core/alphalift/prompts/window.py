"""Where a box puts the model: the pixel window it covers, and what of the image lies inside it.

A box is "the subject is in here": the model sees only the window (so a subject filling a quarter
of the photo gets four times the model's pixels), and nothing outside the box is subject.
"""
from __future__ import annotations

import math

import numpy as np

from . import Box, Point, Prompt

Window = tuple[int, int, int, int]  # left, top, right, bottom in whole pixels, right/bottom exclusive


def box_window(box: Box | None, width: int, height: int) -> Window:
    """The whole pixels a box touches (the whole image without a box)."""
    if box is None:
        return 0, 0, width, height
    x0, y0, x1, y1 = box
    left, top = max(0, math.floor(x0)), max(0, math.floor(y0))
    right, bottom = min(width, math.ceil(x1)), min(height, math.ceil(y1))
    return left, top, max(right, left + 1), max(bottom, top + 1)


def box_alpha(box: Box | None, width: int, height: int) -> np.ndarray | None:
    """How much of each pixel the box covers: 1 inside, 0 outside, a fraction where a box edge
    cuts a pixel (a box at x0=10.5 keeps half of column 10); None without a box."""
    if box is None:
        return None
    columns = np.arange(width, dtype=np.float32)
    rows = np.arange(height, dtype=np.float32)
    across = np.clip(np.minimum(columns + 1, box[2]) - np.maximum(columns, box[0]), 0, 1)
    down = np.clip(np.minimum(rows + 1, box[3]) - np.maximum(rows, box[1]), 0, 1)
    return (down[:, None] * across[None, :]).astype(np.float32)


def points_in_window(prompt: Prompt, window: Window) -> tuple[tuple[Point, bool], ...]:
    """The prompt's points in window coordinates; points outside the box say nothing (the box
    already says nothing out there is subject)."""
    left, top, right, bottom = window
    box = prompt.box
    inside = []
    for (x, y), include in prompt.points:
        if box is not None and not (box[0] <= x < box[2] and box[1] <= y < box[3]):
            continue
        inside.append(((x - left, y - top), include))
    return tuple(inside)
