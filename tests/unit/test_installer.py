"""The installer's plug-in placement: per-OS folders, --dest, re-runs and uninstall."""
from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .fake_blender import calls, fake_blender

INSTALLERS = Path(__file__).resolve().parents[2] / "installers"
sys.path.insert(0, str(INSTALLERS))
install = importlib.import_module("install")
paths = importlib.import_module("paths")


def home_on(monkeypatch, platform: str, home: Path) -> None:
    """Pretend to be a user of ``platform`` whose home is ``home``, with no XDG overrides."""
    monkeypatch.setattr(paths.sys, "platform", platform)
    monkeypatch.setattr(paths.Path, "home", lambda: home)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)


def test_gimp_plugins_land_in_dest_with_their_modules_and_rerun_safely(tmp_path):
    dest = tmp_path / "plug-ins"
    install.install_gimp(dest)
    (dest / "alphalift-gimp" / "stale.py").write_text("left from an older version")
    install.install_gimp(dest)  # a re-run replaces the folder cleanly
    plugin = dest / "alphalift-gimp"
    assert (plugin / "alphalift-gimp.py").stat().st_mode & 0o111
    assert (plugin / "alphalift_client.py").exists() and (plugin / "matte_logic.py").exists()
    assert not (plugin / "stale.py").exists()
    example = dest / "alphalift-gimpfu-example"
    assert (example / "alphalift-gimpfu-example.py").exists() and (example / "gimpfu_shim" / "__init__.py").exists()
    assert not list(dest.glob(".*.new"))
    install.uninstall_gimp(dest)
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize("platform, expected", [
    ("linux", ".config/GIMP/3.0/plug-ins"),
    ("darwin", "Library/Application Support/GIMP/3.0/plug-ins"),
])
def test_gimp_folder_per_os(monkeypatch, tmp_path, platform, expected):
    home_on(monkeypatch, platform, tmp_path)
    assert paths.gimp_plugin_dirs() == [tmp_path / expected]


def test_flatpak_gimp_is_found_beside_the_native_one(monkeypatch, tmp_path):
    home_on(monkeypatch, "linux", tmp_path)
    flatpak = tmp_path / ".var/app/org.gimp.GIMP/config/GIMP/3.0"
    flatpak.mkdir(parents=True)
    assert paths.gimp_plugin_dirs() == [flatpak / "plug-ins"]


def test_windows_folders(monkeypatch, tmp_path):
    monkeypatch.setattr(paths.sys, "platform", "win32")
    monkeypatch.setenv("APPDATA", str(tmp_path / "Roaming"))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    monkeypatch.delenv("ALPHALIFT_HOME", raising=False)
    assert paths.gimp_plugin_dirs() == [tmp_path / "Roaming" / "GIMP" / "3.0" / "plug-ins"]
    assert paths.data_dir() == tmp_path / "Local" / "alphalift"


