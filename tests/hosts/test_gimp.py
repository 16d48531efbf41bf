"""AlphaLift in the real GIMP 3 (Debian 13 chroot, see conftest.py), installed with the project's
own installer. Needs root; elsewhere it skips, saying so.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from .conftest import PROJECT, cli_mask, write_photos

pytestmark = pytest.mark.hosts
WORK = "/tmp/alphalift-gimp-test"


def install(trixie) -> None:
    installed = trixie.run("python3 /opt/alphalift-src/installers/install.py gimp")
    assert installed.returncode == 0, installed.stdout[-3000:] + installed.stderr[-3000:]


@pytest.fixture(scope="module")
def gimp_results(trixie, tmp_path_factory):
    """Install AlphaLift with its installer, drive GIMP, dump the XCFs."""
    install(trixie)
    work = trixie.path(WORK)
    write_photos(work)
    plugin = trixie.path("/root/.config/GIMP/3.0/plug-ins/alphalift-all-types")
    shutil.rmtree(plugin, ignore_errors=True)
    shutil.copytree(PROJECT / "plugins/gimp/gimpfu_shim", plugin / "gimpfu_shim")
    shutil.copy2(PROJECT / "tests/hosts/gimpfu_all_types.py", plugin / "alphalift-all-types.py")
    (plugin / "alphalift-all-types.py").chmod(0o755)
    output, report = drive_gimp(trixie, WORK, ("gimp_batch.py", "gimp_dump.py"), tmp_path_factory)
    return output, report, json.loads((output / "dump.json").read_text())


def drive_gimp(trixie, folder: str, scripts: tuple[str, ...], tmp_path_factory) -> tuple[Path, dict]:
    """Run each script of tests/hosts/ in real GIMP on ``folder`` (in the chroot), in turn, with
    their shared gimp_procedures.py beside them; (a copy of the folder, its report.json)."""
    work = trixie.path(folder)
    for script in ("gimp_procedures.py", *scripts):
        shutil.copy2(PROJECT / "tests" / "hosts" / script, work / script)
    for script in scripts:
        ran = trixie.run(f"gimp-console-3.0 -i --quit --batch-interpreter python-fu-eval -b - "
                         f"< {folder}/{script}", ALPHALIFT_TEST_DIR=folder)
        assert ran.returncode == 0, ran.stderr[-3000:]
    report = json.loads((work / "report.json").read_text())
    assert "exception" not in report, report.get("exception")
    output = tmp_path_factory.mktemp("gimp")
    for item in work.iterdir():
        shutil.copy2(item, output / item.name)
    return output, report


def plane(folder: Path, name: str, size: list[int]) -> np.ndarray:
    values = np.fromfile(folder / name, "<f4").reshape(size[1], size[0])
    return np.round(values * 255).astype(np.int16)


def test_remove_background_adds_the_cli_mask_and_leaves_pixels(gimp_results, tmp_path):
    folder, report, dump = gimp_results
    assert report["remove"][0] == "success" and report["has_mask"]
    layers = dump["result.xcf"]["layers"]
    original = [l for l in layers if l["name"] == "Background"][0]
    index = layers.index(original)
    expected = cli_mask(folder / "photo.png", tmp_path)
    mask = plane(folder, f"result.xcf.layer{index}.mask", original["size"])
    assert np.abs(mask - expected).max() <= 1
    pixels = np.fromfile(folder / f"result.xcf.layer{index}.rgba", np.uint8).reshape(512, 512, 4)
    assert (pixels[..., :3] == np.asarray(Image.open(folder / "photo.png"))).all()
    assert (pixels[..., 3] == 255).all(), "the layer's own alpha is untouched; the mask does the work"


def test_existing_mask_is_not_replaced_without_being_asked(gimp_results):
    _, report, _ = gimp_results
    status, message = report["again"]
    assert status == "execution-error" and "already has a mask" in message and "replace-mask" in message


def test_select_subject_matches_the_mask(gimp_results, tmp_path):
    folder, report, dump = gimp_results
    assert report["select"][0] == "success"
    selection = plane(folder, "result.xcf.selection", dump["result.xcf"]["selection"])
    assert np.abs(selection - cli_mask(folder / "photo.png", tmp_path)).max() <= 1


def test_decontaminated_layer_sits_above_with_the_same_mask(gimp_results, tmp_path):
    folder, report, dump = gimp_results
    assert report["decontaminate"][0] == "success"
    layers = dump["result.xcf"]["layers"]
    assert [l["name"] for l in layers] == ["Background (AlphaLift)", "Background"]
    mask = plane(folder, "result.xcf.layer0.mask", layers[0]["size"])
    assert np.abs(mask - cli_mask(folder / "photo.png", tmp_path)).max() <= 1
    colours = np.fromfile(folder / "result.xcf.layer0.rgba", np.uint8).reshape(512, 512, 4)
    opaque = mask == 255
    photo = np.asarray(Image.open(folder / "photo.png"))
    assert (colours[opaque][:, :3] == photo[opaque]).all(), "opaque pixels keep their colour"


def test_offset_layer_gets_a_mask_for_its_own_pixels(gimp_results, tmp_path):
    folder, report, dump = gimp_results
    assert report["offset"][0] == "success"
    layer = dump["offset.xcf"]["layers"][0]
    assert layer["offsets"] == [-40, 25] and layer["mask"]
    mask = plane(folder, "offset.xcf.layer0.mask", layer["size"])
    assert np.abs(mask - cli_mask(folder / "photo.png", tmp_path)).max() <= 1


def test_gimpfu_style_example_runs_through_the_shim(gimp_results):
    folder, report, dump = gimp_results
    assert report["gimpfu"][0] == "success"
    layer = dump["gimpfu.xcf"]["layers"][0]
    assert layer["name"] == "Washed green" and abs(layer["opacity"] - 40.0) < 1e-3
    pixels = np.fromfile(folder / "gimpfu.xcf.layer0.rgba", np.uint8).reshape(512, 512, 4)
    assert (pixels[..., :3] == (0, 255, 0)).all()


def test_refusal_changed_nothing(gimp_results):
    _, report, _ = gimp_results
    assert report["layers_after_refusal"] == ["Background"]


def test_selection_limits_the_mask_and_replace_mask_replaces(gimp_results, tmp_path):
    folder, report, dump = gimp_results
    assert report["first"][0] == "success" and report["replace"][0] == "success"
    layer = dump["selection.xcf"]["layers"][0]
    mask = plane(folder, "selection.xcf.layer0.mask", layer["size"])
    expected = cli_mask(folder / "photo.png", tmp_path, "--box", "0,0,256,512")  # its bounds: the box
    assert np.abs(mask[:, :256] - expected[:, :256]).max() <= 1, "inside the selection: the matte"
    assert (mask[:, 257:] == 255).all(), "outside it: the layer stays visible"


def test_grayscale_layers(gimp_results, tmp_path):
    folder, report, dump = gimp_results
    assert report["gray"][0] == "success"
    mask = plane(folder, "gray.xcf.layer0.mask", dump["gray.xcf"]["layers"][0]["size"])
    assert np.abs(mask - cli_mask(folder / "gray.png", tmp_path)).max() <= 1


@pytest.mark.parametrize("precision", ["U16_NON_LINEAR", "FLOAT_LINEAR"])
def test_high_bit_depth_images(gimp_results, tmp_path, precision):
    folder, report, dump = gimp_results
    assert report[precision][0] == "success"
    layer = dump[f"{precision}.xcf"]["layers"][0]
    mask = plane(folder, f"{precision}.xcf.layer0.mask", layer["size"])
    assert np.abs(mask - cli_mask(folder / "photo.png", tmp_path)).max() <= 1


def test_the_shim_maps_every_parameter_type(gimp_results):
    folder, report, _ = gimp_results
    assert report["all_types"][0] == "success", report["all_types"]
    values = json.loads((folder / "all_types.json").read_text())
    assert values["count"] == 7 and values["ratio"] == 0.25 and values["steps"] == 2.0
    assert values["text"] == "bonjour" and values["flag"] is False
    assert values["tone"] == "warm" and values["choice"] == 1, "defaults of RADIO and OPTION"
    assert values["source"] == "/etc/hostname" and values["folder"] == "/opt"
    assert values["colour"][:3] == [0.0, 0.0, 1.0] and values["width"] == 512


PROMPTS = "/tmp/alphalift-gimp-prompts"
LEFT, RIGHT = (130, 160), (350, 160)  # the two discs' centres (x, y) in discs.png


def write_discs(path: Path) -> None:
    """Two equal red discs on a light ground: which one is the subject only a prompt can say."""
    rows, columns = np.mgrid[0:320, 0:480]
    picture = np.empty((320, 480, 3), np.uint8)
    picture[:] = (225, 225, 215)
    for x, y in (LEFT, RIGHT):
        picture[np.hypot(columns - x, rows - y) < 70] = (210, 30, 30)
    Image.fromarray(picture).save(path)


@pytest.fixture(scope="module")
def gimp_prompts(trixie, tmp_path_factory):
    """Prompts drawn the GIMP way (gimp_prompts.py), on a layer offset on its canvas by (30, 20)."""
    install(trixie)
    work = trixie.path(PROMPTS)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    write_discs(work / "discs.png")
    return drive_gimp(trixie, PROMPTS, ("gimp_prompts.py",), tmp_path_factory)


def prompted(folder: Path, report: dict, key: str) -> np.ndarray:
    """The run's mask, after checking it succeeded and left the layer's pixels as they were."""
    run = report[key]
    assert run["status"] == ["success", ""] and run["offsets"] == [30, 20] and run["mask"]
    pixels = np.fromfile(folder / f"{key}.rgba", np.uint8).reshape(320, 480, 4)
    assert (pixels[..., :3] == np.asarray(Image.open(folder / "discs.png"))).all()
    assert (pixels[..., 3] == 255).all(), "the layer's pixels are untouched; the mask does the work"
    return plane(folder, f"{key}.mask", run["size"])


def test_prompt_exclude_path_anchor_drops_its_disc(gimp_prompts, tmp_path):
    folder, report = gimp_prompts
    mask = prompted(folder, report, "exclude")
    assert mask[LEFT[::-1]] >= 250 and mask[RIGHT[::-1]] <= 5, "the excluded disc is gone"
    expected = cli_mask(folder / "discs.png", tmp_path, "--exclude", "350,160")
    assert np.abs(mask - expected).max() <= 1, "the anchor reached the core in the layer's pixels"


def test_prompt_paths_are_ignored_with_use_point_paths_off(gimp_prompts, tmp_path):
    folder, report = gimp_prompts
    mask = prompted(folder, report, "paths_off")
    assert mask[LEFT[::-1]] >= 250 and mask[RIGHT[::-1]] >= 250
    assert np.abs(mask - cli_mask(folder / "discs.png", tmp_path)).max() <= 1


def test_prompt_selection_is_the_box_and_still_limits_the_mask(gimp_prompts, tmp_path):
    folder, report = gimp_prompts
    mask = prompted(folder, report, "box_remove")
    expected = cli_mask(folder / "discs.png", tmp_path, "--box", "40,60,230,260")
    assert np.abs(mask[60:260, 40:230] - expected[60:260, 40:230]).max() <= 1, "inside: the boxed matte"
    outside = np.ones(mask.shape, bool)
    outside[60:260, 40:230] = False
    assert (mask[outside] == 255).all(), "outside the selection the layer stays visible"


def test_prompt_select_subject_selects_only_the_disc_in_the_selection(gimp_prompts, tmp_path):
    folder, report = gimp_prompts
    assert report["box_select"] == ["success", ""]
    width, height = report["box_select_size"]
    selection = plane(folder, "box_select.selection", [width, height])[20:340, 30:510]
    assert selection[LEFT[::-1]] >= 250 and selection[RIGHT[::-1]] <= 5
    expected = cli_mask(folder / "discs.png", tmp_path, "--box", "40,60,230,260")
    assert np.abs(selection - expected).max() <= 1


def test_prompt_anchor_off_the_layer_is_refused_naming_the_path_and_nothing_changes(gimp_prompts):
    _, report = gimp_prompts
    run = report["off_layer"]
    status, message = run["status"]
    assert status == "execution-error" and "“alphalift INCLUDE”" in message and "5,5" in message
    assert not run["mask"] and not run["dirty"], "no mask, nothing on the undo stack"


def test_calls_in_one_gimp_session_share_one_worker(gimp_results):
    """Issue 12: GIMP starts the plug-in afresh for every call; the worker (and the model it has
    loaded) outlives each call, so all of the session's calls reach one worker."""
    _, report, _ = gimp_results
    assert len(report["workers_after_first"]) == 1, report["workers_after_first"]
    assert report["workers_at_end"] == report["workers_after_first"]
