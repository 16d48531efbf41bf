"""The installer's plug-in placement: per-OS folders, --dest, re-runs and uninstall."""
from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

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


def test_blender_addon_lands_in_dest_and_extensions_in_each_version(monkeypatch, tmp_path):
    monkeypatch.setattr(install.shutil, "which", lambda name: None)  # no blender to enable with
    install.install_blender(tmp_path / "addons", None)
    addon = tmp_path / "addons" / "alphalift_blender"
    assert (addon / "blender_manifest.toml").exists() and (addon / "alphalift_client.py").exists()
    monkeypatch.setattr(paths.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    with pytest.raises(SystemExit, match="no Blender 4.2\\+ user folder"):
        install.blender_targets(None)
    (tmp_path / "config" / "blender" / "4.5").mkdir(parents=True)
    assert install.blender_targets(None) == [
        (tmp_path / "config/blender/4.5/extensions/user_default/alphalift", "bl_ext.user_default.alphalift")]
