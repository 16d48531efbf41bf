"""Per-OS locations, computed with the standard library only (installers run before any venv).

They match platformdirs.user_data_dir("alphalift", appauthor=False), which the core uses.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def data_dir() -> Path:
    override = os.environ.get("ALPHALIFT_HOME")
    if override:
        return Path(override).expanduser()
    home = Path.home()
    if sys.platform == "win32":
        return Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local")) / "alphalift"
    if sys.platform == "darwin":
        return home / "Library" / "Application Support" / "alphalift"
    return Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share")) / "alphalift"


def venv_python(venv: Path) -> Path:
    if sys.platform == "win32":
        return venv / "Scripts" / "python.exe"
    return venv / "bin" / "python"


def client_config_path() -> Path:
    """Where the installer tells host plug-ins which Python runs the core."""
    return data_dir() / "client.json"
