"""Per-OS locations, computed with the standard library only (installers run before any venv).

data_dir() comes from the plug-ins' stdlib client, so installer and plug-ins cannot disagree; it
matches platformdirs.user_data_dir("alphalift", appauthor=False), which the core uses (tested).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "plugins" / "client"))
from alphalift_client import data_dir  # noqa: E402 - one definition, shared with the plug-ins


def venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def client_config_path() -> Path:
    """Where the installer tells host plug-ins which Python runs the core."""
    return data_dir() / "client.json"


def gimp_plugin_dirs() -> list[Path]:
    """GIMP 3's per-user plug-in folders that exist on this machine (native first, then Flatpak)."""
    home = Path.home()
    if sys.platform == "win32":
        candidates = [Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "GIMP" / "3.0"]
    elif sys.platform == "darwin":
        candidates = [home / "Library" / "Application Support" / "GIMP" / "3.0"]
    else:
        config = Path(os.environ.get("XDG_CONFIG_HOME", home / ".config"))
        candidates = [config / "GIMP" / "3.0", home / ".var" / "app" / "org.gimp.GIMP" / "config" / "GIMP" / "3.0"]
    found = [c / "plug-ins" for c in candidates if c.exists()]
    return found or [candidates[0] / "plug-ins"]


def krita_resource_dirs() -> list[Path]:
    """Krita's per-user resource folders that exist here (native first, then Flatpak)."""
    home = Path.home()
    if sys.platform == "win32":
        candidates = [Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "krita"]
    elif sys.platform == "darwin":
        candidates = [home / "Library" / "Application Support" / "krita"]
    else:
        data = Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share"))
        candidates = [data / "krita", home / ".var" / "app" / "org.kde.krita" / "data" / "krita"]
    found = [c for c in candidates if c.exists()]
    return found or [candidates[0]]


FLATPAK_IDS = {"gimp": "org.gimp.GIMP", "krita": "org.kde.krita"}
SYSTEM_FLATPAK_APPS = Path("/var/lib/flatpak/app")


def flatpak_installed(target: str) -> bool:
    """A Flatpak of ``target`` (gimp, krita) is installed for this user or system-wide, or has run
    for this user (~/.var/app/ID): its sandbox cannot run a core made from the system's Python."""
    if not sys.platform.startswith("linux") or target not in FLATPAK_IDS:
        return False
    app = FLATPAK_IDS[target]
    home = Path.home()
    user_data = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    places = (home / ".var" / "app" / app, user_data / "flatpak" / "app" / app, SYSTEM_FLATPAK_APPS / app)
    return any(folder.is_dir() for folder in places)


def kritarc_for(resource_dir: Path) -> Path:
    """The kritarc that goes with a resource folder (where Krita keeps enabled plug-ins)."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "kritarc"
    if sys.platform == "darwin":
        return home / "Library" / "Preferences" / "kritarc"
    if "org.kde.krita" in resource_dir.parts:
        return home / ".var" / "app" / "org.kde.krita" / "config" / "kritarc"
    return Path(os.environ.get("XDG_CONFIG_HOME", home / ".config")) / "kritarc"


def blender_config_base() -> Path:
    """The folder holding Blender's per-version user folders (4.2, 4.5, ...)."""
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("APPDATA", home / "AppData" / "Roaming")) / "Blender Foundation" / "Blender"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "Blender"
    return Path(os.environ.get("XDG_CONFIG_HOME", home / ".config")) / "blender"


def blender_config_dirs() -> list[Path]:
    """Blender's per-version user folders (e.g. ~/.config/blender/4.5) that exist here, 4.2 and later."""
    base = blender_config_base()
    found = []
    for folder in sorted(base.glob("[0-9]*.[0-9]*")) if base.exists() else []:
        major, minor = (int(p) for p in folder.name.split(".")[:2])
        if (major, minor) >= (4, 2):
            found.append(folder)
    return found
