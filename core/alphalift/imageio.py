"""Reading and writing images: every Pillow mode, EXIF orientation, ICC profiles, a pixel limit.

The model needs 8-bit RGB; the user's alpha (if any) is kept aside so the cut-out can multiply it
back in. Writing goes through a temporary file, so a failed run never leaves a partial output,
and in the format the file's extension names (a .jpg holds JPEG, never PNG bytes).
"""
from __future__ import annotations

import contextlib
import errno
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .config import env_number, pixel_count
from .errors import AlphaLiftError, ImageTooLargeError, InputError
from .fsutil import atomic_output

DEFAULT_MAX_PIXELS = 100_000_000
MIN_SIDE = 4
NEUTRAL_GREY = 128  # what transparent pixels look like to the model
PIXEL_COUNT = "a pixel count (e.g. 100000000 or 100M)"
WRITERS = {".png": "PNG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF", ".jpg": "JPEG",
           ".jpeg": "JPEG"}  # output extension -> Pillow format
WRITER_OPTIONS = {"WEBP": {"lossless": True, "exact": True}, "TIFF": {"compression": "tiff_deflate"},
                  "JPEG": {"quality": 95}}


class OutputError(AlphaLiftError):
    """An output cannot be written: its folder, its name, or the disk."""

    code = "output-failed"


def max_pixels() -> int:
    """ALPHALIFT_MAX_PIXELS (100M, 24MP or a plain number), else 100 million."""
    return env_number("ALPHALIFT_MAX_PIXELS", pixel_count, DEFAULT_MAX_PIXELS, minimum=1,
                      what=PIXEL_COUNT)


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


def check_size(width: int, height: int, limit: int | None = None, name: Path | None = None) -> None:
    """Refuse images over the pixel limit or too small to segment; ``name`` (the file) starts the
    message, so a batch says which image it was."""
    limit = limit or max_pixels()
    which = f"{name}: " if name is not None else ""
    if width * height > limit:
        raise ImageTooLargeError(
            f"{which}Image is {width}x{height} = {width * height:,} pixels, over the limit of {limit:,}.",
            "Scale it down, or raise the limit with --max-pixels / ALPHALIFT_MAX_PIXELS if you "
            "trust the file.",
        )
    if min(width, height) < MIN_SIDE:
        raise InputError(f"{which}Image is only {width}x{height} pixels.",
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
            check_size(*image.size, limit=limit, name=path)
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


def output_format(path: Path, mode: str) -> str:
    """The Pillow format ``path``'s extension names, if it can hold an image of ``mode``
    ("RGBA", "RGB" or "L"); else OutputError, so a caller can refuse before any work is done."""
    path = Path(path)
    kind = WRITERS.get(path.suffix.lower())
    if kind is None:
        raise OutputError(f"{path}: AlphaLift writes .png, .webp, .tif/.tiff or .jpg/.jpeg, not "
                          f"{path.suffix or 'a name without an extension'}.",
                          "Name the output with one of those extensions.")
    if kind == "JPEG" and mode.endswith("A"):
        raise OutputError(f"{path}: JPEG has no transparency, and this cut-out needs it.",
                          "Composite it on a colour (--bg white), write the mask (--format mask), "
                          "or name the output .png, .webp or .tif.")
    return kind


def save_image(image: Image.Image, path: Path, icc_profile: bytes | None = None) -> None:
    """Write ``image`` atomically in the format ``path``'s extension names (see WRITERS)."""
    path = Path(path)
    kind = output_format(path, image.mode)
    if kind == "PNG":
        save_png(image, path, icc_profile)
        return
    options = dict(WRITER_OPTIONS.get(kind, {}))
    if icc_profile and image.mode != "L":  # an RGB profile does not describe grey pixels
        options["icc_profile"] = icc_profile
    with _write_errors(path), atomic_output(path) as out:
        image.save(out, kind, **options)


def save_png(image: Image.Image | np.ndarray, path: Path, icc_profile: bytes | None = None) -> None:
    """Write an 8-bit PNG atomically (temp file, then rename), compressed on every core."""
    from .fastpng import write_png

    pixels = np.asarray(image)
    if pixels.dtype == bool:
        pixels = pixels.astype(np.uint8) * 255
    with _write_errors(Path(path)), atomic_output(Path(path)) as out:
        write_png(out, pixels, icc_profile)


@contextlib.contextmanager
def _write_errors(path: Path) -> Iterator[None]:
    """A failed write (disk full, read-only, no permission) as one OutputError naming the file."""
    try:
        yield
    except OSError as exc:
        raise write_error(path, exc) from None


def write_error(path: Path, exc: OSError) -> OutputError:
    reason = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        hint = "Free some space, or write somewhere else."
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        hint = "Write to a folder you can write to."
    else:
        hint = "Check the path, or write somewhere else."
    return OutputError(f"{path}: could not write it ({reason}).", hint)
