"""ALPHALIFT_* variables: a bad value is one line naming the variable, before any file is touched."""
from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from alphalift.config import ConfigError, env_number, pixel_count

from ..conftest import red_disc
from .test_cli import run_cli


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("a.png", "b.png"):
        Image.fromarray(red_disc((60, 40))).save(folder / name)
    return folder


@pytest.mark.parametrize("name, value", [
    ("ALPHALIFT_MAX_PIXELS", "lots"),
    ("ALPHALIFT_MAX_PIXELS", "0"),
    ("ALPHALIFT_THREADS", "two"),
    ("ALPHALIFT_THREADS", "-1"),
    ("ALPHALIFT_BACKEND", "gpu"),
])
def test_a_bad_variable_is_one_line_naming_it(tiny_home, folder, name, value):
    before = sorted(folder.iterdir())
    result = run_cli("remove", str(folder), "--model", "tiny", env={name: value})
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"alphalift: error: {name}={value!r} ")
    assert sorted(folder.iterdir()) == before, "nothing written"


def test_pixel_limits_read_like_people_write_them(tiny_home, folder):
    small = run_cli("remove", str(folder / "a.png"), "--model", "tiny", "--no-refine",
                    env={"ALPHALIFT_MAX_PIXELS": "2k"})
    assert small.returncode == 1 and "over the limit of 2,000" in small.stderr
    roomy = run_cli("remove", str(folder / "a.png"), "--model", "tiny", "--no-refine",
                    env={"ALPHALIFT_MAX_PIXELS": "10M"})
    assert roomy.returncode == 0, roomy.stderr
    flag = run_cli("remove", str(folder / "b.png"), "--model", "tiny", "--no-refine",
                   "--max-pixels", "1MP")
    assert flag.returncode == 0, flag.stderr


@pytest.mark.parametrize("text, pixels", [
    ("100000000", 100_000_000), ("12_000_000", 12_000_000), ("10M", 10_000_000),
    ("100MP", 100_000_000), ("1.5g", 1_500_000_000), ("800k", 800_000), ("24 MP", 24_000_000),
])
def test_pixel_count(text, pixels):
    assert pixel_count(text) == pixels


@pytest.mark.parametrize("text", ["M", "10X", "ten", "1e6", "1.5", "--3", ""])
def test_pixel_count_refuses(text):
    with pytest.raises(ValueError):
        pixel_count(text)


def test_env_number_names_the_variable_and_what_it_takes(monkeypatch):
    monkeypatch.setenv("ALPHALIFT_X", "10X")
    with pytest.raises(ConfigError, match=r"ALPHALIFT_X='10X' is not a pixel count.*100M"):
        env_number("ALPHALIFT_X", pixel_count, 5, minimum=1, what="a pixel count (e.g. 100M)")
    monkeypatch.setenv("ALPHALIFT_X", "")
    assert env_number("ALPHALIFT_X", int, 5) == 5
