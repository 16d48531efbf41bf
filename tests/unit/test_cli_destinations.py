"""Where outputs go: checked before the model runs, written in the format the name says, and every
failure one line naming the file, with nothing half-written left behind.

A read-only or full disk is a real tmpfs mounted for the test (root only: chmod does not stop
root); without root, the read-only case falls back to chmod and the full-disk case is skipped.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from ..conftest import red_disc
from .test_cli import run_cli

IS_ROOT = getattr(os, "geteuid", lambda: -1)() == 0
NOT_DOWNLOADED = "not downloaded"  # what the model stage says under --offline with an empty home


@contextlib.contextmanager
def tmpfs(folder: Path, options: str) -> Iterator[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    if shutil.which("mount") is None:
        pytest.skip("no mount command here")
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(folder)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A folder nobody, root included, can write to; ``read_only/inside.png`` is an image."""
    folder = tmp_path / "ro"
    if not IS_ROOT:
        if os.name == "nt":
            pytest.skip("a read-only folder needs POSIX permissions")
        folder.mkdir()
        Image.fromarray(red_disc((40, 30))).save(folder / "inside.png")
        folder.chmod(0o555)
        yield folder
        folder.chmod(0o755)
        return
    with tmpfs(folder, "size=1m"):
        Image.fromarray(red_disc((40, 30))).save(folder / "inside.png")
        subprocess.run(["mount", "-o", "remount,ro", str(folder)], check=True)
        yield folder


@pytest.fixture
def photos(tmp_path: Path) -> list[Path]:
    folder = tmp_path / "in"
    folder.mkdir()
    paths = [folder / "a.png", folder / "b.png"]
    for path in paths:
        Image.fromarray(red_disc((40, 30))).save(path)
    return paths


def one_line(stderr: str) -> str:
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


@pytest.mark.parametrize("sub", ["", "new/deeper"])
def test_a_read_only_out_dir_fails_before_the_model_runs(home, photos, read_only, sub):
    out = read_only / sub if sub else read_only
    result = run_cli("remove", str(photos[0].parent), "--out-dir", str(out), "--offline")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert line.startswith("alphalift: error: ") and NOT_DOWNLOADED not in line
    assert "Read-only file system" in line or "Permission denied" in line
    assert str(read_only) in line
    assert sorted(p.name for p in read_only.iterdir()) == ["inside.png"]


def test_a_read_only_input_folder_fails_that_file_only(tiny_home, photos, read_only):
    before = (read_only / "inside.png").read_bytes()
    result = run_cli("remove", str(read_only / "inside.png"), str(photos[0]), "--model", "tiny",
                     "--no-refine")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith(f"alphalift: error: {read_only / 'inside.png'}: ")
    assert "cannot write to" in lines[0] and "unexpected" not in lines[0]
    assert "1 of 2 images failed" in lines[-1] and len(lines) == 2
    assert (photos[0].parent / "a-cutout.png").exists()
    assert (read_only / "inside.png").read_bytes() == before


def test_a_full_disk_is_one_line_and_leaves_no_partial_file(tiny_home, tmp_path):
    if not IS_ROOT:
        pytest.skip("filling a small tmpfs needs root")
    noise = np.random.default_rng(1).integers(0, 256, (300, 300, 3), np.uint8)  # ~270 KB as PNG
    source = tmp_path / "noise.png"
    Image.fromarray(noise).save(source)
    with tmpfs(tmp_path / "full", "size=64k") as full:
        target = full / "cut.png"
        result = run_cli("remove", str(source), "-o", str(target), "--model", "tiny", "--no-refine")
        assert result.returncode == 1
        line = one_line(result.stderr)
        assert str(target) in line and "No space left on device" in line
        assert list(full.iterdir()) == [], "nothing half-written"


def test_dash_o_naming_a_folder_is_refused_before_the_model_runs(home, photos, tmp_path):
    folder = tmp_path / "a-folder"
    folder.mkdir()
    result = run_cli("remove", str(photos[0]), "-o", str(folder), "--offline")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert f"{folder} is a folder" in line and "--out-dir" in line
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("name, options, expected", [
    ("w.jpg", ("--bg", "white"), ("JPEG", "RGB")),
    ("m.JPEG", ("--format", "mask"), ("JPEG", "L")),
    ("c.webp", (), ("WEBP", "RGBA")),
    ("c.tif", (), ("TIFF", "RGBA")),
])
def test_the_output_is_written_in_the_format_its_name_says(tiny_home, photos, tmp_path, name,
                                                           options, expected):
    target = tmp_path / name
    result = run_cli("remove", str(photos[0]), "-o", str(target), "--model", "tiny", "--no-refine",
                     *options)
    assert result.returncode == 0, result.stderr
    with Image.open(target) as image:
        assert (image.format, image.mode) == expected and image.size == (40, 30)


@pytest.mark.parametrize("name, expected", [
    ("c.jpg", "JPEG has no transparency"),
    ("c.bmp", "not .bmp"),
    ("c", "not a name without an extension"),
])
def test_an_output_name_that_cannot_hold_the_cutout_is_refused_before_the_model_runs(
        home, photos, tmp_path, name, expected):
    target = tmp_path / name
    result = run_cli("remove", str(photos[0]), "-o", str(target), "--offline")
    assert result.returncode == 1
    line = one_line(result.stderr)
    assert expected in line and str(target) in line and NOT_DOWNLOADED not in line
    assert not target.exists()


def test_batch_errors_name_the_file(tiny_home, photos, tmp_path):
    big = photos[0].parent / "big.png"
    Image.fromarray(red_disc((300, 200))).save(big)
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.png").write_bytes(b"keep me")
    result = run_cli("remove", str(photos[0].parent), "--out-dir", str(out), "--model", "tiny",
                     "--no-refine", "--max-pixels", "20000")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 3 and lines[-1] == "alphalift: 2 of 3 images failed"
    assert any(line.startswith(f"alphalift: error: {photos[0]}: {out / 'a.png'} already exists")
               for line in lines)
    assert any(line.startswith(f"alphalift: error: {big}: ") and "over the limit of 20,000" in line
               for line in lines)
    assert (out / "a.png").read_bytes() == b"keep me"
    assert sorted(p.name for p in out.iterdir()) == ["a.png", "b.png"]
