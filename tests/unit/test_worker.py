"""The worker (`alphalift serve --stdio`) through the stdlib client, on the tiny real model."""
from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest

from alphalift.pipeline import Remover
from alphalift.worker import protocol

from ..conftest import red_disc

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "plugins" / "client"))
import alphalift_client  # noqa: E402
from alphalift_client import AlphaLiftClient, AlphaLiftClientError  # noqa: E402


@pytest.fixture
def client(tiny_home):
    with AlphaLiftClient(python=sys.executable) as client:
        yield client


def rgba_bytes(image: np.ndarray) -> bytes:
    return np.dstack([image, np.full(image.shape[:2], 255, np.uint8)]).tobytes()


def test_client_and_core_speak_the_same_protocol():
    assert alphalift_client.PROTOCOL == protocol.PROTOCOL


def test_hello_lists_models(client):
    names = {m["name"]: m for m in client.models}
    assert names["isnet-medium"]["default"] and names["isnet-medium"]["licence"] == "AGPL-3.0"
    assert names["tiny"]["cached"]


def test_mask_equals_the_in_process_pipeline(client, tiny_home):
    image = red_disc((70, 50))
    stages = []
    result = client.remove(rgba_bytes(image), 70, 50, "RGBA8", model="tiny",
                           on_progress=lambda f, s: stages.append(s))
    assert (result.width, result.height) == (70, 50)
    mask = np.frombuffer(result.alpha, np.uint8).reshape(50, 70).astype(int)
    expected = Remover().remove(image, model="tiny").mask_u8().astype(int)
    assert np.abs(mask - expected).max() <= 1
    assert len(result.foreground) == 70 * 50 * 3
    assert "segment" in stages and stages[-1] == "done"


def test_high_bit_depth_and_float_alpha(client):
    image = red_disc((40, 30), radius=10).astype(np.uint16) * 257
    pixels = np.dstack([image, np.full((30, 40), 65535, np.uint16)]).astype("<u2").tobytes()
    result = client.remove(pixels, 40, 30, "RGBA16", model="tiny", refine=False, foreground=False,
                           alpha_format="F32")
    mask = np.frombuffer(result.alpha, "<f4").reshape(30, 40)
    assert mask[15, 20] > 0.9 and mask[0, 0] < 0.1 and result.foreground is None


def test_existing_transparency_is_kept(client):
    image = red_disc((40, 30), radius=10)
    rgba = np.dstack([image, np.full((30, 40), 255, np.uint8)])
    rgba[:, :20, 3] = 0
    result = client.remove(rgba.tobytes(), 40, 30, "RGBA8", model="tiny", refine=False)
    mask = np.frombuffer(result.alpha, np.uint8).reshape(30, 40)
    assert mask[:, :20].max() == 0 and mask[15, 25] > 200


@pytest.mark.parametrize("width, height, size, expected", [
    (10, 10, 399, "expected 400"),
    (1, 1, 4, "only 1x1"),
])
def test_bad_requests_get_errors_and_the_worker_keeps_serving(client, width, height, size, expected):
    with pytest.raises(AlphaLiftClientError, match=expected):
        client.remove(b"\0" * size, width, height, "RGBA8", model="tiny")
    result = client.remove(rgba_bytes(red_disc((20, 20))), 20, 20, model="tiny", refine=False)
    assert len(result.alpha) == 400


def test_oversized_and_unknown_model(client, monkeypatch):
    with pytest.raises(AlphaLiftClientError, match="Unknown model 'nope'") as caught:
        client.remove(rgba_bytes(red_disc((20, 20))), 20, 20, model="nope")
    assert caught.value.code == "unknown-model"
    with pytest.raises(AlphaLiftClientError, match="over the limit") as caught:
        client.remove(b"", 100_000, 100_000, model="tiny")
    assert caught.value.code == "image-too-large"


