#!/usr/bin/env python3
"""Build the archives hosts install from a file.

    python3 installers/build.py krita [--out dist]   alphalift-krita.zip for Krita's
                                                      Tools > Scripts > Import Python Plugin from File
    python3 installers/build.py blender [--out dist] alphalift-blender.zip for Blender's Get Extensions >
                                                      Install from Disk (and legacy add-on install)

Standard library only. The stdlib client is copied into each archive: plug-ins ship alone.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CLIENT = PROJECT / "plugins" / "client" / "alphalift_client.py"


def add_tree(archive: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            name = path.relative_to(folder).as_posix()
            archive.write(path, name if prefix == "." else f"{prefix}/{name}")


def build_krita(out: Path) -> Path:
    """Krita's importer wants the .desktop file and the package folder at the archive's top."""
    target = out / "alphalift-krita.zip"
    source = PROJECT / "plugins" / "krita"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(source / "alphalift_krita.desktop", "alphalift_krita.desktop")
        add_tree(archive, source / "alphalift_krita", "alphalift_krita")
        archive.write(CLIENT, "alphalift_krita/alphalift_client.py")
    return target


def build_blender(out: Path) -> Path:
    """An extension archive: blender_manifest.toml at the top, the package's files beside it.

    Where a `blender` executable is on PATH, `blender --command extension validate` checks it.
    """
    target = out / "alphalift-blender.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        add_tree(archive, PROJECT / "plugins" / "blender" / "alphalift_blender", ".")
        archive.write(CLIENT, "alphalift_client.py")
    blender = shutil.which("blender")
    if blender:
        subprocess.run([blender, "--command", "extension", "validate", str(target)], check=True)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["krita", "blender"])
    parser.add_argument("--out", type=Path, default=PROJECT / "dist")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print((build_krita if args.target == "krita" else build_blender)(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
