"""`alphalift batch --engine ray` on a real Ray cluster on this machine (2 CPUs, started once for
the module), with the tiny model: outputs equal `alphalift remove`'s, a worker killed mid-job,
resuming, failures as rows, every kind of SOURCE, names that never collide.

Each run is the real CLI process joining the module's cluster with --ray-address; the actors
get ALPHALIFT_HOME/ALPHALIFT_BACKEND from that process through Ray's runtime_env.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import build_tiny_model, red_disc

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'alphalift[ray]')")

TINY = ("--model", "tiny", "--no-refine")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    """A 2-CPU Ray cluster and an ALPHALIFT_HOME holding the tiny model; yields the environment
    for CLI processes."""
    home = tmp_path_factory.mktemp("ray-home") / "home"
    # address="local": always a cluster of its own, never one a `ray start` left on this machine
    ray.init(address="local", num_cpus=2, include_dashboard=False, logging_level="ERROR")
    # after ray.init: it may have turned on token authentication (RAY_AUTH_MODE), which every
    # process joining the cluster needs too
    env = {**os.environ, "ALPHALIFT_HOME": str(home), "ALPHALIFT_BACKEND": "onnxruntime",
           "RAY_ADDRESS": ray.get_runtime_context().gcs_address}
    model = build_tiny_model(tmp_path_factory.mktemp("model") / "tiny.onnx")
    imported = subprocess.run([sys.executable, "-m", "alphalift", "models", "import", str(model),
                               "--as", "tiny", "--family", "isnet"], env=env, capture_output=True,
                              text=True)
    assert imported.returncode == 0, imported.stderr
    try:
        yield env
    finally:
        ray.shutdown()


def batch(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "alphalift", "batch", *args, "--engine", "ray",
                           "--ray-address", env["RAY_ADDRESS"]], env=env, capture_output=True,
                          text=True)


def remove(env: dict, *args: str) -> None:
    done = subprocess.run([sys.executable, "-m", "alphalift", "remove", *args], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def draw(path: Path, size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(red_disc(size, radius=min(size) / 3)).save(path)
    return path


def outputs(dest: Path) -> dict[str, bytes]:
    return {p.relative_to(dest).as_posix(): p.read_bytes() for p in sorted(dest.rglob("*"))
            if p.is_file() and p.name not in ("alphalift-manifest.jsonl", ".alphalift-batch.lock")}


def rows(dest: Path) -> list[dict]:
    path = dest / "alphalift-manifest.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_outputs_equal_remove_failures_are_rows_and_a_rerun_skips(cluster, tmp_path):
    source = tmp_path / "in"
    for index, size in enumerate([(40, 30), (44, 30), (48, 36)]):
        draw(source / f"s{index}" / f"p{index}.png", size)
    draw(source / "a.jpg", (52, 30))  # a.jpg and a.png: a-jpg.png and a-png.png
    draw(source / "a.png", (56, 30))
    (source / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n truncated")
    draw(source / "blocked" / "q.png", (60, 30))
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "blocked").write_text("a file where a folder of outputs should be")

    result = batch(cluster, str(source), str(dest), *TINY, "--workers", "2")
    assert result.returncode == 1, result.stderr
    assert "7 images: 5 cut out, 0 skipped (done before), 2 failed" in result.stdout
    got = outputs(dest)
    assert set(got) == {"s0/p0.png", "s1/p1.png", "s2/p2.png", "a-jpg.png", "a-png.png", "blocked"}
    reference = tmp_path / "reference"
    remove(cluster, *(str(p) for p in sorted(source.rglob("*.*")) if p.name not in ("broken.png", "q.png")),
           "--out-dir", str(reference), *TINY)
    for name, data in got.items():
        if name != "blocked":
            assert data == (reference / Path(name).name).read_bytes(), f"{name} differs from remove's"
    status = {Path(row["input"]).name: row for row in rows(dest)}
    assert len(status) == 7 and len(rows(dest)) == 7
    assert status["broken.png"]["status"] == "failed" and "damaged" in status["broken.png"]["reason"]
    assert status["q.png"]["status"] == "failed" and "blocked" in status["q.png"]["reason"]
    assert {status[n]["status"] for n in ("p0.png", "p1.png", "p2.png", "a.jpg", "a.png")} == {"ok"}

    again = batch(cluster, str(source), str(dest), *TINY, "--workers", "2")
    assert "7 images: 0 cut out, 5 skipped (done before), 2 failed" in again.stdout, again.stderr
    assert outputs(dest) == got


@pytest.mark.parametrize("kind", ["glob", "txt", "csv", "parquet"])
def test_sources(cluster, tmp_path, kind):
    root = tmp_path / "in"
    files = [draw(root / "x" / "one.png", (40, 30)), draw(root / "x" / "y" / "two.jpg", (44, 30))]
    draw(root / "other.png", (48, 30))  # listed by none of them
    if kind == "glob":
        source = str(root) + "/x/**/*.*"
    elif kind == "txt":
        source = tmp_path / "list.txt"
        source.write_text("\n".join(str(p) for p in files))
    elif kind == "csv":
        source = tmp_path / "list.csv"
        source.write_text("path,sku\n" + "".join(f"{p},7\n" for p in files))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        source = tmp_path / "list.parquet"
        pq.write_table(pa.table({"path": [str(p) for p in files]}), source)
    dest = tmp_path / "out"
    result = batch(cluster, str(source), str(dest), *TINY)
    assert result.returncode == 0, result.stderr
    assert set(outputs(dest)) == {"one.png", "y/two.png"}


def cutout_actor_pids() -> list[int]:
    """The live CutoutActor processes, from Ray's actor table in the GCS (the state API that
    needs no dashboard; ray.util.state's needs ray[default] and a dashboard process)."""
    from ray._private import state

    return [info["Pid"] for info in state.actors().values()
            if "CutoutActor" in info["ActorClassName"] and info["State"] == "ALIVE" and info["Pid"]]


