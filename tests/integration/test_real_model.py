"""The real default model, fetched through the model store (cached between runs)."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import alphalift
from alphalift.engine.onnxruntime import OnnxRuntimeBackend
from alphalift.models import ModelStore
from alphalift.pipeline import Remover
from alphalift.segment import segment

pytestmark = pytest.mark.integration
skimage_data = pytest.importorskip("skimage.data")


@pytest.fixture(scope="module")
def store() -> ModelStore:
    store = ModelStore()
    store.runtime_path(store.catalog.get(None))  # fetch + convert once, through the real sources
    return store


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return skimage_data.astronaut()


@pytest.fixture(scope="module")
def remover(store) -> Remover:
    return Remover(store, backend="onnxruntime")


def test_astronaut_face_is_subject_and_sky_is_not(remover, astronaut):
    cutout = remover.remove(astronaut, refine=False)
    assert cutout.mask.shape == astronaut.shape[:2] and cutout.mask.dtype == np.float32
    face = cutout.mask[100:150, 200:240]
    sky = cutout.mask[:60, 400:]
    assert face.mean() > 0.9 and face.min() > 0.5
    assert sky.max() < 0.1
    assert (cutout.rgba()[..., :3] == astronaut).all(), "plain cut-out keeps the original RGB"


def test_refined_cutout_keeps_opaque_colours_and_the_verdict(remover, astronaut):
    cutout = remover.remove(astronaut, refine=True)
    assert cutout.mask[100:150, 200:240].mean() > 0.95 and cutout.mask[:60, 400:].max() < 0.05
    opaque = cutout.mask >= 1.0
    assert opaque.mean() > 0.3
    assert (cutout.rgba()[opaque][:, :3] == astronaut[opaque]).all()


def test_existing_alpha_is_multiplied_in(remover, astronaut):
    rgba = np.dstack([astronaut, np.full(astronaut.shape[:2], 255, np.uint8)])
    rgba[:, :100, 3] = 0
    cutout = remover.remove(rgba, refine=False)
    assert cutout.mask[:, :100].max() == 0.0
    assert cutout.mask[100:150, 200:240].mean() > 0.9


def test_fp32_conversion_agrees_with_the_published_fp16_file(store, astronaut):
    spec = store.catalog.get(None)
    half = OnnxRuntimeBackend.create(lambda device: store.original_path(spec), None)
    full = OnnxRuntimeBackend.create(lambda device: store.runtime_path(spec, "cpu"), None)
    a, b = segment(astronaut, spec, half), segment(astronaut, spec, full)
    assert np.abs(a - b).max() < 0.02
    assert ((a > 0.5) == (b > 0.5)).mean() > 0.999


@pytest.mark.parametrize("photo", ["astronaut", "chelsea", "coffee"])
def test_openvino_agrees_with_onnxruntime(store, photo):
    pytest.importorskip("openvino")
    from alphalift.engine.openvino import OpenVinoBackend

    image = getattr(skimage_data, photo)()
    spec = store.catalog.get(None)
    assert spec.openvino, "the catalogue allows OpenVINO only for models tested here"
    ort = OnnxRuntimeBackend.create(lambda device: store.runtime_path(spec, "cpu"), None)
    ov = OpenVinoBackend(store.runtime_path(spec, "cpu"), None)
    a, b = segment(image, spec, ort), segment(image, spec, ov)
    # OpenVINO may compute in bf16 (2x faster on CPUs that have it): close, not bit-equal.
    assert np.abs(a - b).max() < 0.05 and np.abs(a - b).mean() < 0.005
    inter, union = ((a > 0.5) & (b > 0.5)).sum(), ((a > 0.5) | (b > 0.5)).sum()
    assert inter / union > 0.995


def test_openvino_compiles_once_then_loads_its_cache(store, astronaut, tmp_path):
    pytest.importorskip("openvino")
    from alphalift.engine.openvino import OpenVinoBackend

    spec = store.catalog.get(None)
    cache = tmp_path / "compiled"
    fresh = OpenVinoBackend(store.runtime_path(spec, "cpu"), None, cache)
    def blobs() -> list[tuple[str, int]]:  # (compiled/ also holds AlphaLift's record of them)
        return [(blob.name, blob.stat().st_size) for blob in sorted(cache.glob("*.blob"))]

    compiled = blobs()
    assert compiled and all(size > 10_000_000 for _, size in compiled)
    cached = OpenVinoBackend(store.runtime_path(spec, "cpu"), None, cache)
    assert blobs() == compiled  # loaded, not compiled again
    np.testing.assert_array_equal(segment(astronaut, spec, fresh), segment(astronaut, spec, cached))


def test_openvino_streams_give_the_same_masks_from_threads_at_once(store):
    """Batch lanes run passes at once on throughput streams: each caller gets its own image's
    mask, bit for bit what one pass at a time gives (batch outputs equal `alphalift remove`'s)."""
    pytest.importorskip("openvino")
    from concurrent.futures import ThreadPoolExecutor

    from alphalift.engine.openvino import OpenVinoBackend

    spec = store.catalog.get(None)
    photos = [skimage_data.astronaut(), skimage_data.chelsea(), skimage_data.coffee(), skimage_data.rocket()]
    alone = OpenVinoBackend(store.runtime_path(spec, "cpu"), None)
    streams = OpenVinoBackend(store.runtime_path(spec, "cpu"), 2, streams=2)
    assert (alone.parallel, streams.parallel) == (1, 2)
    one_thread = OpenVinoBackend(store.runtime_path(spec, "cpu"), 1, streams=2)
    assert one_thread.parallel == 1
    # a share of the machine (Ray actors, ALPHALIFT_THREADS): unpinned, or every process of a
    # node would pin its threads to the same first cores
    assert [b.compiled.get_property("ENABLE_CPU_PINNING") for b in (streams, one_thread)] == [False, False]
    expected = [segment(photo, spec, alone) for photo in photos]
    with ThreadPoolExecutor(2) as lanes:
        masks = list(lanes.map(lambda photo: segment(photo, spec, streams), photos))
    for mask, reference in zip(masks, expected):
        np.testing.assert_array_equal(mask, reference)


def test_an_unusable_openvino_cache_only_costs_the_compile(store, astronaut, tmp_path, caplog):
    pytest.importorskip("openvino")
    from alphalift.engine.openvino import OpenVinoBackend

    spec = store.catalog.get(None)
    not_a_folder = tmp_path / "compiled"
    not_a_folder.write_text("a file where the cache folder should be")
    backend = OpenVinoBackend(store.runtime_path(spec, "cpu"), None, not_a_folder)
    assert "compiled-model cache" in caplog.text and "compiling without it" in caplog.text
    assert segment(astronaut, spec, backend)[100:150, 200:240].mean() > 0.9  # the face
    assert not_a_folder.read_text() == "a file where the cache folder should be"


def test_cli_mask_equals_the_python_api(tmp_path, astronaut, store):
    source = tmp_path / "astronaut.png"
    Image.fromarray(astronaut).save(source)
    result = subprocess.run([sys.executable, "-m", "alphalift", "remove", str(source), "--format",
                             "mask", "--out-dir", str(tmp_path / "out")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    written = np.asarray(Image.open(tmp_path / "out" / "astronaut.png"), np.int16)
    api = alphalift.remove_background(source).mask_u8().astype(np.int16)
    assert written.shape == astronaut.shape[:2]
    assert np.abs(written - api).max() <= 1
