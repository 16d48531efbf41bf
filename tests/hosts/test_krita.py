"""AlphaLift in the real Krita 5.2 (Debian 13 chroot, Xvfb), installed with the project's installer.

A test-only pykrita plug-in (krita_driver/) triggers the installed plug-in's real actions, saves
.kra and .png files and dumps pixels; the checks run out here, with Pillow and zipfile. Needs root;
elsewhere it skips, saying so.
"""
from __future__ import annotations

import json
import shutil
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import PROJECT, cli_mask, write_photos

pytestmark = pytest.mark.hosts
WORK = "/tmp/alphalift-krita-test"
SIZE = 512


def run_krita(trixie, tmp_path_factory, scenario: str, write=write_photos):
    """Install AlphaLift and the driver, run Krita headless on one driver scenario, fetch its files."""
    installed = trixie.run("python3 /opt/alphalift-src/installers/install.py krita")
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]
    assert "enabled in /root/.config/kritarc" in installed.stdout
    pykrita = trixie.path("/root/.local/share/krita/pykrita")
    driver = PROJECT / "tests" / "hosts" / "krita_driver"
    shutil.rmtree(pykrita / "alphalift_krita_test", ignore_errors=True)
    shutil.copytree(driver / "alphalift_krita_test", pykrita / "alphalift_krita_test")
    shutil.copy2(driver / "alphalift_krita_test.desktop", pykrita)
    sys.path.insert(0, str(PROJECT / "installers"))
    from kritarc import set_plugin_enabled

    set_plugin_enabled(trixie.path("/root/.config/kritarc"), "alphalift_krita_test", True)
    forget_docker_options(trixie.path("/root/.config/kritarc"))
    work = trixie.path(WORK)
    write(work)
    ran = trixie.run('xvfb-run -a -s "-screen 0 1280x1024x24" krita --nosplash', timeout=900,
                     ALPHALIFT_TEST_DIR=WORK, ALPHALIFT_TEST_SCENARIO=scenario,
                     XDG_RUNTIME_DIR="/tmp/runtime-root")
    report_path = work / "report.json"
    assert report_path.exists(), ran.stderr[-4000:]
    report = json.loads(report_path.read_text())
    assert "exception" not in report, report["exception"]
    assert ran.returncode == 0, ran.stderr[-3000:]
    output = tmp_path_factory.mktemp(f"krita-{scenario}")
    for item in work.iterdir():
        shutil.copy2(item, output / item.name)
    return output, report


@pytest.fixture(scope="module")
def krita_results(trixie, tmp_path_factory):
    return run_krita(trixie, tmp_path_factory, "all")


def forget_docker_options(kritarc: Path) -> None:
    """Start as a first run: the docker test unticks Refine, and Krita keeps that in kritarc."""
    kept, group = [], None
    for line in kritarc.read_text(encoding="utf-8").splitlines():
        if line.strip().startswith("["):
            group = line.strip()
        if group != "[AlphaLift]":
            kept.append(line)
    kritarc.write_text("\n".join(kept) + "\n", encoding="utf-8")


def raw(folder: Path, name: str, shape=(SIZE, SIZE), channels: int = 1) -> np.ndarray:
    data = np.fromfile(folder / name, np.uint8)
    return data.reshape(*shape, channels)[..., 0].astype(np.int16) if channels == 1 \
        else data.reshape(*shape, channels)


@pytest.fixture(scope="module")
def expected(krita_results, tmp_path_factory):
    folder, _ = krita_results
    return cli_mask(folder / "photo.png", tmp_path_factory.mktemp("cli"))


def test_docker_and_remove_background_message(krita_results):
    _, report = krita_results
    assert "AlphaLift" in report["dockers"]
    assert report["remove"] == ["Added a transparency mask to \u201cBackground\u201d.", False]
    assert report["after_remove"] == [["AlphaLift", "transparencymask"]]


def test_saved_kra_holds_the_cli_mask_under_the_untouched_layer(krita_results, expected):
    folder, report = krita_results
    maindoc = zipfile.ZipFile(folder / "remove.kra").read("maindoc.xml").decode()
    assert 'nodetype="transparencymask"' in maindoc and 'name="AlphaLift"' in maindoc
    assert report["reopened"] == [["AlphaLift", "transparencymask"]]
    assert np.abs(raw(folder, "kra_mask.raw") - expected).max() <= 1
    layer = raw(folder, "kra_layer.raw", channels=4)
    photo = np.asarray(Image.open(folder / "photo.png"))
    assert (layer[..., [2, 1, 0]] == photo).all() and (layer[..., 3] == 255).all()


