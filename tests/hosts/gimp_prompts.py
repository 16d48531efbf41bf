# Runs inside real GIMP 3: gimp-console-3.0 -i --quit --batch-interpreter python-fu-eval -b - < this
# Draws prompts the GIMP way (a rectangle selection, paths named "AlphaLift include/exclude") on
# $ALPHALIFT_TEST_DIR/discs.png (two red discs), runs AlphaLift, and dumps what happened as raw files.
import json
import os
import sys

from gi.repository import Gegl, Gimp, Gio

folder = os.environ["ALPHALIFT_TEST_DIR"]
sys.path.insert(0, folder)
from gimp_procedures import run  # noqa: E402  (copied beside this script)
OFFSET = (30, 20)  # the layer sits here on a larger canvas: image and layer pixels differ
report = {}


def discs():
    """discs.png as a layer at OFFSET on a canvas 60x40 larger, the image marked clean."""
    source = Gio.File.new_for_path(os.path.join(folder, "discs.png"))
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, source)
    image.resize(image.get_width() + 2 * OFFSET[0], image.get_height() + 2 * OFFSET[1], *OFFSET)
    image.clean_all()
    return image, image.get_layers()[0]


def draw_path(image, name, *anchors):
    """A path through the anchors (image pixels), its handles pulled off them as a user's drag does."""
    path = Gimp.Path.new(image, name)
    image.insert_path(path, None, 0)
    stroke = path.bezier_stroke_new_moveto(*anchors[0])
    for x, y in anchors[1:]:
        path.bezier_stroke_cubicto(stroke, x - 15, y + 9, x + 12, y - 7, x, y)
    image.clean_all()


def dump(drawable, name, fmt=None):
    if fmt is None:  # masks and channels as float in their own gamma, so values are not converted
        import gi

        gi.require_version("Babl", "0.1")
        from gi.repository import Babl

        fmt = "Y' float" if Babl.format_get_encoding(drawable.get_format()).startswith("Y'") else "Y float"
    rect = Gegl.Rectangle.new(0, 0, drawable.get_width(), drawable.get_height())
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(bytes(drawable.get_buffer().get(rect, 1.0, fmt, Gegl.AbyssPolicy.NONE)))
    return [drawable.get_width(), drawable.get_height()]


def record(key, image, layer, status):
    report[key] = {"status": status, "offsets": list(layer.get_offsets()[1:]),
                   "mask": layer.get_mask() is not None, "dirty": image.is_dirty(),
                   "size": dump(layer, f"{key}.rgba", "R'G'B'A u8")}
    if layer.get_mask() is not None:
        dump(layer.get_mask(), f"{key}.mask")


try:
    # An exclude path's anchor on the right disc (350,160 in the layer); another path is ignored.
    image, layer = discs()
    draw_path(image, "Outline", (1.0, 1.0), (2000.0, 2000.0))
    draw_path(image, "AlphaLift exclude", (350.0 + OFFSET[0], 160.0 + OFFSET[1]))
    record("exclude", image, layer, run("plug-in-alphalift-remove-background", image, [layer]))

    # The same path, with use-point-paths off: the automatic cut-out.
    record("paths_off", image, layer, run("plug-in-alphalift-remove-background", image, [layer],
                                          **{"use-point-paths": False, "replace-mask": True}))

    # A rectangle selection around the left disc (40,60 - 230,260 in the layer).
    image, layer = discs()
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 40 + OFFSET[0], 60 + OFFSET[1], 190, 200)
    record("box_remove", image, layer, run("plug-in-alphalift-remove-background", image, [layer]))
    image.select_rectangle(Gimp.ChannelOps.REPLACE, 40 + OFFSET[0], 60 + OFFSET[1], 190, 200)
    report["box_select"] = run("plug-in-alphalift-select-subject", image, [layer])
    selection = Gimp.Selection.save(image)
    report["box_select_size"] = dump(selection, "box_select.selection")

    # An include anchor in the canvas margin, off the layer: refused, nothing changed.
    image, layer = discs()
    draw_path(image, "alphalift INCLUDE", (130.0 + OFFSET[0], 160.0 + OFFSET[1]), (5.0, 5.0))
    record("off_layer", image, layer, run("plug-in-alphalift-remove-background", image, [layer]))
except Exception:  # recorded for the test; never a modal dialog
    import traceback
    report["exception"] = traceback.format_exc()

with open(os.path.join(folder, "report.json"), "w") as handle:
    json.dump(report, handle, default=str)
