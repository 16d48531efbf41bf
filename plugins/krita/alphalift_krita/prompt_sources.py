"""Where a Krita user says what the subject is: the selection's bounds (the box) and shapes drawn
on two vector layers, "AlphaLift include" and "AlphaLift exclude" (each shape's centre a point).

Pure logic over Krita API objects (no Krita import), so it is unit-tested against a typed mock.
Everything returned is in the target layer's pixels (origin at its bounds' top-left, y down), the
image the worker is sent.
"""
from typing import Any, Iterator, List, Optional, Tuple

from .layer_formats import Refusal

INCLUDE_LAYER = "AlphaLift include"
EXCLUDE_LAYER = "AlphaLift exclude"
POINTS_LAYERS = (INCLUDE_LAYER, EXCLUDE_LAYER)
COLOUR_LABELS = {INCLUDE_LAYER: 2, EXCLUDE_LAYER: 6}  # Krita's green and red layer labels
POINTS_PER_INCH = 72.0  # vector shapes are measured in points, whatever the image's resolution

Box = Tuple[int, int, int, int]
Point = Tuple[float, float]


def selection_box(selected: bytes, width: int, height: int, layer_name: str) -> Optional[Box]:
    """The bounds (x0, y0, x1, y1, x1/y1 exclusive) of the selected pixels over the layer.

    None when every edge of the layer is reached: the box would say nothing. A selection that
    misses the layer entirely would leave nothing to cut out, so it is refused.
    """
    rows = [r for r in range(height) if selected[r * width:(r + 1) * width].strip(b"\0")]
    if not rows:
        raise Refusal(f"The selection does not touch \u201c{layer_name}\u201d. Select part of the "
                      "layer (the box the subject is in), or deselect with Select > Deselect.")
    left, right = width, 0
    for r in rows:
        row = selected[r * width:(r + 1) * width]
        left = min(left, width - len(row.lstrip(b"\0")))
        right = max(right, len(row.rstrip(b"\0")))
    box = (left, rows[0], right, rows[-1] + 1)
    return None if box == (0, 0, width, height) else box


def walk(node: Any) -> Iterator[Any]:
    for child in node.childNodes():
        yield child
        yield from walk(child)


def points_layers(document: Any, name: str) -> List[Any]:
    """Every vector layer of the document called ``name``, in groups too."""
    return [n for n in walk(document.rootNode()) if n.type() == "vectorlayer" and n.name() == name]


def is_points_layer(node: Any) -> bool:
    return node is not None and node.type() == "vectorlayer" and node.name() in POINTS_LAYERS


def shape_centres(shapes: List[Any]) -> Iterator[Tuple[float, float]]:
    """Centres of the shapes in points; a group's members count one by one."""
    for shape in shapes:
        if shape.type() == "groupshape":  # (every Shape is a QObject with children(): ask its type)
            yield from shape_centres(shape.children())
            continue
        box = shape.boundingBox()
        yield box.x() + box.width() / 2, box.y() + box.height() / 2


def layer_points(document: Any, name: str, x: int, y: int, width: int, height: int,
                 layer_name: str) -> List[Point]:
    """The centres of the shapes on the ``name`` layers, in the target layer's pixels."""
    scale = document.resolution() / POINTS_PER_INCH
    found: List[Point] = []
    for layer in points_layers(document, name):
        for cx, cy in shape_centres(layer.shapes()):
            px, py = cx * scale - x, cy * scale - y
            if not (0 <= px < width and 0 <= py < height):
                raise Refusal(f"A shape on \u201c{name}\u201d is centred outside \u201c{layer_name}\u201d "
                              f"({cx * scale:.0f}, {cy * scale:.0f} in the image). Move it onto the "
                              "layer or delete it.")
            found.append((px, py))
    return found


def add_points_layer(document: Any, name: str) -> Any:
    """The ``name`` points layer, made on top of the document if missing, made active to draw on."""
    existing = points_layers(document, name)
    if existing:
        layer = existing[0]
    else:
        layer = document.createVectorLayer(name)
        layer.setColorLabel(COLOUR_LABELS[name])
        document.rootNode().addChildNode(layer, None)  # None: on top of the stack
    document.setActiveNode(layer)
    return layer


def same_node(a: Any, b: Any) -> bool:
    """Krita hands out a new wrapper for every call: compare the nodes' ids, not the wrappers."""
    if a is None or b is None:
        return a is b
    return a is b or (hasattr(a, "uniqueId") and a.uniqueId() == b.uniqueId())


def same_document(a: Any, b: Any) -> bool:
    return a is not None and b is not None and (a is b or same_node(a.rootNode(), b.rootNode()))


def layer_below(node: Any) -> Any:
    """The nearest paint layer under a points layer among its siblings, or None."""
    siblings = node.parentNode().childNodes() if node.parentNode() is not None else []
    index = next((i for i, sibling in enumerate(siblings) if same_node(sibling, node)), 0)
    return next((s for s in reversed(siblings[:index]) if s.type() == "paintlayer"), None)
