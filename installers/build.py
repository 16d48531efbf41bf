#!/usr/bin/env python3
"""Build the archives hosts install from a file.

    python3 installers/build.py krita [--out dist]   alphalift-krita.zip for Krita's
                                                      Tools > Scripts > Import Python Plugin from File

Standard library only. The stdlib client is copied into each archive: plug-ins ship alone.
"""
from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
CLIENT = PROJECT / "plugins" / "client" / "alphalift_client.py"


def add_tree(archive: zipfile.ZipFile, folder: Path, prefix: str) -> None:
    for path in sorted(folder.rglob("*")):
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
            archive.write(path, f"{prefix}/{path.relative_to(folder).as_posix()}")


def build_krita(out: Path) -> Path:
    """Krita's importer wants the .desktop file and the package folder at the archive's top."""
    target = out / "alphalift-krita.zip"
    source = PROJECT / "plugins" / "krita"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(source / "alphalift_krita.desktop", "alphalift_krita.desktop")
        add_tree(archive, source / "alphalift_krita", "alphalift_krita")
        archive.write(CLIENT, "alphalift_krita/alphalift_client.py")
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["krita"])
    parser.add_argument("--out", type=Path, default=PROJECT / "dist")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    print(build_krita(args.out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
