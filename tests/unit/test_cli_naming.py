"""Batch output names: never two outputs on one name, and a folder run never eats its own outputs.

Every run is the real CLI process on the tiny model; inputs must be byte-equal afterwards.
"""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from ..conftest import red_disc
from .test_cli import run_cli


def draw(path: Path, size: tuple[int, int]) -> Path:
    """A red disc of ``size``, so each output can be traced back to its input by its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(red_disc(size, radius=min(size) / 3)).save(path)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def sizes(folder: Path) -> dict[str, tuple[int, int]]:
    return {p.name: Image.open(p).size for p in folder.iterdir()}


def test_inputs_sharing_a_stem_get_one_output_each(tiny_home, tmp_path):
    folder = tmp_path / "in"
    draw(folder / "a.png", (40, 30))
    draw(folder / "a.jpg", (44, 30))
    draw(folder / "B.png", (48, 30))  # B.png and b.webp collide on a case-insensitive disk
    draw(folder / "b.webp", (52, 30))
    draw(folder / "c.png", (56, 30))
    before = snapshot(folder)
    out = tmp_path / "out"
    for extra in ((), ("--force",)):
        result = run_cli("remove", str(folder), str(folder / "c.png"), "--out-dir", str(out),
                         "--model", "tiny", "--no-refine", "--format", "mask", *extra)
        assert result.returncode == 0, result.stderr
        assert sizes(out) == {"a-png.png": (40, 30), "a-jpg.png": (44, 30), "B-png.png": (48, 30),
                              "b-webp.png": (52, 30), "c.png": (56, 30)}, "c.png given twice is one input"
    assert snapshot(folder) == before


def test_the_same_name_from_two_folders(tiny_home, tmp_path):
    first = draw(tmp_path / "one" / "x.png", (40, 30))
    second = draw(tmp_path / "two" / "x.png", (44, 30))
    out = tmp_path / "out"
    result = run_cli("remove", str(first), str(second), "--out-dir", str(out), "--model", "tiny",
                     "--no-refine", "--format", "mask")
    assert result.returncode == 0, result.stderr
    assert sizes(out) == {"x-png.png": (40, 30), "x-png-2.png": (44, 30)}


def test_a_folder_run_twice_skips_its_own_outputs_but_not_a_users_mask(tiny_home, tmp_path):
    folder = tmp_path / "in"
    draw(folder / "a.png", (40, 30))
    draw(folder / "a.jpg", (44, 30))
    draw(folder / "b.png", (48, 30))
    draw(folder / "portrait-mask.png", (52, 30))  # the user's own file: no portrait.* beside it
    originals = snapshot(folder)
    first = run_cli("remove", str(folder), "--model", "tiny", "--no-refine", "--format", "mask")
    assert first.returncode == 0, first.stderr
    made = {"a-png-mask.png", "a-jpg-mask.png", "b-mask.png", "portrait-mask-mask.png"}
    assert set(snapshot(folder)) == set(originals) | made
    second = run_cli("remove", str(folder), "--model", "tiny", "--no-refine")
    assert second.returncode == 0, second.stderr
    cutouts = {"a-png-cutout.png", "a-jpg-cutout.png", "b-cutout.png", "portrait-mask-cutout.png"}
    assert set(snapshot(folder)) == set(originals) | made | cutouts, "no cut-outs of cut-outs"
    assert "skipped 4 files" in second.stderr and "b-mask.png" in second.stderr
    third = run_cli("remove", str(folder), "--model", "tiny", "--no-refine", "--force")
    assert third.returncode == 0, third.stderr
    assert set(snapshot(folder)) == set(originals) | made | cutouts
    assert {name: data for name, data in snapshot(folder).items() if name in originals} == originals


def test_out_dir_that_is_an_input_folder_is_refused(tiny_home, tmp_path):
    folder = tmp_path / "in"
    draw(folder / "a.jpg", (40, 30))
    before = snapshot(folder)
    result = run_cli("remove", str(folder), "--out-dir", str(folder), "--model", "tiny")
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "is also an input folder" in result.stderr
    assert snapshot(folder) == before


def test_an_output_never_lands_on_an_input_whose_name_differs_only_in_case(tiny_home, tmp_path):
    """On a case-insensitive disk a-cutout.png *is* A-cutout.png: --force must not replace it."""
    photo = draw(tmp_path / "a.png", (40, 30))
    theirs = draw(tmp_path / "A-cutout.png", (44, 30))
    before = theirs.read_bytes()
    result = run_cli("remove", str(photo), str(theirs), "--model", "tiny", "--no-refine", "--force")
    assert result.returncode == 1
    assert f"{tmp_path / 'a-cutout.png'} is one of the inputs" in result.stderr
    assert theirs.read_bytes() == before and not (tmp_path / "a-cutout.png").exists()
    assert (tmp_path / "A-cutout-cutout.png").exists()
