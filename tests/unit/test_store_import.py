"""`alphalift models import` never loses a file: it copies before it removes anything, leaves the
store's own file alone, writes only inside the store, and refuses what is not an ONNX model."""
from __future__ import annotations

import hashlib
import os

import pytest

from alphalift.models.catalog import Catalog, spec_from_dict
from alphalift.models.store import ModelStore

from .model_fixtures import add_half_model, is_disc, mask_of, run_cli


def test_importing_the_stores_own_file_keeps_it_and_its_fp32(home, tmp_path):
    """What a user does after saving a download into the models folder by hand."""
    add_half_model(home, convert=True)
    models = home / "models"
    original, fp32 = (models / "half.onnx").read_bytes(), (models / "half.fp32.onnx").read_bytes()
    result = run_cli("models", "import", str(models / "half.onnx"), "--as", "half", "--family", "isnet")
    assert result.returncode == 0, result.stderr
    assert (models / "half.onnx").read_bytes() == original
    assert (models / "half.fp32.onnx").read_bytes() == fp32, "the fp32 of the same file stays"
    assert is_disc(mask_of(tmp_path, "half"))


def test_a_catalogue_file_saved_into_the_models_folder_is_verified_in_place(tmp_path):
    payload = os.urandom(50_000)
    spec = spec_from_dict("m", {"family": "isnet", "input_size": [64, 64], "mean": [0.5] * 3,
                                "std": [1.0] * 3, "output": "probability", "licence": "test",
                                "sha256": hashlib.sha256(payload).hexdigest(), "size": len(payload)})
    store = ModelStore(tmp_path / "models", Catalog({"m": spec}, "m", tmp_path / "models" / "c.json"))
    saved = store.original_path(spec)
    saved.parent.mkdir()
    saved.write_bytes(payload)
    assert not store.is_cached(spec)
    store.import_file(saved, "m")
    assert saved.read_bytes() == payload and store.is_cached(spec)


@pytest.mark.parametrize("name", ["../outside", "/abs/evil", "sub/name", "x.fp32", "", ".hidden"])
def test_only_plain_names_are_accepted(tiny_home, tiny_model, tmp_path, name):
    name = name.replace("/abs", str(tmp_path))
    bystanders = [tiny_home / "outside.onnx", tiny_home / "outside.fp32.onnx", tmp_path / "evil.onnx"]
    for path in bystanders:
        path.write_bytes(b"someone else's file")
    result = run_cli("models", "import", str(tiny_model), "--as", name, "--family", "isnet")
    assert result.returncode == 1 and "plain model name" in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert all(path.read_bytes() == b"someone else's file" for path in bystanders)
    assert sorted(p.name for p in (tiny_home / "models").glob("*.onnx")) == ["tiny.onnx"]


@pytest.mark.parametrize("content", [b"", b"just some text\n", os.urandom(3000)],
                         ids=["empty", "text", "random"])
def test_a_file_that_is_not_an_onnx_model_is_refused(home, tmp_path, content):
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(content)
    result = run_cli("models", "import", str(fake), "--as", "mine", "--family", "isnet")
    assert result.returncode == 1 and "is not an ONNX model" in result.stderr, result.stderr
    assert not (home / "models" / "mine.onnx").exists()
    assert not (home / "models" / "custom.json").exists(), "not registered"


def test_a_failed_import_leaves_the_previous_model_in_place(tiny_home, tiny_model, tmp_path):
    """Copy first, remove after: a refused file takes nothing with it."""
    before = (tiny_home / "models" / "tiny.onnx").read_bytes()
    fake = tmp_path / "fake.onnx"
    fake.write_text("not a model")
    result = run_cli("models", "import", str(fake), "--as", "tiny", "--family", "isnet")
    assert result.returncode == 1
    assert (tiny_home / "models" / "tiny.onnx").read_bytes() == before
    assert run_cli("models", "verify", "tiny").stdout.strip() == "tiny: ok"


def test_reimporting_a_custom_model_needs_no_family_and_replaces_its_fp32(home, tmp_path):
    from .model_fixtures import build_half_model

    add_half_model(home, convert=True)
    bigger = build_half_model(tmp_path / "bigger.onnx", padding=10)
    result = run_cli("models", "import", str(bigger), "--as", "half")
    assert result.returncode == 0, result.stderr
    assert (home / "models" / "half.onnx").read_bytes() == bigger.read_bytes()
    assert not (home / "models" / "half.fp32.onnx").exists(), "made from the replaced file"
