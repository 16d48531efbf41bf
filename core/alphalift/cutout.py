"""The result of one cut-out, and the three ways to export it (rgba, mask, foreground)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

FORMATS = ("rgba", "mask", "foreground")


def image_mode(fmt: str = "rgba", background: tuple[int, int, int] | None = None) -> str:
    """The Pillow mode Cutout.to_image(fmt, background) gives, known before any cut-out exists,
    so a caller can tell whether an output file's format can hold it."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if fmt == "mask":
        return "L"
    return "RGBA" if fmt == "rgba" and background is None else "RGB"


def to_u8(values: np.ndarray) -> np.ndarray:
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)


@dataclass
class Cutout:
    """mask: float32 HxW alpha in [0, 1] (the user's own alpha already multiplied in);
    foreground: HxWx3 uint8 colours of the subject, decontaminated where the matting stage ran;
    colour: HxWx3 uint8, the input's own colours."""

    mask: np.ndarray
    foreground: np.ndarray
    colour: np.ndarray
    icc_profile: bytes | None = None

    @property
    def size(self) -> tuple[int, int]:
        return self.mask.shape[1], self.mask.shape[0]

    def mask_u8(self) -> np.ndarray:
        return to_u8(self.mask)

    def rgba(self) -> np.ndarray:
        """HxWx4 uint8: foreground colours with the matte as alpha."""
        return np.dstack([self.foreground, self.mask_u8()])

    def composite(self, background: tuple[int, int, int]) -> np.ndarray:
        """HxWx3 uint8 over a flat colour (what --bg writes)."""
        alpha = self.mask[..., None]
        backdrop = np.asarray(background, dtype=np.float32)
        mixed = self.foreground.astype(np.float32) * alpha + backdrop * (1.0 - alpha)
        return np.round(mixed).clip(0, 255).astype(np.uint8)

    def to_image(self, fmt: str = "rgba", background: tuple[int, int, int] | None = None) -> Image.Image:
        if fmt == "mask":
            return Image.fromarray(self.mask_u8(), "L")
        if fmt == "foreground":
            return Image.fromarray(self.foreground, "RGB")
        if fmt != "rgba":
            raise ValueError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
        if background is not None:
            return Image.fromarray(self.composite(background), "RGB")
        return Image.fromarray(self.rgba(), "RGBA")
