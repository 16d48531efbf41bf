"""The Blender add-on's pure parts (frames.py: sequence numbering and the matte cache; cache_place.py:
whose cache folder is whose; prompt_place.py: the node's box and a Mask's points in pixels), and
build.py's Blender archive."""
from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from .fake_blender import calls, fake_blender, fake_mask

ADDON = Path(__file__).resolve().parents[2] / "plugins" / "blender" / "alphalift_blender"
INSTALLERS = Path(__file__).resolve().parents[2] / "installers"
spec = importlib.util.spec_from_file_location("alphalift_blender_frames", ADDON / "frames.py")
frames = importlib.util.module_from_spec(spec)
sys.modules[spec.name] = frames  # dataclasses look their module up
spec.loader.exec_module(frames)
place_spec = importlib.util.spec_from_file_location("alphalift_blender_cache_place", ADDON / "cache_place.py")
cache_place = importlib.util.module_from_spec(place_spec)
place_spec.loader.exec_module(cache_place)
prompt_spec = importlib.util.spec_from_file_location("alphalift_blender_prompt_place", ADDON / "prompt_place.py")
prompt_place = importlib.util.module_from_spec(prompt_spec)
prompt_spec.loader.exec_module(prompt_place)


@pytest.mark.parametrize("first, number, expected", [
    ("/s/frame_0001.png", 12, "/s/frame_0012.png"),
    ("/s/shot2_v3_001.exr", 1234, "/s/shot2_v3_1234.exr"),
    ("/s/7.jpg", 3, "/s/3.jpg"),
])
def test_sequence_paths_replace_the_last_number(first, number, expected):
    assert frames.sequence_path(first, number) == expected


def test_names_without_a_number_are_refused():
    with pytest.raises(ValueError, match="no frame number"):
        frames.sequence_path("/s/photo.png", 2)


def test_file_numbers_follow_start_and_offset():
    assert [frames.file_number(f, 10, 0) for f in (10, 11, 12)] == [1, 2, 3]
    assert frames.file_number(1, 1, 5) == 6


def test_jobs_for_stills_and_sequences(tmp_path):
    still = frames.frame_jobs("/a/photo.png", "STILL", [1, 2, 3], str(tmp_path), True)
    assert still == [frames.FrameJob(1, "/a/photo.png", str(tmp_path / "matte_0001.png"),
                                     str(tmp_path / "foreground_0001.png"))]
    sequence = frames.frame_jobs("/a/f_001.png", "SEQUENCE", [3, 2, 2], str(tmp_path), False)
    assert [(j.number, j.source, j.foreground) for j in sequence] == [(2, "/a/f_002.png", ""),
                                                                       (3, "/a/f_003.png", "")]
    (movie,) = frames.frame_jobs("/a/clip.mov", "MOVIE", [5], str(tmp_path), False)
    assert movie.source == str(tmp_path / "source_0005.png") and movie.origin == "/a/clip.mov"


def test_cache_knows_what_is_stale(tmp_path):
    source = tmp_path / "f_001.png"
    source.write_bytes(b"one")
    (job,) = frames.frame_jobs(str(source), "SEQUENCE", [1], str(tmp_path / "cache"), False)
    options = {"model": "", "refine": True, "decontaminate": False}
    cache = frames.MatteCache(str(tmp_path / "cache"))
    assert not cache.is_fresh(job, options)
    os.makedirs(tmp_path / "cache")
    Path(job.mask).write_bytes(b"matte")
    cache.record(job, options)
    assert frames.MatteCache(str(tmp_path / "cache")).is_fresh(job, options), "survives a reload"
    assert not cache.is_fresh(job, {**options, "refine": False}), "options are part of the key"
    source.write_bytes(b"changed")
    assert not cache.is_fresh(job, options), "a changed source is stale"
    cache.record(job, options)
    Path(job.mask).unlink()
    assert not cache.is_fresh(job, options), "a deleted output is stale"


def test_movie_frames_are_keyed_by_the_movie_and_their_number(tmp_path):
    movie = tmp_path / "clip.mov"
    movie.write_bytes(b"movie")
    one, two = frames.frame_jobs(str(movie), "MOVIE", [1, 2], str(tmp_path), False)
    options = {"model": ""}
    for job in (one, two):
        Path(job.source).write_bytes(b"frame")
        Path(job.mask).write_bytes(b"matte")
    cache = frames.MatteCache(str(tmp_path))
    cache.record(one, options)
    assert cache.is_fresh(one, options) and not cache.is_fresh(two, options)
    assert cache.fingerprint(one, options) != cache.fingerprint(two, options)
    movie.write_bytes(b"edited movie")
    assert not cache.is_fresh(one, options)


