"""AlphaLift in the real Blender (pip `bpy` 4.2.23, 4.5.4 and 5.0.1: Blender as a Python module), installed
with the project's installer. The bpy venvs (~950 MB each) are cached in $ALPHALIFT_CACHE, outside
the clone. A driver script (blender_driver.py) builds the compositor scenes and renders; the checks
run out here with Pillow.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import CACHE, PROJECT, cli_mask

pytestmark = pytest.mark.hosts
VERSIONS = ["4.2.23", "4.5.4", "5.0.1"]  # the manifest's minimum (4.2 LTS), the current LTS, the newest


def drifting_frames(photo: np.ndarray, count: int = 3) -> list[np.ndarray]:
    """A shot where temporal smoothing matters: the photo panning 3 px a frame, with sensor noise."""
    rng = np.random.default_rng(7)
    return [np.clip(np.roll(photo, 3 * k, axis=1) + rng.normal(0, 6, photo.shape) + 0.5, 0, 255)
            .astype(np.uint8) for k in range(count)]


_sequence_masks: dict[str, list[np.ndarray]] = {}  # by the frames' bytes: Blender versions share them


def cli_sequence_masks(frames: list[Path], tmp_path: Path) -> list[np.ndarray]:
    """What `alphalift remove FRAMES_DIR --sequence --format mask` gives for ``frames`` (copied
    into a folder of their own, in this order), run by the core the add-on's worker ran (the one
    the installer just installed), on the chroot's backend."""
    key = hashlib.sha256(b"".join(frame.read_bytes() for frame in frames)).hexdigest()
    if key in _sequence_masks:
        return _sequence_masks[key]
    folder, out = tmp_path / "sequence-frames", tmp_path / "sequence-masks"
    folder.mkdir()
    for number, frame in enumerate(frames, 1):
        shutil.copy2(frame, folder / f"frame_{number:04d}.png")
    sys.path.insert(0, str(PROJECT / "plugins" / "client"))
    from alphalift_client import find_core_python

    env = {**os.environ, "ALPHALIFT_BACKEND": "onnxruntime"}
    done = subprocess.run([find_core_python(), "-m", "alphalift", "remove", str(folder), "--sequence",
                           "--out-dir", str(out), "--format", "mask"],
                          capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    masks = [np.asarray(Image.open(out / f"frame_{n:04d}.png"), np.int16) for n in range(1, len(frames) + 1)]
    _sequence_masks[key] = masks
    return masks


def bpy_python(version: str) -> Path:
    """A cached venv with bpy==version (cp311 wheels only)."""
    venv = CACHE / f"bpy-{version}"
    python = venv / "bin" / "python"
    if not (venv / ".complete").exists():
        base = shutil.which("python3.11")
        if base is None:
            pytest.skip("bpy wheels need CPython 3.11 (python3.11 not found)")
        subprocess.run([base, "-m", "venv", str(venv)], check=True)
        done = subprocess.run([str(python), "-m", "pip", "install", "--quiet", f"bpy=={version}"],
                              capture_output=True, text=True, timeout=3000)
        assert done.returncode == 0, done.stderr[-3000:]
        (venv / ".complete").touch()
    return python


@pytest.fixture(scope="module", params=VERSIONS)
def blender_results(request, tmp_path_factory):
    python = bpy_python(request.param)
    root = tmp_path_factory.mktemp(f"blender-{request.param}")
    addons, work = root / "addons", root / "work"
    installed = subprocess.run(["python3", str(PROJECT / "installers" / "install.py"), "blender",
                                "--dest", str(addons)], capture_output=True, text=True, timeout=1800)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    skimage_data = pytest.importorskip("skimage.data")
    photo = skimage_data.astronaut()
    (work / "seq").mkdir(parents=True)
    Image.fromarray(photo).save(work / "photo.png")
    for number, frame in enumerate(drifting_frames(photo), 1):
        Image.fromarray(frame).save(work / "seq" / f"frame_{number:04d}.png")
    ran = subprocess.run([str(python), str(PROJECT / "tests" / "hosts" / "blender_driver.py"), str(addons),
                          str(work)], capture_output=True, text=True, timeout=1200,
                         env={**os.environ, "ALPHALIFT_BACKEND": "onnxruntime",
                              "XDG_CACHE_HOME": str(root / "user-cache")})
    report_path = work / "report.json"
    assert report_path.exists(), ran.stdout[-3000:] + ran.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert "exception" not in report, report["exception"] + ran.stdout[-2000:]
    return work, report, request.param


def blender_on_path(version: str, folder: Path) -> dict:
    """An environment whose `blender` is bpy ``version`` (blender_shim.py: bpy has no executable)."""
    python = bpy_python(version)
    folder.mkdir(parents=True, exist_ok=True)
    shim = folder / "blender"
    shim.write_text(f'#!/bin/sh\nexec "{python}" "{PROJECT}/tests/hosts/blender_shim.py" "$@"\n')
    shim.chmod(0o755)
    return {**os.environ, "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize("version", VERSIONS)
def test_extension_zip_passes_blenders_own_validator(version, tmp_path):
    env = blender_on_path(version, tmp_path / "bin")
    built = subprocess.run(["python3", str(PROJECT / "installers" / "build.py"), "blender", "--out",
                            str(tmp_path)], capture_output=True, text=True, env=env, timeout=300)
    assert built.returncode == 0, built.stdout[-3000:] + built.stderr[-3000:]
    assert f"passes Blender {version[:3]}'s extension validator" in built.stdout


@pytest.mark.parametrize("version", VERSIONS)
def test_installer_enables_the_extension_in_a_blender_never_started(version, tmp_path):
    """Its user folder is created, with the previous version's settings copied in (the offer of
    Blender's first start, which saving preferences would otherwise take away)."""
    env = {**blender_on_path(version, tmp_path / "bin"), "HOME": str(tmp_path / "home")}
    saved = subprocess.run(["blender", "--background", "--python-exit-code", "1", "--python-expr",
                            "import bpy; bpy.ops.wm.save_userpref()"], capture_output=True, text=True,
                           env={**env, "XDG_CONFIG_HOME": str(tmp_path / "scratch")}, timeout=300)
    assert saved.returncode == 0, saved.stderr[-3000:]
    previous = tmp_path / "config" / "blender" / "4.1" / "config"  # older than 4.2: no extension there
    previous.mkdir(parents=True)
    shutil.copy2(tmp_path / "scratch" / "blender" / version[:3] / "config" / "userpref.blend", previous)
    (previous / "bookmarks.txt").write_text("[Bookmarks]\n/srv/shots\n")
    script = ("import sys; sys.path.insert(0, sys.argv[1]); import install; "
              "sys.exit(0 if install.install_blender(None, None) else 1)")
    ran = subprocess.run(["python3", "-c", script, str(PROJECT / "installers")], capture_output=True,
                         text=True, env={**env, "XDG_CONFIG_HOME": str(tmp_path / "config")}, timeout=600)
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    folder = tmp_path / "config" / "blender" / version[:3]
    assert (folder / "extensions" / "user_default" / "alphalift" / "blender_manifest.toml").exists()
    assert b"bl_ext.user_default.alphalift" in (folder / "config" / "userpref.blend").read_bytes()
    assert "/srv/shots" in (folder / "config" / "bookmarks.txt").read_text()
    assert not (tmp_path / "config" / "blender" / "4.1" / "extensions").exists()
    assert "copied Blender 4.1's settings" in ran.stdout
    assert f"enabled bl_ext.user_default.alphalift in Blender {version[:3]}" in ran.stdout


def rendered_alpha(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGBA"))[..., 3].astype(np.int16)


def test_version_and_menu_entries(blender_results):
    _, report, version = blender_results
    assert report["version"].startswith(version[:3]) and report["enabled"]
    assert "draw_add_menu" in report["add_menu"] and "draw_image_menu" in report["image_menu"]


def test_still_render_alpha_is_the_cli_mask(blender_results, tmp_path):
    work, report, _ = blender_results
    assert report["still"] == ["FINISHED"]
    assert {"AlphaLift Remove Background Matte", "AlphaLift Remove Background Foreground"} <= set(report["still_inputs"])
    expected = cli_mask(work / "photo.png", tmp_path)
    assert np.abs(rendered_alpha(work / "still_render.png") - expected).max() <= 2


def test_sequence_with_temporal_smoothing_renders_the_cli_sequence_mattes(blender_results, tmp_path):
    """Temporal Smoothing is on by default; the range computed as 1-2, then grown to 1-3 (frame 3
    goes on from the frame 2 the worker holds): each frame is the CLI's --sequence matte, which on
    this noisy panning shot is not the per-frame one."""
    work, report, _ = blender_results
    assert report["temporal_default"] is True
    assert report["sequence_first_two"] == report["sequence"] == ["FINISHED"]
    assert report["range_grown_changed"] == ["matte_0003.png"]
    frames = [work / "seq" / f"frame_{n:04d}.png" for n in (1, 2, 3)]
    expected = cli_sequence_masks(frames, tmp_path)
    for frame in (1, 2, 3):
        rendered = rendered_alpha(work / f"seq_render_{frame}.png")
        assert np.abs(rendered - expected[frame - 1]).max() <= 2, frame
    per_frame = cli_mask(frames[1], tmp_path)
    assert np.abs(expected[1] - per_frame).max() > 8, "the footage must tell the two modes apart"
    touched = rendered_alpha(work / "seq_touched_render_2.png")  # recomputed alone, after frame 1
    assert np.abs(touched - expected[1]).max() <= 2


def test_movie_frames_are_read_with_blender_and_matted(blender_results, tmp_path):
    """A movie of the sequence, with Temporal Smoothing: its frames, read out by Blender, are
    the CLI's --sequence mattes of those frames."""
    work, report, _ = blender_results
    assert report["movie_source"] == "MOVIE" and report["movie"] == ["FINISHED"]
    cache = Path(report["cache"])
    extracted = [cache / f"source_{frame:04d}.png" for frame in (1, 2, 3)]
    for frame, path in enumerate(extracted, 1):
        original = np.asarray(Image.open(work / "seq" / f"frame_{frame:04d}.png"), np.int16)
        assert np.abs(np.asarray(Image.open(path).convert("RGB"), np.int16) - original).mean() < 2
    expected = cli_sequence_masks(extracted, tmp_path)
    for frame in (1, 2, 3):
        rendered = rendered_alpha(work / f"movie_render_{frame}.png")
        assert np.abs(rendered - expected[frame - 1]).max() <= 2, frame


def test_image_editor_remove_background_makes_a_cutout_image(blender_results, tmp_path):
    work, report, _ = blender_results
    assert report["image_editor"] == ["FINISHED"]
    assert "No image named “no such image”" in report["image_editor_missing"]
    cutout = np.asarray(Image.open(work / "image_editor_cutout.png").convert("RGBA")).astype(np.int16)
    expected = cli_mask(work / "photo.png", tmp_path)
    assert np.abs(cutout[..., 3] - expected).max() <= 1
    photo = np.asarray(Image.open(work / "photo.png"), np.int16)
    opaque = expected == 255
    assert np.abs(cutout[opaque][:, :3] - photo[opaque]).max() <= 1, "opaque pixels keep their colour"


def test_worker_errors_are_told_apart_by_code_not_wording(blender_results):
    _, report, _ = blender_results
    assert report["errors_by_code"]["cancelled"] == ["CANCELLED"], "a warning, not an error"
    assert "cancelled-takes/photo.png is not an image" in report["errors_by_code"]["bad-image"]


def test_only_stale_frames_are_recomputed(blender_results):
    _, report, _ = blender_results
    assert report["rerun_changed"] == []
    assert report["after_touch_changed"] == ["matte_0002.png"]


def test_missing_source_is_reported(blender_results):
    _, report, _ = blender_results
    assert "Connect an Image node" in report["no_source"]


def test_same_named_nodes_in_two_scenes_keep_their_own_mattes_after_reopening(blender_results, tmp_path):
    work, report, _ = blender_results
    assert report["first_compute"] == report["second_compute"] == ["FINISHED"]
    assert report["copied_the_id"], "a Full Copy starts with the same cache id"
    first, second = report["two_scenes_folders"]
    assert first != second
    assert all(Path(f).parent == work / "two_scenes" / "alphalift_cache" for f in (first, second))
    for name, photo in (("first", work / "photo.png"), ("second", work / "seq" / "frame_0002.png")):
        expected = cli_mask(photo, tmp_path)
        assert np.abs(rendered_alpha(work / f"two_scenes_{name}.png") - expected).max() <= 2, name


def test_unsaved_files_cache_in_a_private_folder_of_the_user(blender_results):
    work, report, _ = blender_results
    private = work.parent / "user-cache" / "alphalift" / "blender-unsaved"
    assert Path(report["cache"]).parent == private
    assert private.stat().st_mode & 0o777 == 0o700


def test_unregister_leaves_nothing_behind(blender_results):
    _, report, _ = blender_results
    assert report["left_behind"] == [] and not report["property_left"] and report["menus_left"] == []


# Prompts: two equally red discs on blue, which the tiny model (tests/conftest.py) cannot tell
# apart; only the box or the point says which one is the subject.
PAIR_SIZE = (160, 96)
LEFT_DISC, RIGHT_DISC, DISC_RADIUS = (40, 30), (120, 66), 20


def two_discs() -> np.ndarray:
    width, height = PAIR_SIZE
    y, x = np.mgrid[:height, :width]
    image = np.zeros((height, width, 3), np.uint8)
    image[...] = (20, 40, 200)
    for cx, cy in (LEFT_DISC, RIGHT_DISC):
        image[(x - cx) ** 2 + (y - cy) ** 2 <= DISC_RADIUS ** 2] = (220, 30, 30)
    return image


def around(centre: tuple[int, int]) -> list[float]:
    """A box around a disc in Box Mask's terms: centre as fractions (y up), sides as fractions
    of the image's width (6 px of margin)."""
    width, height = PAIR_SIZE
    side = (2 * DISC_RADIUS + 12) / width
    return [centre[0] / width, 1 - centre[1] / height, side, side]


def disc_means(alpha: np.ndarray) -> tuple[float, float]:
    """The mean alpha (0..1) on the left and right discs' inner parts."""
    y, x = np.mgrid[:PAIR_SIZE[1], :PAIR_SIZE[0]]
    return tuple(float(alpha[(x - cx) ** 2 + (y - cy) ** 2 <= (DISC_RADIUS - 4) ** 2].mean()) / 255
                 for cx, cy in (LEFT_DISC, RIGHT_DISC))


@pytest.fixture(scope="module")
def prompt_addons(tmp_path_factory) -> Path:
    """The add-on as the installer installs it (once for every Blender version)."""
    addons = tmp_path_factory.mktemp("blender-prompts-addons")
    installed = subprocess.run(["python3", str(PROJECT / "installers" / "install.py"), "blender",
                                "--dest", str(addons)], capture_output=True, text=True, timeout=1800)
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    return addons


@pytest.fixture(scope="module", params=VERSIONS)
def blender_prompts(request, prompt_addons, tmp_path_factory):
    """blender_driver.py's prompt scenario on pair.png (and a 2-frame sequence of it), the worker
    (the core the installer set up) on a model home holding only the tiny model."""
    from alphalift.models import ModelStore

    from ..conftest import build_tiny_model

    sys.path.insert(0, str(PROJECT / "plugins" / "client"))
    from alphalift_client import find_core_python

    python = bpy_python(request.param)
    root = tmp_path_factory.mktemp(f"blender-prompts-{request.param}")
    home, work = root / "home", root / "work"
    (home / "models").mkdir(parents=True)
    ModelStore(home / "models").import_file(build_tiny_model(root / "tiny.onnx"), "tiny", family="isnet")
    (work / "seq").mkdir(parents=True)
    for path in (work / "pair.png", work / "seq" / "frame_0001.png", work / "seq" / "frame_0002.png"):
        Image.fromarray(two_discs()).save(path)
    width, height = PAIR_SIZE
    point = [0.5 + (LEFT_DISC[0] - width / 2) / width, 0.5 - (LEFT_DISC[1] - height / 2) / width]
    (work / "boxes.json").write_text(json.dumps({"size": PAIR_SIZE, "left": around(LEFT_DISC),
                                                 "right": around(RIGHT_DISC), "left_point": point}))
    pair_bytes = (work / "pair.png").read_bytes()
    ran = subprocess.run([str(python), str(PROJECT / "tests" / "hosts" / "blender_driver.py"),
                          str(prompt_addons), str(work), "prompts"], capture_output=True, text=True,
                         timeout=900, env={**os.environ, "ALPHALIFT_BACKEND": "onnxruntime",
                                           "ALPHALIFT_PYTHON": find_core_python(),
                                           "ALPHALIFT_HOME": str(home), "XDG_CACHE_HOME": str(root / "cache")})
    report_path = work / "report.json"
    assert report_path.exists(), ran.stdout[-3000:] + ran.stderr[-3000:]
    report = json.loads(report_path.read_text())
    assert "exception" not in report, report["exception"] + ran.stdout[-2000:]
    assert (work / "pair.png").read_bytes() == pair_bytes, "the source file is never written"
    return work, report


def matte_means(path: Path) -> tuple[float, float]:
    return disc_means(np.asarray(Image.open(path).convert("L"), np.int16))


def test_without_a_prompt_both_discs_are_the_subject(blender_prompts):
    work, report = blender_prompts
    assert report["automatic"] == ["FINISHED"]
    left, right = matte_means(work / "automatic_matte_0001.png")
    assert left > 0.8 and right > 0.8


def test_the_nodes_box_makes_the_right_disc_the_subject_and_a_changed_box_recomputes(blender_prompts):
    """Box Mask's relative box, y up, becomes the pixel box as seen; the render's alpha follows;
    an unchanged box is the cached matte, a widened one is computed again."""
    work, report = blender_prompts
    assert report["boxed"] == ["FINISHED"] and report["boxed_changed"] == ["matte_0001.png"]
    left, right = matte_means(work / "boxed_matte_0001.png")
    assert left < 0.05 and right > 0.8
    left, right = disc_means(rendered_alpha(work / "boxed_render.png"))
    assert left < 0.05 and right > 0.8
    assert report["boxed_again"] == ["FINISHED"] and report["boxed_again_changed"] == []
    assert report["box_widened_changed"] == ["matte_0001.png"]
    left, right = matte_means(work / "box_widened_matte_0001.png")
    assert left < 0.05 and right > 0.8


def test_an_exclude_point_from_a_mask_takes_the_left_disc_away(blender_prompts):
    work, report = blender_prompts
    assert report["excluded"] == ["FINISHED"] and report["excluded_changed"] == ["matte_0001.png"]
    left, right = matte_means(work / "excluded_matte_0001.png")
    assert left < 0.05 and right > 0.8


def test_a_keyframed_box_follows_its_subject_through_a_sequence(blender_prompts):
    """The box keyframed on the left disc at frame 1 and the right one at frame 2: each frame's
    matte is its own box's subject; the scene is back on the frame it was on."""
    work, report = blender_prompts
    assert report["keyframed"] == ["FINISHED"]
    assert report["keyframed_changed"] == ["matte_0001.png", "matte_0002.png"]
    first, second = (matte_means(work / f"keyframed_matte_000{n}.png") for n in (1, 2))
    assert first[0] > 0.8 and first[1] < 0.05
    assert second[0] < 0.05 and second[1] > 0.8
    assert report["frame_after_keyframed"] == 2


def test_image_editor_remove_background_takes_the_masks_points(blender_prompts):
    """Blender's pixels go bottom-up; the point, as seen, still lands on the left disc."""
    work, report = blender_prompts
    assert report["image_editor"] == ["FINISHED"] and report["image_editor_source_untouched"]
    cutout = np.asarray(Image.open(work / "image_editor_cutout.png").convert("RGBA"))
    left, right = disc_means(cutout[..., 3].astype(np.int16))
    assert left < 0.05 and right > 0.8
    assert "lies off the image" in report["image_editor_box_off_image"]


def test_disabling_the_add_on_takes_the_nodes_box_properties_away(blender_prompts):
    _, report = blender_prompts
    assert report["box_properties_left"] == []
