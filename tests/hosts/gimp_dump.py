# Runs inside real GIMP 3: reopens the XCFs the batch saved and dumps their pixels as raw files.
import json
import os

from gi.repository import Gegl, Gimp, Gio

folder = os.environ["ALPHALIFT_TEST_DIR"]
dump = {}


def own_float(drawable):
    """Read masks and channels as float in their own gamma, so values are not converted."""
    import gi

    gi.require_version("Babl", "0.1")
    from gi.repository import Babl

    encoding = Babl.format_get_encoding(drawable.get_format())
    return "Y' float" if encoding.startswith("Y'") else "Y float"


def raw(drawable, fmt, name, x=0, y=0, width=None, height=None):
    width = width or drawable.get_width()
    height = height or drawable.get_height()
    data = bytes(drawable.get_buffer().get(Gegl.Rectangle.new(x, y, width, height), 1.0, fmt,
                                           Gegl.AbyssPolicy.NONE))
    with open(os.path.join(folder, name), "wb") as handle:
        handle.write(data)
    return [width, height]


for xcf in ("result.xcf", "offset.xcf", "gimpfu.xcf", "selection.xcf", "gray.xcf",
            "U16_NON_LINEAR.xcf", "FLOAT_LINEAR.xcf"):
    path = os.path.join(folder, xcf)
    if not os.path.exists(path):
        continue
    image = Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))
    entry = {"layers": []}
    for index, layer in enumerate(image.get_layers()):
        info = {"name": layer.get_name(), "offsets": list(layer.get_offsets()[1:]),
                "size": raw(layer, "R'G'B'A u8", f"{xcf}.layer{index}.rgba"),
                "opacity": layer.get_opacity(), "mask": layer.get_mask() is not None}
        if layer.get_mask() is not None:
            raw(layer.get_mask(), own_float(layer.get_mask()), f"{xcf}.layer{index}.mask")
        entry["layers"].append(info)
    for channel in image.get_channels():
        if channel.get_name() == "subject-selection":
            raw(channel, own_float(channel), f"{xcf}.selection")
            entry["selection"] = [channel.get_width(), channel.get_height()]
    dump[xcf] = entry

with open(os.path.join(folder, "dump.json"), "w") as handle:
    json.dump(dump, handle)