def test_raw_protocol_survives_garbage(tiny_home):
    process = subprocess.Popen([sys.executable, "-m", "alphalift", "serve", "--stdio"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    lines = ["this is not json", json.dumps([1, 2]), json.dumps({"op": "fly", "id": 3}),
             json.dumps({"op": "remove", "id": 4, "image": {"path": "/nonexistent.raw", "width": 8,
                                                            "height": 8, "format": "RGB8"}}),
             json.dumps({"op": "hello", "protocol": 99, "id": 5}),
             json.dumps({"op": "hello", "id": 6}), json.dumps({"op": "shutdown"})]
    out, _ = process.communicate("\n".join(lines) + "\n", timeout=60)
    replies = [json.loads(line) for line in out.splitlines()]
    assert [r["error"]["code"] for r in replies[:2]] == ["bad-json", "bad-json"]
    by_id = {r["id"]: r for r in replies[2:]}
    assert by_id[3]["error"]["code"] == "unknown-op"
    assert by_id[4]["error"]["code"] == "forbidden-path"  # raw pixels only in the client's folder
    assert by_id[5]["error"]["code"] == "protocol"
    assert by_id[6]["ok"] and by_id[6]["protocol"] == protocol.PROTOCOL
    assert process.returncode == 0


def test_cancel_stops_a_running_cut_out(client):
    image = red_disc((400, 300), radius=100)
    seen = threading.Event()

    def on_progress(fraction: float, stage: str) -> None:
        if stage == "segment":
            client.cancel()
            seen.set()

    with pytest.raises(AlphaLiftClientError) as caught:
        client.remove(rgba_bytes(image), 400, 300, model="tiny", on_progress=on_progress)
    assert seen.is_set() and caught.value.code == "cancelled"
    assert client.remove(rgba_bytes(image), 400, 300, model="tiny", refine=False).width == 400


def test_a_dead_worker_is_restarted(client):
    client.process.kill()
    client.process.wait()
    result = client.remove(rgba_bytes(red_disc((20, 20))), 20, 20, model="tiny", refine=False)
    assert len(result.alpha) == 400


def test_missing_installation_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("ALPHALIFT_HOME", str(tmp_path))
    monkeypatch.delenv("ALPHALIFT_PYTHON", raising=False)
    with pytest.raises(AlphaLiftClientError, match="installers/install.py core") as caught:
        AlphaLiftClient().start()
    assert caught.value.code == "not-installed"
    (tmp_path / "client.json").write_text(json.dumps({"python": str(tmp_path / "gone" / "python")}))
    with pytest.raises(AlphaLiftClientError, match="is gone"):
        AlphaLiftClient().start()


def test_channel_orders_half_floats_and_linear_light_decode_alike(tmp_path):
    from alphalift.worker.pixels import RawImage, decode_pixels

    rgba = np.dstack([red_disc((6, 4)), np.full((4, 6), 200, np.uint8)])
    rgba[0, 0] = (10, 120, 250, 90)

    def decode(data: np.ndarray, fmt: str, **extra) -> np.ndarray:
        path = tmp_path / f"{fmt}.raw"
        data.tofile(path)
        source = decode_pixels(RawImage(path, 6, 4, fmt, **extra))
        return np.dstack([source.colour, np.round(source.alpha * 255)]).astype(int)

    expected = decode(rgba, "RGBA8")
    assert (decode(np.ascontiguousarray(rgba[..., [2, 1, 0, 3]]), "BGRA8") == expected).all()
    bgra16 = rgba[..., [2, 1, 0, 3]].astype("<u2") * 257
    assert (decode(bgra16, "BGRA16") == expected).all()
    unit = rgba / 255.0
    linear = np.where(unit <= 0.04045, unit / 12.92, ((unit + 0.055) / 1.055) ** 2.4)
    linear[..., 3] = unit[..., 3]  # alpha is never gamma-encoded
    assert np.abs(decode(linear.astype("<f2"), "RGBAH", linear=True) - expected).max() <= 1
    assert np.abs(decode(linear.astype("<f4"), "RGBAF", linear=True) - expected).max() <= 1
    assert np.abs(decode(linear.astype("<f4"), "RGBAF") - expected).max() > 20, "linear matters"


def test_a_soft_selection_limits_the_matte(client):
    image = red_disc((40, 30), radius=10)
    plain = client.remove(rgba_bytes(image), 40, 30, "RGBA8", model="tiny", refine=False)
    selection = np.zeros((30, 40), np.uint8)
    selection[:, :20] = 255
    selection[:, 20:22] = 128
    limited = client.remove(rgba_bytes(image), 40, 30, "RGBA8", model="tiny", refine=False,
                            limit=selection.tobytes())
    before = np.frombuffer(plain.alpha, np.uint8).reshape(30, 40).astype(int)
    after = np.frombuffer(limited.alpha, np.uint8).reshape(30, 40).astype(int)
    assert (after[:, :20] == before[:, :20]).all() and (after[:, 22:] == 255).all()
    blend = before[:, 20:22] * 128 / 255 + 255 * (1 - 128 / 255)
    assert np.abs(after[:, 20:22] - blend).max() <= 1
    with pytest.raises(AlphaLiftClientError, match="must hold 1200 bytes"):
        client.remove(rgba_bytes(image), 40, 30, "RGBA8", model="tiny", limit=b"\xff" * 10)


def test_files_in_pngs_out(client, tmp_path):
    from PIL import Image

    source = tmp_path / "disc.png"
    Image.fromarray(red_disc((40, 30), radius=10)).save(source)
    saved = client.remove_file(str(source), {"mask": str(tmp_path / "m.png"),
                                             "foreground": str(tmp_path / "f.png")}, model="tiny")
    assert saved == {"mask": str(tmp_path / "m.png"), "foreground": str(tmp_path / "f.png")}
    mask = np.asarray(Image.open(tmp_path / "m.png"))
    expected = Remover().remove(red_disc((40, 30), radius=10), model="tiny").mask_u8()
    assert mask.shape == (30, 40) and np.abs(mask.astype(int) - expected).max() <= 1
    assert Image.open(tmp_path / "f.png").mode == "RGB"
    with pytest.raises(AlphaLiftClientError, match="save maps"):
        client.remove_file(str(source), {"alpha": str(tmp_path / "x.png")}, model="tiny")
    with pytest.raises(AlphaLiftClientError, match="missing.png"):
        client.remove_file(str(tmp_path / "missing.png"), {"mask": str(tmp_path / "y.png")}, model="tiny")
    assert not (tmp_path / "y.png").exists()