def test_a_worker_killed_mid_job_and_every_output_once_and_whole(cluster, tmp_path):
    source = tmp_path / "in"
    count = 12
    for index in range(count):  # refined: long enough per image that the kill lands mid-job
        draw(source / f"img{index:02d}.png", (240 + 8 * index, 180))
    dest = tmp_path / "out"
    job = subprocess.Popen([sys.executable, "-m", "alphalift", "batch", str(source), str(dest),
                            "--model", "tiny", "--engine", "ray", "--workers", "2",
                            "--ray-address", cluster["RAY_ADDRESS"]],
                           env=cluster, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        pids: list[int] = []
        while job.poll() is None and time.monotonic() < deadline:
            pids = cutout_actor_pids() if not pids else pids
            if pids and rows(dest):
                break
            time.sleep(0.05)
        done_at_kill = len(rows(dest))
        assert pids and 0 < done_at_kill < count, f"not mid-job: {done_at_kill} of {count} done"
        os.kill(pids[0], signal.SIGKILL)
        stdout, stderr = job.communicate(timeout=300)
    finally:
        if job.poll() is None:
            job.kill()
    assert job.returncode == 0, stderr
    assert f"{count} images: {count} cut out" in stdout
    reference = tmp_path / "reference"
    remove(cluster, str(source), "--out-dir", str(reference), "--model", "tiny")
    assert outputs(dest) == outputs(reference), "every output present once and byte-identical"
    assert not list(dest.glob(".*.part")), "no temporary left by the killed worker"
    final = rows(dest)
    assert len(final) == count and {row["status"] for row in final} == {"ok"}
    assert len({row["worker"] for row in final}) >= 2, "the killed actor's work went elsewhere"

    again = subprocess.run([sys.executable, "-m", "alphalift", "batch", str(source), str(dest),
                            "--model", "tiny", "--engine", "ray", "--ray-address", "127.0.0.1:9"],
                           env=cluster, capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"{count} images: 0 cut out, {count} skipped" in again.stdout, "done without Ray at all"


def test_gpus_per_worker_reaches_ray_and_a_cluster_without_gpus_says_so(cluster, tmp_path):
    draw(tmp_path / "in" / "a.png", (40, 30))
    result = batch(cluster, str(tmp_path / "in"), str(tmp_path / "out"), *TINY, "--gpus-per-worker", "1")
    assert result.returncode == 1
    assert result.stderr.endswith("alphalift: error: 1 workers with --gpus-per-worker 1 need 1 GPUs; "
                                  "the Ray cluster has 0. Start Ray on nodes with GPUs (`ray status` "
                                  "lists them), or lower --workers / --gpus-per-worker.\n"), result.stderr
