#!/usr/bin/env python3
"""Install AlphaLift for a user: the core's own environment, the default model, the plug-ins.

    python3 installers/install.py core [--demo]     venv + alphalift + default model (+ a sample cut-out)
    python3 installers/install.py gimp [--dest DIR] the core, then the GIMP 3 plug-ins
    python3 installers/install.py krita [--dest DIR] the core, then the Krita plug-in (pykrita), enabled
    python3 installers/install.py blender [--dest DIR] [--blender EXE]  the core, then the Blender
        extension in each Blender 4.2+ user folder and EXE's (default: `blender` on PATH), enabled in
        EXE's version (--dest: a legacy add-on in that scripts/addons folder instead)
    python3 installers/install.py TARGET --uninstall

Safe to re-run: an existing environment is updated in place. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from blender_cli import (MIN_VERSION, BlenderFailed, blender_version, enable_addon,  # noqa: E402
                         previous_user_folder, version_text)
from kritarc import set_plugin_enabled  # noqa: E402
from paths import (blender_config_base, blender_config_dirs, client_config_path, data_dir,  # noqa: E402
                   gimp_plugin_dirs, krita_resource_dirs, kritarc_for, venv_python)
from paths import FLATPAK_IDS, flatpak_installed  # noqa: E402
from self_contained import self_contained_environment, uv_from_wheel  # noqa: E402,F401

CLIENT = "plugins/client/alphalift_client.py"
GIMP_PLUGINS = {
    # plug-in folder: extra modules copied into it (each GIMP 3 plug-in lives in its own folder)
    "alphalift-gimp": [CLIENT],
    "alphalift-gimpfu-example": ["plugins/gimp/gimpfu_shim"],
}

KRITA_PLUGIN = "alphalift_krita"
PROJECT = Path(__file__).resolve().parent.parent


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: object) -> None:
    subprocess.run([str(c) for c in command], check=True)


def install_core(demo: bool, self_contained: bool = False) -> Path:
    """Create or update the venv, install alphalift into it, fetch the default model.
    ``self_contained``: the venv is made from a self-contained Python (self_contained.py), which
    a Flatpak sandbox can run, instead of the system's."""
    env_dir = data_dir() / "venv"
    python = venv_python(env_dir)
    if self_contained:
        python = self_contained_environment(env_dir)
    elif not python.exists():
        try:
            import ensurepip  # noqa: F401 - Debian splits it into python3-venv
        except ImportError:
            raise SystemExit("install.py: error: this Python cannot create virtual environments. "
                             "On Debian/Ubuntu: sudo apt-get install python3-venv") from None
        step(f"creating the core environment in {env_dir}")
        venv.EnvBuilder(with_pip=True, clear=False).create(env_dir)
    step("installing alphalift and its dependencies (with OpenVINO, 1.6x faster on x86 CPUs)")
    try:
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", f"{PROJECT}[openvino]")
    except subprocess.CalledProcessError:
        step("OpenVINO is not available here; installing with ONNX Runtime only")
        run(python, "-m", "pip", "install", "--quiet", "--upgrade", str(PROJECT))
    step("fetching and verifying the default model (its licence is printed below)")
    run(python, "-m", "alphalift", "models", "download")
    write_client_config(python)
    if demo:
        run_demo(python)
    return python


def install_video_extra(python: Path) -> None:
    """The Blender node's Temporal Smoothing (sequences and movies) needs the core's video extra:
    OpenCV's optical flow, and PyAV. Without it the node still works with the option off."""
    step("installing the core's video extra (OpenCV, PyAV) for the Blender node's Temporal Smoothing")
    try:
        run(python, "-m", "pip", "install", "--quiet", f"{PROJECT}[video]")
    except subprocess.CalledProcessError:
        step("could not install the video extra; in Blender turn Temporal Smoothing off, or run "
             "this installer again later")


def write_client_config(python: Path) -> None:
    config = client_config_path()
    config.parent.mkdir(parents=True, exist_ok=True)
    temporary = config.with_suffix(".tmp")
    temporary.write_text(json.dumps({"python": str(python)}, indent=2), encoding="utf-8")
    temporary.replace(config)
    step(f"host plug-ins will run the core with {python} (recorded in {config})")


