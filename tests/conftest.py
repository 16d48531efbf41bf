"""Shared fixtures: an isolated ALPHALIFT_HOME, a tiny real ONNX model, synthetic images."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private model cache, so tests never touch the user's."""
    monkeypatch.setenv("ALPHALIFT_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ALPHALIFT_BACKEND", "onnxruntime")
    return tmp_path / "home"


def build_tiny_model(path: Path) -> Path:
    """A real ONNX graph shaped like a salient-object model: 1x3xHxW in, 1x1xHxW probability out.

    It scores a pixel as subject by its redness (R - (G + B) / 2), so tests can draw subjects.
    """
    import onnx
    from onnx import TensorProto, helper

    weights = helper.make_tensor("w", TensorProto.FLOAT, [1, 3, 1, 1], [8.0, -4.0, -4.0])
    graph = helper.make_graph(
        [helper.make_node("Conv", ["input", "w"], ["score"]),
         helper.make_node("Sigmoid", ["score"], ["output"])],
        "tiny-redness",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "h", "w"])],
        initializer=[weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


@pytest.fixture
def tiny_model(tmp_path: Path) -> Path:
    return build_tiny_model(tmp_path / "tiny.onnx")


@pytest.fixture
def tiny_home(home: Path, tiny_model: Path) -> Path:
    """ALPHALIFT_HOME holding the tiny model, imported as the custom model "tiny"."""
    from alphalift.models import ModelStore

    ModelStore().import_file(tiny_model, "tiny", family="isnet")
    return home


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def red_disc(size: tuple[int, int] = (96, 80), radius: float = 25.0) -> np.ndarray:
    """A red disc on a blue background, HxWx3 uint8."""
    width, height = size
    y, x = np.mgrid[:height, :width]
    inside = (x - width / 2) ** 2 + (y - height / 2) ** 2 <= radius ** 2
    image = np.zeros((height, width, 3), np.uint8)
    image[...] = (20, 40, 200)
    image[inside] = (220, 30, 30)
    return image