def test_installer_client_and_core_agree_on_the_data_folder(monkeypatch, tmp_path):
    sys.path.insert(0, str(INSTALLERS.parent / "plugins" / "client"))
    client = importlib.import_module("alphalift_client")
    from alphalift.models.store import alphalift_home

    monkeypatch.delenv("ALPHALIFT_HOME", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert paths.data_dir() == client.data_dir() == alphalift_home() == tmp_path / "data" / "alphalift"


def test_krita_plugin_lands_in_pykrita_enabled_and_uninstalls(monkeypatch, tmp_path):
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    resources = tmp_path / "krita"
    install.install_krita(resources)
    pykrita = resources / "pykrita"
    assert (pykrita / "alphalift_krita.desktop").exists()
    assert (pykrita / "alphalift_krita" / "alphalift_client.py").exists()
    assert "enable_alphalift_krita=true" in (tmp_path / "config" / "kritarc").read_text()
    install.uninstall_krita(resources)
    assert list(pykrita.iterdir()) == []
    assert "enable_alphalift_krita=false" in (tmp_path / "config" / "kritarc").read_text()


@pytest.mark.parametrize("platform, resources, kritarc", [
    ("linux", ".local/share/krita", ".config/kritarc"),
    ("darwin", "Library/Application Support/krita", "Library/Preferences/kritarc"),
])
def test_krita_folders_per_os(monkeypatch, tmp_path, platform, resources, kritarc):
    home_on(monkeypatch, platform, tmp_path)
    (found,) = paths.krita_resource_dirs()
    assert found == tmp_path / resources and paths.kritarc_for(found) == tmp_path / kritarc


def test_flatpak_krita_keeps_its_own_kritarc(monkeypatch, tmp_path):
    home_on(monkeypatch, "linux", tmp_path)
    flatpak = tmp_path / ".var/app/org.kde.krita/data/krita"
    flatpak.mkdir(parents=True)
    assert paths.krita_resource_dirs() == [flatpak]
    assert paths.kritarc_for(flatpak) == tmp_path / ".var/app/org.kde.krita/config/kritarc"


def test_blender_addon_lands_in_dest(monkeypatch, tmp_path):
    monkeypatch.setattr(install.shutil, "which", lambda name: None)  # no blender to enable with
    assert install.install_blender(tmp_path / "addons", None)
    addon = tmp_path / "addons" / "alphalift_blender"
    assert (addon / "blender_manifest.toml").exists() and (addon / "alphalift_client.py").exists()


def blender_config(monkeypatch, tmp_path, *versions: str) -> Path:
    """A Linux user whose Blender folders are those of ``versions`` (started before)."""
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    for version in versions:
        (tmp_path / "config" / "blender" / version / "config").mkdir(parents=True)
    return tmp_path / "config" / "blender"


def extension_in(base: Path, version: str) -> Path:
    return base / version / "extensions" / "user_default" / "alphalift"


def test_blender_enables_only_in_its_own_version(monkeypatch, tmp_path, capsys):
    base = blender_config(monkeypatch, tmp_path, "3.6", "4.2", "4.5")
    fake_blender(tmp_path / "bin", version="5.0.1")  # the `blender` on PATH is 5.0, never started
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    assert install.install_blender(None, None)
    for version in ("4.2", "4.5", "5.0"):
        assert (extension_in(base, version) / "__init__.py").exists(), version
    assert not (base / "3.6" / "extensions").exists()
    scripts = [args for args in calls(tmp_path / "bin") if "--python-expr" in args]
    assert len(scripts) == 1 and "--python-exit-code" in scripts[0]
    assert "'bl_ext.user_default.alphalift'" in scripts[0][-1]
    assert (base / "5.0" / "config").is_dir(), "4.5's settings copied, as 5.0's first start offers"
    out = capsys.readouterr().out
    assert "enabled bl_ext.user_default.alphalift in Blender 5.0" in out
    assert "in Blender 4.2" in out and "enabled bl_ext.user_default.alphalift in Blender 4.2" not in out
    assert "enable it in Blender 4.5: Edit > Preferences > Add-ons" in out


def test_blender_script_errors_are_reported_not_called_enabled(monkeypatch, tmp_path, capsys):
    base = blender_config(monkeypatch, tmp_path, "4.5")
    blender = fake_blender(tmp_path / "bin", version="4.5.4", script_fails=True)  # exits 0 on errors
    assert not install.install_blender(None, str(blender))
    assert (extension_in(base, "4.5") / "__init__.py").exists()
    captured = capsys.readouterr()
    assert "enabled" not in captured.out
    (line,) = captured.err.strip().splitlines()
    assert "could not enable" in line and "Add-on not loaded" in line
    assert "Edit > Preferences > Add-ons" in line


def test_blender_never_started_gets_its_user_folder(monkeypatch, tmp_path, capsys):
    base = blender_config(monkeypatch, tmp_path)
    blender = fake_blender(tmp_path / "bin", version="4.2.23")
    assert install.install_blender(None, str(blender))
    assert (extension_in(base, "4.2") / "blender_manifest.toml").exists()
    assert "enabled bl_ext.user_default.alphalift in Blender 4.2" in capsys.readouterr().out


def test_blender_older_than_42_is_not_asked_to_enable(monkeypatch, tmp_path, capsys):
    base = blender_config(monkeypatch, tmp_path, "4.5")
    blender = fake_blender(tmp_path / "bin", version="4.1.1")
    assert install.install_blender(None, str(blender))
    assert (extension_in(base, "4.5") / "__init__.py").exists() and not (base / "4.1").exists()
    assert calls(tmp_path / "bin") == [["--version"]]
    out = capsys.readouterr().out
    assert "Blender 4.1" in out and "4.2 or later" in out and "enabled" not in out


@pytest.mark.parametrize("version, present, expected", [
    ((4, 5), ["4.2", "4.4", "3.6"], "4.4"),
    ((5, 0), ["3.6", "4.2", "4.5", "5.1"], "4.5"),
    ((5, 1), ["4.5", "5.0"], "5.0"),
    ((4, 2), ["3.6", "4.3"], "3.6"),
    ((4, 2), ["2.93"], None),
])
def test_first_start_copies_settings_from_the_version_blender_would_offer(tmp_path, version, present,
                                                                         expected):
    blender_cli = importlib.import_module("blender_cli")
    for name in present:
        (tmp_path / name).mkdir()
    found = blender_cli.previous_user_folder(tmp_path, version)
    assert found == (tmp_path / expected if expected else None)


def test_no_blender_anywhere_says_what_to_do(monkeypatch, tmp_path):
    blender_config(monkeypatch, tmp_path)
    monkeypatch.setattr(install.shutil, "which", lambda name: None)
    with pytest.raises(SystemExit, match="--blender EXE.*--dest"):
        install.install_blender(None, None)


def test_blender_uninstall_removes_each_version_s_extension(monkeypatch, tmp_path):
    base = blender_config(monkeypatch, tmp_path, "4.2", "5.0")
    monkeypatch.setattr(install.shutil, "which", lambda name: None)
    assert install.install_blender(None, None)
    install.uninstall_blender(None)
    assert not extension_in(base, "4.2").exists() and not extension_in(base, "5.0").exists()


# -- Flatpak hosts: a core the sandbox can run (issue 15 item 3) ------------------------------------
@pytest.mark.parametrize("target, where", [
    ("gimp", ".var/app/org.gimp.GIMP"),
    ("krita", ".var/app/org.kde.krita"),
    ("gimp", ".local/share/flatpak/app/org.gimp.GIMP"),  # installed for the user, never started
])
def test_flatpak_installs_are_detected(monkeypatch, tmp_path, target, where):
    home_on(monkeypatch, "linux", tmp_path)
    monkeypatch.setattr(paths, "SYSTEM_FLATPAK_APPS", tmp_path / "var-lib-flatpak-app")
    assert not paths.flatpak_installed(target)
    (tmp_path / where).mkdir(parents=True)
    assert paths.flatpak_installed(target)
    home_on(monkeypatch, "darwin", tmp_path)
    assert not paths.flatpak_installed(target)


@pytest.mark.parametrize("argv, flatpak, expected", [
    (["gimp"], "org.gimp.GIMP", True),
    (["krita"], "org.kde.krita", True),
    (["gimp"], None, False),
    (["krita"], "org.gimp.GIMP", False),  # GIMP's Flatpak does not make Krita's core self-contained
    (["core", "--self-contained"], None, True),
    (["core"], "org.kde.krita", True),  # the core that Flatpak Krita will find
])
def test_a_flatpak_host_gets_a_self_contained_core(monkeypatch, tmp_path, argv, flatpak, expected):
    home_on(monkeypatch, "linux", tmp_path)
    monkeypatch.setattr(paths, "SYSTEM_FLATPAK_APPS", tmp_path / "var-lib-flatpak-app")
    if flatpak:
        (tmp_path / ".var/app" / flatpak).mkdir(parents=True)
    chosen = []
    monkeypatch.setattr(install, "install_core",
                        lambda demo, self_contained=False: chosen.append(self_contained))
    for name in ("install_gimp", "install_krita"):
        monkeypatch.setattr(install, name, lambda dest: None)
    assert install.main(argv) == 0
    assert chosen == [expected]


FAKE_UV = """#!{python}
import json, os, sys
from pathlib import Path
with open({log!r}, "a") as log:
    call = {{"args": sys.argv[1:], "install_dir": os.environ.get("UV_PYTHON_INSTALL_DIR")}}
    log.write(json.dumps(call) + "\\n")
if {fail!r}:
    sys.stderr.write("error: Request failed after 3 retries\\n  cause: Failed to download cpython-3.12\\n"
                     "  cause: failed to lookup address information: Name or service not known\\n")
    sys.exit(2)
base = Path(os.environ["UV_PYTHON_INSTALL_DIR"]) / "cpython-3.12.9-linux-x86_64-gnu" / "bin"
if sys.argv[1:3] == ["python", "install"]:
    base.mkdir(parents=True)
    (base / "python3.12").symlink_to(sys.executable)
    sys.exit(0)
target = Path(sys.argv[-1])
(target / "bin").mkdir(parents=True)
(target / "bin" / "python").symlink_to(base / "python3.12")
(target / "pyvenv.cfg").write_text(f"home = {{base}}\\nuv = 0.0.0\\n")
"""


def fake_uv(tmp_path: Path, fail: bool = False) -> tuple[Path, Path]:
    log = tmp_path / "uv-calls.jsonl"
    uv = tmp_path / "bin" / "uv"
    uv.parent.mkdir(parents=True, exist_ok=True)
    uv.write_text(FAKE_UV.format(python=sys.executable, log=str(log), fail=fail))
    uv.chmod(0o755)
    return uv, log


def test_the_self_contained_core_replaces_a_system_python_venv(monkeypatch, tmp_path):
    data = tmp_path / "data"
    monkeypatch.setenv("ALPHALIFT_HOME", str(data))
    uv, log = fake_uv(tmp_path)
    monkeypatch.setenv("ALPHALIFT_UV", str(uv))
    (data / "venv" / "bin").mkdir(parents=True)  # an earlier `install.py core` on the system's Python
    (data / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (data / "models").mkdir()
    (data / "models" / "kept.onnx").write_bytes(b"a model")
    python = install.self_contained_environment(data / "venv")
    assert python == data / "venv" / "bin" / "python"
    client = importlib.import_module("alphalift_client")
    assert client.system_interpreter(str(python)) is None, "a Flatpak sandbox can run it"
    fetch, make = [json.loads(line) for line in log.read_text().splitlines()]
    assert fetch["args"] == ["python", "install", "3.12"]
    assert make["args"][:2] == ["venv", "--seed"] and "only-managed" in make["args"]
    assert fetch["install_dir"] == make["install_dir"] == str(data / "python"), "kept in the data folder"
    assert (data / "models" / "kept.onnx").read_bytes() == b"a model"
    assert install.self_contained_environment(data / "venv") == python  # a re-run keeps it
    assert len(log.read_text().splitlines()) == 2


def test_uv_that_cannot_fetch_python_says_why_and_what_to_do(monkeypatch, tmp_path):
    monkeypatch.setenv("ALPHALIFT_HOME", str(tmp_path / "data"))
    uv, _ = fake_uv(tmp_path, fail=True)
    monkeypatch.setenv("ALPHALIFT_UV", str(uv))
    (tmp_path / "data" / "venv").mkdir(parents=True)
    (tmp_path / "data" / "venv" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    with pytest.raises(SystemExit) as caught:
        install.self_contained_environment(tmp_path / "data" / "venv")
    assert (tmp_path / "data" / "venv" / "pyvenv.cfg").exists(), "the working native core is kept"
    message = str(caught.value)
    assert message.startswith("install.py: error:") and "\n" not in message
    assert "Name or service not known" in message and "UV_PYTHON_INSTALL_MIRROR" in message


def test_uv_is_taken_from_its_wheel(tmp_path):
    """Where uv is not installed, the installer fetches uv's wheel with pip and keeps its binary."""
    wheel = tmp_path / "uv-0.13.9-py3-none-manylinux_2_17_x86_64.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("uv/__init__.py", "")
        archive.writestr("uv-0.13.9.data/scripts/uvx", "not this one")
        archive.writestr("uv-0.13.9.data/scripts/uv", "#!/bin/sh\necho uv 0.13.9\n")
    uv = install.uv_from_wheel(wheel, tmp_path / "tools")
    assert uv == tmp_path / "tools" / "uv" and os.access(uv, os.X_OK)
    assert subprocess.run([str(uv)], capture_output=True, text=True).stdout == "uv 0.13.9\n"
