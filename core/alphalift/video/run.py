"""`alphalift remove FRAMES_DIR --sequence` and `alphalift remove clip.mp4`: one shot at a time.

Everything that can fail without the model is settled first (options, frames, output folders,
the video's name). Frames stream from the source through the sequence mode to one PNG each; a
frame whose PNG is already there (a killed run's, written atomically so always whole) is kept,
the frame before the first missing one is recomputed unsaved so the temporal method resumes
warm, and --force recomputes everything. A frame that cannot be read or cut out is reported on
one line and the shot goes on (exit status 1 at the end).
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

from PIL import Image

from ..errors import AlphaLiftError, InputError
from ..pipeline import Remover
from .sinks import MovieWriter, check_movie_target, frame_name
from .sources import Frame, folder_frames, is_movie, movie_info, read_folder, read_movie

DEFAULT_RATE = Fraction(24)  # a folder of frames states no rate; --fps sets one


@dataclass
class Shot:
    name: str  # the input as the user named it
    folder: Path  # where its frames are written
    target: Callable[[int], Path]  # frame index -> its PNG
    frames: Callable[[], Iterator[Frame]]
    total: int | None
    rate: Fraction


def is_video_run(args: argparse.Namespace) -> bool:
    return bool(args.sequence or args.video_out) or any(is_movie(path) for path in args.inputs)


def plan_shots(args: argparse.Namespace, limit: int) -> list[Shot]:
    from ..outputs import check_out_dir, plan_targets

    if args.output is not None:
        raise InputError("-o names one image, but a sequence writes one file per frame.",
                         "Use --out-dir for the frames (and --video-out FILE for a movie).")
    shots = []
    for item in args.inputs:
        if is_movie(item):
            info = movie_info(item)
            folder = (args.out_dir or item.parent) / item.stem
            shots.append(Shot(str(item), folder, lambda index, f=folder, s=item.stem: f / frame_name(s, index),
                              lambda i=item: read_movie(i, limit), info.frames,
                              Fraction(args.fps) if args.fps else info.rate))
        elif item.is_dir():
            if not args.sequence:
                raise InputError(f"{item} is a folder; its images are frames of one shot only "
                                 "with --sequence.", "Add --sequence (natural name order).")
            if args.out_dir is not None:
                check_out_dir(args.out_dir, [item])
            paths = folder_frames(item)
            targets = plan_targets(paths, args.out_dir, args.format)
            shots.append(Shot(str(item), args.out_dir or item, lambda index, t=targets: t[index],
                              lambda p=paths: read_folder(p, limit), len(paths),
                              Fraction(args.fps) if args.fps else DEFAULT_RATE))
        elif item.exists():
            raise InputError(f"{item}: --sequence takes a folder of frames or a movie file, not "
                             "an image.", "Pass the folder that holds the shot's frames.")
        else:
            raise InputError(f"{item}: no such file or folder.", "Check the path.")
    if args.video_out is not None and len(shots) != 1:
        raise InputError("--video-out takes one shot; you gave several.",
                         "Run once per movie or frames folder.")
    return shots


def run_video(args: argparse.Namespace, remover: Remover, limit: int) -> int:
    """The CLI's video run; returns the exit status."""
    from ..cli import EXIT_FAILED, EXIT_OK, parse_colour
    from ..cutout import image_mode
    from ..imageio import output_format
    from ..outputs import Folders, check_target

    background = parse_colour(args.bg) if args.bg else None
    mode = image_mode(args.format, background)
    remover.store.catalog.get(args.model)  # unknown model: fail before touching any file
    shots = plan_shots(args, limit)
    folders = Folders()
    for shot in shots:
        output_format(shot.target(0), mode)
        folders.check(shot.folder)
    if args.video_out is not None:
        check_movie_target(args.video_out)
        check_target(args.video_out, set(), args.force)
        folders.check(args.video_out.parent)
    failures = 0
    for shot in shots:
        failures += ShotRun(shot, args, remover, background).run()
    if failures:
        print(f"alphalift: {failures} frames failed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


class ShotRun:
    """One shot through the sequence mode, to PNGs and optionally a movie."""

    def __init__(self, shot: Shot, args: argparse.Namespace, remover: Remover,
                 background: tuple[int, int, int] | None) -> None:
        from .sequence import SequenceRemover

        self.shot, self.args, self.background = shot, args, background
        self.runner = SequenceRemover(remover, model=args.model, refine=args.refine,
                                      foreground=args.format != "mask",
                                      temporal=not args.no_temporal)
        self.writer: MovieWriter | None = None
        self.size: tuple[int, int] | None = None
        self.blanks = 0  # failed frames waiting for the movie to know its size
        self.failures = 0

    def kept(self, index: int) -> bool:
        return not self.args.force and self.shot.target(index).exists()

    def run(self) -> int:
        from tqdm import tqdm

        self.remove_partials()
        if self.args.video_out is not None:
            self.writer = MovieWriter(self.args.video_out, self.shot.rate)
        kept = 0
        bar = tqdm(total=self.shot.total, unit="frame", desc=Path(self.shot.name).name,
                   disable=not sys.stderr.isatty(), smoothing=0.1)
        try:
            for frame in self.shot.frames():
                if self.kept(frame.index):
                    kept += 1
                    self.keep(frame)
                else:
                    self.compute(frame)
                bar.update()
            if self.writer is not None:
                self.writer.close()
        except BaseException:
            if self.writer is not None:
                self.writer.abandon()
            raise
        finally:
            bar.close()
        if kept:
            print(f"alphalift: note: {self.shot.name}: kept {kept} frames already cut out in "
                  f"{self.shot.folder} (an earlier run's); --force recomputes them.", file=sys.stderr)
        return self.failures

    def remove_partials(self) -> None:
        """A killed run's half-written frame (atomic writes leave it under a hidden temporary
        name, never the frame's own): gone before the frame is written again."""
        if self.shot.folder.is_dir():
            for path in self.shot.folder.glob(".*.png.*.part"):
                path.unlink(missing_ok=True)

    def keep(self, frame: Frame) -> None:
        """An earlier run's frame: into the movie as written; recomputed unsaved when the next
        frame is missing, so the temporal method goes on from it."""
        target = self.shot.target(frame.index)
        last = self.shot.total is not None and frame.index + 1 >= self.shot.total
        if frame.image is not None and not last and not self.kept(frame.index + 1):
            try:
                self.runner.cut(frame.image)
            except AlphaLiftError:
                self.runner.new_shot()
        if self.writer is not None:
            with Image.open(target) as image:
                self.add_to_movie(image.copy())

    def compute(self, frame: Frame) -> None:
        from ..cli import report
        from ..imageio import save_image

        try:
            if frame.error is not None:
                raise frame.error
            assert frame.image is not None
            cutout = self.runner.cut(frame.image)
            image = cutout.to_image(self.args.format, self.background)
            save_image(image, self.shot.target(frame.index), icc_profile=cutout.icc_profile)
        except InputError as exc:  # this frame only: the shot goes on
            self.failed(exc, frame, report)
            return
        except AlphaLiftError:  # the model, the engine, the disk: no frame would fare better
            raise
        except Exception as exc:  # an unexpected bug in one frame must not stop the shot
            if self.args.debug:
                raise
            self.failed(exc, frame, report, f"unexpected {type(exc).__name__}: ")
            return
        self.add_to_movie(image)

    def failed(self, exc: BaseException, frame: Frame, report, what: str = "") -> None:
        self.failures += 1
        named = str(exc).startswith(frame.name)
        report(exc, self.args.debug, prefix=("" if named else f"{frame.name}: ") + what)
        if self.writer is not None:
            self.add_blank()

    def add_to_movie(self, image: Image.Image) -> None:
        if self.writer is None:
            return
        if self.size is None:
            self.size = image.size
            for _ in range(self.blanks):
                self.add_blank()
        if image.size != self.size:
            image = image.resize(self.size, Image.BICUBIC)
        self.writer.add(image)

    def add_blank(self) -> None:
        """A failed frame is a transparent one in the movie, so its timing holds."""
        assert self.writer is not None
        if self.size is None:
            self.blanks += 1
            return
        self.writer.add(Image.new("RGBA", self.size, (0, 0, 0, 0)))
