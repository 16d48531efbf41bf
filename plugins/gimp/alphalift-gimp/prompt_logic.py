"""The prompt GIMP users draw, as the worker wants it (no GIMP import, so ordinary pytest covers it).

The selection's bounds are the box; the anchors of paths named "AlphaLift include" / "AlphaLift
exclude" (any case, GIMP's " #1" suffix for a repeated name allowed) are include / exclude points.
GIMP gives both in image coordinates; the worker sees only the layer, so both are moved by the
layer's offsets. Anything off the layer is refused before the image is touched.
"""
from __future__ import annotations

import re
from typing import Iterable, Optional, Sequence, Tuple

Point = Tuple[float, float]
Box = Tuple[float, float, float, float]

INCLUDE_PATH = "AlphaLift include"
EXCLUDE_PATH = "AlphaLift exclude"
_ROLE = re.compile(r"alphalift (include|exclude)(?: #\d+)?", re.IGNORECASE)


class PromptSourceError(Exception):
    """A selection or path that cannot be a prompt for this layer; one line saying what to do."""


def path_role(name: str) -> Optional[str]:
    """"include" or "exclude" for a prompt path's name, None for any other path."""
    match = _ROLE.fullmatch(name.strip())
    return match.group(1).lower() if match else None


def bezier_anchors(points: Sequence[float]) -> list:
    """The anchors of a Bezier stroke from its control points, which come as (handle in, anchor,
    handle out) triples of x, y: the middle pair of every six numbers."""
    return [(float(points[i + 2]), float(points[i + 3])) for i in range(0, len(points) - 5, 6)]


def layer_points(paths: Iterable[Tuple[str, Sequence[Point]]], offsets: Tuple[int, int],
                 size: Tuple[int, int], layer: str = "the layer") -> Tuple[list, list]:
    """(include, exclude) in layer pixels from (path name, anchors in image pixels) pairs."""
    found = {"include": [], "exclude": []}
    for name, anchors in paths:
        role = path_role(name)
        if role is None:
            continue
        for x, y in anchors:
            lx, ly = x - offsets[0], y - offsets[1]
            if not (0 <= lx < size[0] and 0 <= ly < size[1]):
                raise PromptSourceError(
                    f"Path “{name}” has an anchor at {x:g},{y:g}, outside {_named(layer)} "
                    f"({size[0]}x{size[1]} at {offsets[0]},{offsets[1]}). Move the anchor onto the "
                    "layer or delete it.")
            found[role].append((lx, ly))
    return found["include"], found["exclude"]


def selection_box(bounds: Tuple[int, int, int, int], offsets: Tuple[int, int], size: Tuple[int, int],
                  layer: str = "the layer") -> Optional[Box]:
    """The selection's bounds (image pixels, x1 and y1 exclusive) as a box in layer pixels,
    clipped to the layer; None when it covers the whole layer (no box to give)."""
    x0 = max(0, bounds[0] - offsets[0])
    y0 = max(0, bounds[1] - offsets[1])
    x1 = min(size[0], bounds[2] - offsets[0])
    y1 = min(size[1], bounds[3] - offsets[1])
    if x1 <= x0 or y1 <= y0:
        raise PromptSourceError(f"The selection does not overlap {_named(layer)}. Select part of the "
                                "layer, or Select > None.")
    if (x0, y0, x1, y1) == (0, 0, size[0], size[1]):
        return None
    return float(x0), float(y0), float(x1), float(y1)


def _named(layer: str) -> str:
    return layer if layer == "the layer" else f"layer “{layer}”"
