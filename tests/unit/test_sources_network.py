"""Offline and slow networks: fail fast saying why, show what is fetched, never hang on a trickle,
leave no half-written file behind, and say plainly when the disk is full."""
from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from alphalift.errors import ModelMissingError

from .http_fixture import dead_url
from .model_fixtures import add_half_model, run_cli
from .test_store import server, spec, store_with  # noqa: F401 (server: the local HTTP fixture)

PAYLOAD = random.Random(11).randbytes(200_000)
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


def add_custom_entry(home: Path, name: str, sources: list[dict]) -> None:
    """A model with its own sources in the custom catalogue, so the real CLI fetches it."""
    custom = home / "models" / "custom.json"
    custom.parent.mkdir(parents=True, exist_ok=True)
    entries = json.loads(custom.read_text()) if custom.exists() else {}
    entries[name] = {"family": "isnet", "input_size": [64, 64], "mean": [0.5] * 3, "std": [1.0] * 3,
                     "output": "probability", "licence": "test", "sha256": DIGEST,
                     "size": len(PAYLOAD), "sources": sources}
    custom.write_text(json.dumps(entries))


def parts(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob(".*.part"))


def test_a_trickling_mirror_is_given_up_as_stalled(tmp_path, server, monkeypatch):
    routes, base = server
    monkeypatch.setenv("ALPHALIFT_HTTP_TIMEOUT", "0.5")
    routes.trickle["/trickle"] = (0.05, PAYLOAD, 60)  # never silent for long, never gets anywhere
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": f"{base}/trickle"}], PAYLOAD))
    with pytest.raises(ModelMissingError, match="stalled"):
        store.ensure(store.catalog.get("m"))
    routes.files["/good"] = PAYLOAD
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": f"{base}/trickle"},
                                            {"kind": "http", "url": f"{base}/good"}], PAYLOAD))
    assert store.ensure(store.catalog.get("m")).read_bytes() == PAYLOAD
    assert parts(store.root) == []


def test_a_compressed_answer_is_read_decompressed(tmp_path, server):
    """CDNs gzip JSON such as resources.json: its Content-Length counts the compressed bytes."""
    routes, base = server
    pieces = [PAYLOAD[:100_000], PAYLOAD[100_000:]]
    names = [hashlib.sha256(p).hexdigest() for p in pieces]
    routes.gzipped["/dist/resources.json"] = json.dumps(
        {"/models/m": {"chunks": [{"hash": n} for n in names]}}).encode()
    routes.gzipped[f"/dist/{names[0]}"] = pieces[0]
    routes.files[f"/dist/{names[1]}"] = pieces[1]
    source = {"kind": "chunked", "url": f"{base}/dist/resources.json", "key": "/models/m"}
    store = store_with(tmp_path, spec("m", [source], PAYLOAD))
    assert store.ensure(store.catalog.get("m")).read_bytes() == PAYLOAD


def test_a_bad_http_timeout_names_the_variable(home):
    add_custom_entry(home, "m", [{"kind": "http", "url": dead_url()}])
    result = run_cli("models", "download", "m", env={"ALPHALIFT_HTTP_TIMEOUT": "soon"})
    assert result.returncode == 1 and "ALPHALIFT_HTTP_TIMEOUT" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_download_says_where_it_fetches_from(home, server):
    routes, base = server
    routes.files["/m.onnx"] = PAYLOAD
    add_custom_entry(home, "m", [{"kind": "http", "url": f"{base}/m.onnx"}])
    result = run_cli("models", "download", "m")
    assert result.returncode == 0, result.stderr
    assert f"fetching m (200 kB) from {base}/m.onnx" in result.stderr


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_offline_every_source_fails_at_once_each_on_its_own_line(home, tmp_path):
    """No network: npm must not retry for a minute, and its reason must be the real one."""
    down = dead_url()
    add_custom_entry(home, "m", [{"kind": "http", "url": down},
                                 {"kind": "npm", "package": "alphalift-no-such-package@1.0.0",
                                  "key": "/models/m"}])
    offline_npm = {"npm_config_registry": f"http://127.0.0.1:{unused_port()}/",
                   "npm_config_cache": str(tmp_path / "npm-cache")}
    result = run_cli("models", "download", "m", env=offline_npm)
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    [http_line] = [line for line in lines if line.strip().startswith(down + ":")]
    [npm_line] = [line for line in lines if line.strip().startswith("npm package alphalift-no-such")]
    assert "refused" in http_line.lower()
    assert "ECONNREFUSED" in npm_line and "complete log" not in npm_line
    assert sum("fetching m" in line for line in lines) == 2, "each source is announced"


