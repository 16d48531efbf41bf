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
from .errors import AlphaLiftError, InputError, OutputExistsError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".tif", ".tiff", ".bmp", ".gif", ".tga",
                  ".jp2", ".ppm", ".pgm", ".pbm", ".psd", ".ico", ".heic", ".avif"}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="alphalift", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"alphalift {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", required=True)

    remove = commands.add_parser("remove", help="cut the subject out of images")
    remove.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image files or folders")
    where = remove.add_mutually_exclusive_group()
    where.add_argument("-o", "--output", type=Path, help="output file (one input only)")
    where.add_argument("--out-dir", type=Path, help="folder for outputs, named <stem>.png")
    remove.add_argument("--format", choices=("rgba", "mask", "foreground"), default="rgba",
                        help="rgba: cut-out with alpha; mask: 8-bit matte; foreground: colours only")
    remove.add_argument("--model", help="model name (see `alphalift models list`)")
    remove.add_argument("--no-refine", dest="refine", action="store_false",
                        help="skip the matting stage (raw model mask, original colours)")
    remove.add_argument("--bg", metavar="COLOR", help="composite on this colour (e.g. white, #00ff00)")
    remove.add_argument("--force", action="store_true", help="overwrite existing outputs")
    remove.add_argument("--max-pixels", type=int, help="refuse images larger than this")
    remove.add_argument("--threads", type=int, help="inference threads")
    remove.add_argument("--backend", choices=("auto", "onnxruntime", "openvino"), default="auto")
    remove.add_argument("--offline", action="store_true", help="never download a model")

    models = commands.add_parser("models", help="list, download, import, verify, remove models")
    actions = models.add_subparsers(dest="action", required=True)
    actions.add_parser("list", help="every model: size, licence, cached or not")
    for name, text in (("download", "fetch and verify a model"),
                       ("path", "print the file the engine loads"),
                       ("remove", "delete a cached model")):
        action = actions.add_parser(name, help=text)
        action.add_argument("name", nargs=None if name == "remove" else "?",
                            help="model name (default: the default model)")
    verify = actions.add_parser("verify", help="re-hash cached models; corrupt ones are removed")
    verify.add_argument("names", nargs="*")
    imp = actions.add_parser("import", help="add a model file you fetched yourself")
    imp.add_argument("file", type=Path)
    imp.add_argument("--as", dest="name", required=True, help="catalogue name, or a new name")
    imp.add_argument("--family", choices=("u2net", "isnet", "birefnet"),
                     help="architecture of a custom (non-catalogue) model")

    serve = commands.add_parser("serve", help="run the worker that host plug-ins talk to")
    serve.add_argument("--stdio", action="store_true", required=True,
                       help="JSON lines on stdin/stdout (the only transport)")
    return parser


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
        if args.command == "serve":
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


def expand_inputs(inputs: list[Path]) -> list[Path]:
    """Files as given; folders give their image files (not recursive), sorted."""
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            files.extend(sorted(p for p in item.iterdir()
                                if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES))
        else:
            files.append(item)
    return files


def output_path(source: Path, args: argparse.Namespace) -> Path:
    if args.output is not None:
        return args.output
    if args.out_dir is not None:
        return args.out_dir / f"{source.stem}.png"
    suffix = {"rgba": "cutout", "mask": "mask", "foreground": "foreground"}[args.format]
    return source.with_name(f"{source.stem}-{suffix}.png")


def check_output(target: Path, sources: set[Path], force: bool) -> None:
    if target.resolve() in sources:
        raise OutputExistsError(f"{target} is one of the inputs; AlphaLift never overwrites an input.",
                                "Choose another -o or --out-dir.")
    if target.exists() and not force:
        raise OutputExistsError(f"{target} already exists.", "Pass --force to overwrite it.")


def parse_colour(text: str) -> tuple[int, int, int]:
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(text)[:3]
    except ValueError:
        raise InputError(f"--bg {text!r} is not a colour.",
                         "Use a name (white) or hex (#00ff00).") from None


def run_remove(args: argparse.Namespace) -> int:
    from tqdm import tqdm

    from .imageio import load_image, save_png
    from .pipeline import Remover

    files = expand_inputs(args.inputs)
    if not files:
        raise InputError("No images found in the given folders.", "Pass image files or folders.")
    if args.output is not None and len(files) > 1:
        raise InputError("-o takes one input; you gave several.", "Use --out-dir for batches.")
    background = parse_colour(args.bg) if args.bg else None
    remover = Remover(backend=args.backend, threads=args.threads, download=not args.offline)
    remover.store.catalog.get(args.model)  # unknown model: fail before touching any file
    sources = {f.resolve() for f in files}
    failures = 0
    bar = tqdm(files, unit="image", disable=len(files) < 2 or not sys.stderr.isatty())
    for source in bar:
        target = output_path(source, args)
        try:
            check_output(target, sources, args.force)
            image = load_image(source, limit=args.max_pixels)
            cutout = remover.remove(image, model=args.model, refine=args.refine,
                                    foreground=args.format != "mask")
            save_png(cutout.to_image(args.format, background), target,
                     icc_profile=cutout.icc_profile)
        except AlphaLiftError as exc:
            failures += 1
            if len(files) == 1:
                raise
            report(exc, args.debug, prefix="")
        except Exception as exc:  # an unexpected bug in one file must not stop the batch
            failures += 1
            if len(files) == 1 or args.debug:
                raise
            report(exc, args.debug, prefix=f"{source}: unexpected {type(exc).__name__}: ")
    if failures:
        print(f"alphalift: {failures} of {len(files)} images failed", file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
