"""The Debian 13 chroot the real GIMP and Krita run in, shared by their host tests.

Needs root (debootstrap, chroot, bind mounts); elsewhere the tests skip, saying so. The chroot is
built once and cached in $ALPHALIFT_CACHE/trixie, outside the clone; the project is copied in and
installed with its own installer, and the host's verified model files are bind-mounted.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PROJECT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("ALPHALIFT_CACHE", Path.home() / ".cache" / "alphalift-dev"))
ROOT = CACHE / "trixie"
CHROOT_HOME = "/alphalift-home"


class Chroot:
    root = ROOT

    def run(self, command: str, timeout: int = 900, **env: str) -> subprocess.CompletedProcess:
        # Both sides of each comparison run ONNX Runtime, so masks can agree to 1/255.
        environment = {"HOME": "/root", "ALPHALIFT_HOME": CHROOT_HOME, "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                       "LANG": "C.UTF-8", "ALPHALIFT_BACKEND": "onnxruntime", **env}
        if os.environ.get("PIP_CERT"):
            environment["PIP_CERT"] = "/etc/ssl/certs/ca-certificates.crt"
        args = ["chroot", str(ROOT), "env", *[f"{k}={v}" for k, v in environment.items()], "sh", "-c", command]
        return subprocess.run(args, capture_output=True, text=True, timeout=timeout)

    def path(self, inside: str) -> Path:
        return ROOT / inside.lstrip("/")


def copy_project() -> None:
    target = ROOT / "opt" / "alphalift-src"
    shutil.rmtree(target, ignore_errors=True)
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=PROJECT,
                           capture_output=True, text=True, check=True).stdout.split()
    for name in files:
        source = PROJECT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)


@pytest.fixture(scope="session")
def trixie():
    """The chroot, up to date, with the project copied to /opt/alphalift-src and models mounted."""
    if os.name != "posix" or os.geteuid() != 0:
        pytest.skip("the real-host tests need root to build and enter a Debian 13 chroot")
    from alphalift.models import ModelStore

    store = ModelStore()
    store.runtime_path(store.catalog.get(None))  # the chroot reuses the verified model files
    script = PROJECT / "tests" / "hosts" / "chroot.sh"
    build = subprocess.run(["sh", str(script), str(ROOT), "up"], capture_output=True, text=True, timeout=2400)
    assert build.returncode == 0, build.stdout[-2000:] + build.stderr[-2000:]
    models = ROOT / CHROOT_HOME.lstrip("/") / "models"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy2("/etc/ssl/certs/ca-certificates.crt", ROOT / "etc/ssl/certs/ca-certificates.crt")
    subprocess.run(["mount", "--bind", str(store.root), str(models)], check=True)
    try:
        copy_project()
        yield Chroot()
    finally:
        subprocess.run(["umount", "-l", str(models)], check=False)
        subprocess.run(["sh", str(script), str(ROOT), "down"], check=False)


def write_photos(work: Path) -> None:
    """photo.png (scikit-image's public-domain astronaut) and gray.png in a fresh ``work``."""
    skimage_data = pytest.importorskip("skimage.data")
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    Image.fromarray(skimage_data.astronaut()).save(work / "photo.png")
    Image.fromarray(skimage_data.astronaut()).convert("L").save(work / "gray.png")


def cli_mask(photo: Path, tmp_path: Path, *options: str) -> np.ndarray:
    """What `alphalift remove --format mask [options]` gives, on the same backend as the chroot's core."""
    out = tmp_path / f"{photo.stem}-mask.png"
    env = {**os.environ, "ALPHALIFT_BACKEND": "onnxruntime"}
    done = subprocess.run([sys.executable, "-m", "alphalift", "remove", str(photo), "--format", "mask",
                           "-o", str(out), "--force", *options], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return np.asarray(Image.open(out), np.int16)
