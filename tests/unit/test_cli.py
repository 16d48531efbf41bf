"""The CLI end to end on a tiny real ONNX model: outputs, naming, batches and every error path."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from alphalift.cli import main

from ..conftest import red_disc


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """Through a real process, to see exit codes and stderr exactly as a user does; ``env`` adds
    variables to this process's environment."""
    return subprocess.run([sys.executable, "-m", "alphalift", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


@pytest.fixture
def photo(tmp_path: Path) -> Path:
    path = tmp_path / "photo.png"
    Image.fromarray(red_disc((120, 90))).save(path)
    return path


def test_mask_output_is_8bit_single_channel_same_size_named_by_stem(tiny_home, photo, tmp_path):
    out = tmp_path / "out"
    assert main(["remove", str(photo), "--format", "mask", "--out-dir", str(out), "--model", "tiny",
                 "--no-refine"]) == 0
    mask = Image.open(out / "photo.png")
    assert mask.mode == "L" and mask.size == (120, 90)
    values = np.asarray(mask)
    assert values[45, 60] > 230 and values[2, 2] < 25, "red disc is the subject"


def test_rgba_keeps_the_original_colours(tiny_home, photo, tmp_path):
    target = tmp_path / "cut.png"
    assert main(["remove", str(photo), "-o", str(target), "--model", "tiny", "--no-refine"]) == 0
    rgba = np.asarray(Image.open(target))
    assert rgba.shape == (90, 120, 4)
    assert (rgba[..., :3] == np.asarray(Image.open(photo))).all()


def test_refined_rgba_keeps_opaque_pixels_and_bg_composites(tiny_home, photo, tmp_path):
    target = tmp_path / "cut.png"
    assert main(["remove", str(photo), "-o", str(target), "--model", "tiny"]) == 0
    rgba = np.asarray(Image.open(target))
    opaque = rgba[..., 3] == 255
    assert opaque.any() and (rgba[opaque][:, :3] == np.asarray(Image.open(photo))[opaque]).all()
    flat = tmp_path / "flat.png"
    assert main(["remove", str(photo), "-o", str(flat), "--model", "tiny", "--bg", "#00ff00"]) == 0
    image = Image.open(flat)
    assert image.mode == "RGB" and image.getpixel((1, 1)) == (0, 255, 0)


def test_default_name_sits_beside_the_input_and_never_replaces_it(tiny_home, photo):
    assert main(["remove", str(photo), "--model", "tiny", "--no-refine"]) == 0
    assert (photo.parent / "photo-cutout.png").exists()
    before = photo.read_bytes()
    code = run_cli("remove", str(photo), "-o", str(photo), "--model", "tiny", "--force")
    assert code.returncode == 1 and "never overwrites an input" in code.stderr
    assert photo.read_bytes() == before


def test_existing_output_needs_force(tiny_home, photo, tmp_path):
    target = tmp_path / "taken.png"
    target.write_bytes(b"keep me")
    result = run_cli("remove", str(photo), "-o", str(target), "--model", "tiny")
    assert result.returncode == 1 and "--force" in result.stderr
    assert target.read_bytes() == b"keep me"
    assert main(["remove", str(photo), "-o", str(target), "--model", "tiny", "--force"]) == 0
    assert Image.open(target).size == (120, 90)


def test_batch_reports_each_bad_file_and_keeps_going(tiny_home, photo, tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.png").write_bytes(photo.read_bytes())
    (folder / "empty.png").write_bytes(b"")
    (folder / "text.png").write_text("not an image")
    (folder / "b.png").write_bytes(photo.read_bytes())
    out = tmp_path / "out"
    result = run_cli("remove", str(folder), "--out-dir", str(out), "--model", "tiny", "--format", "mask")
    assert result.returncode == 1
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"], "no partial files"
    assert "empty.png: the file is empty" in result.stderr
    assert "text.png: not an image" in result.stderr
    assert "2 of 4 images failed" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("content, expected", [
    (b"", "the file is empty (0 bytes). Re-export"),
    (b"GIF89a-broken", "Pillow can read"),
])
def test_single_bad_input_is_one_line_and_exit_1(tiny_home, tmp_path, content, expected):
    bad = tmp_path / "bad.gif"
    bad.write_bytes(content)
    result = run_cli("remove", str(bad), "--model", "tiny")
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0 and expected in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "bad-cutout.png").exists()


def test_debug_shows_the_traceback(tiny_home, tmp_path):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"")
    result = run_cli("--debug", "remove", str(bad), "--model", "tiny")
    assert result.returncode == 1 and "Traceback" in result.stderr


def test_pixel_limit_and_tiny_images(tiny_home, photo, tmp_path):
    result = run_cli("remove", str(photo), "--model", "tiny", "--max-pixels", "1000")
    assert result.returncode == 1 and "over the limit of 1,000" in result.stderr
    one = tmp_path / "one.png"
    Image.new("RGB", (1, 1)).save(one)
    result = run_cli("remove", str(one), "--model", "tiny")
    assert result.returncode == 1 and "only 1x1 pixels" in result.stderr


def test_unknown_model_fails_before_any_output(home, photo):
    result = run_cli("remove", str(photo), "--model", "no-such-model")
    assert result.returncode == 1 and "Unknown model 'no-such-model'" in result.stderr
    assert not (photo.parent / "photo-cutout.png").exists()


def test_corrupt_model_file_is_refused(home, photo, tmp_path):
    fake = tmp_path / "fake.onnx"
    fake.write_bytes(b"not a model" * 100)
    result = run_cli("models", "import", str(fake), "--as", "isnet-medium")
    assert result.returncode == 1 and "is not the catalogue's 'isnet-medium' model" in result.stderr
    result = run_cli("models", "path", "isnet-medium")
    assert result.returncode == 1 and "alphalift models download isnet-medium" in result.stderr


def test_offline_without_a_cached_model(home, photo):
    result = run_cli("remove", str(photo), "--offline")
    assert result.returncode == 1
    assert "not downloaded" in result.stderr and "alphalift models download isnet-medium" in result.stderr


def test_models_commands(tiny_home, tiny_model):
    listing = run_cli("models", "list").stdout
    assert "isnet-medium" in listing and "AGPL-3.0" in listing and "(default)" in listing
    assert "tiny" in listing
    path = run_cli("models", "path", "tiny")
    assert path.returncode == 0 and Path(path.stdout.strip()).read_bytes() == tiny_model.read_bytes()
    verify = run_cli("models", "verify")
    assert verify.returncode == 0 and "tiny: ok" in verify.stdout
    removed = run_cli("models", "remove", "tiny")
    assert removed.returncode == 0 and "removed" in removed.stdout
    assert "tiny" not in run_cli("models", "list").stdout


def test_version():
    result = run_cli("--version")
    assert result.returncode == 0 and result.stdout.startswith("alphalift ")


def test_stills_are_not_remembered_but_a_shots_frames_are(tiny_home, photo, tmp_path, monkeypatch):
    """Each still is cut out once, so the CLI keeps no digest or copy of it; a shot's frames may
    repeat (a hold), so a sequence run remembers its last frames."""
    import alphalift.pipeline

    digested: list[tuple[int, ...]] = []
    real_key = alphalift.pipeline.pixels_key
    monkeypatch.setattr(alphalift.pipeline, "pixels_key",
                        lambda pixels: digested.append(pixels.shape) or real_key(pixels))
    assert main(["remove", str(photo), "--out-dir", str(tmp_path / "stills"), "--model", "tiny"]) == 0
    assert digested == [] and (tmp_path / "stills" / "photo.png").exists()
    frames = tmp_path / "frames"
    frames.mkdir()
    for index in (1, 2):
        Image.open(photo).save(frames / f"frame_{index}.png")
    assert main(["remove", str(frames), "--sequence", "--out-dir", str(tmp_path / "shot"),
                 "--model", "tiny"]) == 0
    assert (90, 120, 3) in digested