def test_exported_png_alpha_is_the_mask(krita_results, expected):
    folder, _ = krita_results
    exported = np.asarray(Image.open(folder / "remove.png").convert("RGBA"))
    assert np.abs(exported[..., 3].astype(np.int16) - expected).max() <= 1
    opaque = exported[..., 3] == 255
    assert (exported[opaque][:, :3] == np.asarray(Image.open(folder / "photo.png"))[opaque]).all()


def test_remove_background_is_one_undo_step(krita_results):
    _, report = krita_results
    assert report["after_undo"] == [] and report["after_redo"] == [["AlphaLift", "transparencymask"]]


def test_select_subject_matches_the_mask(krita_results, expected):
    folder, report = krita_results
    assert report["select"][1] is False
    assert np.abs(raw(folder, "selection.raw") - expected).max() <= 1


def test_refusals_say_why_and_change_nothing(krita_results):
    _, report = krita_results
    text, error = report["again"]
    assert error and "already has an AlphaLift mask" in text
    text, error = report["group"]
    assert error and "is a group layer" in text and report["group_children"] == []
    text, error = report["cmyk"]
    assert error and "this layer is CMYK" in text and report["cmyk_children"] == []


def test_cutout_layer_has_clean_colours_and_the_mask(krita_results, expected):
    folder, report = krita_results
    assert report["cutout_layers"] == [["Background", "paintlayer", "U8"],
                                       ["Background (AlphaLift)", "paintlayer", "U8"]]
    mask = raw(folder, "cutout_mask.raw")
    assert np.abs(mask - expected).max() <= 1
    colours = raw(folder, "cutout.raw", channels=4)[..., [2, 1, 0]]
    photo = np.asarray(Image.open(folder / "photo.png"))
    assert (colours[mask == 255] == photo[mask == 255]).all(), "opaque pixels keep their colour"
    edge = (mask > 20) & (mask < 235)
    assert edge.sum() > 100 and (colours[edge] != photo[edge]).any(), "edge colours are decontaminated"


def test_selection_limits_the_mask_and_is_the_box(krita_results, tmp_path):
    """The left half selected: the model looks at that half only, the right half stays visible."""
    folder, report = krita_results
    assert report["limited"][1] is False
    mask = raw(folder, "limited_mask.raw")
    boxed = cli_mask(folder / "photo.png", tmp_path, "--box", "0,0,256,512")
    assert np.abs(mask[:, :256] - boxed[:, :256]).max() <= 1
    assert (mask[:, 257:] == 255).all()


def test_moved_layer_gets_a_mask_for_its_own_pixels(krita_results, expected):
    folder, report = krita_results
    assert report["moved"][1] is False and report["moved_bounds"] == [-40, 25, SIZE, SIZE]
    assert np.abs(raw(folder, "moved_mask.raw") - expected).max() <= 1


@pytest.mark.parametrize("depth", ["U16", "F32"])
def test_linear_high_bit_depth_layers(krita_results, expected, depth):
    folder, report = krita_results
    assert report[depth][1] is False, report[depth]
    difference = np.abs(raw(folder, f"{depth}_mask.raw") - expected)
    assert difference.mean() < 0.05 and difference.max() <= 3, "sRGB round trip through linear light"


def test_grayscale_layers(krita_results, tmp_path):
    folder, report = krita_results
    assert report["gray_space"] == ["GRAYA", "U8"] and report["gray"][1] is False
    assert np.abs(raw(folder, "gray_mask.raw") - cli_mask(folder / "gray.png", tmp_path)).max() <= 1


def test_the_docker_lists_models_and_runs_with_its_own_options(krita_results, expected, tmp_path):
    """Unticking Refine in the docker is remembered in kritarc and its button cuts out unrefined."""
    folder, report = krita_results
    assert any(text.startswith("isnet-medium \u2014 88 MB, AGPL-3.0, downloaded, default")
               for text in report["docker_models"]), report["docker_models"]
    enabled = report["docker_enabled"]
    assert [enabled[text] for text in ("Remove Background", "Select Subject", "Cut Out to New Layer",
                                       "Download", "Cancel")] == [True, True, True, True, False]
    assert report["docker_refine_setting"] == "false"
    assert report["docker_remove"] == ["Added a transparency mask to \u201cBackground\u201d.", False]
    assert "Added a transparency mask to \u201cBackground\u201d." in report["docker_label"]
    plain = cli_mask(folder / "photo.png", tmp_path, "--no-refine")
    assert np.abs(raw(folder, "docker_mask.raw") - plain).max() <= 1
    assert np.abs(plain - expected).max() > 50  # and not the refined mask


