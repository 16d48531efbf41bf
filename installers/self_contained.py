"""The core's environment on a self-contained Python, for hosts in a Flatpak sandbox.

A Flatpak app sees its runtime's /usr, not the host's, so a venv made from the system's Python
(bin/python -> /usr/bin/python3.11) does not start in it, or starts another Python version.
python-build-standalone's interpreters need only the C library, which every runtime has: a venv
made from one kept in AlphaLift's data folder runs inside the sandbox and outside it alike. uv
fetches and manages them; it is taken from ALPHALIFT_UV, PATH, or its wheel (through pip).
Standard library only.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from paths import data_dir, venv_python

from alphalift_client import system_interpreter  # paths put the client on sys.path

PYTHON_VERSION = "3.12"
WHAT_TO_DO = ("check the connection, or set UV_PYTHON_INSTALL_MIRROR to a mirror of "
              "python-build-standalone's releases, and run this again")


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def self_contained_environment(env_dir: Path) -> Path:
    """``env_dir`` as a venv on a self-contained Python (kept in the data folder's python/);
    an existing one is kept, one made from the system's Python replaced (the models stay)."""
    python = venv_python(env_dir)
    if python.exists() and system_interpreter(str(python)) is None:
        return python
    uv = find_uv()
    env = dict(os.environ, UV_PYTHON_INSTALL_DIR=str(data_dir() / "python"))
    say(f"fetching a self-contained Python {PYTHON_VERSION} (python-build-standalone) with {uv}")
    fetched = subprocess.run([uv, "python", "install", PYTHON_VERSION], env=env,
                             stderr=subprocess.PIPE, text=True)
    if fetched.returncode != 0:  # the old environment is still there, and still works outside
        raise SystemExit(f"install.py: error: uv could not fetch a self-contained Python "
                         f"({last_line(fetched.stderr)}), which a Flatpak host needs: " + WHAT_TO_DO)
    if env_dir.exists():
        say(f"replacing {env_dir}, made from the system's Python, which a Flatpak sandbox cannot run")
        shutil.rmtree(env_dir)
    made = subprocess.run([uv, "venv", "--seed", "--python-preference", "only-managed", "--python",
                           PYTHON_VERSION, str(env_dir)], env=env, stderr=subprocess.PIPE, text=True)
    if made.returncode != 0 or not python.exists():
        raise SystemExit(f"install.py: error: uv could not make {env_dir} ({last_line(made.stderr)}); "
                         "run this again, or report it with that message")
    return python


def find_uv() -> str:
    kept = data_dir() / "tools" / ("uv.exe" if sys.platform == "win32" else "uv")
    for candidate in (os.environ.get("ALPHALIFT_UV"), shutil.which("uv"), kept if kept.exists() else None):
        if candidate:
            return str(candidate)
    return str(fetch_uv(kept.parent))


def fetch_uv(folder: Path) -> Path:
    """uv's wheel (which carries the uv binary) through this Python's pip, its binary kept."""
    say("fetching uv with pip (it sets up the self-contained Python)")
    with tempfile.TemporaryDirectory() as scratch:
        result = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                                 "--only-binary", ":all:", "--dest", scratch, "uv"],
                                stderr=subprocess.PIPE, text=True)
        wheels = sorted(Path(scratch).glob("uv-*.whl"))
        if result.returncode != 0 or not wheels:
            raise SystemExit("install.py: error: a Flatpak host needs a self-contained Python, set up "
                             f"with uv, and pip could not fetch uv ({last_line(result.stderr)}): install "
                             "uv (`pipx install uv`, or your distribution's package) or set ALPHALIFT_UV "
                             "to it, and run this again")
        return uv_from_wheel(wheels[0], folder)


def uv_from_wheel(wheel: Path, folder: Path) -> Path:
    """Copy the uv binary out of its wheel (NAME.data/scripts/uv) into ``folder``."""
    name = "uv.exe" if sys.platform == "win32" else "uv"
    with zipfile.ZipFile(wheel) as archive:
        members = [m for m in archive.namelist() if m.endswith(f".data/scripts/{name}")]
        if not members:
            raise SystemExit(f"install.py: error: {wheel.name} holds no {name}; install uv yourself "
                             "and set ALPHALIFT_UV to it")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / name
        partial = folder / f".{name}.partial"
        partial.write_bytes(archive.read(members[0]))
    partial.chmod(0o755)
    partial.replace(target)
    return target


def last_line(text: str | None) -> str:
    """The most specific line of a tool's error output (uv ends with its deepest cause)."""
    lines = [line.strip() for line in (text or "").splitlines() if line.strip()]
    if not lines:
        return "no message"
    line = lines[-1]
    for prefix in ("cause:", "error:", "ERROR:"):
        if line.startswith(prefix):
            line = line[len(prefix):].strip()
    return line
