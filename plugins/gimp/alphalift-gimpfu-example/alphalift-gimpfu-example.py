#!/usr/bin/env python3
# A classic gimpfu-style script, unchanged but for its import line: it runs on GIMP 3 through
# AlphaLift's gimpfu shim. It fills the active layer with a colour, renames it and sets its
# opacity: enough to exercise image, drawable, colour, slider, toggle, option and string params.
from gimpfu_shim import *


def colour_wash(image, drawable, colour, opacity, rename, new_name, fill_kind):
    pdb.gimp_context_push()
    pdb.gimp_context_set_foreground(colour)
    fill = [FILL_FOREGROUND, FILL_WHITE][fill_kind]
    pdb.gimp_drawable_edit_fill(drawable, fill)
    pdb.gimp_context_pop()
    drawable.set_opacity(opacity)
    if rename:
        drawable.set_name(new_name)
    gimp.message("Colour wash done")


register(
    "python_fu_alphalift_colour_wash",
    "Fill the layer with a colour",
    "A gimpfu-style example plug-in running on GIMP 3 through AlphaLift's gimpfu shim.",
    "AlphaLift developers", "GPL-3.0-or-later", "2026",
    "<Image>/Filters/AlphaLift/Examples/Colour Wash (gimpfu)",
    "RGB*, GRAY*",
    [
        (PF_IMAGE, "image", "Input image", None),
        (PF_DRAWABLE, "drawable", "Input drawable", None),
        (PF_COLOR, "colour", "Colour", (255, 0, 0)),
        (PF_SLIDER, "opacity", "Opacity", 100, (0, 100, 1)),
        (PF_TOGGLE, "rename", "Rename the layer", False),
        (PF_STRING, "new_name", "New name", "Washed"),
        (PF_OPTION, "fill_kind", "Fill with", 0, ["Colour", "White"]),
    ],
    [],
    colour_wash,
)

main()
