"""Colour guided filter (He, Sun and Tang, 2010) and its fast upsampling form (He and Sun, 2015).

Locally, alpha is an affine function of colour: alpha = A . I + b. Fitting (A, b) in every window
gives an edge-aware smoothing of a rough mask (the fallback estimate of the matting stage), and
fitting them at low resolution then applying them to the full-resolution colours carries a matte
computed at working resolution up to the photo's own resolution, hair strands included.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage

from .resample import neighbours, sample


def _box(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, per channel, edges reflected."""
    size = [2 * radius + 1, 2 * radius + 1] + [1] * (values.ndim - 2)
    return ndimage.uniform_filter(values, size=size, mode="reflect")


def _solve3(matrix: np.ndarray, rhs: np.ndarray) -> np.ndarray:
    """Solve many symmetric 3x3 systems at once by Cramer's rule (5x faster than linalg.solve)."""
    a, b, c = matrix[..., 0, 0], matrix[..., 0, 1], matrix[..., 0, 2]
    e, f, i = matrix[..., 1, 1], matrix[..., 1, 2], matrix[..., 2, 2]
    co_a, co_b, co_c = e * i - f * f, c * f - b * i, b * f - c * e
    det = a * co_a + b * co_b + c * co_c
    co_e, co_f, co_i = a * i - c * c, b * c - a * f, a * e - b * b
    x, y, z = rhs[..., 0], rhs[..., 1], rhs[..., 2]
    return np.stack([co_a * x + co_b * y + co_c * z,
                     co_b * x + co_e * y + co_f * z,
                     co_c * x + co_f * y + co_i * z], axis=-1) / det[..., None]


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int,
                        eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (A: HxWx3, b: HxW) of the local affine model source ~ A . guide + b, box-averaged."""
    guide = guide.astype(np.float32, copy=False)
    source = source.astype(np.float32, copy=False)
    mean_i = _box(guide, radius)
    mean_p = _box(source, radius)
    cov_ip = _box(guide * source[..., None], radius) - mean_i * mean_p[..., None]
    first, second = np.triu_indices(3)  # the covariance is symmetric: box 6 products, not 9
    products = _box(guide[..., first] * guide[..., second], radius)
    var_i = np.empty(guide.shape[:2] + (3, 3), np.float32)
    var_i[..., first, second] = products
    var_i[..., second, first] = products
    var_i -= mean_i[..., :, None] * mean_i[..., None, :]
    var_i += eps * np.eye(3, dtype=np.float32)
    a = _solve3(var_i, cov_ip)
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return _box(a, radius), _box(b, radius)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-aware smoothing of ``source`` (HxW) following the colours of ``guide`` (HxWx3, [0,1])."""
    a, b = guided_coefficients(guide, source, radius, eps)
    return np.einsum("hwc,hwc->hw", a, guide.astype(np.float32, copy=False)) + b


def _coefficients_near(guide: np.ndarray, source: np.ndarray, radius: int, eps: float,
                       needed: np.ndarray, tile: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """guided_coefficients, computed only in the tiles where ``needed`` (HxW bool) is set.

    Each tile is fitted with a margin of 2 * radius (a box of a box reaches that far), so the
    result inside needed tiles equals the whole-image computation; elsewhere it is zero.
    """
    height, width = needed.shape
    a = np.zeros((height, width, 3), np.float32)
    b = np.zeros((height, width), np.float32)
    margin = 2 * radius
    for top in range(0, height, tile):
        for left in range(0, width, tile):
            rows, cols = slice(top, top + tile), slice(left, left + tile)
            if not needed[rows, cols].any():
                continue
            y0, x0 = max(0, top - margin), max(0, left - margin)
            y1, x1 = min(height, top + tile + margin), min(width, left + tile + margin)
            tile_a, tile_b = guided_coefficients(guide[y0:y1, x0:x1], source[y0:y1, x0:x1], radius, eps)
            inner = (slice(top - y0, top - y0 + tile), slice(left - x0, left - x0 + tile))
            a[rows, cols] = tile_a[inner]
            b[rows, cols] = tile_b[inner]
    return a, b


def guided_upsample_at(guide_low: np.ndarray, source_low: np.ndarray, rows: np.ndarray,
                       cols: np.ndarray, colours: np.ndarray, full_shape: tuple[int, int],
                       radius: int, eps: float) -> np.ndarray:
    """Fast guided upsampling (fit at low resolution, apply to full-resolution colours), evaluated
    only at the full-resolution pixels (rows, cols) whose colours are given (N x 3, in [0, 1])."""
    needed = np.zeros(source_low.shape, bool)
    for low_rows in neighbours(rows, full_shape[0], source_low.shape[0]):
        for low_cols in neighbours(cols, full_shape[1], source_low.shape[1]):
            needed[low_rows, low_cols] = True
    a, b = _coefficients_near(guide_low, source_low, radius, eps, needed)
    a_at = sample(a, rows, cols, full_shape)
    b_at = sample(b, rows, cols, full_shape)
    return np.einsum("nc,nc->n", a_at, colours) + b_at
