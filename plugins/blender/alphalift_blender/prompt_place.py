"""What the user says the subject is, in Blender's own terms, as the worker's "prompt" in pixels.

The box is Blender's Box Mask node's (measured in bpy 4.2 and 5.0): X and Y place its centre as
fractions of the image (Y up), Width and Height are both fractions of the image's *width*, so a
Box Mask node given the same numbers shows the same box over the image. Points are the spline
points of a Mask datablock's layers named "include" and "exclude" (any case); a point's co is in
Blender's mask space: fractions of the image's longer side about its centre, Y up (so the Image
Editor's Mask mode, drawn over the image, places them where they are seen). The worker takes
both in pixels of the image as seen: origin top-left, y down.

Pure Python (no bpy; the Mask is read by attribute), so it is unit-tested
in ordinary pytest. A problem is a ValueError whose words are for the user.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

Box = Tuple[float, float, float, float]
Point = Tuple[float, float]
ROLES = ("include", "exclude")


def box_pixels(x: float, y: float, width: float, height: float, image_width: int,
               image_height: int) -> Box:
    """Box Mask's relative box as pixels (x0, y0, x1, y1), cut at the image's edges."""
    centre_x, centre_y = x * image_width, (1.0 - y) * image_height
    half_width, half_height = width * image_width / 2.0, height * image_width / 2.0
    x0, x1 = max(0.0, centre_x - half_width), min(float(image_width), centre_x + half_width)
    y0, y1 = max(0.0, centre_y - half_height), min(float(image_height), centre_y + half_height)
    if not (x0 < x1 and y0 < y1):
        raise ValueError(f"The AlphaLift box (X {x:g}, Y {y:g}, Width {width:g}, Height {height:g}) "
                         "lies off the image; move it onto the subject or turn Use Box off.")
    return tidy(x0), tidy(y0), tidy(x1), tidy(y1)


def tidy(value: float) -> float:
    """A coordinate to a thousandth of a pixel: Blender's float32 values carry noise past that,
    which would make the same box a new cache key."""
    return round(value, 3) + 0.0  # + 0.0: no -0.0


def mask_point_pixels(co: Tuple[float, float], image_width: int, image_height: int) -> Point:
    """A mask point's co as pixels of an ``image_width`` x ``image_height`` image."""
    side = max(image_width, image_height)
    return tidy(image_width / 2.0 + (co[0] - 0.5) * side), tidy(image_height / 2.0 - (co[1] - 0.5) * side)


def mask_points(mask: Any, image_width: int, image_height: int) -> Tuple[List[Point], List[Point]]:
    """The include and exclude points of ``mask`` (every spline point of its layers named so)."""
    found: Dict[str, List[Point]] = {role: [] for role in ROLES}
    roles = 0
    for layer in mask.layers:
        role = layer.name.strip().lower()
        if role not in found:
            continue
        roles += 1
        for spline in layer.splines:
            for point in spline.points:
                x, y = mask_point_pixels(tuple(point.co), image_width, image_height)
                if not (0 <= x < image_width and 0 <= y < image_height):
                    raise ValueError(f"Mask \u201c{mask.name}\u201d, layer \u201c{layer.name}\u201d: a point "
                                     f"lies off the image (at {x:.0f}, {y:.0f} of {image_width}x"
                                     f"{image_height} pixels); move it onto the image or delete it.")
                found[role].append((x, y))
    if not roles:
        raise ValueError(f"Mask \u201c{mask.name}\u201d has no layer named include or exclude; name "
                         "the layer of points on the subject include, the one off it exclude.")
    return found["include"], found["exclude"]


def prompt_of(box: Optional[Sequence[float]], mask: Optional[Any], image_width: int,
              image_height: int) -> Optional[Dict]:
    """The worker's prompt from ``box`` (Box Mask's x, y, width, height, or None) and ``mask``
    (or None); None when neither says anything."""
    pixels = box_pixels(*box, image_width, image_height) if box is not None else None
    include, exclude = mask_points(mask, image_width, image_height) if mask is not None else ([], [])
    if pixels is None and not include and not exclude:
        return None
    return {"box": None if pixels is None else list(pixels),
            "include": [list(p) for p in include], "exclude": [list(p) for p in exclude]}
