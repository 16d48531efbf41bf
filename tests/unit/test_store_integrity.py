"""A damaged model file is never used: the fp32 conversion, OpenVINO's compiled blobs, the original.

Damage here keeps each file's size and modification time (a flipped region on disk), which a
stat() cannot see. Each test runs the real CLI on a tiny fp16 model converted to fp32 like the
default model; its matte says which weights were used (damaged ones invert it).
"""
from __future__ import annotations

import hashlib
import os

import pytest

from alphalift.models.catalog import Catalog, spec_from_dict
from alphalift.models.compiled import CompiledCache
from alphalift.models.store import ModelStore

from .http_fixture import Routes, serve
from .model_fixtures import add_half_model, flip_float, is_disc, mask_of, run_cli


def blobs(home):
    folder = home / "models" / "compiled"
    return sorted(p for p in folder.iterdir() if p.suffix == ".blob") if folder.exists() else []


def test_a_damaged_fp32_is_rebuilt_from_the_original_before_it_is_used(home, tmp_path):
    add_half_model(home)
    assert is_disc(mask_of(tmp_path, "half"))
    fp32 = home / "models" / "half.fp32.onnx"
    flip_float(fp32, 8.0)
    assert is_disc(mask_of(tmp_path, "half")), "the damaged fp32 was used"
    assert fp32.read_bytes().find(bytes.fromhex("00000041")) >= 0, "rebuilt with the weight 8.0"


def test_models_verify_checks_the_fp32_and_rebuilds_it(home, tmp_path):
    add_half_model(home, convert=True)
    flip_float(home / "models" / "half.fp32.onnx", 8.0)
    result = run_cli("models", "verify", "half")
    assert "half.fp32.onnx" in result.stdout and "rebuilt" in result.stdout, result.stdout
    assert result.returncode == 0, "repaired: the model is usable again"
    again = run_cli("models", "verify", "half")
    assert again.returncode == 0 and again.stdout.strip() == "half: ok", again.stdout


def test_a_damaged_original_does_not_take_the_intact_fp32_with_it(home, tmp_path):
    """A custom model cannot be fetched again: its user keeps a working model."""
    add_half_model(home, convert=True)
    original, fp32 = home / "models" / "half.onnx", home / "models" / "half.fp32.onnx"
    before = fp32.read_bytes()
    original.write_bytes(original.read_bytes()[:-1] + b"!")  # damaged, and its mtime moved
    assert is_disc(mask_of(tmp_path, "half")), "the intact fp32 is still used"
    result = run_cli("models", "verify", "half")
    assert result.returncode == 1 and "half.onnx" in result.stdout and "corrupt" in result.stdout
    assert fp32.read_bytes() == before


def openvino_env(**extra: str) -> dict[str, str]:
    pytest.importorskip("openvino")
    return {"ALPHALIFT_BACKEND": "openvino", **extra}


def test_a_damaged_openvino_blob_is_compiled_again(home, tmp_path):
    env = openvino_env()
    add_half_model(home, openvino=True)
    assert is_disc(mask_of(tmp_path, "half", env))
    [blob] = blobs(home)
    flip_float(blob, 8.0)
    assert is_disc(mask_of(tmp_path, "half", env)), "the damaged blob was loaded"
    [blob] = blobs(home)
    flip_float(blob, 8.0)
    result = run_cli("models", "verify", "half")
    assert blob.name in result.stdout and "damaged" in result.stdout, result.stdout
    assert blobs(home) == [] and result.returncode == 0


def test_only_blobs_recorded_for_the_current_fp32_are_left_for_openvino(home, tmp_path):
    env = openvino_env()
    add_half_model(home, openvino=True)
    assert is_disc(mask_of(tmp_path, "half", env))
    [blob] = blobs(home)
    compiled_at = blob.stat().st_mtime_ns
    leftover = blob.with_name("1234.blob")  # a compile killed half-way, or an older AlphaLift's
    leftover.write_bytes(blob.read_bytes())
    assert is_disc(mask_of(tmp_path, "half", env))
    assert blobs(home) == [blob], "an unrecorded blob was left for OpenVINO to load"
    assert blob.stat().st_mtime_ns == compiled_at, "the recorded blob was loaded, not compiled again"


def test_blobs_from_an_older_model_file_are_removed(tmp_path):
    """OpenVINO names a blob by the model's path and settings: one compiled with other settings
    from an fp32 since rebuilt would stay forever (and is 176 MB for the default model)."""
    cache = CompiledCache(tmp_path / "compiled")
    model = tmp_path / "m.fp32.onnx"
    model.write_bytes(b"old conversion")
    with cache.compiling(model):
        (cache.folder / "1.blob").write_bytes(b"compiled from the old conversion")
    with cache.compiling(model):
        (cache.folder / "2.blob").write_bytes(b"compiled with other settings")
    assert cache.check([model]) == []
    os.utime(model, ns=(0, model.stat().st_mtime_ns + 10**9))  # rebuilt
    problems = cache.check([model])
    assert sorted(p.blob for p in problems) == ["1.blob", "2.blob"]
    assert all("older m.fp32.onnx" in p.reason for p in problems)
    assert sorted(p.name for p in cache.folder.iterdir()) == ["compile.lock", "manifest.json"]


def test_the_original_is_checked_where_it_is_loaded_itself(tmp_path):
    """On a GPU (or for a model without fp32 conversion) the original file is what loads."""
    payload = os.urandom(200_000)
    routes = Routes()
    server, base = serve(routes)
    try:
        routes.files["/m.onnx"] = payload
        spec = spec_from_dict("m", {
            "family": "isnet", "input_size": [64, 64], "mean": [0.5] * 3, "std": [1.0] * 3,
            "output": "probability", "licence": "test", "sha256": hashlib.sha256(payload).hexdigest(),
            "size": len(payload), "fp32": "cpu", "sources": [{"kind": "http", "url": f"{base}/m.onnx"}]})
        store = ModelStore(tmp_path / "models", Catalog({"m": spec}, "m", tmp_path / "models" / "c.json"))
        path = store.runtime_path(spec, "gpu")
        stat = path.stat()
        path.write_bytes(b"x" + payload[1:])
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        assert store.runtime_path(spec, "gpu").read_bytes() == payload, "fetched again"
        assert routes.hits["/m.onnx"] == 2
    finally:
        server.shutdown()


def test_the_load_time_digest_sees_every_byte_whatever_the_threads(tmp_path, monkeypatch):
    from alphalift import fsutil

    monkeypatch.setattr(fsutil, "DIGEST_BLOCK", 1000)
    path = tmp_path / "model.bin"
    data = bytearray(os.urandom(3500))  # three whole blocks and a partial one
    path.write_bytes(data)
    digest = fsutil.block_digest(path, workers=1)
    assert fsutil.block_digest(path, workers=3) == digest
    for where in (0, 999, 1000, 2500, 3499):
        damaged = bytearray(data)
        damaged[where] ^= 0x10
        path.write_bytes(damaged)
        assert fsutil.block_digest(path) != digest, where
    path.write_bytes(data + bytes(1000))  # a block of zeros more
    assert fsutil.block_digest(path) != digest
