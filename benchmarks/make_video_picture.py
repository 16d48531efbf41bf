#!/usr/bin/env python3
"""The README's video picture: per-frame vs sequence mode on one composited sequence, as numbers.

    python benchmarks/make_video_picture.py /tmp/seq20/GT01 benchmarks/video-steadiness.png \\
        [--frames 20] [--cache DIR]

Left, one pixel's alpha over time (the truth, per-frame, sequence mode): the pixel where the
truth stays still (within 0.05) and the per-frame matte moves most (chosen on the per-frame matte
alone). Right, each frame's dtSSD
term, both modes. Only alpha values are drawn, no pixels of the dataset's photos (they are for
research use and stay out of the repository). Pillow only.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

sys.path.insert(0, str(Path(__file__).resolve().parent))
from video import CachedModel, truth_of  # noqa: E402

COLOURS = {"truth": (40, 40, 40), "per-frame": (214, 69, 65), "sequence": (38, 120, 190)}
PANEL = (480, 300)
MARGIN = 44


def mattes(folder: Path, frames: int | None, cache: Path | None) -> tuple[dict[str, np.ndarray], np.ndarray]:
    from alphalift.imageio import load_image
    from alphalift.pipeline import Remover
    from alphalift.video import SequenceRemover

    remover = Remover(download=False)
    spec = remover.store.catalog.get(None)
    remover._backends[spec.name] = CachedModel(remover.backend_for(spec), cache)
    paths = sorted((folder / "frames").glob("*.png"))[:frames]
    runners = {mode: SequenceRemover(remover, temporal=mode == "sequence") for mode in ("per-frame", "sequence")}
    out: dict[str, list[np.ndarray]] = {mode: [] for mode in runners}
    truths = []
    for path in paths:
        image = load_image(path)
        for mode, runner in runners.items():
            out[mode].append(runner.cut(image).mask)
        truths.append(truth_of(folder / "alpha" / path.name))
    return {mode: np.stack(values) for mode, values in out.items()}, np.stack(truths)


def axes(draw: ImageDraw.ImageDraw, left: int, title: str, top_value: float, label: str) -> None:
    width, height = PANEL
    draw.rectangle([left + MARGIN, 20, left + width - 10, height - MARGIN], outline=(0, 0, 0))
    draw.text((left + MARGIN, 4), title, fill=(0, 0, 0))
    draw.text((left + 4, 20), f"{top_value:g}", fill=(0, 0, 0))
    draw.text((left + 4, height - MARGIN - 10), "0", fill=(0, 0, 0))
    draw.text((left + width // 2 - 20, height - MARGIN + 8), "frame", fill=(0, 0, 0))
    draw.text((left + 4, height // 2), label, fill=(0, 0, 0))


def curve(draw: ImageDraw.ImageDraw, left: int, values: np.ndarray, top_value: float,
          colour: tuple[int, int, int], start: int = 0, frames: int | None = None) -> None:
    width, height = PANEL
    count = frames or len(values)
    x0, x1, y0, y1 = left + MARGIN, left + width - 10, height - MARGIN, 20
    points = [(x0 + (x1 - x0) * (start + i) / max(1, count - 1), y0 + (y1 - y0) * v / top_value)
              for i, v in enumerate(values)]
    draw.line(points, fill=colour, width=2)
    for x, y in points:
        draw.ellipse([x - 2, y - 2, x + 2, y + 2], fill=colour)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sequence", type=Path, help="one of make_sequences.py's folders")
    parser.add_argument("target", type=Path)
    parser.add_argument("--frames", type=int)
    parser.add_argument("--cache", type=Path)
    args = parser.parse_args()
    if not (args.sequence / "frames").is_dir():
        print(f"skipped: {args.sequence} is not there")
        return 0
    results, truth = mattes(args.sequence, args.frames, args.cache)
    # where the subject did not change (the truth stays within 0.05) but the per-frame matte did
    chatter = np.abs(np.diff(results["per-frame"], axis=0)).sum(0)
    chatter[np.ptp(truth, axis=0) > 0.05] = -1
    row, col = np.unravel_index(int(chatter.argmax()), chatter.shape)
    sheet = Image.new("RGB", (2 * PANEL[0], PANEL[1] + 24), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    axes(draw, 0, f"alpha of pixel ({col}, {row}) over time", 1.0, "alpha")
    curve(draw, 0, truth[:, row, col], 1.0, COLOURS["truth"])
    terms = {mode: np.sqrt(((np.diff(a, axis=0) - np.diff(truth, axis=0)) ** 2).sum((1, 2)))
             for mode, a in results.items()}
    top = float(max(t.max() for t in terms.values())) * 1.1
    axes(draw, PANEL[0], "dtSSD term per frame (lower: steadier)", round(top), "")
    for mode in ("per-frame", "sequence"):
        curve(draw, 0, results[mode][:, row, col], 1.0, COLOURS[mode])
        curve(draw, PANEL[0], terms[mode], top, COLOURS[mode], start=1, frames=len(truth))
    for i, (name, colour) in enumerate(COLOURS.items()):
        draw.rectangle([MARGIN + 150 * i, PANEL[1] + 6, MARGIN + 150 * i + 14, PANEL[1] + 18], fill=colour)
        draw.text((MARGIN + 150 * i + 20, PANEL[1] + 6), name if name != "sequence" else "sequence mode",
                  fill=(0, 0, 0))
    sheet.save(args.target, optimize=True)
    print(f"{args.target}: pixel ({col}, {row}); mean dtSSD per-frame {terms['per-frame'].mean():.1f}, "
          f"sequence {terms['sequence'].mean():.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
