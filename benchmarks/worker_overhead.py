#!/usr/bin/env python3
"""What a host pays for the worker: a warm client request vs the model pass alone, 1920x1080.

    python benchmarks/worker_overhead.py [--runs 5]

Both sides run the plain cut-out (refine=False) on the same model and backend; the difference is
the pixel files, the JSON messages and the process hop. Goal: at most 5 % over the model pass.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugins" / "client"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from timing import median_seconds  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    import skimage.data
    from PIL import Image

    from alphalift.pipeline import Remover
    from alphalift_client import AlphaLiftClient

    photo = np.asarray(Image.fromarray(skimage.data.astronaut()).resize((1920, 1080), Image.LANCZOS))
    pixels = np.dstack([photo, np.full(photo.shape[:2], 255, np.uint8)]).tobytes()

    remover = Remover()
    a = median_seconds(lambda: remover.remove(photo, refine=False), args.runs)
    with AlphaLiftClient(python=sys.executable) as client:
        b = median_seconds(lambda: client.remove(pixels, 1920, 1080, refine=False), args.runs)
    print(f"in-process cut-out {a:.3f} s, through the worker {b:.3f} s: overhead {100 * (b / a - 1):+.1f} %"
          f" (median of {args.runs}, backend {remover.backend_for(remover.store.catalog.get(None)).name})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