# -- prompts: two candidate subjects, a prompt drawn the Krita way picks one --------------------
LEFT, RIGHT = (150, 260), (370, 260)  # the two discs' centres in two.png


def write_two_discs(work: Path) -> None:
    """two.png: a red and a blue disc on a grey gradient; without a prompt both are the subject."""
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    image = np.full((SIZE, SIZE, 3), (200, 205, 210), np.float32) + x[..., None] / SIZE * 20
    for (cx, cy), colour in ((LEFT, (200, 40, 30)), (RIGHT, (30, 70, 190))):
        alpha = np.clip(90.5 - np.hypot(x - cx, y - cy), 0, 1)[..., None]
        image = image * (1 - alpha) + np.array(colour, np.float32) * alpha
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(work / "two.png")


@pytest.fixture(scope="module")
def krita_prompts(trixie, tmp_path_factory):
    return run_krita(trixie, tmp_path_factory, "prompts", write_two_discs)


def disc_means(mask: np.ndarray) -> tuple[float, float]:
    return tuple(float(mask[cy - 30:cy + 30, cx - 30:cx + 30].mean()) for cx, cy in (LEFT, RIGHT))


def test_prompt_docker_has_the_points_buttons(krita_prompts):
    _, report = krita_prompts
    assert report["prompt_buttons"] == ["Add include points layer", "Add exclude points layer",
                                        "Refine with points"]
    kind, active, names = report["points_layer"]
    assert kind == "vectorlayer" and names == ["Background", "AlphaLift exclude"]


def test_an_exclude_shape_removes_that_subject_in_one_undo_step(krita_prompts, tmp_path):
    """An ellipse on "AlphaLift exclude" over the blue disc (a 300 ppi image: shapes are in
    points): Remove Background keeps only the red disc, as the CLI's --exclude does."""
    folder, report = krita_prompts
    assert np.allclose(report["shape_centre_px"], RIGHT, atol=0.5), report["shape_centre_px"]
    text, error = report["exclude_remove"]
    assert not error and "With 0 include and 1 exclude points." in text, text
    assert report["exclude_children"] == [["AlphaLift", "transparencymask"]]
    mask = raw(folder, "exclude_mask.raw")
    left, right = disc_means(mask)
    assert left > 250 and right < 5, (left, right)
    expected = cli_mask(folder / "two.png", tmp_path, "--exclude", f"{RIGHT[0]},{RIGHT[1]}")
    assert np.abs(mask - expected).max() <= 1
    assert report["exclude_after_undo"] == [] and report["exclude_after_redo"] == [["AlphaLift", "transparencymask"]]
    layer = raw(folder, "exclude_layer.raw", channels=4)
    photo = np.asarray(Image.open(folder / "two.png"))
    assert (layer[..., [2, 1, 0]] == photo).all() and (layer[..., 3] == 255).all(), "pixels untouched"


def test_refine_with_points_replaces_the_automatic_mask(krita_prompts, tmp_path):
    """Automatic first (both discs), then an exclude shape and Refine with points: one AlphaLift
    mask, now on the red disc only, the layer's pixels untouched."""
    folder, report = krita_prompts
    assert disc_means(raw(folder, "auto_mask.raw")) > (250, 250)
    text, error = report["refine"]
    assert not error and "exclude points" in text, text
    assert report["refine_children"] == [["AlphaLift", "transparencymask"]]
    mask = raw(folder, "refine_mask.raw")
    left, right = disc_means(mask)
    assert left > 250 and right < 5, (left, right)
    expected = cli_mask(folder / "two.png", tmp_path, "--exclude", f"{RIGHT[0]},{RIGHT[1]}")
    assert np.abs(mask - expected).max() <= 1
    layer = raw(folder, "refine_layer.raw", channels=4)
    assert (layer[..., [2, 1, 0]] == np.asarray(Image.open(folder / "two.png"))).all()


def test_a_selection_around_one_subject_is_the_box(krita_prompts, tmp_path):
    folder, report = krita_prompts
    assert report["box_remove"][1] is False and report["box_children"] == [["AlphaLift", "transparencymask"]]
    mask = raw(folder, "box_mask.raw")
    expected = cli_mask(folder / "two.png", tmp_path, "--box", "40,150,260,370")
    inside = np.s_[150:370, 40:260]
    assert np.abs(mask[inside] - expected[inside]).max() <= 1
    assert disc_means(mask)[0] > 250
    outside = np.ones_like(mask, bool)
    outside[inside] = False
    assert (mask[outside] == 255).all(), "outside the selection the layer stays visible"
