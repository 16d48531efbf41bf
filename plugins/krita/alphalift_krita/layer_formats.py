"""Which worker pixel format matches a Krita layer, and which layers AlphaLift can work on.

Pure logic (no Krita import), so it is unit-tested in ordinary pytest.
"""
from typing import Tuple

# Krita's integer RGB spaces store B,G,R,A; its float spaces store R,G,B,A (half or single).
WORKER_FORMATS = {
    ("RGBA", "U8"): "BGRA8", ("RGBA", "U16"): "BGRA16",
    ("RGBA", "F16"): "RGBAH", ("RGBA", "F32"): "RGBAF",
    ("GRAYA", "U8"): "LA8", ("GRAYA", "U16"): "LA16",
    ("GRAYA", "F16"): "LAH", ("GRAYA", "F32"): "LAF",
}
MODEL_NAMES = {"CMYKA": "CMYK", "LABA": "L*a*b*", "XYZA": "XYZ", "YCbCrA": "YCbCr"}
LAYER_KINDS = {"grouplayer": "group layer", "vectorlayer": "vector layer", "filelayer": "file layer",
               "filllayer": "fill layer", "clonelayer": "clone layer",
               "adjustmentlayer": "filter layer", "colorizemask": "colorize mask"}


class Refusal(Exception):
    """Why AlphaLift will not touch this layer, in words for the docker's message line."""


def worker_format(color_model: str, color_depth: str, profile: str) -> Tuple[str, bool]:
    """(worker pixel format, values are linear light) for a layer's colour space."""
    found = WORKER_FORMATS.get((color_model, color_depth))
    if found is None:
        space = MODEL_NAMES.get(color_model, color_model)
        raise Refusal(f"AlphaLift works on RGB and grayscale layers; this layer is {space} "
                      f"({color_depth}). Convert it with Layer > Convert > Convert Layer Color Space "
                      "to RGB/Alpha, then run AlphaLift again.")
    lowered = profile.lower()
    return found, "g10" in lowered or "linear" in lowered


def check_layer_kind(node_type: str, name: str) -> None:
    if node_type != "paintlayer":
        kind = LAYER_KINDS.get(node_type, node_type)
        raise Refusal(f"AlphaLift works on paint layers; \u201c{name}\u201d is a {kind}. Pick a paint "
                      "layer, or convert this one with Layer > Convert > to Paint Layer.")

