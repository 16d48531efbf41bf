"""Reading and writing images: every Pillow mode, EXIF orientation, ICC profiles, a pixel limit.

The model needs 8-bit RGB; the user's alpha (if any) is kept aside so the cut-out can multiply it
back in. Writing goes through a temporary file, so a failed run never leaves a partial output.
"""
from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageTooLargeError, InputError
from .fsutil import atomic_output

DEFAULT_MAX_PIXELS = 100_000_000
MIN_SIDE = 4
NEUTRAL_GREY = 128  # what transparent pixels look like to the model


def max_pixels() -> int:
    return int(os.environ.get("ALPHALIFT_MAX_PIXELS", DEFAULT_MAX_PIXELS))


@dataclass
class SourceImage:
    """An image ready for the pipeline: 8-bit RGB for the model plus what must survive to output."""

    rgb: np.ndarray  # HxWx3 uint8, composited on grey where the user's alpha is < 1
    colour: np.ndarray  # HxWx3 uint8, the user's own colours (not composited)
    alpha: np.ndarray | None  # HxW float32 in [0, 1], the user's existing alpha
    icc_profile: bytes | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.rgb.shape[1], self.rgb.shape[0]


def _to_8bit(image: Image.Image) -> Image.Image:
    """High-bit-depth greyscale ('I;16', 'I', 'F') scaled to 8 bits instead of clipped."""
    array = np.asarray(image)
    if image.mode == "F":
        scaled = np.clip(array, 0.0, 1.0) * 255.0 if array.max() <= 1.0 else np.clip(array, 0, 255)
    else:
        top = 65535.0 if array.max() > 255 or image.mode.startswith("I;16") else 255.0
        scaled = np.clip(array.astype(np.float64) * (255.0 / top), 0, 255)
    return Image.fromarray(np.round(scaled).astype(np.uint8), "L")


def from_pil(image: Image.Image) -> SourceImage:
    """Normalise any Pillow image (already oriented) into a SourceImage."""
    icc = image.info.get("icc_profile")
    if image.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        image = _to_8bit(image)
    if image.mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info
    rgba = np.asarray(image.convert("RGBA" if has_alpha else "RGB"))
    alpha = rgba[..., 3].astype(np.float32) / 255.0 if has_alpha else None
    return compose_source(np.ascontiguousarray(rgba[..., :3]), alpha, icc)


def compose_source(colour: np.ndarray, alpha: np.ndarray | None,
                   icc_profile: bytes | None = None) -> SourceImage:
    """8-bit colours plus the user's alpha (float, or None) -> what the model sees: the colours
    over neutral grey where transparent, the user's own colours and alpha kept for the output."""
    if alpha is None or alpha.min() >= 1.0:
        return SourceImage(colour, colour, None, icc_profile)
    grey = np.float32(NEUTRAL_GREY)
    composited = colour * alpha[..., None] + grey * (1.0 - alpha[..., None])
    return SourceImage(np.round(composited).astype(np.uint8), colour, alpha.astype(np.float32),
                       icc_profile)


def check_size(width: int, height: int, limit: int | None = None) -> None:
    limit = limit or max_pixels()
    if width * height > limit:
        raise ImageTooLargeError(
            f"Image is {width}x{height} = {width * height:,} pixels, over the limit of {limit:,}.",
            "Scale it down, or raise the limit with --max-pixels / ALPHALIFT_MAX_PIXELS if you "
            "trust the file.",
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(f"Image is only {width}x{height} pixels.",
                         f"AlphaLift needs at least {MIN_SIDE}x{MIN_SIDE} to find a subject.")


def load_image(path: Path, limit: int | None = None) -> SourceImage:
    """Open, check, orient and normalise an image file; every failure is an InputError."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file.", "Check the path.")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty (0 bytes).", "Re-export or re-copy the image.")
    try:
        with _pillow_guard_off(), Image.open(path) as image:
            check_size(*image.size, limit=limit)
            image.load()
            oriented = ImageOps.exif_transpose(image)
            if "icc_profile" in image.info:
                oriented.info["icc_profile"] = image.info["icc_profile"]
            return from_pil(oriented)
    except UnidentifiedImageError:
        raise InputError(f"{path}: not an image Pillow can read.",
                         "Use PNG, JPEG, WebP, TIFF or another common format.") from None
    except Image.DecompressionBombError as exc:
        raise ImageTooLargeError(f"{path}: {exc}", "Raise --max-pixels if you trust the file.") from None
    except (OSError, SyntaxError, ValueError) as exc:
        raise InputError(f"{path}: the image data is damaged or truncated ({exc}).",
                         "Re-export or re-copy the image.") from None


@contextlib.contextmanager
def _pillow_guard_off() -> Iterator[None]:
    """Pillow's decompression-bomb guard stands aside while ours runs: check_size() reads the
    header before any pixel is decoded, and its message gives the user's limit and what to do."""
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def save_png(image: Image.Image | np.ndarray, path: Path, icc_profile: bytes | None = None) -> None:
    """Write an 8-bit PNG atomically (temp file, then rename), compressed on every core."""
    from .fastpng import write_png

    pixels = np.asarray(image)
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    with atomic_output(Path(path)) as out:
        write_png(out, pixels, icc_profile)
