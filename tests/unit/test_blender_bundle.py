"""Blender with nothing else installed: build.py's per-platform archives (manifest, wheels, the
cache) and core_runtime.py (which core the worker runs, started how; Allow Online Access)."""
from __future__ import annotations

import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

try:
    import tomllib
except ImportError:  # Python 3.10: the core depends on tomli there
    import tomli as tomllib

PROJECT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(PROJECT / "installers"))  # build.py imports blender_cli beside it
_spec = importlib.util.spec_from_file_location("alphalift_build", PROJECT / "installers" / "build.py")
build = importlib.util.module_from_spec(_spec)  # not `import build`: PyPA's package has that name
_spec.loader.exec_module(build)


@pytest.fixture()
def runtime(tmp_path, monkeypatch):
    """core_runtime.py in a package beside the client, as the extension holds them (no bpy)."""
    package = tmp_path / "pkg" / "ext_under_test"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    shutil.copy2(PROJECT / "plugins" / "blender" / "alphalift_blender" / "core_runtime.py", package)
    shutil.copy2(PROJECT / "plugins" / "client" / "alphalift_client.py", package)
    monkeypatch.syspath_prepend(str(package.parent))
    monkeypatch.delenv("ALPHALIFT_PYTHON", raising=False)
    yield importlib.import_module("ext_under_test.core_runtime")
    for name in [n for n in sys.modules if n.startswith("ext_under_test")]:
        del sys.modules[name]


def fake_wheel(folder: Path, name: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(folder / name, "w") as archive:
        archive.writestr("x.txt", name)
    return folder / name


def test_manifest_names_its_platform_and_wheels_as_top_level_keys():
    source = (PROJECT / "plugins" / "blender" / "alphalift_blender" / "blender_manifest.toml").read_text()
    manifest = tomllib.loads(build.bundle_manifest(source, "windows-x64", ["a-1-py3-none-any.whl"]))
    assert manifest["platforms"] == ["windows-x64"]
    assert manifest["wheels"] == ["./wheels/a-1-py3-none-any.whl"]
    assert manifest["id"] == "alphalift" and "network" in manifest["permissions"]


def test_wheels_come_from_the_cache_without_the_index_and_leave_numpy_out(tmp_path, monkeypatch):
    cache, core = tmp_path / "cache", fake_wheel(tmp_path / "core", "alphalift-0.1.0-py3-none-any.whl")
    calls = []

    def pip(args, failure, quiet_failure=False):  # what pip download would leave in -d
        calls.append(args)
        if "--no-index" in args:
            return False  # the cache is empty
        scratch = Path(args[args.index("-d") + 1])
        for name in (core.name, "numpy-1.26.4-cp311-cp311-win_amd64.whl",
                     "Pillow-13.0-cp311-cp311-win_amd64.whl"):
            fake_wheel(scratch, name)
        return True

    monkeypatch.setattr(build, "pip", pip)
    wheels = build.platform_wheels("windows-x64", core, cache)
    assert wheels == [cache / "windows-x64" / "Pillow-13.0-cp311-cp311-win_amd64.whl", core]
    assert wheels[0].exists() and not (cache / "windows-x64" / core.name).exists()
    assert "--no-index" in calls[0] and "--no-index" not in calls[1]
    assert ["--platform", "win_amd64"] == calls[1][calls[1].index("--platform"):][:2]
    assert f"numpy=={build.BLENDER_NUMPY}" in calls[1] and "3.11" in calls[1]


def test_bundled_archive_holds_the_extension_client_and_listed_wheels(tmp_path, monkeypatch):
    wheels = [fake_wheel(tmp_path / "w", "alphalift-0.1.0-py3-none-any.whl"),
              fake_wheel(tmp_path / "w", "onnxruntime-1.32.0-cp311-cp311-manylinux_2_28_x86_64.whl")]
    monkeypatch.setattr(build, "platform_wheels", lambda platform, core, cache: wheels)
    target = build.build_blender_bundle(tmp_path, "linux-x64", wheels[0], tmp_path / "cache")
    assert target.name == "alphalift-blender-linux-x64.zip"
    with zipfile.ZipFile(target) as archive:
        names = set(archive.namelist())
        manifest = tomllib.loads(archive.read("blender_manifest.toml").decode())
    assert {"__init__.py", "core_runtime.py", "alphalift_client.py"} <= names
    assert {f"wheels/{w.name}" for w in wheels} <= names
    assert manifest["wheels"] == [f"./wheels/{w.name}" for w in wheels]


def test_bundled_worker_runs_on_the_hosts_python_with_its_site_first(runtime, tmp_path):
    """The client strips PYTHONPATH: the bootstrap puts the bundle's folder first itself."""
    site = tmp_path / "site"
    (site / "alphalift").mkdir(parents=True)
    (site / "alphalift" / "__init__.py").write_text("")
    (site / "alphalift" / "cli.py").write_text(
        "import json, sys\n"
        "def main(argv):\n    print(json.dumps([argv, sys.path[0], __file__]))\n    return 3\n")
    command = runtime.worker_command(str(site))
    assert command[0] == sys.executable
    done = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path,
                          env={**os.environ, "PYTHONPATH": str(PROJECT / "core")})
    argv, first, loaded = json.loads(done.stdout)
    assert done.returncode == 3 and argv == ["serve", "--stdio"]
    assert first == str(site) and loaded == str(site / "alphalift" / "cli.py")


def test_an_installed_core_is_preferred_to_the_bundle(runtime, home, tmp_path):
    home.mkdir()
    bundle = runtime.make_client(lambda: True, site=str(tmp_path))
    assert bundle.command == runtime.worker_command(str(tmp_path))
    (home / "client.json").write_text(json.dumps({"python": sys.executable}))
    installed = runtime.make_client(lambda: True, site=str(tmp_path))
    assert installed.command is None  # `python -m alphalift serve` on client.json's Python
    (home / "client.json").write_text(json.dumps({"python": str(tmp_path / "gone" / "python")}))
    assert runtime.make_client(lambda: True, site=str(tmp_path)).command is not None


def test_offline_worker_reports_a_missing_model_without_fetching(runtime, home, tmp_path, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    (site / "alphalift").symlink_to(PROJECT / "core" / "alphalift")
    Image.new("RGB", (8, 8)).save(tmp_path / "photo.png")
    for name in ("HTTPS_PROXY", "HTTP_PROXY"):  # a fetch would fail fast, not reach out
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    client = runtime.make_client(lambda: False, site=str(site))
    try:
        with pytest.raises(runtime.AlphaLiftClientError) as raised:
            client.remove_file(str(tmp_path / "photo.png"), {"mask": str(tmp_path / "mask.png")})
    finally:
        client.close()
    assert raised.value.code == "model-missing" and "is not downloaded" in str(raised.value)
    assert "fetching" not in (home / "worker.log").read_text()
    message = runtime.explain(raised.value, online=False)
    assert "Preferences > System > Network > Allow Online Access" in message
    assert str(home / "models") in message
    assert runtime.explain(raised.value, online=True) == str(raised.value)


def test_offline_worker_uses_a_model_already_there(runtime, tiny_home, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "alphalift").symlink_to(PROJECT / "core" / "alphalift")
    Image.fromarray(np.full((40, 48, 3), 120, np.uint8)).save(tmp_path / "photo.png")
    client = runtime.make_client(lambda: False, site=str(site))
    try:
        saved = client.remove_file(str(tmp_path / "photo.png"), {"mask": str(tmp_path / "mask.png")},
                                   model="tiny")
    finally:
        client.close()
    assert Image.open(saved["mask"]).size == (48, 40)
