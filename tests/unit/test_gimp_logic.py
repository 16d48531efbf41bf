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
