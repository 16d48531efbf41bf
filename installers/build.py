#!/usr/bin/env python3
"""Build the archives hosts install from a file.

    python3 installers/build.py krita [--out dist]   alphalift-krita.zip for Krita's
                                                      Tools > Scripts > Import Python Plugin from File
    python3 installers/build.py blender [--out dist] alphalift-blender.zip, a Blender 4.2+ extension, for
                                                      Get Extensions > Install from Disk; checked with
                                                      Blender's own validator where `blender` is on PATH
    python3 installers/build.py blender --bundle [--platform linux-x64 ...] [--wheels CACHE]
                                                      alphalift-blender-PLATFORM.zip for each platform
                                                      (default: all three): the extension with the core
                                                      and its dependencies as wheels, so Blender needs
                                                      nothing else installed

Standard library only. The stdlib client is copied into each archive: plug-ins ship alone. The
Blender archive is an extension only (its files at the top, no package folder): Blender's legacy
add-on installer refuses it; `install.py blender --dest ADDONS` installs the legacy add-on instead.

A bundled archive lists its wheels in its manifest (`wheels`, `platforms`); Blender installs them
into the extensions' site-packages and core_runtime.py starts the worker from Blender's own Python.
Its wheels come from pip (`pip wheel` for the core, `pip download` for the rest), kept in a cache
folder and reused without asking the index when they are all there. numpy is left out (Blender
ships it; the others are resolved against the oldest numpy Blender ships), and so is OpenVINO (a
59 MB wheel, 180 MB installed: the bundled core runs ONNX Runtime; `install.py core` adds OpenVINO).
OpenCV is bundled for the node's Temporal Smoothing.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Dict, List

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blender_cli import MIN_VERSION, blender_version, validation_problems, version_text  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent
CLIENT = PROJECT / "plugins" / "client" / "alphalift_client.py"
MANIFEST = "blender_manifest.toml"
BLENDER_PYTHON = "3.11"  # Blender 4.2 LTS to 5.0 all ship CPython 3.11
BLENDER_NUMPY = "1.26.4"  # the oldest numpy those Blenders ship: the bundle is resolved against it
LEFT_OUT = ("numpy",)  # Blender's own is used
# The node's Temporal Smoothing (on by default) needs the video extra's optical flow; PyAV is not
# bundled: Blender reads movie frames with its own decoder.
BUNDLED_EXTRAS = ("opencv-python-headless>=4.8",)
PLATFORMS: Dict[str, List[str]] = {  # Blender's platform names -> pip's platform tags
    "linux-x64": ["manylinux_2_28_x86_64", "manylinux2014_x86_64"],  # Blender 4.2+ needs glibc 2.28
    "windows-x64": ["win_amd64"],
    "macos-arm64": ["macosx_14_0_arm64"],  # pip also takes wheels for older macOS
}
DEFAULT_WHEELS = Path(os.environ.get("ALPHALIFT_WHEEL_CACHE")
                      or Path.home() / ".cache" / "alphalift-dev" / "wheels")


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


def core_wheel(folder: Path) -> Path:
    """A wheel of this project (the core), built by pip into a fresh ``folder``."""
    shutil.rmtree(folder, ignore_errors=True)
    pip(["wheel", "--no-deps", "--quiet", "-w", str(folder), str(PROJECT)],
        "could not build the core's wheel")
    return next(folder.glob("alphalift-*.whl"))


def pip(args: List[str], failure: str, quiet_failure: bool = False) -> bool:
    """Run this Python's pip; SystemExit with ``failure`` and pip's last lines unless ``quiet_failure``."""
    done = subprocess.run([sys.executable, "-m", "pip", *args], capture_output=True, text=True)
    if done.returncode == 0:
        return True
    if quiet_failure:
        return False
    lines = [line.strip() for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    raise SystemExit(f"build.py: error: {failure}: {' / '.join(lines[-3:])}. Check that "
                     f"`{sys.executable} -m pip` can reach the package index, or fill the wheel cache.")


def platform_wheels(platform: str, core: Path, cache: Path) -> List[Path]:
    """The core's wheel and every dependency's for ``platform`` (numpy left out), from the cache
    when it holds them all, else fetched by pip into it."""
    folder = cache / platform
    folder.mkdir(parents=True, exist_ok=True)
    tags = [argument for tag in PLATFORMS[platform] for argument in ("--platform", tag)]
    with tempfile.TemporaryDirectory() as scratch:
        args = ["download", "--quiet", "--only-binary=:all:", "--python-version", BLENDER_PYTHON,
                "--implementation", "cp", "--abi", "cp" + BLENDER_PYTHON.replace(".", ""), *tags,
                "-d", scratch, str(core), *BUNDLED_EXTRAS, f"numpy=={BLENDER_NUMPY}"]
        if not pip([*args, "--no-index", "--find-links", str(folder)], "", quiet_failure=True):
            pip(args, f"could not fetch the wheels for {platform}")
        wheels = []
        for found in sorted(Path(scratch).glob("*.whl")):
            if found.name != core.name and not os.path.exists(folder / found.name):
                shutil.copy2(found, folder / found.name)
            if distribution(found.name) not in LEFT_OUT:
                wheels.append(core if found.name == core.name else folder / found.name)
    return wheels


def distribution(wheel_name: str) -> str:
    """A wheel's project name, normalised (Pillow-11.0-... -> pillow)."""
    return re.sub(r"[-_.]+", "_", wheel_name.split("-", 1)[0]).lower()


