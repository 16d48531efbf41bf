"""Segmentation: per-family pre- and post-processing around an inference backend.

Pre-processing reproduces how each model was trained (resize to its input size, scale, normalise);
post-processing turns its output into a soft subject mask at the image's full resolution.
"""
from __future__ import annotations

import numpy as np
from PIL import Image

from .engine import Backend
from .models.catalog import ModelSpec


def preprocess(rgb: np.ndarray, spec: ModelSpec) -> np.ndarray:
    """HxWx3 uint8 -> 1x3xhxw float32 tensor as the model expects it."""
    width, height = spec.input_size
    resized = Image.fromarray(rgb).resize((width, height), Image.BILINEAR, reducing_gap=3.0)
    pixels = np.asarray(resized, dtype=np.float32)
    if spec.scale == "max":
        pixels = pixels / max(float(pixels.max()), 1e-6)
    else:
        pixels = pixels / 255.0
    mean = np.asarray(spec.mean, dtype=np.float32)
    std = np.asarray(spec.std, dtype=np.float32)
    pixels = (pixels - mean) / std
    return np.ascontiguousarray(pixels.transpose(2, 0, 1)[None])


def _to_unit_range(raw: np.ndarray, kind: str) -> np.ndarray:
    if kind == "logits":
        raw = 1.0 / (1.0 + np.exp(-raw))
    if kind == "minmax":
        low, high = float(raw.min()), float(raw.max())
        raw = (raw - low) / (high - low) if high > low else np.zeros_like(raw)
    return np.clip(raw, 0.0, 1.0)


def postprocess(output: np.ndarray, spec: ModelSpec, size: tuple[int, int]) -> np.ndarray:
    """Model output (1x1xhxw or similar) -> float32 HxW mask in [0, 1] at ``size`` (w, h)."""
    raw = np.asarray(output, dtype=np.float32).reshape(output.shape[-2:])
    mask = _to_unit_range(raw, spec.output).astype(np.float32)
    if mask.shape[::-1] != tuple(size):
        mask = np.asarray(Image.fromarray(mask, mode="F").resize(size, Image.BILINEAR))
    return np.clip(mask, 0.0, 1.0).astype(np.float32, copy=False)


def segment(rgb: np.ndarray, spec: ModelSpec, backend: Backend) -> np.ndarray:
    """Soft subject mask (float32 HxW in [0, 1]) for an HxWx3 uint8 image."""
    height, width = rgb.shape[:2]
    return postprocess(backend.run(preprocess(rgb, spec)), spec, (width, height))
