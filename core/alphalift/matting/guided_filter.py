"""Colour guided filter (He, Sun and Tang, 2010) and its fast upsampling form (He and Sun, 2015).

Locally, alpha is an affine function of colour: alpha = A . I + b. Fitting (A, b) in every window
gives an edge-aware smoothing of a rough mask (the fallback estimate of the matting stage), and
fitting them at low resolution then applying them to the full-resolution colours carries a matte
computed at working resolution up to the photo's own resolution, hair strands included.
"""
from __future__ import annotations

import numpy as np
from PIL import Image
from scipy import ndimage


def _box(values: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2r+1)^2 window, per channel, edges reflected."""
    size = [2 * radius + 1, 2 * radius + 1] + [1] * (values.ndim - 2)
    return ndimage.uniform_filter(values, size=size, mode="reflect")


def guided_coefficients(guide: np.ndarray, source: np.ndarray, radius: int,
                        eps: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-pixel (A: HxWx3, b: HxW) of the local affine model source ~ A . guide + b, box-averaged."""
    guide = guide.astype(np.float32, copy=False)
    source = source.astype(np.float32, copy=False)
    mean_i = _box(guide, radius)
    mean_p = _box(source, radius)
    cov_ip = _box(guide * source[..., None], radius) - mean_i * mean_p[..., None]
    outer = guide[..., :, None] * guide[..., None, :]
    var_i = _box(outer.reshape(*guide.shape[:2], 9), radius).reshape(*guide.shape[:2], 3, 3)
    var_i -= mean_i[..., :, None] * mean_i[..., None, :]
    var_i += eps * np.eye(3, dtype=np.float32)
    a = np.linalg.solve(var_i, cov_ip[..., None])[..., 0]
    b = mean_p - np.einsum("hwc,hwc->hw", a, mean_i)
    return _box(a, radius), _box(b, radius)


def guided_filter(guide: np.ndarray, source: np.ndarray, radius: int, eps: float) -> np.ndarray:
    """Edge-aware smoothing of ``source`` (HxW) following the colours of ``guide`` (HxWx3, [0,1])."""
    a, b = guided_coefficients(guide, source, radius, eps)
    return np.einsum("hwc,hwc->hw", a, guide.astype(np.float32, copy=False)) + b


def _resize(values: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    if values.ndim == 2:
        return np.asarray(Image.fromarray(values.astype(np.float32), "F").resize(size, Image.BILINEAR))
    return np.dstack([_resize(values[..., c], size) for c in range(values.shape[2])])


def guided_upsample(guide_low: np.ndarray, source_low: np.ndarray, guide_high: np.ndarray,
                    radius: int, eps: float) -> np.ndarray:
    """Fast guided upsampling: fit at low resolution, apply to high-resolution colours."""
    a, b = guided_coefficients(guide_low, source_low, radius, eps)
    size = (guide_high.shape[1], guide_high.shape[0])
    a_high, b_high = _resize(a, size), _resize(b, size)
    return np.einsum("hwc,hwc->hw", a_high, guide_high.astype(np.float32, copy=False)) + b_high