def test_the_prompt_is_part_of_the_cache_key(tmp_path):
    """A changed box or point recomputes the frame; the same prompt, or none as before, does not."""
    source = tmp_path / "photo.png"
    source.write_bytes(b"photo")
    (job,) = frames.frame_jobs(str(source), "STILL", [1], str(tmp_path / "cache"), False)
    Path(tmp_path / "cache").mkdir()
    Path(job.mask).write_bytes(b"matte")
    options = {"model": "", "refine": True, "decontaminate": False}
    cache = frames.MatteCache(str(tmp_path / "cache"))
    cache.record(job, options)
    plain = cache.fingerprint(job, options)
    boxed = frames.with_prompt(job, {"box": [10.0, 20.0, 60.0, 70.0], "include": [], "exclude": []})
    assert frames.with_prompt(job, None) == job and cache.is_fresh(frames.with_prompt(job, None), options)
    assert not cache.is_fresh(boxed, options), "a box added: recomputed"
    cache.record(boxed, options)
    assert cache.is_fresh(frames.with_prompt(job, {"box": [10.0, 20.0, 60.0, 70.0], "include": [],
                                                   "exclude": []}), options), "the same box: cached"
    moved = frames.with_prompt(job, {"box": [10.0, 20.0, 61.0, 70.0], "include": [], "exclude": []})
    clicked = frames.with_prompt(job, {"box": [10.0, 20.0, 60.0, 70.0], "include": [], "exclude": [[5.0, 5.0]]})
    assert not cache.is_fresh(moved, options) and not cache.is_fresh(clicked, options)
    assert not cache.is_fresh(job, options), "the prompt taken away: recomputed"
    assert cache.fingerprint(job, options) == plain, "mattes cached before prompts existed stay fresh"


def numbered_jobs(numbers) -> list:
    return frames.frame_jobs("/a/f_001.png", "SEQUENCE", numbers, "/cache", False)


def steps_of(jobs, stale_numbers) -> list:
    stale = [job for job in jobs if job.number in stale_numbers]
    return [(step.job.number, step.warm_up, step.start) for step in frames.sequence_steps(jobs, stale)]


def test_a_whole_range_is_one_shot_from_its_first_frame():
    """What the CLI's --sequence does: the first frame starts the shot, the rest follow it."""
    jobs = numbered_jobs(range(1, 5))
    assert steps_of(jobs, {1, 2, 3, 4}) == [(1, False, True), (2, False, False), (3, False, False),
                                            (4, False, False)]


def test_stale_frames_after_a_fresh_one_warm_up_from_it_first():
    jobs = numbered_jobs(range(1, 10))
    assert steps_of(jobs, {7, 8, 9}) == [(6, True, False), (7, False, False), (8, False, False),
                                         (9, False, False)], "a longer range: frame 6 warms it up"
    assert steps_of(jobs, {3, 7}) == [(2, True, False), (3, False, False), (6, True, False),
                                      (7, False, False)], "each run of stale frames warms up alone"
    assert steps_of(jobs, {}) == []


def test_a_run_with_no_frame_before_it_starts_a_shot():
    """The range's first frame, or a frame whose predecessor has no source file (a hole)."""
    jobs = numbered_jobs([1, 2, 3, 5, 6])
    assert steps_of(jobs, {5, 6}) == [(5, False, True), (6, False, False)]
    assert steps_of(numbered_jobs([4, 5, 6]), {4, 5}) == [(4, False, True), (5, False, False)]


def test_extension_zip_has_the_manifest_at_the_top(tmp_path):
    sys.path.insert(0, str(INSTALLERS))
    import build

    names = zipfile.ZipFile(build.build_blender(tmp_path)).namelist()
    assert {"blender_manifest.toml", "__init__.py", "alphalift_client.py", "frames.py"} <= set(names)
    import tomllib

    manifest = tomllib.loads((ADDON / "blender_manifest.toml").read_text())
    assert manifest["id"] == "alphalift" and manifest["blender_version_min"] == "4.2.0"
    assert manifest["type"] == "add-on"


