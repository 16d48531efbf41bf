"""The worker protocol, version 1: JSON lines on stdin/stdout; stderr carries logs only.

Requests (one JSON object a line):
    {"op": "hello", "protocol": 1}
    {"id": 7, "op": "remove", "image": {"path": P, "width": W, "height": H, "format": F,
                                          "linear": false},
     "options": {"model": NAME, "refine": true, "foreground": true, "alpha_format": "L8",
                 "limit": P}}     (limit, optional: an L8 selection; outside it the alpha stays 1)
    {"id": 9, "op": "remove", "image": {"file": P}, "options": {..., "save": {"mask": P2, "foreground": P3}}}
        an encoded image file in, PNG files out (any of mask, foreground, rgba); replies "saved"
    {"id": 8, "op": "download", "model": NAME}
    {"id": 7, "op": "cancel"}
    {"op": "shutdown"}
Replies: {"id": 7, "event": "progress", "fraction": 0.4, "stage": "segment"} while working, then
    {"id": 7, "ok": true, "alpha": {"path": P, "format": "L8"}, "foreground": {"path": P, "format": "RGB8"}}
    or {"id": 7, "ok": false, "error": {"code": "model-missing", "message": "... what to do ..."}}
Pixels travel as raw files (row-major, no header) in the client's private temporary folder; the
worker writes its outputs beside the input, and the client, who made the folder, removes it.
"""
from __future__ import annotations

PROTOCOL = 1

# Input pixel formats: bytes per pixel and numpy dtype per channel. BGR(A) orders are what Krita's
# integer RGB layers hold; H formats are half floats (Krita's 16-bit float). "linear": true says
# float values are linear light (sRGB-encoded before the model sees them).
PIXEL_FORMATS = {
    "RGB8": (3, "u1"), "RGBA8": (4, "u1"), "L8": (1, "u1"), "LA8": (2, "u1"),
    "BGR8": (3, "u1"), "BGRA8": (4, "u1"),
    "RGB16": (6, "<u2"), "RGBA16": (8, "<u2"), "L16": (2, "<u2"), "LA16": (4, "<u2"),
    "BGR16": (6, "<u2"), "BGRA16": (8, "<u2"),
    "RGBH": (6, "<f2"), "RGBAH": (8, "<f2"), "LH": (2, "<f2"), "LAH": (4, "<f2"),
    "RGBF": (12, "<f4"), "RGBAF": (16, "<f4"), "LF": (4, "<f4"), "LAF": (8, "<f4"),
}
ALPHA_FORMATS = ("L8", "L16", "F32")

OPS = ("hello", "remove", "download", "cancel", "shutdown")
