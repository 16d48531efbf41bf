"""Every request checked whole, in one place, before any work starts.

A request line becomes a typed dataclass or a RequestError naming the field at fault, so nothing
past this module looks a key up in a dict a host wrote (a missing key found after a minute of
inference used to surface as 'internal KeyError', an unhashable id killed the worker).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Union

from ..errors import AlphaLiftError
from ..imageio import check_size
from ..prompts import Prompt, PromptNames
from .pixels import RawImage
from .protocol import (ALPHA_FORMATS, FOREGROUND_ALPHAS, FOREGROUND_FORMATS, MAX_SEQUENCE_ID, OPS,
                       PIXEL_FORMATS, PROTOCOL, SAVE_KINDS)

RequestId = Union[int, str, None]
PROMPT_NAMES = PromptNames("options.prompt.box", "options.prompt.include", "options.prompt.exclude")
FIX = "The plug-in sent a request this worker cannot use; update the plug-in and the core together."


class RequestError(Exception):
    """A request the worker cannot act on; ``request_id`` is what the reply may echo."""

    def __init__(self, code: str, message: str, request_id: RequestId = None) -> None:
        super().__init__(message)
        self.code = code
        self.request_id = request_id


@dataclass(frozen=True)
class FileImage:
    """An encoded image file (PNG, JPEG, ...), for hosts that load images by path."""

    file: Path


@dataclass(frozen=True)
class SequenceFrame:
    """Frame ``frame`` of the shot a host calls ``id`` (Blender: the node's cache id)."""

    id: str
    frame: int
    start: bool = False  # the host says a new shot begins here


@dataclass(frozen=True)
class RemoveOptions:
    model: str | None = None
    refine: bool = True
    foreground: bool = True
    alpha_format: str = "L8"
    foreground_format: str = "RGB8"
    foreground_alpha: str = "opaque"
    limit: Path | None = None
    save: dict[str, Path] = field(default_factory=dict)
    overwrite: bool = False
    download: bool = True  # false: a missing model is an error, never fetched (Blender offline)
    sequence: SequenceFrame | None = None
    # In pixels of the image as the user sees it (top-left origin, y down), whatever "flip" says
    # of the rows' order; None when the request says nothing of the subject.
    prompt: Prompt | None = None


@dataclass(frozen=True)
class Hello:
    id: RequestId
    protocol: int = PROTOCOL


@dataclass(frozen=True)
class Remove:
    id: RequestId
    image: RawImage | FileImage
    options: RemoveOptions


@dataclass(frozen=True)
class Download:
    id: RequestId
    model: str | None


@dataclass(frozen=True)
class Cancel:
    id: RequestId


@dataclass(frozen=True)
class Shutdown:
    id: RequestId


Request = Union[Hello, Remove, Download, Cancel, Shutdown]
_MISSING = object()


def parse_line(line: str | bytes) -> Request:
    """One request line -> a Request, or RequestError ("bad-json", "bad-request", "unknown-op")."""
    try:
        text = line.decode("utf-8") if isinstance(line, bytes) else line
        request = json.loads(text)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        raise RequestError("bad-json", f"could not parse the request: {exc}. {FIX}") from None
    if not isinstance(request, dict):
        raise RequestError("bad-json", f"could not parse the request: not a JSON object. {FIX}")
    return parse_request(request)


def parse_request(request: dict[str, Any]) -> Request:
    request_id = request.get("id")
    if request_id is not None and (isinstance(request_id, bool) or not isinstance(request_id, (int, str))):
        raise RequestError("bad-request", f"bad request: id must be an integer, a string or null, not "
                                          f"{json.dumps(request_id)[:40]}. {FIX}")
    op = request.get("op")
    if op not in OPS:
        raise RequestError("unknown-op", f"unknown op {op!r}; known: {', '.join(OPS)}", request_id)
    try:
        if op == "hello":
            return Hello(request_id, _get(request, "protocol", int, PROTOCOL, "protocol"))
        if op == "remove":
            return Remove(request_id, *_remove_parts(request))
        if op == "download":
            return Download(request_id, _get(request, "model", str, None, "model", nullable=True))
        return Cancel(request_id) if op == "cancel" else Shutdown(request_id)
    except RequestError as exc:
        exc.request_id = request_id
        raise
    except AlphaLiftError as exc:  # the image's size and the prompt, checked before any pixel is read
        raise RequestError(exc.code, str(exc), request_id) from None


def _remove_parts(request: dict[str, Any]) -> tuple[RawImage | FileImage, RemoveOptions]:
    image = request.get("image")
    if not isinstance(image, dict):
        _bad("remove needs an image: {\"file\": P} or {\"path\", \"width\", \"height\", \"format\"}")
    options = request.get("options")
    if options is None:
        options = {}
    if not isinstance(options, dict):
        _bad("options must be an object")
    parsed = _options(options)
    if "file" in image:
        if set(image) - {"file"}:
            _bad("an image is either {\"file\": P} or a raw {\"path\", ...}, not both")
        if not parsed.save and parsed.sequence is None:  # a sequence's warm-up frame saves nothing
            _bad("a file image needs options.save (mask, foreground or rgba -> PNG paths)")
        return FileImage(Path(_get(image, "file", str, _MISSING, "image.file"))), parsed
    raw = RawImage(
        path=Path(_get(image, "path", str, _MISSING, "image.path")),
        width=_get(image, "width", int, _MISSING, "image.width"),
        height=_get(image, "height", int, _MISSING, "image.height"),
        format=_choice(image, "format", tuple(PIXEL_FORMATS), None, "image.format"),
        linear=_get(image, "linear", bool, False, "image.linear"),
        flip=_get(image, "flip", bool, False, "image.flip"))
    check_size(raw.width, raw.height)
    if parsed.prompt is not None:  # a file image's size is known once loaded (server.py)
        parsed.prompt.check(raw.width, raw.height, PROMPT_NAMES)
    return raw, parsed


def _options(options: dict[str, Any]) -> RemoveOptions:
    save = _get(options, "save", dict, {}, "options.save", nullable=True) or {}
    if set(save) - set(SAVE_KINDS) or not all(isinstance(p, str) and p for p in save.values()):
        _bad(f"options.save maps {', '.join(SAVE_KINDS)} to PNG paths")
    limit = _get(options, "limit", str, None, "options.limit", nullable=True)
    return RemoveOptions(
        model=_get(options, "model", str, None, "options.model", nullable=True),
        refine=_get(options, "refine", bool, True, "options.refine"),
        foreground=_get(options, "foreground", bool, True, "options.foreground"),
        alpha_format=_choice(options, "alpha_format", ALPHA_FORMATS, "L8", "options.alpha_format"),
        foreground_format=_choice(options, "foreground_format", FOREGROUND_FORMATS, "RGB8",
                                  "options.foreground_format"),
        foreground_alpha=_choice(options, "foreground_alpha", FOREGROUND_ALPHAS, "opaque",
                                 "options.foreground_alpha"),
        limit=Path(limit) if limit else None,
        save={kind: Path(path) for kind, path in save.items()},
        overwrite=_get(options, "overwrite", bool, False, "options.overwrite"),
        download=_get(options, "download", bool, True, "options.download"),
        sequence=_sequence(options),
        prompt=_prompt(options))


def _prompt(options: dict[str, Any]) -> Prompt | None:
    """options.prompt (PromptError, code "bad-prompt", names the field); None if it says nothing."""
    value = options.get("prompt")
    if value is None:
        return None
    prompt = Prompt.from_json(value, PROMPT_NAMES)
    return None if prompt.is_empty else prompt


def _sequence(options: dict[str, Any]) -> SequenceFrame | None:
    sequence = _get(options, "sequence", dict, None, "options.sequence", nullable=True)
    if sequence is None:
        return None
    session = _get(sequence, "id", str, _MISSING, "options.sequence.id")
    if not 0 < len(session) <= MAX_SEQUENCE_ID:
        _bad(f"options.sequence.id must be 1 to {MAX_SEQUENCE_ID} characters long")
    frame = _get(sequence, "frame", int, _MISSING, "options.sequence.frame")
    if frame < 0:
        _bad(f"options.sequence.frame must be 0 or more, not {frame}")
    return SequenceFrame(session, frame, _get(sequence, "start", bool, False, "options.sequence.start"))


def _get(data: dict[str, Any], key: str, kind: type, default: Any, name: str,
         nullable: bool = False) -> Any:
    value = data.get(key, default)
    if value is _MISSING:
        _bad(f"{name} is missing")
    if value is None and (nullable or default is None):
        return None
    # bool is an int to Python; JSON's true is not a width, nor 1 a yes.
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        what = {bool: "true or false", int: "an integer", str: "a string", dict: "an object"}[kind]
        _bad(f"{name} must be {what}, not {json.dumps(value)[:40]}")
    return value


def _choice(data: dict[str, Any], key: str, choices: tuple[str, ...], default: str | None,
            name: str) -> str:
    value = data.get(key, default)
    if value not in choices:
        _bad(f"{name} must be one of {', '.join(choices)}, not {json.dumps(value)[:40]}")
    return value


def _bad(message: str) -> None:
    raise RequestError("bad-request", f"bad request: {message}. {FIX}")
