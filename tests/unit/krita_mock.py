"""A typed mock of the part of Krita's Python API (libkis) that AlphaLift's Krita plug-in uses.

Method names and argument orders follow libkis (Document, Node, Selection); pixels are kept as
bytes exactly as Krita hands them over (one byte a pixel for selections and masks). Behaviour that
matters to the plug-in is modelled: nodes outside the document have no parent, masks hold a
selection, `undo_steps` counts what Krita would record as undo commands.
"""
from __future__ import annotations

from typing import List, Optional


class Rect:
    def __init__(self, x: int, y: int, width: int, height: int) -> None:
        self._x, self._y, self._width, self._height = x, y, width, height

    def x(self) -> int:
        return self._x

    def y(self) -> int:
        return self._y

    def width(self) -> int:
        return self._width

    def height(self) -> int:
        return self._height


class RectF:
    """QRectF: floating-point x, y, width, height (shape geometry is in points)."""

    def __init__(self, x: float, y: float, width: float, height: float) -> None:
        self._x, self._y, self._width, self._height = x, y, width, height

    def x(self) -> float:
        return self._x

    def y(self) -> float:
        return self._y

    def width(self) -> float:
        return self._width

    def height(self) -> float:
        return self._height


class Shape:
    """libkis Shape: geometry in points (1/72 inch) in document coordinates, as Krita keeps it."""

    def __init__(self, name: str, box_pt: tuple[float, float, float, float],
                 shape_type: str = "KoPathShape") -> None:
        self._name, self._box, self._type = name, box_pt, shape_type

    def name(self) -> str:
        return self._name

    def type(self) -> str:
        return self._type

    def boundingBox(self) -> RectF:
        return RectF(*self._box)

    def children(self) -> list:
        """QObject.children(): every libkis Shape has it (empty), not only groups."""
        return []


class GroupShape(Shape):
    """libkis GroupShape: a shape whose children() are shapes."""

    def __init__(self, name: str, shapes: List[Shape]) -> None:
        super().__init__(name, (0.0, 0.0, 0.0, 0.0), "groupshape")
        self._children = shapes

    def children(self) -> List[Shape]:
        return list(self._children)


class Selection:
    """Krita's Selection: an 8-bit plane over the whole image (0 outside what was set)."""

    def __init__(self) -> None:
        self.pixels: dict[tuple[int, int], int] = {}

    def setPixelData(self, data: bytes, x: int, y: int, w: int, h: int) -> None:
        assert len(data) == w * h, "Selection.setPixelData wants one byte a pixel"
        for row in range(h):
            for col in range(w):
                self.pixels[(x + col, y + row)] = data[row * w + col]

    def pixelData(self, x: int, y: int, w: int, h: int) -> bytes:
        return bytes(self.pixels.get((x + c, y + r), 0) for r in range(h) for c in range(w))


