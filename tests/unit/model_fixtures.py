"""A tiny fp16 model the store converts to fp32 for CPUs, as it does the default model.

Custom imports never get the fp32 conversion or OpenVINO (only catalogue entries say so), so the
helper edits the custom catalogue file the way catalog.toml marks the default model.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from ..conftest import red_disc

WEIGHTS = (8.0, -4.0, -4.0)  # redness, as in conftest's tiny model


def build_half_model(path: Path, padding: int = 0) -> Path:
    """1x3xHxW float in, 1x1xHxW probability out, computed in fp16 between Cast nodes (like the
    IMG.LY file); ``padding`` fp16 values in an extra initializer make the file bigger."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    initializers = [numpy_helper.from_array(np.array(WEIGHTS, np.float16).reshape(1, 3, 1, 1), "w")]
    if padding:
        initializers.append(numpy_helper.from_array(np.ones(padding, np.float16), "padding"))
    graph = helper.make_graph(
        [helper.make_node("Cast", ["input"], ["half"], to=TensorProto.FLOAT16),
         helper.make_node("Conv", ["half", "w"], ["score"]),
         helper.make_node("Sigmoid", ["score"], ["probability"]),
         helper.make_node("Cast", ["probability"], ["output"], to=TensorProto.FLOAT)],
        "half-redness",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, "h", "w"])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 1, "h", "w"])],
        initializer=initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def add_half_model(home: Path, name: str = "half", openvino: bool = False, padding: int = 0,
                   convert: bool = False) -> Path:
    """Import the fp16 model into ``home`` as ``name``, marked for the fp32 conversion (made now
    if ``convert``)."""
    from alphalift.models.store import ModelStore

    source = build_half_model(home.parent / f"{name}-source.onnx", padding)
    ModelStore(home / "models").import_file(source, name, family="isnet")
    custom = home / "models" / "custom.json"
    entries = json.loads(custom.read_text())
    entries[name].update(fp32="cpu", openvino=openvino)
    custom.write_text(json.dumps(entries))
    if convert:
        store = ModelStore(home / "models")
        store.runtime_path(store.catalog.get(name), "cpu")
    return source


def run_cli(*args: str, env: dict[str, str] | None = None, **kwargs) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([sys.executable, "-m", "alphalift", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, **kwargs)


def mask_of(tmp_path: Path, model: str, env: dict[str, str] | None = None) -> np.ndarray:
    """`alphalift remove --format mask` on a red disc through a real process; the 8-bit matte."""
    photo = tmp_path / "disc.png"
    if not photo.exists():
        Image.fromarray(red_disc((64, 48), radius=14)).save(photo)
    out = tmp_path / "mask.png"
    result = run_cli("remove", str(photo), "--format", "mask", "-o", str(out), "--force",
                     "--model", model, "--no-refine", env=env)
    assert result.returncode == 0, result.stderr
    return np.asarray(Image.open(out))


def is_disc(mask: np.ndarray) -> bool:
    """The red disc is the subject and the blue background is not."""
    return bool(mask[24, 32] > 230 and mask[2, 2] < 25)


def flip_float(path: Path, value: float) -> None:
    """Turn the first float32 ``value`` in the file into ``-value``, keeping size and mtime
    (damage a stat() cannot see: a flipped region on disk)."""
    import os

    stat = path.stat()
    data = bytearray(path.read_bytes())
    where = data.find(np.float32(value).tobytes())
    assert where >= 0, f"{value} not found in {path.name}"
    data[where:where + 4] = np.float32(-value).tobytes()
    os.chmod(path, 0o644)
    path.write_bytes(bytes(data))
    os.chmod(path, stat.st_mode)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
