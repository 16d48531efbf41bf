"""Where each AlphaLift node keeps its mattes, so that no two nodes, files or users share a folder.

A node carries a random cache id and the file it was given in (its "owner"). The id is replaced at
the next Compute Matte once it is not the node's own any more: another node holds it too
(Duplicate, Copy/Paste, a scene's Full Copy), or the node now lives in another file (Save As, pasted
into another file; a moved project keeps its name, and its cache moves with it). Saved files keep
mattes in alphalift_cache/<id> beside the .blend; unsaved ones in a folder of the user's own
cache that only they can open (the system's temporary folder is shared by every user).

Pure Python (no bpy), so it is unit-tested in ordinary pytest.
"""
from __future__ import annotations

import os
import sys
import uuid
from typing import Collection

# An unsaved file has no name: its nodes' ids are tied to this Blender session instead, so nodes
# that come with a startup file saved in another session get their own ids here.
SESSION = uuid.uuid4().hex


def file_key(blend_path: str) -> str:
    """What ties a cache id to its file: the .blend's name, or this session for an unsaved file."""
    return os.path.basename(blend_path) if blend_path else f"unsaved {SESSION}"


def keeps_id(cache_id: str, owner: str, blend_path: str, other_ids: Collection[str]) -> bool:
    """Whether a node keeps ``cache_id``: it has one, given in this file, held by no other node."""
    return bool(cache_id) and owner == file_key(blend_path) and cache_id not in other_ids


def new_id() -> str:
    return uuid.uuid4().hex[:16]


def user_cache_dir() -> str:
    """AlphaLift's folder in the user's cache (as platformdirs.user_cache_dir("alphalift"))."""
    if sys.platform == "win32":
        local = os.environ.get("LOCALAPPDATA") or os.path.expanduser(os.path.join("~", "AppData", "Local"))
        return os.path.join(local, "alphalift", "Cache")
    if sys.platform == "darwin":
        return os.path.join(os.path.expanduser("~"), "Library", "Caches", "alphalift")
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "alphalift")


def private_folder(path: str) -> str:
    """``path`` created if needed and made the user's alone (0700; Windows: the profile's own ACL)."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    if sys.platform != "win32":
        os.chmod(path, 0o700)
    return path


def cache_folder(blend_path: str, cache_id: str) -> str:
    """alphalift_cache/<id> beside a saved .blend; for an unsaved file, <id> in the user's private
    blender-unsaved folder (created here)."""
    if blend_path:
        return os.path.join(os.path.dirname(blend_path), "alphalift_cache", cache_id)
    return os.path.join(private_folder(os.path.join(user_cache_dir(), "blender-unsaved")), cache_id)
