"""`alphalift serve --stdio`: a long-lived worker that keeps models loaded between requests.

The main thread reads requests; one job thread runs cut-outs in order, so a `cancel` can arrive
while a cut-out runs. A malformed request gets an error reply and the worker keeps serving.
"""
from __future__ import annotations

import json
import logging
import queue
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

import numpy as np

from .. import __version__
from ..errors import AlphaLiftError, InputError
from ..fsutil import atomic_output
from ..imageio import SourceImage, check_size, compose_source, load_image, save_png
from ..pipeline import Remover
from .protocol import ALPHA_FORMATS, OPS, PIXEL_FORMATS, PROTOCOL

log = logging.getLogger(__name__)


class RequestError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def decode_pixels(image: dict[str, Any]) -> SourceImage:
    """A raw pixel file described by the request -> the pipeline's SourceImage."""
    try:
        path = Path(image["path"])
        width, height, fmt = int(image["width"]), int(image["height"]), image["format"]
    except (KeyError, TypeError, ValueError):
        raise RequestError("bad-request", "image needs path, width, height and format") from None
    if fmt not in PIXEL_FORMATS:
        raise RequestError("bad-request", f"unknown pixel format {fmt!r}; use {', '.join(PIXEL_FORMATS)}")
    check_size(width, height)
    size, dtype = PIXEL_FORMATS[fmt]
    if not path.is_file():
        raise InputError(f"pixel file {path} is missing.", "The host must write it before asking.")
    expected = width * height * size
    if path.stat().st_size != expected:
        raise InputError(f"pixel file holds {path.stat().st_size} bytes, expected {expected} for "
                         f"{width}x{height} {fmt}.", "Check the width, height and format.")
    channels = size // np.dtype(dtype).itemsize
    raw = np.fromfile(path, dtype=dtype).reshape(height, width, channels)
    if fmt.startswith("BGR"):
        raw = raw[..., [2, 1, 0, 3][:channels]]
    if dtype == "u1":
        colour8 = raw[..., :3] if channels >= 3 else np.repeat(raw[..., :1], 3, axis=2)
        alpha = raw[..., -1].astype(np.float32) / 255.0 if channels in (2, 4) else None
        return compose_source(np.ascontiguousarray(colour8), alpha)
    scale = 65535.0 if dtype == "<u2" else 1.0
    unit = np.clip(np.nan_to_num(raw.astype(np.float32) / scale), 0.0, 1.0)
    colour = unit[..., :3] if channels >= 3 else np.repeat(unit[..., :1], 3, axis=2)
    alpha = unit[..., -1] if channels in (2, 4) else None
    if image.get("linear"):
        colour = srgb_encode(colour)
    return compose_source(np.round(colour * 255.0).astype(np.uint8), alpha)


def srgb_encode(linear: np.ndarray) -> np.ndarray:
    """Linear light in 0..1 -> sRGB-encoded values (IEC 61966-2-1 transfer curve)."""
    return np.where(linear <= 0.0031308, linear * 12.92, 1.055 * np.power(linear, 1 / 2.4) - 0.055)


def limit_to_selection(mask: np.ndarray, path: str) -> np.ndarray:
    """Blend the matte with 'keep everything' by a soft 8-bit selection of the same size.

    Hosts whose scripting has no pixel maths (Krita's Python has no numpy) send their selection here.
    """
    height, width = mask.shape
    selection = Path(path)
    if not selection.is_file() or selection.stat().st_size != width * height:
        raise InputError(f"the selection file {path} must hold {width * height} bytes (L8, {width}x{height}).",
                         "The host must write the selection at the image's size.")
    weight = np.fromfile(selection, np.uint8).reshape(height, width).astype(np.float32) / 255.0
    return mask * weight + (1.0 - weight)


def encode_alpha(mask: np.ndarray, fmt: str) -> bytes:
    if fmt == "L8":
        return np.round(np.clip(mask, 0, 1) * 255).astype(np.uint8).tobytes()
    if fmt == "L16":
        return np.round(np.clip(mask, 0, 1) * 65535).astype("<u2").tobytes()
    return np.clip(mask, 0, 1).astype("<f4").tobytes()


