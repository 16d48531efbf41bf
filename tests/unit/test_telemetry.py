"""OpenVINO's usage telemetry stays off in every AlphaLift process: nothing leaves the machine.

`import openvino` pulls in its model converter, which (when the openvino-telemetry package is
installed, as it is with pip's openvino) writes a client id under ~/intel and forks a child that
posts an event to an analytics service. These tests run the real CLI as a user would, with the
OpenVINO backend, a private HOME and no CI variables (the telemetry stays quiet in CI on its own).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import red_disc

pytest.importorskip("openvino")

LOCAL = ("127.", "0.0.0.0", "::1", "::ffff:127.")


def user_env(user_home: Path) -> dict[str, str]:
    """A user's environment: OpenVINO chosen, HOME private, and none of the CI markers."""
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "TF_BUILD", "JENKINS_URL")}
    user_home.mkdir(exist_ok=True)
    env.update(HOME=str(user_home), ALPHALIFT_BACKEND="openvino")
    return env


def remove_command(tmp_path: Path) -> list[str]:
    photo = tmp_path / "photo.png"
    Image.fromarray(red_disc((64, 48))).save(photo)
    return [sys.executable, "-m", "alphalift", "remove", str(photo), "-o", str(tmp_path / "cut.png"),
            "--model", "tiny", "--no-refine"]


def api_command(tmp_path: Path) -> list[str]:
    remove_command(tmp_path)  # writes the photo
    script = ("import alphalift\n"
              f"cutout = alphalift.Remover().remove({str(tmp_path / 'photo.png')!r}, model='tiny', "
              "refine=False)\n"
              f"cutout.to_image('rgba').save({str(tmp_path / 'cut.png')!r})\n"
              "assert alphalift.Remover().backend_for(alphalift.Remover().store.catalog.get('tiny'))"
              ".name == 'openvino'\n")
    return [sys.executable, "-c", script]


@pytest.mark.parametrize("command", [remove_command, api_command], ids=["cli", "python-api"])
def test_openvino_leaves_no_telemetry_id_in_home(tiny_home, tmp_path, command):
    user_home = tmp_path / "user"
    result = subprocess.run(command(tmp_path), env=user_env(user_home),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "cut.png").exists()
    assert not (user_home / "intel").exists(), "OpenVINO's telemetry ran (it keeps its id there)"


def traced(command: list[str], env: dict[str, str], log: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["strace", "-f", "-qq", "-o", str(log), "-e",
                           "trace=fork,vfork,clone,clone3,connect,sendto,sendmmsg", *command],
                          env=env, capture_output=True, text=True, timeout=240)


@pytest.mark.skipif(shutil.which("strace") is None, reason="strace is not installed")
def test_remove_with_openvino_starts_no_process_and_opens_no_connection(tiny_home, tmp_path):
    log = tmp_path / "trace.txt"
    probe = traced([sys.executable, "-c", "pass"], os.environ.copy(), log)
    if probe.returncode != 0:
        pytest.skip(f"strace cannot trace here: {probe.stderr.strip()[:200]}")
    result = traced(remove_command(tmp_path), user_env(tmp_path / "user"), log)
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    # A new process is a fork/vfork or a clone without CLONE_THREAD; threads are fine.
    children = [c for c in calls if re.search(r"\b(v?fork|clone3?)\(", c) and "CLONE_THREAD" not in c]
    assert children == [], "a child process was started:\n" + "\n".join(children)
    remote = [c for c in calls if re.search(r"\b(connect|sendto|sendmmsg)\(", c)
              and re.search(r"AF_INET6?\b", c)
              and not any(f'"{prefix}' in c for prefix in LOCAL)]
    assert remote == [], "a network connection was opened:\n" + "\n".join(remote)