def test_a_node_keeps_its_cache_id_only_while_it_is_its_own():
    here = cache_place.file_key("/p/shot.blend")
    assert cache_place.keeps_id("abc", here, "/p/shot.blend", {"def"})
    assert cache_place.keeps_id("abc", here, "/q/moved/shot.blend", set()), "a moved project keeps its cache"
    assert not cache_place.keeps_id("", "", "/p/shot.blend", set()), "a new node"
    assert not cache_place.keeps_id("abc", here, "/p/shot.blend", {"abc"}), "duplicated; a scene's Full Copy"
    assert not cache_place.keeps_id("abc", here, "/p/shot-v2.blend", set()), "saved as, pasted elsewhere"
    unsaved = cache_place.file_key("")
    assert cache_place.keeps_id("abc", unsaved, "", set())
    assert not cache_place.keeps_id("abc", "unsaved 0123", "", set()), "from another session's startup file"
    assert not cache_place.keeps_id("abc", unsaved, "/p/shot.blend", set()), "saved for the first time"
    assert cache_place.new_id() != cache_place.new_id()


def test_saved_files_cache_beside_the_blend_per_node(tmp_path):
    blend = str(tmp_path / "shot.blend")
    assert cache_place.cache_folder(blend, "abc") == str(tmp_path / "alphalift_cache" / "abc")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_unsaved_files_cache_in_a_private_folder_of_the_user(tmp_path, monkeypatch):
    monkeypatch.setattr(cache_place.sys, "platform", "linux")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    base = tmp_path / "cache" / "alphalift" / "blender-unsaved"
    base.mkdir(parents=True, mode=0o755)
    base.chmod(0o755)  # left readable by an older version: made private again
    folder = cache_place.cache_folder("", "abc")
    assert folder == str(base / "abc")
    assert base.stat().st_mode & 0o777 == 0o700


@pytest.mark.parametrize("platform, expected", [
    ("darwin", "Library/Caches/alphalift"),
    ("win32", "Local/alphalift/Cache"),
])
def test_user_cache_folder_per_os(tmp_path, monkeypatch, platform, expected):
    monkeypatch.setattr(cache_place.sys, "platform", platform)
    monkeypatch.setattr(cache_place.os.path, "expanduser", lambda path: path.replace("~", str(tmp_path)))
    monkeypatch.setenv("LOCALAPPDATA", str(tmp_path / "Local"))
    assert cache_place.user_cache_dir() == os.path.join(str(tmp_path), *expected.split("/"))


def build_with(bin_folder: Path, out: Path) -> subprocess.CompletedProcess:
    """`python3 installers/build.py blender` with ``bin_folder`` first on PATH."""
    env = {**os.environ, "PATH": f"{bin_folder}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, str(INSTALLERS / "build.py"), "blender", "--out", str(out)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_build_validates_the_zip_with_blender_on_path(tmp_path):
    fake_blender(tmp_path / "bin")
    built = build_with(tmp_path / "bin", tmp_path / "dist")
    assert built.returncode == 0, built.stderr
    target = str(tmp_path / "dist" / "alphalift-blender.zip")
    assert ["--command", "extension", "validate", target] in calls(tmp_path / "bin")
    assert "passes Blender 4.5's extension validator" in built.stdout


def test_build_says_in_one_line_why_blender_refuses_the_zip(tmp_path):
    error = 'FATAL_ERROR: key "tagline" invalid: a value no longer than 64 characters expected'
    fake_blender(tmp_path / "bin", validate_error=error)
    built = build_with(tmp_path / "bin", tmp_path / "dist")
    assert built.returncode == 1
    assert "Traceback" not in built.stderr
    (line,) = built.stderr.strip().splitlines()
    assert line.startswith("build.py: error: ") and "alphalift-blender.zip" in line and error in line


def test_build_does_not_ask_a_pre_42_blender_to_validate(tmp_path):
    fake_blender(tmp_path / "bin", version="4.1.1")  # no --command: it would open the zip as a file
    built = build_with(tmp_path / "bin", tmp_path / "dist")
    assert built.returncode == 0, built.stderr
    assert calls(tmp_path / "bin") == [["--version"]]
    assert "4.1" in built.stdout and "not validated" in built.stdout


def test_installer_finds_blender_user_folders(tmp_path, monkeypatch):
    sys.path.insert(0, str(INSTALLERS))
    import paths

    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path))
    for version in ("3.6", "4.2", "4.5", "5.0"):
        (tmp_path / "blender" / version).mkdir(parents=True)
    assert [p.name for p in paths.blender_config_dirs()] == ["4.2", "4.5", "5.0"]


def test_install_blender_gives_the_core_the_video_extra_for_temporal_smoothing(monkeypatch, tmp_path):
    sys.path.insert(0, str(INSTALLERS))
    import install

    commands = []
    monkeypatch.setattr(install, "install_core", lambda demo, self_contained=False: Path("/core/python"))
    monkeypatch.setattr(install, "run", lambda *command: commands.append([str(c) for c in command]))
    monkeypatch.setattr(install.shutil, "which", lambda name: None)
    assert install.main(["blender", "--dest", str(tmp_path / "addons")]) == 0
    assert commands == [["/core/python", "-m", "pip", "install", "--quiet", f"{install.PROJECT}[video]"]]
    commands.clear()
    assert install.main(["krita", "--dest", str(tmp_path / "pykrita")]) == 0
    assert commands == [], "only Blender's node smooths over time"


