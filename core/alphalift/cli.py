"""`alphalift`: remove backgrounds, manage models, serve hosts.

Errors a user can act on print one line and exit 1; `--debug` shows the traceback.
"""
from __future__ import annotations

import argparse
import logging
import sys
import traceback
from pathlib import Path

from . import __version__
from .argtypes import bounded, box_coordinates, frame_rate, pixel_limit, point_coordinates, positive_int
from .errors import AlphaLiftError, InputError
from .prompts import CLI_NAMES, Prompt

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alphalift", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"alphalift {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True)

    remove = commands.add_parser("remove", help="cut the subject out of images")
    remove.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files or folders")
    where = remove.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path,
                       help="output file (one input only); .png, .webp, .tif or, with --bg or "
                            "--format mask/foreground, .jpg")
    where.add_argument("--out-dir", type=Path,
                       help="folder for outputs, named <stem>.png (<stem>-<ext>.png where inputs "
                            "share a stem)")
    add_cutout_options(remove)
    remove.add_argument("--force", action="store_true", help="overwrite existing outputs")
    remove.add_argument("--threads", type=positive_int, metavar="N", help="inference threads")
    prompt = remove.add_argument_group(
        "prompt (one image; pixels from its top-left corner, x right, y down)")
    prompt.add_argument("--box", type=box_coordinates, metavar="X0,Y0,X1,Y1",
                        help="the subject lies in this box; nothing outside it is kept")
    prompt.add_argument("--include", type=point_coordinates, action="append", default=[],
                        metavar="X,Y", help="this point is on the subject (repeatable)")
    prompt.add_argument("--exclude", type=point_coordinates, action="append", default=[],
                        metavar="X,Y", help="this point is not on the subject (repeatable)")
    video = remove.add_argument_group("video (a movie file, or a folder with --sequence)")
    video.add_argument("--sequence", action="store_true",
                       help="the folder's images, in natural name order, are frames of one shot: "
                            "temporally steady mattes")
    video.add_argument("--video-out", type=Path, metavar="FILE",
                       help="also write a video with alpha: .mov (ProRes 4444) or .webm (VP9)")
    video.add_argument("--fps", type=frame_rate, metavar="RATE",
                       help="--video-out's frame rate (default: the movie's own; 24 for frames)")
    video.add_argument("--no-temporal", action="store_true",
                       help="cut each frame out on its own (no temporal smoothing)")

    models = commands.add_parser("models", help="list, download, import, verify, remove models")
    actions = models.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every model: size, licence, cached or not")
    for name, text in (("download", "fetch and verify a model"),
                       ("path", "print the file the engine loads"),
                       ("remove", "delete a cached model")):
        action = actions.add_parser(name, help=text)
        action.add_argument("name", nargs=None if name == "remove" else "?",
                            help="model name (default: the default model)")
    verify = actions.add_parser("verify", help="check every file a model loads; rebuild or remove damaged ones")
    verify.add_argument("names", nargs="*")
    imp = actions.add_parser("import", help="add a model file you fetched yourself")
    imp.add_argument("file", type=Path)
    imp.add_argument("--as", dest="name", required=True, help="catalogue name, or a new name")
    imp.add_argument("--family", choices=("u2net", "isnet", "birefnet"),
                     help="architecture of a custom (non-catalogue) model")

    from .batch.command import add_batch_parser

    add_batch_parser(commands)

    serve = commands.add_parser("serve", help="run the worker that host plug-ins talk to")
    transport = serve.add_mutually_exclusive_group(required=True)
    transport.add_argument("--stdio", action="store_true",
                           help="JSON lines on stdin/stdout, for one client; ends with its input")
    transport.add_argument("--socket", type=Path, metavar="PATH",
                           help="JSON lines on a Unix socket in a private (0700) folder, for many "
                                "clients in turn (GIMP's calls); one worker a socket")
    serve.add_argument("--idle-exit", type=bounded(float, "a number of seconds", 0.0, above=True),
                       default=300.0, metavar="SECONDS",
                       help="with --socket: exit after this long with no client (default 300)")
    return parser