class Node:
    def __init__(self, name: str, node_type: str = "paintlayer", color_model: str = "RGBA",
                 color_depth: str = "U8", profile: str = "sRGB-elle-V2-srgbtrc.icc",
                 bounds: tuple[int, int, int, int] = (0, 0, 0, 0), pixels: bytes = b"") -> None:
        self._name, self._type = name, node_type
        self._model, self._depth, self._profile = color_model, color_depth, profile
        self._bounds = bounds
        self.pixels = pixels
        self.children: List[Node] = []
        self.parent: Optional[Node] = None
        self.document: Optional[Document] = None
        self.selection: Optional[Selection] = None

    def name(self) -> str:
        return self._name

    def setName(self, name: str) -> None:
        self._name = name

    def type(self) -> str:
        return self._type

    def colorModel(self) -> str:
        return self._model

    def colorDepth(self) -> str:
        return self._depth

    def colorProfile(self) -> str:
        return self._profile

    def setColorSpace(self, model: str, depth: str, profile: str) -> bool:
        self._model, self._depth, self._profile = model, depth, profile
        return True

    def bounds(self) -> Rect:
        return Rect(*self._bounds)

    def pixelData(self, x: int, y: int, w: int, h: int) -> bytes:
        assert (x, y, w, h) == self._bounds, "the plug-in reads exactly the layer's bounds"
        return self.pixels

    def setPixelData(self, data: bytes, x: int, y: int, w: int, h: int) -> None:
        self._bounds, self.pixels = (x, y, w, h), data

    def parentNode(self) -> Optional[Node]:
        return self.parent

    def childNodes(self) -> List[Node]:
        return list(self.children)

    def addChildNode(self, child: Node, above: Optional[Node]) -> bool:
        index = self.children.index(above) + 1 if above is not None else len(self.children)
        self.children.insert(index, child)
        child.parent = self
        if self._in_document():
            self._root().document.undo_steps += 1
        return True

    def setSelection(self, selection: Selection) -> None:  # masks only
        self.selection = selection

    def remove(self) -> bool:
        """Take the node out of its parent: one undo command, as in Krita."""
        if self.parent is None:
            return False
        in_document = self._in_document()
        self.parent.children.remove(self)
        root = self.parent._root()
        self.parent = None
        if in_document:
            root.document.undo_steps += 1
        return True

    def colorLabel(self) -> int:
        return getattr(self, "_label", 0)

    def setColorLabel(self, index: int) -> None:
        self._label = index

    def _root(self) -> Node:
        return self if self.parent is None else self.parent._root()

    def _in_document(self) -> bool:
        return self._root().document is not None


class VectorLayer(Node):
    """A vector layer: its shapes() are what the user drew on it."""

    def __init__(self, name: str, shapes: Optional[List[Shape]] = None) -> None:
        super().__init__(name, "vectorlayer")
        self.shape_list: List[Shape] = list(shapes or [])

    def shapes(self) -> List[Shape]:
        return list(self.shape_list)


class Document:
    """A Krita 5.2 document; Krita51Document lacks createTransparencyMask."""

    def __init__(self, width: int, height: int, layers: List[Node], resolution: int = 72) -> None:
        self._width, self._height, self._resolution = width, height, resolution
        self.root = Node("root", "grouplayer")
        self.root.document = self
        self.root.children = list(layers)
        for layer in layers:
            layer.parent = self.root
        self.active: Optional[Node] = layers[-1] if layers else None
        self.global_selection: Optional[Selection] = None
        self.undo_steps = 0
        self.refreshed = 0

    def width(self) -> int:
        return self._width

    def height(self) -> int:
        return self._height

    def resolution(self) -> int:
        """Pixels per inch (Krita rounds it to an integer here)."""
        return self._resolution

    def activeNode(self) -> Optional[Node]:
        return self.active

    def setActiveNode(self, node: Node) -> None:
        self.active = node

    def rootNode(self) -> Node:
        return self.root

    def topLevelNodes(self) -> List[Node]:
        return self.root.childNodes()

    def selection(self) -> Optional[Selection]:
        return self.global_selection

    def setSelection(self, selection: Selection) -> None:  # no undo entry, as in Krita
        self.global_selection = selection

    def createNode(self, name: str, node_type: str) -> Node:
        return Node(name, node_type, "RGBA", "U16", "sRGB-elle-V2-g10.icc")

    def createVectorLayer(self, name: str) -> VectorLayer:
        return VectorLayer(name)

    def createTransparencyMask(self, name: str) -> Node:
        return Node(name, "transparencymask", "GRAYA", "U8")

    def refreshProjection(self) -> None:
        self.refreshed += 1

    def waitForDone(self) -> None:
        pass


class Krita51Document(Document):
    """Krita 5.1: masks only through the selection + add_new_transparency_mask action."""

    createTransparencyMask = property()  # hasattr() is False, as on 5.1

    def run_action(self, name: str) -> None:
        if name == "add_new_transparency_mask":
            mask = Node("Transparency Mask", "transparencymask", "GRAYA", "U8")
            mask.setSelection(self.global_selection)
            self.active.addChildNode(mask, None)
        elif name == "deselect":
            self.global_selection = None
