"""Standard matte and mask metrics (Rhemann et al. 2009; ECSSD conventions), alpha in [0, 1]."""
from __future__ import annotations

import numpy as np
from scipy import ndimage


def sad(alpha: np.ndarray, truth: np.ndarray) -> float:
    """Sum of absolute differences, in thousands."""
    return float(np.abs(alpha - truth).sum() / 1000.0)


def mse(alpha: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean((alpha - truth) ** 2))


def _gradient_magnitude(values: np.ndarray, sigma: float) -> np.ndarray:
    gx = ndimage.gaussian_filter(values, sigma, order=(0, 1))
    gy = ndimage.gaussian_filter(values, sigma, order=(1, 0))
    return np.hypot(gx, gy)


def gradient_error(alpha: np.ndarray, truth: np.ndarray, sigma: float = 1.4) -> float:
    """Squared difference of normalised Gaussian-derivative gradients, in thousands."""
    diff = _gradient_magnitude(alpha, sigma) - _gradient_magnitude(truth, sigma)
    return float((diff ** 2).sum() / 1000.0)


def connectivity_error(alpha: np.ndarray, truth: np.ndarray, step: float = 0.1) -> float:
    """Connectivity error: how far each pixel's alpha is from being 4-connected to the core."""
    thresholds = np.arange(0.0, 1.0 + step, step)
    first_disconnected = np.full(alpha.shape, 1.0)
    for level in thresholds[1:]:
        both = (alpha >= level) & (truth >= level)
        labels, count = ndimage.label(both, structure=[[0, 1, 0], [1, 1, 1], [0, 1, 0]])
        if count == 0:
            biggest = np.zeros_like(both)
        else:
            sizes = np.bincount(labels.ravel())
            sizes[0] = 0
            biggest = labels == sizes.argmax()
        newly = (~biggest) & (first_disconnected == 1.0)
        first_disconnected[newly] = level - step
    da = alpha - first_disconnected
    dt = truth - first_disconnected
    phi_a = 1.0 - da * (da >= 0.15)
    phi_t = 1.0 - dt * (dt >= 0.15)
    return float(np.abs(phi_a - phi_t).sum() / 1000.0)


def mae(mask: np.ndarray, truth: np.ndarray) -> float:
    return float(np.abs(mask - truth).mean())


def iou(mask: np.ndarray, truth: np.ndarray, threshold: float = 0.5) -> float:
    pred, gt = mask >= threshold, truth >= 0.5
    union = np.logical_or(pred, gt).sum()
    return float(np.logical_and(pred, gt).sum() / union) if union else 1.0


def f_curve(mask: np.ndarray, truth: np.ndarray, beta2: float = 0.3) -> np.ndarray:
    """F-beta at each of 256 thresholds, highest threshold first (beta^2 = 0.3)."""
    gt = truth >= 0.5
    levels = np.round(np.clip(mask, 0, 1) * 255).astype(np.int64)
    positives = np.bincount(levels[gt], minlength=256)[::-1].cumsum()
    predicted = np.bincount(levels.ravel(), minlength=256)[::-1].cumsum()
    precision = positives / np.maximum(predicted, 1)
    recall = positives / max(int(gt.sum()), 1)
    return (1 + beta2) * precision * recall / np.maximum(beta2 * precision + recall, 1e-12)


def max_f_measure(mask: np.ndarray, truth: np.ndarray, beta2: float = 0.3) -> float:
    """Best F-beta of one image over its own 256 thresholds (an oracle threshold per image)."""
    return float(f_curve(mask, truth, beta2).max())


def dataset_max_f(curves: list[np.ndarray]) -> float:
    """The salient-object benchmarks' maxF: the F curves averaged over the images, then the best
    threshold, one threshold for the whole set (as PySODMetrics and the SOD benchmarks compute it)."""
    return float(np.mean(curves, axis=0).max())
