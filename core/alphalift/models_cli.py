"""`alphalift models ...`: the model store from the command line."""
from __future__ import annotations

import argparse
import sys

from .models import ModelStore

EXIT_OK, EXIT_FAILED = 0, 1


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    return f"{size / 1e6:.0f} MB"


def run_models(args: argparse.Namespace) -> int:
    store = ModelStore()
    store.show_progress = sys.stderr.isatty()
    catalog = store.catalog
    if args.action == "list":
        print(f"{'name':24} {'size':>7}  {'licence':18} {'cached':6}  description")
        for spec in catalog:
            mark = "yes" if store.is_cached(spec) else "no"
            default = " (default)" if spec.name == catalog.default else ""
            print(f"{spec.name:24} {human_size(spec.size):>7}  {spec.licence:18} {mark:6}  "
                  f"{spec.description}{default}")
        return EXIT_OK
    if args.action == "download":
        spec = catalog.get(args.name)
        store.ensure(spec)  # the original too, even where a CPU conversion is already here
        path = store.runtime_path(spec)
        print(f"{spec.name}: ready at {path} (licence {spec.licence})")
        return EXIT_OK
    if args.action == "path":
        spec = catalog.get(args.name)
        path = store.cached_runtime_path(spec)
        if path is None:
            print(f"alphalift: error: model {spec.name!r} is not downloaded. "
                  f"Run `alphalift models download {spec.name}`.", file=sys.stderr)
            return EXIT_FAILED
        print(path)
        return EXIT_OK
    if args.action == "verify":
        specs = [catalog.get(n) for n in args.names] if args.names else list(catalog)
        for line in store.sweep():
            print(line)
        bad = 0
        for spec in specs:
            result = store.verify(spec)
            if result.status == "missing" and not args.names:
                continue
            bad += result.status in ("missing", "corrupt")
            print(f"{spec.name}: {result.status}")
            for note in result.notes:
                print(f"  {note}")
        return EXIT_FAILED if bad else EXIT_OK
    if args.action == "import":
        spec = store.import_file(args.file, args.name, args.family)
        print(f"{spec.name}: imported ({spec.family}, sha256 {spec.sha256[:16]}…)")
        return EXIT_OK
    if args.action == "remove":
        spec = catalog.get(args.name)
        existed = store.remove(spec)
        print(f"{spec.name}: {'removed' if existed else 'was not cached'}")
        return EXIT_OK
    return EXIT_FAILED
