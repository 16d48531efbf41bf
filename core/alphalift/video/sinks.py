"""Where a shot's cut-outs go: one PNG per frame (each written atomically, so a killed run leaves
only whole frames and a re-run continues after them) and, optionally, a movie with alpha.

The movie is written under a temporary name and renamed when complete; frames are given to it in
order, whether just computed or kept from an earlier run.
"""
from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
from PIL import Image

from ..fsutil import _umask
from ..imageio import OutputError, write_error
from .deps import av_module

# suffix -> (encoder, pixel format with alpha, encoder options)
MOVIE_WRITERS = {
    ".mov": ("prores_ks", "yuva444p10le", {"profile": "4444", "alpha_bits": "16", "vendor": "apl0"}),
    ".webm": ("libvpx-vp9", "yuva420p", {"crf": "12", "b": "0", "row-mt": "1", "deadline": "good",
                                         "cpu-used": "4"}),
}


def check_movie_target(path: Path) -> None:
    """Refuse a --video-out name AlphaLift cannot write, before any frame is computed."""
    if path.suffix.lower() not in MOVIE_WRITERS:
        raise OutputError(f"{path}: --video-out writes .mov (ProRes 4444) or .webm (VP9), both "
                          f"with alpha, not {path.suffix or 'a name without an extension'}.",
                          "Name the video .mov or .webm.")
    if path.is_dir():
        raise OutputError(f"{path} is a folder.", "Name a file for --video-out.")


class MovieWriter:
    """A movie with alpha from RGBA/RGB/L frames, at the source's frame rate."""

    def __init__(self, path: Path, rate: Fraction) -> None:
        av = av_module()
        check_movie_target(path)
        self.path = path
        self.rate = Fraction(rate).limit_denominator(100000)
        self._codec, self._pix_fmt, self._options = MOVIE_WRITERS[path.suffix.lower()]
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.", suffix=path.suffix)
        os.close(handle)
        self._temporary = Path(name)
        try:
            self._container = av.open(name, mode="w")
        except (av.error.FFmpegError, OSError) as exc:
            self._temporary.unlink(missing_ok=True)
            raise OutputError(f"{path}: could not start the video ({exc}).",
                              "Check the folder, or write somewhere else.") from None
        self._stream = None
        self.frames = 0

    def add(self, image: Image.Image) -> None:
        av = av_module()
        rgba = np.asarray(image.convert("RGBA"))
        if self._stream is None:
            self._stream = self._container.add_stream(self._codec, rate=self.rate)
            self._stream.width, self._stream.height = image.size
            self._stream.pix_fmt = self._pix_fmt
            self._stream.options = dict(self._options)
        frame = av.VideoFrame.from_ndarray(rgba, format="rgba")
        try:
            for packet in self._stream.encode(frame):
                self._container.mux(packet)
        except (av.error.FFmpegError, OSError) as exc:
            raise self._failed(exc) from None
        self.frames += 1

    def close(self) -> None:
        """Flush, then give the movie its name."""
        av = av_module()
        try:
            if self._stream is not None:
                for packet in self._stream.encode(None):
                    self._container.mux(packet)
            self._container.close()
            os.chmod(self._temporary, 0o666 & ~_umask())  # as any other file the user writes
            os.replace(self._temporary, self.path)
        except (av.error.FFmpegError, OSError) as exc:
            self.abandon()
            raise self._failed(exc) from None

    def abandon(self) -> None:
        """Stop without a movie: nothing half-written is left."""
        try:
            self._container.close()
        except Exception:  # the container may be broken already; the file goes anyway
            pass
        self._temporary.unlink(missing_ok=True)

    def _failed(self, exc: Exception) -> OutputError:
        if isinstance(exc, OSError):
            return write_error(self.path, exc)
        return OutputError(f"{self.path}: could not encode the video ({exc}).",
                           "Check the disk, or write a .mov instead of .webm (or the reverse).")


def frame_name(stem: str, index: int) -> str:
    """A movie's frame file name: <stem>_000001.png (1-based, six digits, more when needed)."""
    return f"{stem}_{index + 1:06d}.png"