def bundle_manifest(text: str, platform: str, wheels: List[str]) -> str:
    """The extension's manifest for one platform: its `platforms` and `wheels` lists added."""
    listed = ",\n".join(f'  "./wheels/{name}"' for name in wheels)
    addition = f'platforms = ["{platform}"]\nwheels = [\n{listed},\n]\n'
    table = re.search(r"^\[", text, re.MULTILINE)  # top-level keys go before the first table
    at = table.start() if table else len(text)
    return text[:at] + addition + "\n" + text[at:]


def build_blender_bundle(out: Path, platform: str, core: Path, cache: Path) -> Path:
    """alphalift-blender-PLATFORM.zip: the extension, its manifest naming the platform, the wheels."""
    wheels = platform_wheels(platform, core, cache)
    source = PROJECT / "plugins" / "blender" / "alphalift_blender"
    target = out / f"alphalift-blender-{platform}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(source.rglob("*")):
            name = path.relative_to(source).as_posix()
            skipped = "__pycache__" in path.parts or path.suffix == ".pyc" or name == MANIFEST
            if path.is_file() and not skipped:
                archive.write(path, name)
        manifest = (source / MANIFEST).read_text(encoding="utf-8")
        archive.writestr(MANIFEST, bundle_manifest(manifest, platform, [w.name for w in wheels]))
        archive.write(CLIENT, "alphalift_client.py")
        for wheel in wheels:
            archive.write(wheel, f"wheels/{wheel.name}", compress_type=zipfile.ZIP_STORED)
    return target


def megabytes(path: Path) -> str:
    return f"{path.stat().st_size / 1e6:.1f} MB"


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
    parser.add_argument("--bundle", action="store_true",
                        help="blender: one archive per platform, the core and its wheels inside")
    parser.add_argument("--platform", action="append", choices=sorted(PLATFORMS),
                        help="with --bundle: only this platform (repeatable; default: all)")
    parser.add_argument("--wheels", type=Path, default=DEFAULT_WHEELS,
                        help=f"with --bundle: the wheel cache (default {DEFAULT_WHEELS})")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    if args.target == "krita":
        print(build_krita(args.out))
    elif args.bundle:
        core = core_wheel(args.wheels / "core")
        for platform in args.platform or list(PLATFORMS):
            target = build_blender_bundle(args.out, platform, core, args.wheels)
            validate_blender(target)
            print(f"{target} ({megabytes(target)})")
    else:
        target = build_blender(args.out)
        validate_blender(target)
        print(target)
    return 0


if __name__ == "__main__":
    sys.exit(main())
