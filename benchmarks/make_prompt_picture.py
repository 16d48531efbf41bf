#!/usr/bin/env python3
"""The README's prompt picture: the automatic cut-out beside one box and one click.

    python benchmarks/make_prompt_picture.py benchmarks/prompt-box-and-click.png

The photo is scikit-image's `astronaut` (CC0), fetched at run time. Automatically, the model takes
the astronaut and the helmet she holds as one subject; a box around her and an exclude click on
the helmet say it is her alone. Each panel is the cut-out over a flat backdrop, with the box and
the click drawn on the second.
"""
from __future__ import annotations

import sys

from PIL import Image, ImageDraw

BOX = (10, 8, 330, 512)
EXCLUDE = (310, 450)
BACKDROP = (40, 170, 90)


def panel(cutout, label: str, box=None, exclude=None) -> Image.Image:
    image = Image.fromarray(cutout.composite(BACKDROP))
    draw = ImageDraw.Draw(image)
    if box is not None:
        draw.rectangle(box, outline=(255, 220, 0), width=3)
    if exclude is not None:
        x, y = exclude
        draw.ellipse((x - 9, y - 9, x + 9, y + 9), fill=(230, 30, 30), outline=(255, 255, 255), width=2)
        draw.line((x - 4, y, x + 4, y), fill=(255, 255, 255), width=2)  # minus: an exclude point
    draw.rectangle((0, 0, 8 + 6 * len(label), 22), fill=(0, 0, 0))
    draw.text((5, 5), label, fill=(255, 255, 255))
    return image


def main(target: str) -> int:
    import skimage.data

    import alphalift

    photo = skimage.data.astronaut()
    automatic = alphalift.remove_background(photo)
    prompted = alphalift.remove_background(photo, box=BOX, exclude=[EXCLUDE])
    panels = [panel(automatic, "automatic"),
              panel(prompted, "box + exclude click", box=BOX, exclude=EXCLUDE)]
    width, height = panels[0].size
    sheet = Image.new("RGB", (2 * width + 10, height), (255, 255, 255))
    sheet.paste(panels[0], (0, 0))
    sheet.paste(panels[1], (width + 10, 0))
    sheet.save(target, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
