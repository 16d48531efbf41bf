"""Reading a low-resolution map at chosen full-resolution pixels (bilinear).

At 12 MP only the edge band needs values, so the four neighbours of each band pixel are gathered
from the low-resolution map directly; no full-resolution map is ever built.
"""
from __future__ import annotations

import numpy as np


def _axis(positions: np.ndarray, full: int, low: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Low-resolution neighbours and weight along one axis, pixel centres aligned."""
    coordinate = (positions.astype(np.float32) + 0.5) * (low / full) - 0.5
    coordinate = np.clip(coordinate, 0.0, low - 1)
    before = np.floor(coordinate).astype(np.intp)
    after = np.minimum(before + 1, low - 1)
    return before, after, (coordinate - before).astype(np.float32)


def neighbours(positions: np.ndarray, full: int, low: int) -> tuple[np.ndarray, np.ndarray]:
    """The two low-resolution indices that ``sample`` reads for each full-resolution position."""
    before, after, _ = _axis(positions, full, low)
    return before, after


def sample(values: np.ndarray, rows: np.ndarray, cols: np.ndarray,
           full_shape: tuple[int, int]) -> np.ndarray:
    """Bilinear samples of an HxW(xC) map at pixels (rows, cols) of a full_shape image."""
    top, bottom, wy = _axis(rows, full_shape[0], values.shape[0])
    left, right, wx = _axis(cols, full_shape[1], values.shape[1])
    if values.ndim == 3:
        wy, wx = wy[:, None], wx[:, None]
    upper = values[top, left] * (1 - wx) + values[top, right] * wx
    lower = values[bottom, left] * (1 - wx) + values[bottom, right] * wx
    return upper * (1 - wy) + lower * wy
