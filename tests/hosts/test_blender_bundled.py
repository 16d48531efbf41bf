"""Blender with nothing else installed (pip `bpy` 4.2.23, 4.5.4, 5.0.1): in a fresh HOME with no
`install.py core` and no client.json, the Linux zip that `build.py blender --bundle` makes is
installed from disk; its node's matte, computed by the bundled core on Blender's own Python, is the
CLI's mask, and with Allow Online Access off a missing model is not fetched. Each platform's zip
passes Blender's validator. Prints each zip's size and the time from install to the first matte.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

try:
    import tomllib
except ImportError:  # Python 3.10: the core depends on tomli there
    import tomli as tomllib

from .conftest import PROJECT, cli_mask
from .test_blender import VERSIONS, blender_on_path, bpy_python

sys.path.insert(0, str(PROJECT / "installers"))
from blender_cli import validation_problems  # noqa: E402

PLATFORMS = ("linux-x64", "windows-x64", "macos-arm64")  # build.py's
pytestmark = pytest.mark.hosts
HOST_ONLY = ("ALPHALIFT_HOME", "ALPHALIFT_PYTHON", "XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME")


@pytest.fixture(scope="module")
def zips(tmp_path_factory) -> dict:
    """Each platform's archive, built here from the wheel cache (filled through pip on a first run)."""
    out = tmp_path_factory.mktemp("bundle")
    built = subprocess.run([sys.executable, str(PROJECT / "installers" / "build.py"), "blender", "--bundle",
                            "--out", str(out)], capture_output=True, text=True, timeout=1800)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    return {platform: out / f"alphalift-blender-{platform}.zip" for platform in PLATFORMS}


@pytest.mark.parametrize("version", VERSIONS)
def test_each_platform_zip_passes_blenders_validator(version, zips, tmp_path):
    blender = blender_on_path(version, tmp_path / "bin")["PATH"].split(os.pathsep)[0] + "/blender"
    for platform, target in zips.items():
        assert validation_problems(blender, target) is None, platform
        with zipfile.ZipFile(target) as archive:  # Blender's validator reads the manifest only
            manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
            names = set(archive.namelist())
        assert manifest["platforms"] == [platform]
        assert {wheel[2:] for wheel in manifest["wheels"]} <= names
        bundled = {Path(wheel).name.split("-")[0].lower() for wheel in manifest["wheels"]}
        assert {"alphalift", "onnxruntime", "pillow", "opencv_python_headless"} <= bundled, bundled
        assert "numpy" not in bundled and "openvino" not in bundled, "Blender's numpy; no OpenVINO"
        print(f"\n{target.name}: {target.stat().st_size / 1e6:.1f} MB, {len(manifest['wheels'])} wheels, "
              f"passes Blender {version}'s validator")


def share_model(data: Path) -> None:
    """The default model's verified file, as another AlphaLift on this machine left it (no fp32
    conversion: the bundled core makes its own)."""
    from alphalift.models import ModelStore

    store = ModelStore()
    spec = store.catalog.get(None)
    original = store.runtime_path(spec).parent / spec.file_name
    (data / "models").mkdir(parents=True)
    shutil.copy2(original, data / "models" / spec.file_name)


@pytest.mark.parametrize("version", VERSIONS)
def test_bundled_extension_mattes_with_nothing_else_installed(version, zips, tmp_path):
    linux_zip = zips["linux-x64"]
    home, work = tmp_path / "home", tmp_path / "work"
    skimage_data = pytest.importorskip("skimage.data")
    work.mkdir()
    Image.fromarray(skimage_data.astronaut()).save(work / "photo.png")
    env = {k: v for k, v in blender_on_path(version, tmp_path / "bin").items() if k not in HOST_ONLY}
    env.update(HOME=str(home), ALPHALIFT_BACKEND="onnxruntime")
    data = home / ".local" / "share" / "alphalift"
    share_model(data)
    began = time.monotonic()
    installed = subprocess.run(["blender", "--command", "extension", "install-file", "-r", "user_default",
                                "-e", str(linux_zip)], capture_output=True, text=True, env=env, timeout=600)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    install_seconds = time.monotonic() - began
    driver = PROJECT / "tests" / "hosts" / "blender_bundled_driver.py"
    ran = subprocess.run([str(bpy_python(version)), str(driver), str(work)], capture_output=True, text=True,
                         env=env, timeout=1200)
    total = time.monotonic() - began
    assert (work / "report.json").exists(), ran.stdout[-3000:] + ran.stderr[-3000:]
    report = json.loads((work / "report.json").read_text())
    assert "exception" not in report, report["exception"]
    print(f"\nBlender {version} bundled: install {install_seconds:.1f} s, first Compute Matte "
          f"{report['first_matte_seconds']:.1f} s, install to first matte {total:.1f} s wall")
    assert not (data / "client.json").exists() and report["enabled"] and not report["online_access"]
    command = report["worker_command"]
    assert command[0] == report["python"] and ".local" in command[-1]  # Blender's Python, bundled core
    assert report["compute"] == ["FINISHED"]
    expected = cli_mask(work / "photo.png", tmp_path)
    assert np.abs(np.asarray(Image.open(report["matte"]), np.int16) - expected).max() <= 1
    assert "Preferences > System > Network > Allow Online Access" in report["offline"]
    assert [p.name for p in (data / "models").glob("u2net*")] in ([], ["u2net.lock"])  # nothing fetched
    assert "fetching" not in (data / "worker.log").read_text()
