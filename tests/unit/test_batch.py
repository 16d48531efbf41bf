"""`alphalift batch --engine local` end to end on the tiny model, through the real CLI process:
layouts, every kind of SOURCE, names that never collide, the manifest, resuming, failures."""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from ..conftest import red_disc
from .test_cli import run_cli

TINY = ("--model", "tiny", "--no-refine")


def draw(path: Path, size: tuple[int, int]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(red_disc(size, radius=min(size) / 3)).save(path)
    return path


def tree(root: Path) -> dict[str, bytes]:
    """Every file below ``root`` but the manifest and the lock, by relative posix path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and p.name not in ("alphalift-manifest.jsonl", ".alphalift-batch.lock")}


def manifest(dest: Path) -> dict[str, dict]:
    lines = (dest / "alphalift-manifest.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert len(rows) == len({row["input"] for row in rows}), "one row per input"
    return {Path(row["input"]).name: row for row in rows}


@pytest.fixture
def shoot(tmp_path: Path) -> Path:
    """A small catalogue: two levels of folders, one non-image, sizes that identify each input."""
    root = tmp_path / "shoot"
    draw(root / "one.png", (40, 30))
    draw(root / "day1" / "two.jpg", (44, 30))
    draw(root / "day1" / "raw" / "three.webp", (48, 30))
    (root / "day1" / "notes.txt").write_text("not an image")
    return root


def test_folder_outputs_mirror_the_layout_and_equal_remove(tiny_home, shoot, tmp_path):
    dest = tmp_path / "dest"
    result = run_cli("batch", str(shoot), str(dest), *TINY)
    assert result.returncode == 0, result.stderr
    assert set(tree(dest)) == {"one.png", "day1/two.png", "day1/raw/three.png"}
    assert "3 images: 3 cut out, 0 skipped (done before), 0 failed" in result.stdout
    for relative, data in tree(dest).items():
        source = next((shoot / relative).parent.glob(Path(relative).stem + ".*"))
        single = tmp_path / "single" / relative
        one = run_cli("remove", str(source), "-o", str(single), *TINY)
        assert one.returncode == 0, one.stderr
        assert data == single.read_bytes(), f"{relative} differs from alphalift remove's"
    rows = manifest(dest)
    assert {row["status"] for row in rows.values()} == {"ok"}
    row = rows["two.jpg"]
    assert row["output"] == str(dest / "day1" / "two.png")
    assert row["options"]["model"] == "tiny" and row["options"]["refine"] is False
    assert row["options"]["format"] == "rgba" and row["seconds"] > 0


def test_rerun_skips_everything_then_redoes_what_changed(tiny_home, shoot, tmp_path):
    dest = tmp_path / "dest"
    assert run_cli("batch", str(shoot), str(dest), *TINY).returncode == 0
    before = {p: p.stat().st_mtime_ns for p in dest.rglob("*.png")}
    again = run_cli("batch", str(shoot), str(dest), *TINY)
    assert again.returncode == 0, again.stderr
    assert "3 images: 0 cut out, 3 skipped" in again.stdout
    assert {p: p.stat().st_mtime_ns for p in dest.rglob("*.png")} == before, "nothing rewritten"
    assert {row["status"] for row in manifest(dest).values()} == {"skipped"}

    draw(shoot / "one.png", (60, 30))  # an edited photo: newer than its output
    future = time.time() + 5
    os.utime(shoot / "one.png", (future, future))
    (dest / "day1" / "two.png").write_bytes(b"")  # an output damaged after the run
    third = run_cli("batch", str(shoot), str(dest), *TINY)
    assert third.returncode == 0, third.stderr
    assert "3 images: 2 cut out, 1 skipped" in third.stdout
    assert Image.open(dest / "one.png").size == (60, 30)
    assert Image.open(dest / "day1" / "two.png").size == (44, 30)

    masks = run_cli("batch", str(shoot), str(dest), *TINY, "--format", "mask")  # other options
    assert "3 images: 3 cut out, 0 skipped" in masks.stdout, masks.stderr
    assert Image.open(dest / "one.png").mode == "L"
    forced = run_cli("batch", str(shoot), str(dest), *TINY, "--format", "mask", "--force")
    assert "3 images: 3 cut out" in forced.stdout, forced.stderr


def test_corrupt_input_and_unwritable_output_fail_alone(tiny_home, shoot, tmp_path):
    (shoot / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a JPEG")
    draw(shoot / "blocked" / "four.png", (52, 30))
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "blocked").write_text("a file where the output folder should be")
    result = run_cli("batch", str(shoot), str(dest), *TINY)
    assert result.returncode == 1
    assert "5 images: 3 cut out, 0 skipped (done before), 2 failed" in result.stdout
    rows = manifest(dest)
    assert rows["broken.jpg"]["status"] == "failed" and "damaged" in rows["broken.jpg"]["reason"]
    assert rows["four.png"]["status"] == "failed" and "blocked" in rows["four.png"]["reason"]
    for name in ("one.png", "two.jpg", "three.webp"):
        assert rows[name]["status"] == "ok"
    for name in ("broken.jpg", "four.png"):
        reason = rows[name]["reason"]
        assert "\n" not in reason and reason.startswith(str(shoot)), reason
        assert f"alphalift: error: {reason}" in result.stderr
    assert not [p for p in dest.rglob(".*.part")], "no half-written files"
    again = run_cli("batch", str(shoot), str(dest), *TINY)  # failures are tried again
    assert "5 images: 0 cut out, 3 skipped (done before), 2 failed" in again.stdout


def test_sources_glob_txt_csv_parquet(tiny_home, shoot, tmp_path):
    expected = {"one.png", "day1/two.png", "day1/raw/three.png"}
    pattern = str(shoot) + "/**/*.*"
    assert run_cli("batch", pattern, str(tmp_path / "g"), *TINY).returncode == 0
    assert set(tree(tmp_path / "g")) == expected
    only = run_cli("batch", str(shoot) + "/day1/*.jpg", str(tmp_path / "g2"), *TINY)
    assert only.returncode == 0, only.stderr
    assert set(tree(tmp_path / "g2")) == {"two.png"}

    listed = ["one.png", "day1/two.jpg", str(shoot / "day1" / "raw" / "three.webp")]
    text = shoot / "list.txt"
    text.write_text("# my picks\n" + "\n".join(listed) + "\n\n")
    assert run_cli("batch", str(text), str(tmp_path / "t"), *TINY).returncode == 0
    assert set(tree(tmp_path / "t")) == expected, "relative to the list's folder, layout kept"
    table = tmp_path / "picks.csv"
    table.write_text("sku,path\n1," + "\n2,".join(str(shoot / p) for p in listed[:2]) + "\n")
    assert run_cli("batch", str(table), str(tmp_path / "c"), *TINY).returncode == 0
    assert set(tree(tmp_path / "c")) == {"one.png", "day1/two.png"}

    pq = pytest.importorskip("pyarrow.parquet", reason="parquet lists need pyarrow (alphalift[ray])")
    import pyarrow as pa

    pq.write_table(pa.table({"path": [str(shoot / p) for p in listed[1:]]}), tmp_path / "picks.parquet")
    result = run_cli("batch", str(tmp_path / "picks.parquet"), str(tmp_path / "p"), *TINY)
    assert result.returncode == 0, result.stderr
    assert set(tree(tmp_path / "p")) == {"two.png", "raw/three.png"}


def test_list_without_a_path_column_is_one_line(tiny_home, tmp_path):
    table = tmp_path / "picks.csv"
    table.write_text("file\nx.png\n")
    result = run_cli("batch", str(table), str(tmp_path / "out"), *TINY)
    assert result.returncode == 1
    assert result.stderr.strip() == (f"alphalift: error: {table}: the CSV has no 'path' column. "
                                     "Name the column of image paths 'path' in the header line.")


def test_names_never_collide(tiny_home, tmp_path):
    source = tmp_path / "in"
    draw(source / "a.jpg", (40, 30))
    draw(source / "a.png", (44, 30))
    draw(source / "sub" / "B.png", (48, 30))
    draw(source / "sub" / "b.webp", (52, 30))
    draw(source / "sub" / "a.png", (56, 30))  # another folder: no clash with a.png above
    dest = tmp_path / "dest"
    result = run_cli("batch", str(source), str(dest), *TINY, "--format", "mask")
    assert result.returncode == 0, result.stderr
    sizes = {name: Image.open(dest / name).size for name in tree(dest)}
    assert sizes == {"a-jpg.png": (40, 30), "a-png.png": (44, 30), "sub/B-png.png": (48, 30),
                     "sub/b-webp.png": (52, 30), "sub/a.png": (56, 30)}


def test_dest_inside_source_is_never_read_and_dest_as_source_is_refused(tiny_home, shoot):
    inside = shoot / "cut"
    for _ in range(2):
        result = run_cli("batch", str(shoot), str(inside), *TINY)
        assert result.returncode == 0, result.stderr
    assert set(tree(inside)) == {"one.png", "day1/two.png", "day1/raw/three.png"}
    same = run_cli("batch", str(shoot), str(shoot), *TINY)
    assert same.returncode == 1
    assert "is SOURCE itself" in same.stderr and same.stderr.count("\n") == 1


def test_uris_through_pyarrow(tiny_home, shoot, tmp_path):
    pytest.importorskip("pyarrow", reason="URIs are read through pyarrow (alphalift[ray])")
    dest = tmp_path / "dest"
    result = run_cli("batch", shoot.as_uri(), dest.as_uri(), *TINY)
    assert result.returncode == 0, result.stderr
    local = run_cli("batch", str(shoot), str(tmp_path / "plain"), *TINY)
    assert local.returncode == 0, local.stderr
    assert tree(dest) == tree(tmp_path / "plain")
    assert manifest(dest)["two.jpg"]["input"] == (shoot / "day1" / "two.jpg").as_uri()
    again = run_cli("batch", shoot.as_uri(), dest.as_uri(), *TINY)
    assert "3 images: 0 cut out, 3 skipped" in again.stdout, again.stderr


def test_without_the_ray_extra_local_works_and_ray_says_how_to_install(tiny_home, shoot, tmp_path):
    blocker = tmp_path / "no-extra"
    for name in ("ray", "pyarrow", "pandas"):
        (blocker / name).mkdir(parents=True)
        (blocker / name / "__init__.py").write_text(f"raise ImportError('{name} is not installed')\n")
    env = {"PYTHONPATH": os.pathsep.join([str(blocker), *sys.path])}
    local = run_cli("batch", str(shoot), str(tmp_path / "local"), *TINY, env=env)
    assert local.returncode == 0, local.stderr
    assert "3 images: 3 cut out" in local.stdout
    result = run_cli("batch", str(shoot), str(tmp_path / "dest"), *TINY, "--engine", "ray", env=env)
    assert result.returncode == 1
    assert result.stderr == ("alphalift: error: --engine ray needs Ray, which is not installed. "
                             "Install it into AlphaLift's environment with: pip install "
                             "'alphalift[ray]', or use --engine local.\n")
    assert not (tmp_path / "dest").exists(), "nothing written"
