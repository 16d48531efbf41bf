"""What each AlphaLift action reads from and writes to a Krita document.

Only Krita API objects pass through here (Document, Node, Selection), plus two factories the caller
injects, so the whole flow runs against a typed mock in ordinary pytest. The cut-out itself happens
between `prepare` (GUI thread, reads pixels) and `apply` (GUI thread, writes the result).
"""
from dataclasses import dataclass
from typing import Any, Callable, Optional

from .layer_formats import Refusal, check_layer_kind, worker_format

REMOVE, SELECT, CUTOUT = "remove", "select", "cutout"
MASK_NAME = "AlphaLift"
SRGB_U8 = ("RGBA", "U8", "sRGB-elle-V2-srgbtrc.icc")


@dataclass
class MatteRequest:
    """Everything the worker needs, and where the answer goes."""

    action: str
    document: Any
    node: Any
    x: int
    y: int
    width: int
    height: int
    pixels: bytes
    pixel_format: str
    linear: bool
    limit: Optional[bytes]  # the active selection over the layer's bounds, for Remove Background


def target_layer(document: Any) -> Any:
    """The active paint layer; with one of its masks active, the layer that owns it.

    Documents opened by scripts may have no active node yet; a lone top-level layer is meant then.
    """
    if document is None:
        raise Refusal("Open an image first.")
    node = document.activeNode()
    if node is None:  # (an active selection shows up as a top-level selection mask)
        layers = [n for n in document.topLevelNodes() if not n.type().endswith("mask")]
        node = layers[0] if len(layers) == 1 else None
    if node is not None and node.type().endswith("mask") and node.type() != "colorizemask":
        node = node.parentNode()
    if node is None:
        raise Refusal("Pick a paint layer in the Layers docker first.")
    check_layer_kind(node.type(), node.name())
    return node


def prepare(document: Any, action: str) -> MatteRequest:
    """Check the layer and read its pixels; raises Refusal with what to do instead."""
    node = target_layer(document)
    if action != SELECT and any(c.type() == "transparencymask" and c.name() == MASK_NAME
                                for c in node.childNodes()):
        raise Refusal(f"\u201c{node.name()}\u201d already has an {MASK_NAME} mask. Edit it, or delete it "
                      "and run Remove Background again.")
    pixel_format, linear = worker_format(node.colorModel(), node.colorDepth(), node.colorProfile())
    bounds = node.bounds()
    x, y, width, height = bounds.x(), bounds.y(), bounds.width(), bounds.height()
    if width < 2 or height < 2:
        raise Refusal(f"\u201c{node.name()}\u201d is empty: there is nothing to cut out.")
    selection = document.selection()
    limit = None
    if action != SELECT and selection is not None:
        limit = bytes(selection.pixelData(x, y, width, height))
    return MatteRequest(action, document, node, x, y, width, height,
                        bytes(node.pixelData(x, y, width, height)), pixel_format, linear, limit)


def apply(request: MatteRequest, alpha: bytes, foreground: Optional[bytes],
          new_selection: Callable[[], Any], trigger_action: Callable[[str], None]) -> str:
    """Write the matte back as the action asks; returns a one-line summary for the docker.

    Each branch adds one node (one undo step), except Select Subject: Krita's scripting API sets
    the selection without an undo entry.
    """
    document, node = request.document, request.node
    if node.parentNode() is None:
        raise Refusal(f"\u201c{node.name()}\u201d was deleted while AlphaLift worked; nothing changed.")
    selection = new_selection()
    selection.setPixelData(alpha, request.x, request.y, request.width, request.height)
    if request.action == SELECT:
        document.setSelection(selection)
        summary = f"Selected the subject of \u201c{node.name()}\u201d."
    elif request.action == CUTOUT:
        layer = document.createNode(f"{node.name()} ({MASK_NAME})", "paintlayer")
        if (layer.colorModel(), layer.colorDepth()) != SRGB_U8[:2]:
            layer.setColorSpace(*SRGB_U8)  # the worker's clean colours are 8-bit sRGB
        layer.setPixelData(foreground or b"", request.x, request.y,  # BGRA8 from the worker
                           request.width, request.height)
        if hasattr(document, "createTransparencyMask"):  # masked before it joins: one undo step
            layer.addChildNode(transparency_mask(document, selection, trigger_action, layer), None)
            node.parentNode().addChildNode(layer, node)
        else:
            node.parentNode().addChildNode(layer, node)
            transparency_mask(document, selection, trigger_action, layer)
        summary = f"Added \u201c{layer.name()}\u201d: the subject's clean colours, masked."
    else:
        mask = transparency_mask(document, selection, trigger_action, node)
        if mask.parentNode() is None:
            node.addChildNode(mask, None)
        summary = f"Added a transparency mask to \u201c{node.name()}\u201d."
    document.refreshProjection()
    return summary


def transparency_mask(document: Any, selection: Any, trigger_action: Callable[[str], None],
                      layer: Any) -> Any:
    """A transparency mask holding ``selection``: the 5.2 API, else 5.1's selection + action route."""
    if hasattr(document, "createTransparencyMask"):
        mask = document.createTransparencyMask(MASK_NAME)
        mask.setSelection(selection)
        return mask
    previous = document.selection()
    document.setActiveNode(layer)
    document.setSelection(selection)
    trigger_action("add_new_transparency_mask")  # Krita 5.1: masks come from the selection
    document.waitForDone()
    if previous is not None:
        document.setSelection(previous)
    else:
        trigger_action("deselect")
    mask = layer.childNodes()[-1]
    mask.setName(MASK_NAME)
    return mask