def run_demo(python: Path) -> None:
    """Cut out scikit-image's public-domain astronaut photo, fetched at run time."""
    step("installing scikit-image for its sample photo")
    run(python, "-m", "pip", "install", "--quiet", "scikit-image")
    out = Path.cwd() / "alphalift-demo"
    out.mkdir(exist_ok=True)
    run(python, "-c", "import sys, skimage.data, PIL.Image; "
        "PIL.Image.fromarray(skimage.data.astronaut()).save(sys.argv[1])", out / "astronaut.png")
    run(python, "-m", "alphalift", "remove", out / "astronaut.png", "-o", out / "astronaut-cutout.png",
        "--force")
    step(f"done: {out / 'astronaut-cutout.png'}")


def copy_plugin(source: Path, extras: list[Path], target: Path) -> None:
    """Replace ``target`` with ``source`` plus ``extras``, via a temporary folder and a rename."""
    staging = target.with_name(f".{target.name}.new")
    shutil.rmtree(staging, ignore_errors=True)
    shutil.copytree(source, staging, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    for extra in extras:
        if extra.is_dir():
            shutil.copytree(extra, staging / extra.name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(extra, staging / extra.name)
    for script in staging.glob("*.py"):
        script.chmod(0o755)
    if target.exists():
        shutil.rmtree(target)
    staging.rename(target)


def install_gimp(dest: Path | None) -> None:
    folders = [dest] if dest else gimp_plugin_dirs()
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
        for name, extras in GIMP_PLUGINS.items():
            copy_plugin(PROJECT / "plugins" / "gimp" / name, [PROJECT / e for e in extras], folder / name)
        step(f"GIMP plug-ins installed in {folder} (restart GIMP: Filters > AlphaLift)")


def uninstall_gimp(dest: Path | None) -> None:
    for folder in [dest] if dest else gimp_plugin_dirs():
        for name in GIMP_PLUGINS:
            shutil.rmtree(folder / name, ignore_errors=True)
        step(f"GIMP plug-ins removed from {folder}")


def install_krita(dest: Path | None) -> None:
    """pykrita/alphalift_krita (+ the client) and its .desktop, then enable it in kritarc."""
    for resource_dir in [dest] if dest else krita_resource_dirs():
        pykrita = resource_dir / "pykrita"
        pykrita.mkdir(parents=True, exist_ok=True)
        copy_plugin(PROJECT / "plugins" / "krita" / KRITA_PLUGIN, [PROJECT / CLIENT], pykrita / KRITA_PLUGIN)
        shutil.copy2(PROJECT / "plugins" / "krita" / f"{KRITA_PLUGIN}.desktop", pykrita)
        kritarc = kritarc_for(resource_dir)
        set_plugin_enabled(kritarc, KRITA_PLUGIN, True)
        step(f"Krita plug-in installed in {pykrita} and enabled in {kritarc} "
             "(restart Krita: Settings > Dockers > AlphaLift)")


def uninstall_krita(dest: Path | None) -> None:
    for resource_dir in [dest] if dest else krita_resource_dirs():
        pykrita = resource_dir / "pykrita"
        shutil.rmtree(pykrita / KRITA_PLUGIN, ignore_errors=True)
        (pykrita / f"{KRITA_PLUGIN}.desktop").unlink(missing_ok=True)
        kritarc = kritarc_for(resource_dir)
        if kritarc.exists():
            set_plugin_enabled(kritarc, KRITA_PLUGIN, False)
        step(f"Krita plug-in removed from {pykrita}")


BLENDER_ADDON = "alphalift_blender"
BLENDER_EXTENSION = "alphalift"  # the manifest's id
BLENDER_MODULE = f"bl_ext.user_default.{BLENDER_EXTENSION}"
ENABLE_BY_HAND = "Edit > Preferences > Add-ons > AlphaLift"


def blender_extension_dir(user_folder: Path) -> Path:
    return user_folder / "extensions" / "user_default" / BLENDER_EXTENSION


def install_blender(dest: Path | None, blender: str | None) -> bool:
    """The extension in each Blender 4.2+ user folder, enabled in the version of ``blender`` (or the
    `blender` on PATH). False when that Blender could not enable it (said on stderr); the other
    versions are told how to enable it. A version never started gets its user folder, with the
    previous version's settings copied in as its first start would offer: saving its preferences
    here would otherwise take that offer away."""
    source = PROJECT / "plugins" / "blender" / BLENDER_ADDON
    if dest:
        copy_plugin(source, [PROJECT / CLIENT], dest / BLENDER_ADDON)
        step(f"Blender add-on installed in {dest / BLENDER_ADDON}; enable it in Blender: {ENABLE_BY_HAND}")
        return True
    executable = blender or shutil.which("blender")
    version = blender_version(executable) if executable else None
    folders = blender_config_dirs()
    if executable and version is None:
        step(f"{executable} did not say which Blender it is; not enabling AlphaLift with it")
    elif version and version < MIN_VERSION:
        step(f"{executable} is Blender {version_text(version)}; AlphaLift needs Blender 4.2 or later")
    elif version:
        own = blender_config_base() / version_text(version)
        if own not in folders:
            previous = previous_user_folder(blender_config_base(), version)
            if previous is not None:
                shutil.copytree(previous, own, symlinks=True, dirs_exist_ok=True)
                step(f"Blender {own.name} had never been started: copied Blender {previous.name}'s settings "
                     "into it, as its first start offers")
            folders.append(own)
    if not folders:
        raise SystemExit("install.py: error: found no Blender 4.2 or later (no user folder, no `blender` "
                         "on PATH); pass --blender EXE, or --dest SCRIPTS/addons for a legacy add-on")
    done = True
    for folder in folders:
        target = blender_extension_dir(folder)
        target.parent.mkdir(parents=True, exist_ok=True)
        copy_plugin(source, [PROJECT / CLIENT], target)
        if version is None or folder.name != version_text(version):
            step(f"Blender extension installed in {target}; "
                 f"enable it in Blender {folder.name}: {ENABLE_BY_HAND}")
            continue
        try:
            enable_addon(executable, BLENDER_MODULE)
        except BlenderFailed as exc:
            print(f"install.py: error: installed in {target}, but Blender {folder.name} ({executable}) "
                  f"could not enable it: {exc}. Enable it in Blender {folder.name}: {ENABLE_BY_HAND}",
                  file=sys.stderr)
            done = False
            continue
        step(f"Blender extension installed in {target} and enabled {BLENDER_MODULE} in Blender {folder.name} "
             "(Compositor: Add > AlphaLift Remove Background)")
    return done


def uninstall_blender(dest: Path | None) -> None:
    folders = [dest / BLENDER_ADDON] if dest else [blender_extension_dir(f) for f in blender_config_dirs()]
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
        step(f"Blender add-on removed from {folder}")


def uninstall_core() -> None:
    env_dir = data_dir() / "venv"
    if env_dir.exists():
        shutil.rmtree(env_dir)
    for folder in (data_dir() / "python", data_dir() / "tools"):  # the self-contained Python, uv
        shutil.rmtree(folder, ignore_errors=True)
    client_config_path().unlink(missing_ok=True)
    step(f"removed {env_dir}; models stay in {data_dir() / 'models'} (`alphalift models remove`)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["core", "gimp", "krita", "blender"], help="what to install")
    parser.add_argument("--blender", help="the Blender executable that enables the add-on")
    parser.add_argument("--dest", type=Path, help="install the plug-ins into this folder instead")
    parser.add_argument("--uninstall", action="store_true")
    parser.add_argument("--demo", action="store_true", help="cut out a sample photo afterwards")
    parser.add_argument("--self-contained", action="store_true",
                        help="run the core on a self-contained Python fetched with uv (chosen by "
                             "itself when GIMP or Krita is a Flatpak)")
    args = parser.parse_args(argv)
    try:
        if args.uninstall:
            {"core": lambda _dest: uninstall_core(), "gimp": uninstall_gimp,
             "krita": uninstall_krita, "blender": uninstall_blender}[args.target](args.dest)
        else:
            flatpaks = [t for t in FLATPAK_IDS if args.target in (t, "core") and flatpak_installed(t)]
            self_contained = args.self_contained or bool(flatpaks)
            for flatpak in flatpaks if not args.self_contained else []:
                step(f"{flatpak} is installed as a Flatpak ({FLATPAK_IDS[flatpak]}), whose sandbox "
                     "cannot run the system's Python: the core gets a self-contained one")
            python = install_core(args.demo, self_contained)
            if args.target == "blender":
                install_video_extra(python)
            if args.target == "gimp":
                install_gimp(args.dest)
            elif args.target == "krita":
                install_krita(args.dest)
            elif args.target == "blender" and not install_blender(args.dest, args.blender):
                return 1
    except subprocess.CalledProcessError as exc:
        print(f"install.py: error: {' '.join(map(str, exc.cmd))} failed (exit {exc.returncode})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
