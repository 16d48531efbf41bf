"""Frame sources: a folder of images in natural name order, or a movie file read by PyAV.

Both are streams: one frame is decoded at a time, so a 10,000-frame shot costs the memory of one.
A source yields Frame records; a folder's damaged image becomes a Frame with its error, so the
shot goes on without it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image

from ..errors import AlphaLiftError, InputError
from ..imageio import SourceImage, check_size, from_pil, load_image
from ..outputs import IMAGE_SUFFIXES, earlier_outputs
from .deps import av_module

MOVIE_SUFFIXES = {".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v", ".mpg", ".mpeg", ".mts", ".m2ts",
                  ".ts", ".wmv", ".flv", ".ogv", ".mxf", ".y4m", ".gifv"}
_DIGITS = re.compile(r"(\d+)")


def natural_key(name: str) -> tuple:
    """Sort key that reads digit runs as numbers: frame_2 before frame_10."""
    parts = _DIGITS.split(name.casefold())
    return tuple((0, int(part), part) if part.isdigit() else (1, 0, part) for part in parts)


def is_movie(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in MOVIE_SUFFIXES


@dataclass
class Frame:
    index: int  # 0-based position in the shot
    name: str  # what a report calls it (a file's path, or "clip.mp4 frame 12")
    image: SourceImage | None  # None when it could not be read
    error: AlphaLiftError | None = None


def folder_frames(folder: Path) -> list[Path]:
    """The folder's images in natural order, AlphaLift's own earlier outputs left out."""
    images = [p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES]
    own = earlier_outputs(images)
    frames = sorted((p for p in images if p not in own), key=lambda p: natural_key(p.name))
    if not frames:
        raise InputError(f"{folder}: no images found for --sequence.",
                         "Pass a folder holding the shot's frames (PNG, JPEG, TIFF, ...).")
    return frames


def read_folder(paths: list[Path], limit: int | None = None) -> Iterator[Frame]:
    for index, path in enumerate(paths):
        try:
            yield Frame(index, str(path), load_image(path, limit=limit))
        except AlphaLiftError as exc:
            yield Frame(index, str(path), None, exc)


@dataclass
class MovieInfo:
    frames: int | None  # as the container states it (may be missing or approximate)
    rate: Fraction  # frames per second
    width: int
    height: int


def _open_movie(path: Path):
    av = av_module()
    try:
        container = av.open(str(path))
    except (av.error.FFmpegError, OSError) as exc:
        raise InputError(f"{path}: not a movie FFmpeg can read ({exc}).",
                         "Use a common container and codec (MP4, MOV, MKV, WebM), or pass its "
                         "frames as a folder with --sequence.") from None
    if not container.streams.video:
        container.close()
        raise InputError(f"{path}: the file has no video stream.", "Pass a movie with video.")
    return container


def movie_info(path: Path) -> MovieInfo:
    container = _open_movie(path)
    try:
        stream = container.streams.video[0]
        rate = stream.average_rate or stream.guessed_rate or Fraction(24)
        return MovieInfo(stream.frames or None, Fraction(rate), stream.codec_context.width,
                         stream.codec_context.height)
    finally:
        container.close()


def read_movie(path: Path, limit: int | None = None) -> Iterator[Frame]:
    """Every frame of the first video stream, decoded in order, as 8-bit RGB (with the movie's
    alpha where its codec carries one: ProRes 4444, VP9 with alpha, PNG/QuickTime RLE)."""
    av = av_module()
    container = _open_movie(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        decoder = _alpha_decoder(av, stream)
        index = 0
        packets = container.demux(stream)
        frames = _decode(packets, decoder) if decoder is not None else container.decode(stream)
        try:
            for frame in frames:
                yield _movie_frame(path, index, frame, limit)
                index += 1
        except av.error.FFmpegError as exc:
            raise InputError(f"{path}: decoding stopped at frame {index + 1} ({exc}).",
                             "The file is damaged or truncated; re-export it.") from None
    finally:
        container.close()


def _alpha_decoder(av, stream):
    """FFmpeg's own VP9 decoder drops a WebM's alpha; libvpx's keeps it."""
    if stream.codec_context.name != "vp9":
        return None
    try:
        decoder = av.CodecContext.create("libvpx-vp9", "r")
    except (av.error.FFmpegError, ValueError):
        return None
    if stream.codec_context.extradata:
        decoder.extradata = stream.codec_context.extradata
    return decoder


def _decode(packets, decoder):
    for packet in packets:
        yield from decoder.decode(packet if packet.size else None)


def _movie_frame(path: Path, index: int, frame, limit: int | None) -> Frame:
    name = f"{path} frame {index + 1}"
    try:
        check_size(frame.width, frame.height, limit)
        if _has_alpha_plane(frame):
            image = Image.fromarray(frame.to_ndarray(format="rgba"), "RGBA")
        else:
            image = frame.to_image()
        return Frame(index, name, from_pil(image))
    except AlphaLiftError as exc:
        return Frame(index, name, None, exc)


def _has_alpha_plane(frame) -> bool:
    return any(component.is_alpha for component in frame.format.components)