class Worker:
    def __init__(self, out: TextIO, remover: Remover | None = None) -> None:
        self.out = out
        self.remover = remover or Remover()
        self.write_lock = threading.Lock()
        self.jobs: queue.Queue = queue.Queue()
        self.cancels: dict[Any, threading.Event] = {}

    def send(self, message: dict[str, Any]) -> None:
        with self.write_lock:
            self.out.write(json.dumps(message) + "\n")
            self.out.flush()

    def error(self, request_id: Any, code: str, message: str) -> None:
        self.send({"id": request_id, "ok": False, "error": {"code": code, "message": message}})

    # -- operations --------------------------------------------------------------------------
    def hello(self, request: dict[str, Any]) -> None:
        store = self.remover.store
        models = [{"name": s.name, "licence": s.licence, "size": s.size, "cached": store.is_cached(s),
                   "default": s.name == store.catalog.default, "description": s.description}
                  for s in store.catalog]
        self.send({"id": request.get("id"), "ok": True, "protocol": PROTOCOL,
                   "version": __version__, "models": models})

    def remove(self, request: dict[str, Any]) -> None:
        request_id = request.get("id")
        cancel = self.cancels[request_id]  # registered when the request was queued
        options = request.get("options") or {}
        alpha_format = options.get("alpha_format", "L8")
        if alpha_format not in ALPHA_FORMATS:
            raise RequestError("bad-request", f"alpha_format must be one of {', '.join(ALPHA_FORMATS)}")
        image = request.get("image")
        if not isinstance(image, dict):
            raise RequestError("bad-request", "remove needs an image")
        source = load_image(Path(image["file"])) if "file" in image else decode_pixels(image)
        save = options.get("save") or {}
        if not isinstance(save, dict) or set(save) - {"mask", "foreground", "rgba"}:
            raise RequestError("bad-request", "save maps mask, foreground or rgba to PNG paths")

        def progress(fraction: float, stage: str) -> None:
            self.send({"id": request_id, "event": "progress", "fraction": fraction, "stage": stage})

        want_foreground = bool(options.get("foreground", True)) or bool(set(save) - {"mask"})
        cutout = self.remover.remove(source, model=options.get("model"),
                                     refine=bool(options.get("refine", True)),
                                     foreground=want_foreground, progress=progress, cancel=cancel)
        if save:
            for kind, target in save.items():  # encoded files, for hosts that load images by path
                save_png(cutout.to_image(kind), Path(target), icc_profile=cutout.icc_profile)
            self.send({"id": request_id, "ok": True, "width": cutout.size[0], "height": cutout.size[1],
                       "saved": save})
            return
        mask = cutout.mask
        if options.get("limit"):
            mask = limit_to_selection(mask, options["limit"])
        folder = Path(image["path"]).parent
        stem = Path(image["path"]).stem
        reply: dict[str, Any] = {"id": request_id, "ok": True, "width": cutout.size[0],
                                 "height": cutout.size[1]}
        alpha_path = folder / f"{stem}.alpha.raw"
        with atomic_output(alpha_path) as handle:
            handle.write(encode_alpha(mask, alpha_format))
        reply["alpha"] = {"path": str(alpha_path), "format": alpha_format}
        if want_foreground:
            fg_path = folder / f"{stem}.foreground.raw"
            with atomic_output(fg_path) as handle:
                handle.write(np.ascontiguousarray(cutout.foreground).tobytes())
            reply["foreground"] = {"path": str(fg_path), "format": "RGB8"}
        self.send(reply)

    def download(self, request: dict[str, Any]) -> None:
        store = self.remover.store
        spec = store.catalog.get(request.get("model"))
        path = store.runtime_path(spec)
        self.send({"id": request.get("id"), "ok": True, "model": spec.name, "path": str(path)})

    # -- loop --------------------------------------------------------------------------------
    def run_job(self, request: dict[str, Any]) -> None:
        request_id = request.get("id")
        try:
            getattr(self, request["op"])(request)
        except RequestError as exc:
            self.error(request_id, exc.code, str(exc))
        except AlphaLiftError as exc:
            self.error(request_id, exc.code, str(exc))
        except Exception as exc:  # a bug must not kill the worker; the host shows the message
            log.exception("request %s failed", request_id)
            self.error(request_id, "internal", f"{type(exc).__name__}: {exc}")
        finally:
            self.cancels.pop(request_id, None)

    def job_loop(self) -> None:
        while True:
            request = self.jobs.get()
            if request is None:
                return
            self.run_job(request)

    def handle_line(self, line: str) -> bool:
        """Dispatch one request line; False when the worker should stop."""
        try:
            request = json.loads(line)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            self.error(None, "bad-json", f"could not parse the request: {exc}")
            return True
        op = request.get("op")
        if op not in OPS:
            self.error(request.get("id"), "unknown-op", f"unknown op {op!r}; known: {', '.join(OPS)}")
        elif op == "shutdown":
            return False
        elif op == "cancel":
            event = self.cancels.get(request.get("id"))  # queued or running; else already done
            if event is not None:
                event.set()
        elif op == "hello":
            if request.get("protocol", PROTOCOL) != PROTOCOL:
                self.error(request.get("id"), "protocol",
                           f"worker speaks protocol {PROTOCOL}; update the plug-in and the core together")
            else:
                self.hello(request)
        else:
            if op == "remove":
                self.cancels[request.get("id")] = threading.Event()
            self.jobs.put(request)
        return True


def serve_stdio(stdin: TextIO | None = None, stdout: TextIO | None = None) -> int:
    stdin = stdin or sys.stdin
    out = stdout or sys.stdout
    # Anything else printing to stdout (a library's warning) would corrupt the protocol.
    sys.stdout = sys.stderr
    worker = Worker(out)
    thread = threading.Thread(target=worker.job_loop, daemon=True)
    thread.start()
    try:
        for line in stdin:
            if line.strip() and not worker.handle_line(line):
                break
    finally:
        worker.jobs.put(None)
        thread.join()
    return 0
