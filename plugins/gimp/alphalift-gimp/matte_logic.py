"""Pure helpers for the GIMP plug-in (no GIMP import, so ordinary pytest covers them)."""
from __future__ import annotations


def float_encoding_for(drawable_encoding: str) -> str:
    """The float Babl encoding with the same gamma as a mask or channel's own encoding.

    The worker sends the matte as float; written as "Y float" into a "Y u8" mask (or "Y' float"
    into "Y' u8"), GEGL only rounds, never applies a gamma curve, so 0.5 arrives as 128.
    """
    model = drawable_encoding.split()[0] if drawable_encoding.strip() else "Y"
    return "Y' float" if model.startswith("Y'") else "Y float"


def model_caption(models: list, requested: "str | None" = None) -> str:
    """"name (licence)" of the model a run uses, from the worker's catalogue (hello's models)."""
    chosen = next((m for m in models if (m.get("name") == requested if requested else m.get("default"))),
                  None)
    if chosen is None:
        return requested or "the default model"
    return f"{chosen['name']} ({chosen.get('licence', 'licence unknown')})"


def visible_part(data: bytes, bytes_per_pixel: int, width: int, height: int, offset_x: int,
                 offset_y: int, canvas_width: int, canvas_height: int):
    """The part of a layer-sized pixel block that lies on the canvas, as
    (x, y, width, height, bytes) in canvas coordinates, or None if none of it does."""
    left, top = max(0, offset_x), max(0, offset_y)
    right = min(canvas_width, offset_x + width)
    bottom = min(canvas_height, offset_y + height)
    if right <= left or bottom <= top:
        return None
    stride = width * bytes_per_pixel
    start = (left - offset_x) * bytes_per_pixel
    end = (right - offset_x) * bytes_per_pixel
    rows = [data[row * stride + start: row * stride + end]
            for row in range(top - offset_y, bottom - offset_y)]
    return left, top, right - left, bottom - top, b"".join(rows)
