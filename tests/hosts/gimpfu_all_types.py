#!/usr/bin/env python3
# Test-only gimpfu-style script (copied into GIMP by tests/hosts/test_gimp.py): registers every
# PF_* type the shim maps and writes the values it receives to a JSON file.
import json

from gimpfu_shim import *


def record(image, drawable, count, ratio, steps, text, tone, flag, choice, source, folder, colour, target):
    values = {"count": count, "ratio": ratio, "steps": steps, "text": text, "tone": tone,
              "flag": flag, "choice": choice, "source": source, "folder": folder,
              "colour": list(colour.get_rgba()), "drawable": drawable.get_name(),
              "width": image.get_width()}
    with open(target, "w") as handle:
        json.dump(values, handle)


register(
    "python_fu_alphalift_all_types", "Record parameters", "Shim test", "AlphaLift", "GPL-3.0-or-later",
    "2026", "<Image>/Filters/AlphaLift/Examples/All Types", "*",
    [(PF_IMAGE, "image", "Image", None), (PF_DRAWABLE, "drawable", "Drawable", None),
     (PF_INT, "count", "Count", 3), (PF_FLOAT, "ratio", "Ratio", 0.5),
     (PF_SPINNER, "steps", "Steps", 4, (0, 10, 1)), (PF_TEXT, "text", "Text", "hello"),
     (PF_RADIO, "tone", "Tone", "warm", (("Warm", "warm"), ("Cold", "cold"))),
     (PF_BOOL, "flag", "Flag", True), (PF_OPTION, "choice", "Choice", 1, ["A", "B", "C"]),
     (PF_FILE, "source", "Source", ""), (PF_DIRNAME, "folder", "Folder", "/tmp"),
     (PF_COLOUR, "colour", "Colour", (0, 0, 255)), (PF_STRING, "target", "Target", "/tmp/out.json")],
    [], record)

main()
