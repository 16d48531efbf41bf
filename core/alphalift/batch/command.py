"""`alphalift batch`: the arguments, and the run turned into an exit status. The work is in job.py."""
from __future__ import annotations

import argparse

from ..errors import InputError

EXIT_OK, EXIT_FAILED = 0, 1


def add_batch_parser(commands) -> None:
    from ..argtypes import non_negative_float, positive_int
    from ..cli import add_cutout_options

    batch = commands.add_parser(
        "batch", help="cut out a whole folder, glob or list, resumably, here or on a Ray cluster",
        description="Cut out every image of SOURCE into DEST, mirroring SOURCE's layout. "
                    "Re-running skips images already done (see DEST/alphalift-manifest.jsonl).")
    batch.add_argument("source", metavar="SOURCE",
                       help="a folder (at any depth), a glob ('shots/**/*.jpg'), or a .txt/.csv/"
                            ".parquet list of images; local paths or URIs (s3://, gs://, file://)")
    batch.add_argument("dest", metavar="DEST", help="output folder or URI; sub/a.jpg -> DEST/sub/a.png")
    batch.add_argument("--engine", choices=("local", "ray"), default="local",
                       help="local: this process, several images in flight; ray: a Ray cluster")
    batch.add_argument("--ray-address", metavar="ADDR",
                       help="a running Ray cluster (host:port of its head); default: RAY_ADDRESS, "
                            "else a new cluster on this machine")
    batch.add_argument("--workers", type=positive_int, metavar="N",
                       help="local: images in flight (default 2); ray: actors, each holding the "
                            "model (default: one a node, or one a GPU share)")
    batch.add_argument("--gpus-per-worker", type=non_negative_float, default=0.0, metavar="G",
                       help="GPUs Ray gives each actor (e.g. 1, or 0.5 to share one)")
    add_cutout_options(batch)
    batch.add_argument("--force", action="store_true",
                       help="cut out again even the images the manifest says are done")


def run_batch(args: argparse.Namespace) -> int:
    from ..cli import parse_colour
    from ..engine import backend_setting
    from ..imageio import max_pixels
    from .engine import EngineOptions
    from .job import Request, run
    from .work import Settings

    if args.gpus_per_worker and args.engine != "ray":
        raise InputError("--gpus-per-worker is for --engine ray.",
                         "Add --engine ray, or leave it out (the local engine uses a GPU by itself "
                         "when ONNX Runtime has one).")
    if args.ray_address and args.engine != "ray":
        raise InputError("--ray-address is for --engine ray.", "Add --engine ray.")
    if args.engine == "ray":
        from .ray_engine import import_ray

        import_ray()  # not installed: one line, before anything is listed or written
    settings = Settings(format=args.format, model=args.model, refine=args.refine,
                        background=parse_colour(args.bg) if args.bg else None,
                        max_pixels=args.max_pixels or max_pixels(),
                        backend=backend_setting(args.backend), download=not args.offline)
    request = Request(args.source, args.dest, settings, args.engine,
                      EngineOptions(args.workers, args.gpus_per_worker, args.ray_address), args.force)
    tally = run(request)
    return EXIT_FAILED if tally.failed else EXIT_OK
