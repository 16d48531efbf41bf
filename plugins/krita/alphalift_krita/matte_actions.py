"""What each AlphaLift action reads from and writes to a Krita document.

Only Krita API objects pass through here (Document, Node, Selection), plus two factories the caller
injects, so the whole flow runs against a typed mock in ordinary pytest. The cut-out itself happens
between `prepare` (GUI thread, reads pixels) and `apply` (GUI thread, writes the result).
"""
from dataclasses import dataclass, field, replace
from typing import Any, Callable, List, Optional

from .layer_formats import Refusal, check_layer_kind, worker_format
from .prompt_sources import (EXCLUDE_LAYER, INCLUDE_LAYER, Box, Point, is_points_layer, layer_below,
                             layer_points, same_document, selection_box)

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
    box: Optional[Box] = None  # the selection's bounds in layer pixels: the subject is in there
    include: List[Point] = field(default_factory=list)  # shape centres on "AlphaLift include"
    exclude: List[Point] = field(default_factory=list)  # ... and on "AlphaLift exclude"
    replaces: Any = None  # Refine: the earlier run's mask or layer, taken out when this one lands
    result: Any = None  # the mask or layer `apply` added, for a later Refine to replace


def target_layer(document: Any, remembered: Any = None) -> Any:
    """The active paint layer; with one of its masks active, the layer that owns it.

    Documents opened by scripts may have no active node yet; a lone top-level layer is meant then.
    With a points layer active (the user was drawing points), the layer AlphaLift last worked on
    in this document (``remembered``), else the paint layer under the points layer.
    """
    if document is None:
        raise Refusal("Open an image first.")
    node = document.activeNode()
    if node is None or is_points_layer(node):
        if remembered is not None and remembered.parentNode() is not None:
            node = remembered
        elif node is not None:
            node = layer_below(node)
            if node is None:
                raise Refusal("Pick the layer to cut out in the Layers docker: the AlphaLift points "
                              "layers only hold the points.")
    if node is None:  # (an active selection shows up as a top-level selection mask)
        layers = [n for n in document.topLevelNodes() if not n.type().endswith("mask") and not is_points_layer(n)]
        node = layers[0] if len(layers) == 1 else None
    if node is not None and node.type().endswith("mask") and node.type() != "colorizemask":
        node = node.parentNode()
    if node is None:
        raise Refusal("Pick a paint layer in the Layers docker first.")
    check_layer_kind(node.type(), node.name())
    return node


def prepare(document: Any, action: str, remembered: Any = None) -> MatteRequest:
    """Check the layer and read its pixels and the prompt; raises Refusal with what to do instead.

    The selection limits Remove Background and Cut Out (outside it the layer stays visible) and
    its bounds are the box for every action; the points layers give the points.
    """
    node = target_layer(document, remembered)
    if action != SELECT and any(c.type() == "transparencymask" and c.name() == MASK_NAME
                                for c in node.childNodes()):
        raise Refusal(f"\u201c{node.name()}\u201d already has an {MASK_NAME} mask. Edit it, or delete it "
                      "and run Remove Background again (or draw points and press Refine with points).")
    pixel_format, linear = worker_format(node.colorModel(), node.colorDepth(), node.colorProfile())
    bounds = node.bounds()
    x, y, width, height = bounds.x(), bounds.y(), bounds.width(), bounds.height()
    if width < 2 or height < 2:
        raise Refusal(f"\u201c{node.name()}\u201d is empty: there is nothing to cut out.")
    selection = document.selection()
    limit, box = None, None
    if selection is not None:
        selected = bytes(selection.pixelData(x, y, width, height))
        box = selection_box(selected, width, height, node.name())
        limit = selected if action != SELECT else None
    request = MatteRequest(action, document, node, x, y, width, height,
                           bytes(node.pixelData(x, y, width, height)), pixel_format, linear, limit, box)
    return read_points(request)


def read_points(request: MatteRequest) -> MatteRequest:
    """The request with the points drawn now on the points layers."""
    where = (request.x, request.y, request.width, request.height, request.node.name())
    request.include = layer_points(request.document, INCLUDE_LAYER, *where)
    request.exclude = layer_points(request.document, EXCLUDE_LAYER, *where)
    return request


def prepare_refine(last: Optional[MatteRequest], document: Any) -> MatteRequest:
    """Run ``last`` again with the points as they are now: same layer, box and limit, so the
    worker reuses its model output; the result replaces the earlier one."""
    if last is None or not same_document(last.document, document) or last.node.parentNode() is None:
        raise Refusal("Run Remove Background, Select Subject or Cut Out on this image first; "
                      "Refine with points re-runs it with the points drawn since.")
    node = last.node
    pixels = bytes(node.pixelData(last.x, last.y, last.width, last.height))
    return read_points(replace(last, pixels=pixels, include=[], exclude=[], replaces=last.result,
                               result=None))


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
    replaced = request.replaces
    if replaced is not None and replaced.parentNode() is not None:
        replaced.remove()  # Refine: the earlier mask or layer goes, the new one takes its place
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
        request.result = layer
        summary = f"Added \u201c{layer.name()}\u201d: the subject's clean colours, masked."
    else:
        mask = transparency_mask(document, selection, trigger_action, node)
        if mask.parentNode() is None:
            node.addChildNode(mask, None)
        request.result = mask
        summary = f"Added a transparency mask to \u201c{node.name()}\u201d."
    document.refreshProjection()
    return summary + points_note(request)


def points_note(request: MatteRequest) -> str:
    """The summary's tail naming the points used, so the user sees they counted."""
    if not request.include and not request.exclude:
        return ""
    return f" With {len(request.include)} include and {len(request.exclude)} exclude points."


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