def add_cutout_options(parser: argparse.ArgumentParser) -> None:
    """What a cut-out looks like and where its model comes from: the same for remove and batch."""
    parser.add_argument("--format", choices=("rgba", "mask", "foreground"), default="rgba",
                        help="rgba: cut-out with alpha; mask: 8-bit matte; foreground: colours only")
    parser.add_argument("--model", help="model name (see `alphalift models list`)")
    parser.add_argument("--no-refine", dest="refine", action="store_false",
                        help="skip the matting stage (raw model mask, original colours)")
    parser.add_argument("--bg", metavar="COLOR", help="composite on this colour (e.g. white, #00ff00)")
    parser.add_argument("--max-pixels", type=pixel_limit, metavar="N",
                        help="refuse images larger than this (e.g. 100000000 or 100M)")
    parser.add_argument("--backend", choices=("auto", "onnxruntime", "openvino"), default="auto")
    parser.add_argument("--offline", action="store_true", help="never download a model")


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING,
                        format="alphalift: %(levelname)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "remove":
            return run_remove(args)
        if args.command == "models":
            from .models_cli import run_models

            return run_models(args)
        if args.command == "batch":
            from .batch.command import run_batch

            return run_batch(args)
        if args.command == "serve":
            if args.socket is not None:
                from .worker.listen import serve_socket

                return serve_socket(args.socket, args.idle_exit)
            from .worker.server import serve_stdio

            return serve_stdio()
    except AlphaLiftError as exc:
        report(exc, args.debug)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("alphalift: interrupted", file=sys.stderr)
        return 130
    return EXIT_USAGE


def report(exc: BaseException, debug: bool, prefix: str = "") -> None:
    if debug:
        traceback.print_exception(type(exc), exc, exc.__traceback__, file=sys.stderr)
    print(f"alphalift: error: {prefix}{exc}", file=sys.stderr)


