"""The GIMP plug-in's and the gimpfu shim's pure parts (no GIMP needed)."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

GIMP = Path(__file__).resolve().parents[2] / "plugins" / "gimp"


def load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


matte = load(GIMP / "alphalift-gimp" / "matte_logic.py", "matte_logic")
params = load(GIMP / "gimpfu_shim" / "params.py", "gimpfu_params")
prompts = load(GIMP / "alphalift-gimp" / "prompt_logic.py", "prompt_logic")


@pytest.mark.parametrize("encoding, expected", [
    ("Y u8", "Y float"), ("Y' u8", "Y' float"), ("Y u16", "Y float"), ("Y' half", "Y' float"),
    ("", "Y float")])
def test_matte_is_written_as_float_in_the_drawables_own_gamma(encoding, expected):
    assert matte.float_encoding_for(encoding) == expected


def test_the_progress_caption_names_the_model_and_licence_the_worker_reports():
    models = [{"name": "isnet-medium", "licence": "AGPL-3.0", "default": True},
              {"name": "u2net", "licence": "Apache-2.0", "default": False}]
    assert matte.model_caption(models) == "isnet-medium (AGPL-3.0)"
    assert matte.model_caption(models, "u2net") == "u2net (Apache-2.0)"
    assert matte.model_caption(models, "mine") == "mine"
    assert matte.model_caption([]) == "the default model"


def test_visible_part_clips_a_layer_hanging_off_the_canvas():
    width, height = 4, 3
    data = bytes(range(width * height))  # one byte a pixel
    x, y, w, h, part = matte.visible_part(data, 1, width, height, -1, 1, 10, 3)
    assert (x, y, w, h) == (0, 1, 3, 2)
    assert part == bytes([1, 2, 3, 5, 6, 7])
    assert matte.visible_part(data, 1, width, height, 20, 0, 10, 10) is None


def test_gimpfu_names_ranges_menus_and_options():
    assert params.argument_name("blur_Radius") == "blur-radius"
    assert params.number_bounds(params.PF_SLIDER, (0, 100, 1)) == (0.0, 100.0)
    assert params.number_bounds(params.PF_INT8, None) == (0, 255)
    assert params.split_menu("<Image>/Filters/My/Thing", None) == ("<Image>/Filters/My", "Thing")
    assert params.split_menu("Thing", "<Image>/Filters/My") == ("<Image>/Filters/My", "Thing")
    assert params.option_values(params.PF_RADIO, [("One", "a"), ("Two", "b")])[1] == ("choice-1", 1, "Two")
    assert params.PF_BOOL == params.PF_TOGGLE and params.PF_COLOUR == params.PF_COLOR


@pytest.mark.parametrize("name, role", [
    ("AlphaLift include", "include"), ("alphalift EXCLUDE", "exclude"), ("  AlphaLift Include  ", "include"),
    ("AlphaLift exclude #2", "exclude"), ("AlphaLift includes", None), ("Include", None), ("Path", None)])
def test_paths_named_alphalift_include_or_exclude_give_points(name, role):
    assert prompts.path_role(name) == role


def test_the_anchors_of_a_bezier_stroke_are_the_middle_of_each_handle_anchor_handle_triple():
    points = [0, 0, 10, 20, 30, 40,   5, 5, 50, 60, 7, 7]
    assert prompts.bezier_anchors(points) == [(10.0, 20.0), (50.0, 60.0)]
    assert prompts.bezier_anchors([]) == []


def test_path_anchors_become_layer_points_and_an_anchor_off_the_layer_is_refused_naming_the_path():
    paths = [("AlphaLift include", [(40.0, 30.0)]), ("Outline", [(-500.0, -500.0)]),
             ("AlphaLift EXCLUDE #1", [(105.5, 60.0), (11.0, 21.0)])]
    include, exclude = prompts.layer_points(paths, offsets=(10, 20), size=(100, 50))
    assert include == [(30.0, 10.0)] and exclude == [(95.5, 40.0), (1.0, 1.0)]
    refusal = "“AlphaLift exclude” .* 310,40, outside layer “Cat”"
    with pytest.raises(prompts.PromptSourceError, match=refusal):
        prompts.layer_points([("AlphaLift exclude", [(310.0, 40.0)])], (10, 20), (100, 50), "Cat")
    with pytest.raises(prompts.PromptSourceError):  # right and bottom edges are outside
        prompts.layer_points([("AlphaLift include", [(110.0, 30.0)])], (10, 20), (100, 50))


def test_selection_bounds_become_the_box_in_layer_pixels_clipped_to_the_layer():
    # Bounds are the image's (x1, y1 exclusive); the layer sits at (10, 20), 100x50.
    assert prompts.selection_box((30, 25, 60, 45), (10, 20), (100, 50)) == (20.0, 5.0, 50.0, 25.0)
    assert prompts.selection_box((0, 0, 60, 500), (10, 20), (100, 50)) == (0.0, 0.0, 50.0, 50.0)
    assert prompts.selection_box((0, 0, 400, 400), (10, 20), (100, 50)) is None, "the whole layer: no box"
    with pytest.raises(prompts.PromptSourceError, match="does not overlap layer “Cat”"):
        prompts.selection_box((200, 0, 300, 40), (10, 20), (100, 50), "Cat")
