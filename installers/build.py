#!/usr/bin/env python3
"""Build the archives hosts install from a file.

    python3 installers/build.py krita [--out dist]   alphalift-krita.zip for Krita's
                                                      Tools > Scripts > Import Python Plugin from File
    python3 installers/build.py blender [--out dist] alphalift-blender.zip, a Blender 4.2+ extension, for
                                                      Get Extensions > Install from Disk; checked with
                                                      Blender's own validator where `blender` is on PATH

Standard library only. The stdlib client is copied into each archive: plug-ins ship alone. The
Blender archive is an extension only (its files at the top, no package folder): Blender's legacy
add-on installer refuses it; `install.py blender --dest ADDONS` installs the legacy add-on instead.
"""
from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blender_cli import MIN_VERSION, blender_version, validation_problems, version_text  # noqa: E402

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
    """An extension archive: blender_manifest.toml at the top, the package's files beside it."""
    target = out / "alphalift-blender.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        add_tree(archive, PROJECT / "plugins" / "blender" / "alphalift_blender", ".")
        archive.write(CLIENT, "alphalift_client.py")
    return target


def validate_blender(target: Path) -> None:
    """Blender's own `extension validate` on the archive, where a `blender` 4.2+ is on PATH."""
    blender = shutil.which("blender")
    if blender is None:
        print(f"{target.name}: not validated (no `blender` on PATH)")
        return
    version = blender_version(blender)
    if version is None or version < MIN_VERSION:
        found = f"Blender {version_text(version)}" if version else f"{blender}, whose version is unknown,"
        print(f"{target.name}: not validated ({found} is on PATH; validating needs Blender 4.2 or later)")
        return
    problems = validation_problems(blender, target)
    if problems:
        raise SystemExit(f"build.py: error: {target} fails Blender {version_text(version)}'s extension "
                         f"validator: {problems}. "
                         "Fix plugins/blender/alphalift_blender/blender_manifest.toml.")
    print(f"{target.name}: passes Blender {version_text(version)}'s extension validator")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["krita", "blender"])
    parser.add_argument("--out", type=Path, default=PROJECT / "dist")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.target == "krita":
        print(build_krita(args.out))
    else:
        target = build_blender(args.out)
        validate_blender(target)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