def parse_colour(text: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise InputError(f"--bg {text!r} is not a colour.",
                         "Use a name (white) or hex (#00ff00).") from None


class Tally:
    """A run's failures: a single input's error ends the run, each of a batch's costs one line
    naming the file, and the rest go on."""

    def __init__(self, total: int, debug: bool) -> None:
        self.total, self.debug, self.failures = total, debug, 0

    def failed(self, exc: BaseException, source: Path, what: str = "") -> None:
        self.failures += 1
        if self.total == 1:
            raise exc
        named = str(exc).startswith(str(source))
        report(exc, self.debug, prefix=("" if named else f"{source}: ") + what)


def run_remove(args: argparse.Namespace) -> int:
    """Settle everything that can fail without the model first (settings, inputs, names, output
    folders and formats), then cut out each image."""
    from tqdm import tqdm

    from .cutout import image_mode
    from .engine import backend_setting, thread_count
    from .imageio import load_image, max_pixels, save_image
    from .outputs import check_target, input_keys
    from .pipeline import Remover

    limit = args.max_pixels or max_pixels()  # a bad ALPHALIFT_* variable: one line, nothing done
    prompt = command_line_prompt(args)
    from .video.run import is_video_run, run_video

    video = is_video_run(args)
    # Stills are each cut out once: nothing to remember. A shot's frames may repeat (a hold in an
    # animation), and then the last run is reused.
    remover = Remover(backend=backend_setting(args.backend), threads=thread_count(args.threads),
                      download=not args.offline, remember=video)
    if video:  # a folder with --sequence, or movie files: one shot each
        return run_video(args, remover, limit)
    files = gather_inputs(args)
    background = parse_colour(args.bg) if args.bg else None
    remover.store.catalog.get(args.model)  # unknown model: fail before touching any file
    tally = Tally(len(files), args.debug)
    jobs = plan_jobs(files, args, image_mode(args.format, background), tally)
    inputs = input_keys(files)
    for source, target in tqdm(jobs, unit="image", disable=len(jobs) < 2 or not sys.stderr.isatty()):
        try:
            image = load_image(source, limit=limit)
            if prompt is not None:  # before the model: a bad prompt writes nothing
                prompt.check(*image.size, CLI_NAMES)
            cutout = remover.remove(image, model=args.model, refine=args.refine,
                                    foreground=args.format != "mask", prompt=prompt)
            check_target(target, inputs, args.force)  # nothing appeared there meanwhile
            save_image(cutout.to_image(args.format, background), target,
                       icc_profile=cutout.icc_profile)
        except AlphaLiftError as exc:
            tally.failed(exc, source)
        except Exception as exc:  # an unexpected bug in one file must not stop the batch
            if args.debug:
                raise
            tally.failed(exc, source, f"unexpected {type(exc).__name__}: ")
    if tally.failures:
        print(f"alphalift: {tally.failures} of {len(files)} images failed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


def command_line_prompt(args: argparse.Namespace) -> Prompt | None:
    """--box, --include and --exclude as one Prompt (None if none is given), refused where the run
    is not one image: a prompt's pixels mean one picture."""
    if args.box is None and not args.include and not args.exclude:
        return None
    option = "--box" if args.box is not None else "--include" if args.include else "--exclude"
    fix = "Cut one image file at a time with a prompt."
    if args.sequence:
        raise InputError(f"{option} applies to one image, not to frames with --sequence.", fix)
    if len(args.inputs) > 1:
        raise InputError(f"{option} applies to one image; you gave {len(args.inputs)} inputs.", fix)
    item = args.inputs[0]
    if item.is_dir():
        raise InputError(f"{option} applies to one image, and {item} is a folder.", fix)
    from .video.sources import is_movie

    if is_movie(item) or args.video_out:
        raise InputError(f"{option} applies to one image, not to a movie's frames.", fix)
    return Prompt.of(args.box, args.include, args.exclude, CLI_NAMES)


def gather_inputs(args: argparse.Namespace) -> list[Path]:
    """The run's input files, AlphaLift's earlier outputs in its folders skipped (with a note)."""
    from .outputs import expand_inputs

    found = expand_inputs(args.inputs)
    for folder, names in found.skipped.items():
        note_skipped(folder, names)
    if not found.files:
        raise InputError("No images found in the given folders.", "Pass image files or folders.")
    if args.output is not None and len(found.files) > 1:
        raise InputError("-o takes one input; you gave several.", "Use --out-dir for batches.")
    return found.files


def plan_jobs(files: list[Path], args: argparse.Namespace, mode: str, tally: Tally) -> list[tuple[Path, Path]]:
    """(input, output) pairs whose output can be written: names that cannot collide, folders
    probed, formats that hold ``mode``; the others are failures reported now, before the model."""
    from .imageio import output_format
    from .outputs import Folders, check_out_dir, check_target, input_keys, plan_targets

    folders = Folders()
    if args.out_dir is not None:  # every output goes there: one line for the whole run
        check_out_dir(args.out_dir, args.inputs)
        folders.check(args.out_dir)
    targets = [args.output] if args.output is not None else plan_targets(files, args.out_dir, args.format)
    inputs = input_keys(files)
    jobs = []
    for source, target in zip(files, targets):
        try:
            check_target(target, inputs, args.force)
            output_format(target, mode)
            folders.check(target.parent)
        except AlphaLiftError as exc:
            tally.failed(exc, source)
            continue
        jobs.append((source, target))
    return jobs


def note_skipped(folder: Path, names: list[str], shown: int = 5) -> None:
    listed = ", ".join(names[:shown]) + (f" and {len(names) - shown} more" if len(names) > shown else "")
    files = "file" if len(names) == 1 else "files"
    print(f"alphalift: note: {folder}: skipped {len(names)} {files} named like AlphaLift's outputs "
          f"of the images beside them ({listed}); name them on the command line to cut them out.",
          file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
