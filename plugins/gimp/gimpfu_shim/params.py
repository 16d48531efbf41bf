"""gimpfu's PF_* parameter types and how each maps to a GIMP 3 procedure argument (pure data)."""
from __future__ import annotations

PF_INT8, PF_INT16, PF_INT32, PF_INT = 0, 1, 2, 3
PF_FLOAT = 4
PF_STRING, PF_TEXT = 5, 6
PF_COLOR = PF_COLOUR = 7
PF_IMAGE, PF_LAYER, PF_CHANNEL, PF_DRAWABLE = 8, 9, 10, 11
PF_TOGGLE = PF_BOOL = 12
PF_SLIDER, PF_SPINNER, PF_ADJUSTMENT = 13, 14, 14
PF_FONT, PF_FILE, PF_FILENAME, PF_DIRNAME = 15, 16, 16, 17
PF_OPTION, PF_RADIO = 18, 19

INTEGER_TYPES = (PF_INT8, PF_INT16, PF_INT32, PF_INT)
NUMBER_RANGES = {PF_INT8: (0, 255), PF_INT16: (-32768, 32767), PF_INT32: (-2**31, 2**31 - 1),
                 PF_INT: (-2**31, 2**31 - 1), PF_FLOAT: (-1e12, 1e12)}


def argument_name(name: str) -> str:
    """gimpfu names ('blur_radius') become GIMP 3 property names ('blur-radius')."""
    return name.replace("_", "-").lower()


def number_bounds(kind: int, extra) -> tuple:
    """(min, max) for a numeric parameter: a slider's/spinner's own range, else the type's."""
    if kind in (PF_SLIDER, PF_SPINNER) and extra:
        return float(extra[0]), float(extra[1])
    return NUMBER_RANGES.get(kind, (-1e12, 1e12))


def split_menu(label: str, menu: str | None) -> tuple:
    """gimpfu accepted either menu='<Image>/Filters/X' plus a label, or a label that is a path."""
    if menu:
        return menu, label.split("/")[-1]
    if label.startswith("<"):
        path, _, leaf = label.rpartition("/")
        return path, leaf
    return None, label


def option_values(kind: int, extra) -> list:
    """(nick, index, label) for PF_OPTION (a list of labels) and PF_RADIO ((label, value) pairs)."""
    if kind == PF_RADIO:
        return [(f"choice-{i}", i, str(label)) for i, (label, _value) in enumerate(extra)]
    return [(f"choice-{i}", i, str(label)) for i, label in enumerate(extra)]
