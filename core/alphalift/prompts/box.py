"""What the model sees for a box, and which of its answers to believe.

The model is shown the box's window at its own input resolution, widened where the box is very
long and thin (a 4:1 strip squeezed into a square input greys the model's answer). Zoomed in, a
saliency model may pick another subject than it did in the whole photo (a woman alone where the
photo's subject was the woman, her boat and its parasol). The box says more than "in here": a
user draws it around the subject, so the subject reaches across it. Of the zoomed answer and the
whole photo's answer, the one whose subject best fills the box wins (the tightness prior of
Lempitsky et al., 2009, used as a choice between two candidates).
"""
from __future__ import annotations

import numpy as np

from . import Box
from .window import Window, box_window

MAX_ASPECT = 1.5  # the longest side the model's view may have, in multiples of the shortest


def model_window(box: Box, width: int, height: int, max_aspect: float = MAX_ASPECT) -> Window:
    """The pixels shown to the model for ``box``: the box, its short side widened about its centre
    (within the image) until the long side is at most ``max_aspect`` times the short."""
    x0, y0, x1, y1 = box
    across, down = x1 - x0, y1 - y0
    if across > max_aspect * down:
        grow = (across / max_aspect - down) / 2
        y0, y1 = y0 - grow, y1 + grow
    elif down > max_aspect * across:
        grow = (down / max_aspect - across) / 2
        x0, x1 = x0 - grow, x1 + grow
    return box_window((x0, y0, x1, y1), width, height)


def box_filling(probability: np.ndarray, window: Window) -> float:
    """How well the subject (probability > 0.5) inside ``window`` spans it: the overlap of its
    bounding box with the window, over their union (0 when there is no subject)."""
    left, top, right, bottom = window
    subject = probability[top:bottom, left:right] > 0.5
    rows, cols = np.flatnonzero(subject.any(axis=1)), np.flatnonzero(subject.any(axis=0))
    if rows.size == 0:
        return 0.0
    extent = (cols[-1] + 1 - cols[0]) * (rows[-1] + 1 - rows[0])
    return float(extent) / float((right - left) * (bottom - top))


def believed(zoomed: np.ndarray, whole: np.ndarray, window: Window) -> np.ndarray:
    """Of two whole-image probabilities, the one whose subject fills the box ``window`` better;
    the zoomed view (more model pixels) on a tie."""
    return whole if box_filling(whole, window) > box_filling(zoomed, window) + 0.01 else zoomed
