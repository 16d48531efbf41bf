#!/usr/bin/env python3
"""The README's picture: a fur edge cut out plain vs refined, on a saturated backdrop.

    python benchmarks/make_readme_picture.py benchmarks/fur-plain-vs-refined.png

The photo is scikit-image's `chelsea` (CC0), fetched at run time.
"""
from __future__ import annotations

import sys

from PIL import Image, ImageDraw


def main(target: str) -> int:
    import skimage.data

    import alphalift

    photo = skimage.data.chelsea()
    backdrop = (255, 0, 200)
    panels = []
    for refine, label in ((False, "plain model mask"), (True, "AlphaLift refined")):
        cutout = alphalift.remove_background(photo, refine=refine)
        panel = Image.fromarray(cutout.composite(backdrop)).crop((250, 0, 451, 200)).resize((400, 400))
        ImageDraw.Draw(panel).text((10, 10), label, fill=(255, 255, 255))
        panels.append(panel)
    sheet = Image.new("RGB", (810, 400), (255, 255, 255))
    sheet.paste(panels[0], (0, 0))
    sheet.paste(panels[1], (410, 0))
    sheet.save(target, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
