"""Issue 15 item 3, the client's side: inside a Flatpak sandbox it finds AlphaLift's data folder
through the real home and refuses, with what to do, a core whose Python the sandbox cannot run.

The last test runs the client in an emulated sandbox (bubblewrap, the host's /usr hidden behind
Debian 13's, as a Flatpak runtime hides it), where it can be had."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

CLIENT_DIR = Path(__file__).resolve().parents[2] / "plugins" / "client"
sys.path.insert(0, str(CLIENT_DIR))
import alphalift_client as client  # noqa: E402
from alphalift_client import AlphaLiftClientError  # noqa: E402

SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/app", "/etc")


@pytest.fixture
def outside(monkeypatch, tmp_path):
    """A Linux user whose home is tmp_path/home, no Flatpak around, no overrides."""
    monkeypatch.setattr(client.sys, "platform", "linux")
    monkeypatch.setattr(client, "FLATPAK_INFO", str(tmp_path / "no-flatpak-info"))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    for name in ("FLATPAK_ID", "HOST_XDG_DATA_HOME", "XDG_DATA_HOME", "ALPHALIFT_HOME", "ALPHALIFT_PYTHON"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "home"


@pytest.fixture
def sandbox(outside, monkeypatch):
    """The same user inside GIMP's Flatpak, whose XDG_DATA_HOME is the app's own folder."""
    monkeypatch.setenv("FLATPAK_ID", "org.gimp.GIMP")
    monkeypatch.setenv("XDG_DATA_HOME", str(outside / ".var/app/org.gimp.GIMP/data"))
    return outside


def test_a_flatpak_is_recognised_by_its_id_or_its_info_file(outside, monkeypatch, tmp_path):
    assert not client.in_flatpak()
    info = tmp_path / "flatpak-info"
    info.write_text("[Application]\nname=org.kde.krita\nruntime=runtime/org.kde.Platform/x86_64/5.15-24.08\n")
    monkeypatch.setattr(client, "FLATPAK_INFO", str(info))
    assert client.in_flatpak() and client.flatpak_app() == "org.kde.krita"
    monkeypatch.setattr(client, "FLATPAK_INFO", str(tmp_path / "none"))
    monkeypatch.setenv("FLATPAK_ID", "org.gimp.GIMP")
    assert client.in_flatpak() and client.flatpak_app() == "org.gimp.GIMP"


def test_the_data_folder_is_the_real_home_s_not_the_app_s(sandbox, monkeypatch, tmp_path):
    assert client.data_dir() == sandbox / ".local/share/alphalift"
    monkeypatch.setenv("HOST_XDG_DATA_HOME", str(tmp_path / "host-data"))
    assert client.data_dir() == tmp_path / "host-data" / "alphalift"
    monkeypatch.setenv("ALPHALIFT_HOME", str(tmp_path / "mine"))
    assert client.data_dir() == tmp_path / "mine"


def test_outside_a_sandbox_xdg_data_home_still_counts(outside, monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("HOST_XDG_DATA_HOME", str(tmp_path / "ignored"))
    assert client.data_dir() == tmp_path / "data" / "alphalift"


def test_the_worker_is_told_the_real_data_folder(sandbox):
    """The core inside the sandbox would otherwise read XDG_DATA_HOME (the app's folder) and look
    for models where none were ever downloaded."""
    assert client.worker_environment()["ALPHALIFT_HOME"] == str(sandbox / ".local/share/alphalift")


def test_outside_a_sandbox_the_worker_environment_names_no_home(outside):
    assert "ALPHALIFT_HOME" not in client.worker_environment()


def fake_venv(folder: Path, base: str) -> Path:
    """A venv layout whose pyvenv.cfg names ``base`` as its interpreter's folder."""
    (folder / "bin").mkdir(parents=True)
    (folder / "pyvenv.cfg").write_text(f"home = {base}\ninclude-system-site-packages = false\n")
    python = folder / "bin" / "python"
    python.write_text("#!/bin/sh\n")
    python.chmod(0o755)
    return python


def record_core(data: Path, python: Path) -> None:
    data.mkdir(parents=True, exist_ok=True)
    (data / "client.json").write_text(json.dumps({"python": str(python)}))


@pytest.mark.parametrize("base", ["/usr/bin", "/bin", "/usr/local/bin"])
def test_a_core_on_the_system_python_is_refused_in_a_sandbox(sandbox, base):
    data = sandbox / ".local/share/alphalift"
    record_core(data, fake_venv(data / "venv", base))
    with pytest.raises(AlphaLiftClientError) as caught:
        client.find_core_python()
    message = str(caught.value)
    assert caught.value.code == "not-installed" and "\n" not in message
    assert base in message and "Flatpak" in message
    assert "installers/install.py gimp" in message and "self-contained" in message


def test_a_core_on_a_self_contained_python_is_accepted_in_a_sandbox(sandbox):
    data = sandbox / ".local/share/alphalift"
    standalone = data / "python" / "cpython-3.12-linux-x86_64-gnu" / "bin"
    python = fake_venv(data / "venv", str(standalone))
    record_core(data, python)
    assert client.find_core_python() == str(python)


def test_the_same_system_core_is_fine_outside_a_sandbox(outside):
    data = outside / ".local/share/alphalift"
    python = fake_venv(data / "venv", "/usr/bin")
    record_core(data, python)
    assert client.find_core_python() == str(python)


def test_a_missing_core_in_a_sandbox_says_how_to_let_the_app_see_it(sandbox):
    with pytest.raises(AlphaLiftClientError) as caught:
        client.find_core_python()
    message = str(caught.value)
    assert "flatpak override --user --filesystem=" in message and "org.gimp.GIMP" in message
    assert "installers/install.py gimp" in message, "`install.py core` alone would not know of the Flatpak"
    assert "\n" not in message


# -- an emulated sandbox -------------------------------------------------------------------------
RUNTIME = Path(os.environ.get("ALPHALIFT_TEST_RUNTIME_ROOT", Path.home() / ".cache/alphalift-dev/trixie"))
HOST_APP = textwrap.dedent("""
    import json, sys
    sys.path.insert(0, {client_dir!r})
    from alphalift_client import AlphaLiftClient, AlphaLiftClientError
    try:
        with AlphaLiftClient() as client:
            result = client.remove(bytes(40 * 30 * 4), 40, 30, model="tiny", refine=False)
        print(json.dumps({{"ok": len(result.alpha), "python": sys.version}}))
    except AlphaLiftClientError as exc:
        print(json.dumps({{"error": str(exc), "code": exc.code}}))
""")


def outside_the_system(path: str) -> bool:
    real = os.path.realpath(path)
    return not any(real == d or real.startswith(d + "/") for d in SYSTEM_DIRS)


def bwrap_sandbox(home: Path, command: list[str]) -> subprocess.CompletedProcess:
    """Run ``command`` with RUNTIME's /usr in place of the host's, the home and the project (and
    this test Python, when it lives outside /usr) visible at their own paths, like a Flatpak app
    with access to the home folder."""
    project = Path(__file__).resolve().parents[2]
    info = home.parent / "flatpak-info"
    info.write_text("[Application]\nname=org.gimp.GIMP\n")
    binds = ["--ro-bind", str(RUNTIME / "usr"), "/usr", "--ro-bind", str(RUNTIME / "etc"), "/etc",
             "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
             "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
             "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
             "--ro-bind", str(info), "/.flatpak-info", "--bind", str(home), str(home),
             "--ro-bind", str(project), str(project)]
    for prefix in {os.path.realpath(sys.prefix), os.path.realpath(sys.base_prefix)}:
        if outside_the_system(prefix):
            binds += ["--ro-bind", prefix, prefix]
    env = {"HOME": str(home), "PATH": "/usr/bin:/bin", "FLATPAK_ID": "org.gimp.GIMP",
           "XDG_DATA_HOME": str(home / ".var/app/org.gimp.GIMP/data"), "LANG": "C.UTF-8"}
    return subprocess.run(["bwrap", "--clearenv", *[a for k, v in env.items() for a in ("--setenv", k, v)],
                           *binds, *command], capture_output=True, text=True, timeout=120)


def can_sandbox() -> bool:
    if not (shutil.which("bwrap") and (RUNTIME / "usr/bin/python3").exists()):
        return False
    return subprocess.run(["bwrap", "--ro-bind", "/", "/", "true"], capture_output=True).returncode == 0


@pytest.mark.skipif(not sys.platform.startswith("linux") or not can_sandbox(),
                    reason="needs bubblewrap and a Debian root at ALPHALIFT_TEST_RUNTIME_ROOT")
def test_in_an_emulated_sandbox_a_system_core_is_refused_and_a_self_contained_one_works(tmp_path, tiny_model):
    home = tmp_path / "home"
    data = home / ".local/share/alphalift"
    subprocess.run([sys.executable, "-m", "alphalift", "models", "import", str(tiny_model), "--as", "tiny",
                    "--family", "isnet"], env=dict(os.environ, ALPHALIFT_HOME=str(data)), check=True,
                   capture_output=True)
    host_app = ["/usr/bin/python3", "-c", HOST_APP.format(client_dir=str(CLIENT_DIR))]

    system_python = "/usr/bin/python3"  # the host's: a venv made from it points into the host's /usr
    if not Path(system_python).exists():
        pytest.skip("no system Python to make the refused core from")
    venv = tmp_path / "home" / "system-venv"
    subprocess.run([system_python, "-m", "venv", "--without-pip", str(venv)], check=True)
    record_core(data, venv / "bin" / "python")
    cannot = bwrap_sandbox(home, [str(venv / "bin" / "python"), "-c", "import sys; print(sys.version)"])
    runs_but_wrong = cannot.returncode == 0 and sys.version.split()[0] not in cannot.stdout
    assert cannot.returncode != 0 or runs_but_wrong, "the sandbox could run the host's Python after all"
    refused = json.loads(bwrap_sandbox(home, host_app).stdout)
    assert refused["code"] == "not-installed" and "self-contained" in refused["error"], refused

    if not outside_the_system(sys.executable) or not outside_the_system(sys.base_prefix):
        pytest.skip("this test Python lives in the system folders: no self-contained core to try")
    record_core(data, Path(sys.executable))  # a Python kept under the home, not the host's /usr
    answered = bwrap_sandbox(home, host_app)
    assert json.loads(answered.stdout or "{}").get("ok") == 40 * 30, answered.stderr[-2000:]
    assert json.loads(answered.stdout)["python"].startswith("3.13"), "the host app ran the runtime's Python"
