"""Where a request may make the worker read and write: the CLI's rules, for hosts.

Raw pixel files are read without a header or any check of what they are, so any file of the
right size could be read as pixels; they are accepted only inside a private folder the client made
(see protocol.py). Saved PNGs follow `alphalift remove`: never onto an input, onto an existing file
only when asked.
"""
from __future__ import annotations

import os
import stat
import sys
import tempfile
from pathlib import Path

from ..errors import AlphaLiftError, OutputExistsError
from .protocol import PRIVATE_PREFIX
from .requests import FileImage, Remove, RequestError

PLUGIN_HINT = "Update the plug-in and the core together."


class ForbiddenPathError(AlphaLiftError):
    """A request named a raw pixel file outside the client's private temporary folder."""

    code = "forbidden-path"


def private_file(path: Path, what: str) -> Path:
    """``path`` resolved, if it lies directly in a private folder the client made; else refused."""
    resolved = path.resolve()
    folder = resolved.parent
    if not (path.is_absolute() and folder.parent == Path(tempfile.gettempdir()).resolve()
            and folder.name.startswith(PRIVATE_PREFIX) and _is_private(folder)):
        raise ForbiddenPathError(
            f"the {what} {path} is not in a private AlphaLift temporary folder; raw pixel files "
            f"must lie directly in a folder the client made with tempfile.mkdtemp(prefix="
            f"'{PRIVATE_PREFIX}').", PLUGIN_HINT)
    return resolved


def _is_private(folder: Path) -> bool:
    """A real folder, owned by this user and closed to everyone else (what mkdtemp makes)."""
    try:
        info = os.lstat(folder)
    except OSError:
        return False
    if not stat.S_ISDIR(info.st_mode):
        return False
    if sys.platform == "win32":  # pragma: no cover - the temporary folder is per user there
        return True
    return info.st_uid == os.geteuid() and info.st_mode & 0o077 == 0


def check_files(request: Remove) -> None:
    """Every file rule of a remove request, checked before any work starts."""
    image, options = request.image, request.options
    inputs = [image.file] if isinstance(image, FileImage) else [private_file(image.path, "pixel file")]
    if options.limit is not None:
        inputs.append(private_file(options.limit, "limit (selection) file"))
    check_save_targets(options.save, inputs, options.overwrite)


def check_save_targets(save: dict[str, Path], inputs: list[Path], overwrite: bool) -> None:
    sources = {path.resolve() for path in inputs}
    seen: set[Path] = set()
    for target in save.values():
        resolved = target.resolve()
        if resolved in seen:
            raise RequestError("bad-request", f"bad request: two outputs would share {target}; give each "
                                              "its own file.")
        seen.add(resolved)
        if resolved in sources:
            raise OutputExistsError(f"{target} is the input image; AlphaLift never overwrites an input.",
                                    "Choose another file to save to.")
        if target.is_dir():
            raise OutputExistsError(f"{target} is a folder.", "Choose a file name to save to.")
        if not overwrite and (target.exists() or target.is_symlink()):
            raise OutputExistsError(f"{target} already exists.",
                                    'Ask to overwrite it ("overwrite": true; the client\'s '
                                    "overwrite=True) or choose another file.")
