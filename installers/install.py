#!/usr/bin/env python3
"""Install AlphaLift for a user: the core's own environment, the default model, the plug-ins.

    python3 installers/install.py core [--demo]     venv + alphalift + default model (+ a sample cut-out)
    python3 installers/install.py core --uninstall  remove the venv and the client config

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
from paths import client_config_path, data_dir, venv_python  # noqa: E402

PROJECT = Path(__file__).resolve().parent.parent


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def run(*command: object) -> None:
    subprocess.run([str(c) for c in command], check=True)


def install_core(demo: bool) -> Path:
    """Create or update the venv, install alphalift into it, fetch the default model."""
    env_dir = data_dir() / "venv"
    python = venv_python(env_dir)
    if not python.exists():
        step(f"creating the core environment in {env_dir}")
        venv.EnvBuilder(with_pip=True, clear=False).create(env_dir)
    step("installing alphalift and its dependencies")
    run(python, "-m", "pip", "install", "--quiet", "--upgrade", str(PROJECT))
    step("fetching and verifying the default model (ISNet by IMG.LY, licence AGPL-3.0)")
    run(python, "-m", "alphalift", "models", "download")
    write_client_config(python)
    if demo:
        run_demo(python)
    return python


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


def uninstall_core() -> None:
    env_dir = data_dir() / "venv"
    if env_dir.exists():
        shutil.rmtree(env_dir)
    client_config_path().unlink(missing_ok=True)
    step(f"removed {env_dir}; models stay in {data_dir() / 'models'} (`alphalift models remove`)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("target", choices=["core"], help="what to install")
    parser.add_argument("--uninstall", action="store_true")
    parser.add_argument("--demo", action="store_true", help="cut out a sample photo afterwards")
    args = parser.parse_args(argv)
    try:
        if args.uninstall:
            uninstall_core()
        else:
            install_core(args.demo)
    except subprocess.CalledProcessError as exc:
        print(f"install.py: error: {' '.join(map(str, exc.cmd))} failed (exit {exc.returncode})",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
