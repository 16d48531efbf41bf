"""Foreground colour estimation (multi-level, after Germer, Uelwer, Conrad and Harmeling, 2020).

In a semi-transparent pixel the photo holds alpha*F + (1-alpha)*B; cutting it out with the photo's
colour keeps a halo of the old background. Here F and B are solved for every pixel, coarse to fine:
each pixel's F and B explain its colour while staying close to their neighbours, the smoothness
weakening across alpha edges. Each update is a closed-form 2x2 solve, done for all pixels at once
(Jacobi sweeps in numpy rather than the paper's per-pixel Gauss-Seidel loop).
"""
from __future__ import annotations

import numpy as np
from PIL import Image


def _resize(values: np.ndarray, size: tuple[int, int], resample=Image.NEAREST) -> np.ndarray:
    if values.ndim == 2:
        return np.asarray(Image.fromarray(values.astype(np.float32), "F").resize(size, resample))
    return np.dstack([_resize(values[..., c], size, resample) for c in range(values.shape[2])])


def _neighbours(values: np.ndarray) -> list[np.ndarray]:
    """The four edge-clamped neighbours of every pixel."""
    padded = np.pad(values, [(1, 1), (1, 1)] + [(0, 0)] * (values.ndim - 2), mode="edge")
    return [padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]]


def _sweep(image: np.ndarray, alpha: np.ndarray, fg: np.ndarray, bg: np.ndarray,
           regularisation: float, gradient_weight: float) -> tuple[np.ndarray, np.ndarray]:
    a = alpha[..., None]
    a00 = a * a
    a01 = a * (1.0 - a)
    a11 = (1.0 - a) * (1.0 - a)
    b0 = a * image
    b1 = (1.0 - a) * image
    for alpha_j, fg_j, bg_j in zip(_neighbours(alpha), _neighbours(fg), _neighbours(bg)):
        weight = regularisation + gradient_weight * np.abs(alpha - alpha_j)[..., None]
        a00 = a00 + weight
        a11 = a11 + weight
        b0 = b0 + weight * fg_j
        b1 = b1 + weight * bg_j
    det = a00 * a11 - a01 * a01
    new_fg = (a11 * b0 - a01 * b1) / det
    new_bg = (a00 * b1 - a01 * b0) / det
    return np.clip(new_fg, 0.0, 1.0), np.clip(new_bg, 0.0, 1.0)


def estimate_foreground(image: np.ndarray, alpha: np.ndarray, regularisation: float = 1e-5,
                        gradient_weight: float = 1.0, coarse_iterations: int = 10,
                        fine_iterations: int = 2) -> tuple[np.ndarray, np.ndarray]:
    """(F, B) as float32 HxWx3 in [0, 1] for an HxWx3 image in [0, 1] and its alpha."""
    height, width = alpha.shape
    levels = int(np.ceil(np.log2(max(height, width)))) + 1
    image = image.astype(np.float32, copy=False)
    alpha = alpha.astype(np.float32, copy=False)
    fg = bg = image.reshape(-1, 3).mean(axis=0).reshape(1, 1, 3).astype(np.float32)
    for level in range(levels):
        fraction = level / max(levels - 1, 1)
        size = (max(1, round(width ** fraction)), max(1, round(height ** fraction)))
        level_image = _resize(image, size, Image.BILINEAR) if level < levels - 1 else image
        level_alpha = _resize(alpha, size, Image.BILINEAR) if level < levels - 1 else alpha
        fg, bg = _resize(fg, size), _resize(bg, size)
        iterations = coarse_iterations if max(size) <= 64 else fine_iterations
        for _ in range(iterations):
            fg, bg = _sweep(level_image, level_alpha, fg, bg, regularisation, gradient_weight)
    return fg.astype(np.float32), bg.astype(np.float32)


def recover_foreground(image: np.ndarray, alpha: np.ndarray, bg: np.ndarray, fg_guess: np.ndarray,
                       confident: float = 0.3) -> np.ndarray:
    """Full-resolution F from the compositing equation with a smooth background estimate.

    F = (I - (1 - a) B) / a is exact where alpha is large enough; where it is small the division
    amplifies noise, so the smooth estimate ``fg_guess`` takes over gradually.
    """
    a = alpha[..., None]
    exact = (image - (1.0 - a) * bg) / np.maximum(a, 1e-3)
    weight = np.clip(a / confident, 0.0, 1.0)
    return np.clip(weight * exact + (1.0 - weight) * fg_guess, 0.0, 1.0)