def test_a_download_killed_half_way_leaves_no_part_file(home, server):
    routes, base = server
    routes.trickle["/m.onnx"] = (0.05, PAYLOAD, len(PAYLOAD))  # slow enough to be killed
    add_custom_entry(home, "m", [{"kind": "http", "url": f"{base}/m.onnx"}])
    models = home / "models"
    download = subprocess.Popen([sys.executable, "-m", "alphalift", "models", "download", "m"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            if parts(models) or download.poll() is not None:
                break
            time.sleep(0.1)
    finally:
        download.kill()
        download.wait()
    assert parts(models), "the download had started writing"
    del routes.trickle["/m.onnx"]
    routes.files["/m.onnx"] = PAYLOAD
    result = run_cli("models", "download", "m")
    assert result.returncode == 0, result.stderr
    assert parts(models) == []


def test_verify_sweeps_what_killed_writers_left(tiny_home):
    models = tiny_home / "models"
    old, fresh = models / ".gone.onnx.abc.part", models / ".busy.onnx.def.part"
    for path in (old, fresh):
        path.write_bytes(b"half a model")
    os.utime(old, (time.time() - 7200, time.time() - 7200))
    unrecorded = models / "compiled" / "999.blob"  # a compile killed before it was recorded
    unrecorded.parent.mkdir()
    unrecorded.write_bytes(b"half a compilation")
    result = run_cli("models", "verify")
    assert result.returncode == 0, result.stdout
    assert not old.exists() and fresh.exists(), "a fresh one may be a live download's"
    assert not unrecorded.exists() and "compiled/999.blob" in result.stdout


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_a_full_disk_while_converting_is_one_line_naming_the_folder(home, tmp_path):
    import resource

    add_half_model(home, padding=300_000)  # 0.6 MB fp16, 1.2 MB once converted
    photo = tmp_path / "photo.png"
    from PIL import Image

    Image.new("RGB", (32, 32), (200, 20, 20)).save(photo)

    def small_disk() -> None:  # writes past 1 MB fail with EFBIG (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    result = subprocess.run([sys.executable, "-m", "alphalift", "remove", str(photo), "--model",
                             "half", "-o", str(tmp_path / "cut.png")], capture_output=True,
                            text=True, preexec_fn=small_disk, timeout=300)
    assert result.returncode == 1
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert "half.fp32.onnx" in result.stderr and str(home / "models") in result.stderr
    assert "ALPHALIFT_HOME" in result.stderr
    assert parts(home / "models") == [] and not (home / "models" / "half.fp32.onnx").exists()
    assert not (tmp_path / "cut.png").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="needs RLIMIT_FSIZE")
def test_a_full_disk_while_downloading_is_not_blamed_on_the_sources(home, server):
    import resource

    routes, base = server
    routes.files["/m.onnx"] = PAYLOAD
    add_custom_entry(home, "m", [{"kind": "http", "url": f"{base}/m.onnx"},
                                 {"kind": "http", "url": f"{base}/mirror.onnx"}])

    def small_disk() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))

    result = subprocess.run([sys.executable, "-m", "alphalift", "models", "download", "m"],
                            capture_output=True, text=True, preexec_fn=small_disk, timeout=300)
    assert result.returncode == 1
    [error] = [line for line in result.stderr.splitlines() if "error" in line]
    assert f"Could not write m.onnx in {home / 'models'}" in error
    assert "/mirror.onnx" not in routes.hits, "a full disk is no reason to try another source"
    assert parts(home / "models") == []


def test_npms_reason_is_its_error_code_and_message_not_where_its_log_is():
    from alphalift.models.sources import _npm_reason

    stderr = ("npm ERR! code ENOTFOUND\nnpm ERR! syscall getaddrinfo\nnpm ERR! errno ENOTFOUND\n"
              "npm ERR! network request to http://registry.invalid/x failed, reason: getaddrinfo "
              "ENOTFOUND registry.invalid\nnpm ERR! network This is a problem related to network "
              "connectivity.\n\nnpm ERR! A complete log of this run can be found in: /home/u/.npm/x.log\n")
    assert _npm_reason("", stderr) == ("ENOTFOUND: network request to http://registry.invalid/x "
                                       "failed, reason: getaddrinfo ENOTFOUND registry.invalid")
    as_json = '{"error": {"code": "E404", "summary": "Not Found - GET http://r.invalid/x - Not found"}}'
    assert _npm_reason(as_json, "npm error A complete log ...") == \
        "E404: Not Found - GET http://r.invalid/x - Not found"
