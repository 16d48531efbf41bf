"""The worker's one pixel codec, both ways: a host's raw layout in, the layout it draws with out.

Hosts' scripting often has no numpy (Krita, GIMP) or pays for every Python-level loop, so the
conversions they used to make themselves (GIMP's interleave, Krita's B,G,R,A order, Blender's
bottom-up float rows) happen here, once, in numpy.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..imageio import SourceImage, compose_source
from .protocol import PIXEL_FORMATS


@dataclass(frozen=True)
class RawImage:
    """A raw pixel file as a request describes it (validated by worker/requests.py)."""

    path: Path
    width: int
    height: int
    format: str
    linear: bool = False
    flip: bool = False  # rows bottom-up (Blender)


def decode_pixels(image: RawImage) -> SourceImage:
    """A raw pixel file -> the pipeline's SourceImage (top row first)."""
    size, dtype = PIXEL_FORMATS[image.format]
    path = image.path
    if not path.is_file():
        raise InputError(f"pixel file {path} is missing.", "The host must write it before asking.")
    expected = image.width * image.height * size
    if path.stat().st_size != expected:
        raise InputError(f"pixel file holds {path.stat().st_size} bytes, expected {expected} for "
                         f"{image.width}x{image.height} {image.format}.", "Check the width, height and format.")
    channels = size // np.dtype(dtype).itemsize
    raw = np.fromfile(path, dtype=dtype).reshape(image.height, image.width, channels)
    if image.flip:
        raw = raw[::-1]
    if image.format.startswith("BGR"):
        raw = raw[..., [2, 1, 0, 3][:channels]]
    if dtype == "u1":
        colour8 = raw[..., :3] if channels >= 3 else np.repeat(raw[..., :1], 3, axis=2)
        alpha = raw[..., -1].astype(np.float32) / 255.0 if channels in (2, 4) else None
        return compose_source(np.ascontiguousarray(colour8), alpha)
    scale = 65535.0 if dtype == "<u2" else 1.0
    unit = np.clip(np.nan_to_num(raw.astype(np.float32) / scale), 0.0, 1.0)
    colour = unit[..., :3] if channels >= 3 else np.repeat(unit[..., :1], 3, axis=2)
    alpha = unit[..., -1] if channels in (2, 4) else None
    if image.linear:
        colour = srgb_encode(colour)
    return compose_source(np.round(colour * 255.0).astype(np.uint8), alpha)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear light in 0..1 -> sRGB-encoded values (IEC 61966-2-1 transfer curve)."""
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def read_selection(path: Path, width: int, height: int, flip: bool = False) -> np.ndarray:
    """An L8 selection file -> float weights in 0..1, top row first."""
    if not path.is_file() or path.stat().st_size != width * height:
        raise InputError(f"the selection file {path} must hold {width * height} bytes (L8, {width}x{height}).",
                         "The host must write the selection at the image's size.")
    weight = np.fromfile(path, np.uint8).reshape(height, width).astype(np.float32) / 255.0
    return weight[::-1] if flip else weight


def limit_to_selection(mask: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Blend the matte with 'keep everything' by a soft selection's weights.

    Hosts whose scripting has no pixel maths (Krita's Python has no numpy) send their selection here.
    """
    return mask * weight + (1.0 - weight)


def encode_alpha(mask: np.ndarray, fmt: str, flip: bool = False) -> bytes:
    """The matte as L8, L16 or F32 bytes."""
    mask = np.clip(mask[::-1] if flip else mask, 0, 1)
    if fmt == "L8":
        return np.round(mask * 255).astype(np.uint8).tobytes()
    if fmt == "L16":
        return np.round(mask * 65535).astype("<u2").tobytes()
    return mask.astype("<f4").tobytes()


def encode_foreground(colours: np.ndarray, mask: np.ndarray, fmt: str, alpha: str = "opaque",
                      flip: bool = False) -> bytes:
    """HxWx3 uint8 colours -> a host's layout (protocol.FOREGROUND_FORMATS); in the 4-channel ones
    the alpha is opaque or the matte (``alpha``: "opaque" or "matte")."""
    if flip:
        colours, mask = colours[::-1], mask[::-1]
    if fmt == "RGB8":
        return np.ascontiguousarray(colours).tobytes()
    if fmt == "RGBAF":
        unit = colours / 255.0  # in double, then single: the bytes Blender's own division made
        fourth = np.clip(mask, 0, 1).astype(np.float32) if alpha == "matte" else np.ones(mask.shape)
        return np.dstack([unit, fourth]).astype("<f4").tobytes()
    fourth8 = (np.round(np.clip(mask, 0, 1) * 255).astype(np.uint8) if alpha == "matte"
               else np.full(mask.shape, 255, np.uint8))
    order = colours[..., ::-1] if fmt == "BGRA8" else colours
    return np.dstack([order, fourth8]).tobytes()