def test_the_box_is_box_masks_relative_box_in_pixels_of_the_image_as_seen():
    """As Blender's Box Mask node (measured in bpy 4.2 and 5.0): x, y the centre as fractions of
    the image (y up), width and height both fractions of the image's width; pixels top-left, y down."""
    assert prompt_place.box_pixels(0.25, 0.75, 0.2, 0.2, 200, 100) == (30.0, 5.0, 70.0, 45.0)
    assert prompt_place.box_pixels(0.5, 0.25, 0.2, 0.4, 100, 200) == (40.0, 130.0, 60.0, 170.0)
    assert prompt_place.box_pixels(0.5, 0.5, 1.0, 0.5625, 1920, 1080) == (0.0, 0.0, 1920.0, 1080.0)


def test_a_box_reaching_past_the_image_is_cut_at_its_edges_and_one_off_it_is_refused():
    assert prompt_place.box_pixels(0.0, 1.0, 0.5, 0.5, 200, 100) == (0.0, 0.0, 50.0, 50.0)
    assert prompt_place.box_pixels(0.5, 0.5, 3.0, 3.0, 200, 100) == (0.0, 0.0, 200.0, 100.0)
    for x, y, width, height in ((1.5, 0.5, 0.2, 0.2), (0.5, -0.5, 0.2, 0.2), (0.5, 0.5, 0.0, 0.2)):
        with pytest.raises(ValueError, match="box .* off the image"):
            prompt_place.box_pixels(x, y, width, height, 200, 100)


@pytest.mark.parametrize("co, size, expected", [
    ((0.5, 0.5), (200, 100), (100.0, 50.0)),  # the centre stays the centre
    ((0.25, 0.75), (200, 100), (50.0, 0.0)),  # landscape: y in units of the width, about the centre
    ((0.25, 0.6), (200, 100), (50.0, 30.0)),
    ((0.4, 0.6), (100, 200), (30.0, 80.0)),  # portrait: x in units of the height
    ((0.2, 0.3), (64, 64), (12.8, 44.8)),
])
def test_mask_points_are_pixels_of_the_image_as_seen(co, size, expected):
    """MaskSplinePoint.co is normalised to the longer side about the frame's centre, y up (measured:
    a Mask node renders a square at co 0.2..0.3, 0.7..0.8 of a 200x100 frame at x 40..60, y 0..10)."""
    x, y = prompt_place.mask_point_pixels(co, *size)
    assert (round(x, 6), round(y, 6)) == expected


def test_a_masks_include_and_exclude_layers_are_the_points():
    mask = fake_mask("Clicks", {"Include": [(0.25, 0.6), (0.5, 0.5)], "EXCLUDE ": [(0.75, 0.5)],
                                "notes": [(0.1, 0.5)]})
    include, exclude = prompt_place.mask_points(mask, 200, 100)
    assert include == [(50.0, 30.0), (100.0, 50.0)] and exclude == [(150.0, 50.0)]


def test_a_mask_without_prompt_layers_or_with_a_point_off_the_image_is_refused():
    with pytest.raises(ValueError, match="“Notes” has no layer named include or exclude"):
        prompt_place.mask_points(fake_mask("Notes", {"MaskLayer": [(0.5, 0.5)]}), 200, 100)
    with pytest.raises(ValueError, match="“Clicks”, layer “exclude”: a point lies off the image"):
        prompt_place.mask_points(fake_mask("Clicks", {"exclude": [(0.5, 0.5), (0.5, 0.9)]}), 200, 100)


def test_the_prompt_sent_to_the_worker():
    mask = fake_mask("Clicks", {"exclude": [(0.75, 0.5)]})
    assert prompt_place.prompt_of(None, None, 200, 100) is None
    assert prompt_place.prompt_of((0.25, 0.75, 0.2, 0.2), None, 200, 100) == {
        "box": [30.0, 5.0, 70.0, 45.0], "include": [], "exclude": []}
    assert prompt_place.prompt_of(None, mask, 200, 100) == {
        "box": None, "include": [], "exclude": [[150.0, 50.0]]}
    assert prompt_place.prompt_of((0.25, 0.75, 0.2, 0.2), mask, 200, 100) == {
        "box": [30.0, 5.0, 70.0, 45.0], "include": [], "exclude": [[150.0, 50.0]]}
