#!/usr/bin/env python3
"""Interactive speed: a point added after the first run, against the first run, at 1920x1080.

    python benchmarks/prompt_speed.py [--runs 3] [--image PHOTO [--truth MATTE]]

One Remover with its model loaded (on another photo first, so no run pays the load). A *first
run* misses the model output cache (it is emptied before each one): automatic, and with a box. A
*point run* adds one include or exclude point with the same box (or no box): the model output
comes from the cache, so only the point's region and the matting stage are paid. Medians of
``--runs``; the breakdown times each stage of the pipeline (wrapped in place, in this process).
Default photo: alphamatting-dev's GT01 stretched to 1920x1080, its box and point placed as
benchmarks/prompts.py's simulated user would; without the set, scikit-image's chelsea.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from prompts import next_click, truth_box  # noqa: E402

SIZE = (1920, 1080)
DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "alphamatting-dev"


class Stages:
    """Wall time spent in each wrapped function during one call (nested calls counted in both)."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    def wrap(self, owner, name: str, label: str) -> None:
        inner = getattr(owner, name)

        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return inner(*args, **kwargs)
            finally:
                self.seconds[label] += time.perf_counter() - start

        setattr(owner, name, timed)


def photo(args: argparse.Namespace) -> tuple[np.ndarray, np.ndarray | None]:
    """The 1920x1080 RGB photo and its truth (None without one)."""
    path, truth = args.image, args.truth
    if path is None and (DEFAULT / "image" / "GT01.png").is_file():
        path, truth = DEFAULT / "image" / "GT01.png", DEFAULT / "alpha" / "GT01.png"
    if path is None:
        import skimage.data

        return np.asarray(Image.fromarray(skimage.data.chelsea()).resize(SIZE, Image.LANCZOS)), None
    rgb = np.asarray(Image.open(path).convert("RGB").resize(SIZE, Image.LANCZOS))
    if truth is None:
        return rgb, None
    matte = np.asarray(Image.open(truth).convert("L").resize(SIZE, Image.BILINEAR), np.float32) / 255.0
    return rgb, matte


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--image", type=Path, help="a photo (stretched to 1920x1080)")
    parser.add_argument("--truth", type=Path, help="its matte, to place the box and point as a user would")
    args = parser.parse_args()

    import alphalift.pipeline as pipeline
    from alphalift.prompts import Prompt

    rgb, truth = photo(args)
    remover = pipeline.Remover()
    remover.remove(np.zeros((64, 64, 3), np.uint8))  # loads the model: no run below pays it
    width, height = SIZE
    if truth is not None:
        box = truth_box(truth)
    else:
        box = (0.15 * width, 0.1 * height, 0.85 * width, 0.95 * height)

    stages = Stages()
    stages.wrap(pipeline, "segment", "network (segment)")
    stages.wrap(pipeline, "pixels_key", "cache key (pixel digest)")
    stages.wrap(pipeline, "point_probability", "point regions (random walker)")
    import alphalift.matting.refine as refine

    stages.wrap(refine, "refine_again", "matting (whole, or only where the probability changed)")
    stages.wrap(pipeline, "box_alpha", "box coverage")
    stages.wrap(pipeline, "paste", "paste")
    stages.wrap(pipeline, "as_source_image", "image in (as_source_image)")

    def timed(prompt: Prompt | None, fresh: bool) -> tuple[float, dict[str, float], np.ndarray]:
        if fresh:  # empty the Remover's memories (model outputs, last mattes): a first run
            for name, value in list(vars(remover).items()):
                if hasattr(value, "entries") and hasattr(value, "get"):
                    setattr(remover, name, type(value)(entries=value.entries))
        stages.seconds.clear()
        start = time.perf_counter()
        mask = remover.remove(rgb, prompt=prompt).mask
        took = time.perf_counter() - start
        return took, dict(stages.seconds), mask

    # Where the user clicks: on the largest error of the boxed result (or the photo's centre).
    _, _, boxed = timed(Prompt(box=box), fresh=True)
    click = next_click(boxed, truth) if truth is not None else None
    point, include = click if click is not None else ((width / 2, height / 2), True)

    def with_point(prompt_box, nudge: float) -> Prompt:
        moved = (min(width - 1.0, point[0] + nudge), point[1])
        return Prompt(box=prompt_box, include=(moved,) if include else (),
                      exclude=() if include else (moved,))

    cases = {
        "first run, automatic": lambda i: timed(None, fresh=True),
        "point run, no box (after the automatic run)": lambda i: timed(with_point(None, i), fresh=False),
        "first run, box": lambda i: timed(Prompt(box=box), fresh=True),
        "point run, same box (after the box run)": lambda i: timed(with_point(box, i), fresh=False),
    }
    results: dict[str, tuple[float, dict[str, float]]] = {}
    for name, case in cases.items():
        runs = [case(i) for i in range(args.runs)]
        order = sorted(range(len(runs)), key=lambda i: runs[i][0])
        middle = runs[order[len(runs) // 2]]
        results[name] = (middle[0], middle[1])

    kind = "include" if include else "exclude"
    print(f"1920x1080, box {tuple(round(v) for v in box)}, {kind} point {tuple(round(v) for v in point)}, "
          f"median of {args.runs}\n")
    labels = sorted({label for _, parts in results.values() for label in parts})
    print("| run | total s | " + " | ".join(labels) + " |")
    print("|---|---:|" + "---:|" * len(labels))
    for name, (total, parts) in results.items():
        print(f"| {name} | {total:.3f} | " + " | ".join(f"{parts.get(l, 0.0):.3f}" for l in labels) + " |")
    print()
    for first, then in (("first run, automatic", "point run, no box (after the automatic run)"),
                        ("first run, box", "point run, same box (after the box run)")):
        ratio = results[then][0] / results[first][0]
        print(f"{then} / {first}: {ratio:.2f}x (goal <= 0.35x): {'met' if ratio <= 0.35 else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
