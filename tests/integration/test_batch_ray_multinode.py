"""`alphalift batch --engine ray` on a cluster of two nodes, both on this machine: a head started
with `ray start --head --num-cpus 1` and a second node joining it with `ray start --address`.
By default the job runs one actor a node; the manifest says which node cut out each image.

Teardown runs `ray stop`, which stops every Ray process on this machine started by `ray start`.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import build_tiny_model, red_disc

pytest.importorskip("ray", reason="Ray is not installed (pip install 'alphalift[ray]')")
RAY = str(Path(sys.executable).with_name("ray"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def ray_cli(env: dict, *args: str) -> None:
    done = subprocess.run([RAY, *args], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, f"ray {' '.join(args)}: {done.stderr[-2000:]}"


@pytest.fixture(scope="module")
def two_nodes(tmp_path_factory):
    """The two-node cluster's address, and an environment holding the tiny model; the cluster
    has its own token (token authentication, as Ray sets up by default)."""
    home = tmp_path_factory.mktemp("multinode") / "home"
    env = {**os.environ, "ALPHALIFT_HOME": str(home), "ALPHALIFT_BACKEND": "onnxruntime",
           "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16)}
    env.pop("RAY_ADDRESS", None)
    model = build_tiny_model(home.parent / "tiny.onnx")
    imported = subprocess.run([sys.executable, "-m", "alphalift", "models", "import", str(model),
                               "--as", "tiny", "--family", "isnet"], env=env, capture_output=True,
                              text=True)
    assert imported.returncode == 0, imported.stderr
    address = f"127.0.0.1:{free_port()}"
    try:
        ray_cli(env, "start", "--head", "--num-cpus", "1", "--port", address.split(":")[1],
                "--include-dashboard=false", "--disable-usage-stats")
        ray_cli(env, "start", "--address", address, "--num-cpus", "1", "--disable-usage-stats")
        yield env, address
    finally:
        subprocess.run([RAY, "stop", "--force"], env=env, capture_output=True, timeout=120)


def test_a_job_spreads_over_both_nodes_and_equals_remove(two_nodes, tmp_path):
    env, address = two_nodes
    source = tmp_path / "in"
    source.mkdir()
    count = 16  # refined, so the job outlasts the second actor's start-up (it loads the model)
    for index in range(count):
        Image.fromarray(red_disc((200 + 4 * index, 150))).save(source / f"p{index}.png")
    dest = tmp_path / "out"
    result = subprocess.run([sys.executable, "-m", "alphalift", "batch", str(source), str(dest),
                             "--model", "tiny", "--engine", "ray",
                             "--ray-address", address], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert f"{count} images: {count} cut out" in result.stdout
    rows = [json.loads(line) for line in (dest / "alphalift-manifest.jsonl").read_text().splitlines()]
    nodes = {row["worker"].rsplit(":", 1)[1] for row in rows}
    assert len(nodes) == 2, f"one actor a node by default, both used: {nodes}"
    reference = tmp_path / "reference"
    single = subprocess.run([sys.executable, "-m", "alphalift", "remove", str(source), "--out-dir",
                             str(reference), "--model", "tiny"], env=env,
                            capture_output=True, text=True)
    assert single.returncode == 0, single.stderr
    for index in range(count):
        name = f"p{index}.png"
        assert (dest / name).read_bytes() == (reference / name).read_bytes()
