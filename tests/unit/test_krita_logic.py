"""The Krita plug-in's non-GUI logic against a typed mock of Krita's API (tests/unit/krita_mock.py).

The real Krita runs the same code in tests/hosts/test_krita.py.
"""
from __future__ import annotations

import importlib
import sys
import types
import zipfile
from pathlib import Path

import pytest

from . import krita_mock as krita

PLUGIN = Path(__file__).resolve().parents[2] / "plugins" / "krita" / "alphalift_krita"
INSTALLERS = Path(__file__).resolve().parents[2] / "installers"


def plugin_module(name: str):
    """Import a submodule without the package's __init__ (which needs Krita itself)."""
    if "alphalift_krita" not in sys.modules:
        package = types.ModuleType("alphalift_krita")
        package.__path__ = [str(PLUGIN)]
        sys.modules["alphalift_krita"] = package
    return importlib.import_module(f"alphalift_krita.{name}")


actions = plugin_module("matte_actions")
formats = plugin_module("layer_formats")
settings = plugin_module("settings")
prompts = plugin_module("prompt_sources")


def photo_layer(bounds=(0, 0, 4, 3), **kwargs) -> krita.Node:
    if "pixels" not in kwargs:
        kwargs["pixels"] = bytes(range(bounds[2] * bounds[3] * 4))
    return krita.Node("Photo", bounds=bounds, **kwargs)


def run(document: krita.Document, action: str, alpha: bytes, foreground: bytes | None = None) -> str:
    request = actions.prepare(document, action)
    trigger = getattr(document, "run_action", lambda name: pytest.fail(f"no action {name} on 5.2"))
    return actions.apply(request, alpha, foreground, krita.Selection, trigger)


@pytest.mark.parametrize("model, depth, profile, expected", [
    ("RGBA", "U8", "sRGB-elle-V2-srgbtrc.icc", ("BGRA8", False)),
    ("RGBA", "U16", "sRGB-elle-V2-g10.icc", ("BGRA16", True)),
    ("RGBA", "F16", "sRGB-elle-V2-g10.icc", ("RGBAH", True)),
    ("RGBA", "F32", "Rec2020-elle-V4-g10.icc", ("RGBAF", True)),
    ("GRAYA", "U8", "Gray-D50-elle-V2-srgbtrc.icc", ("LA8", False)),
    ("GRAYA", "F32", "Gray-D50-elle-V2-g10.icc", ("LAF", True)),
])
def test_worker_formats_follow_krita_channel_orders_and_transfer(model, depth, profile, expected):
    assert formats.worker_format(model, depth, profile) == expected


@pytest.mark.parametrize("model, words", [("CMYKA", "CMYK"), ("LABA", "L*a*b*")])
def test_cmyk_and_lab_are_refused_with_what_to_do(model, words):
    with pytest.raises(formats.Refusal, match=f"this layer is {words}.*Convert Layer Color Space"):
        formats.worker_format(model, "U8", "")


def test_remove_background_adds_one_mask_over_the_layer_bounds():
    layer = photo_layer(bounds=(-2, 5, 4, 3))
    document = krita.Document(10, 10, [layer])
    request = actions.prepare(document, actions.REMOVE)
    assert (request.x, request.y, request.width, request.height) == (-2, 5, 4, 3)
    assert request.pixels == layer.pixels and request.pixel_format == "BGRA8" and request.limit is None
    alpha = bytes(range(0, 240, 20))
    summary = actions.apply(request, alpha, None, krita.Selection, lambda name: None)
    (mask,) = layer.childNodes()
    assert mask.type() == "transparencymask" and mask.name() == "AlphaLift"
    assert mask.selection.pixelData(-2, 5, 4, 3) == alpha
    assert layer.pixels == bytes(range(48)), "the layer's own pixels are untouched"
    assert document.undo_steps == 1 and "transparency mask" in summary
    assert document.selection() is None


def test_active_selection_is_sent_as_the_limit():
    layer = photo_layer()
    document = krita.Document(4, 3, [layer])
    document.global_selection = krita.Selection()
    document.global_selection.setPixelData(bytes([255, 255, 0, 0] * 3), 0, 0, 4, 3)
    assert actions.prepare(document, actions.REMOVE).limit == bytes([255, 255, 0, 0] * 3)
    assert actions.prepare(document, actions.SELECT).limit is None, "Select Subject replaces it"


def test_select_subject_replaces_the_selection_and_adds_no_node():
    layer = photo_layer()
    document = krita.Document(4, 3, [layer])
    run(document, actions.SELECT, bytes([7] * 12))
    assert document.selection().pixelData(0, 0, 4, 3) == bytes([7] * 12)
    assert layer.childNodes() == [] and document.undo_steps == 0


def test_cutout_adds_one_masked_8bit_layer_above():
    layer = photo_layer(color_depth="U16", profile="sRGB-elle-V2-g10.icc",
                        pixels=bytes(96), bounds=(0, 0, 4, 3))
    background = krita.Node("Paper", bounds=(0, 0, 4, 3), pixels=bytes(48))
    document = krita.Document(4, 3, [background, layer])
    request = actions.prepare(document, actions.CUTOUT)
    assert request.pixel_format == "BGRA16" and request.linear
    actions.apply(request, bytes([200] * 12), bytes([30, 20, 10, 255] * 12), krita.Selection, lambda n: None)
    names = [n.name() for n in document.rootNode().childNodes()]
    assert names == ["Paper", "Photo", "Photo (AlphaLift)"]
    cutout = document.rootNode().childNodes()[2]
    assert (cutout.colorModel(), cutout.colorDepth()) == ("RGBA", "U8")
    assert cutout.pixels == bytes([30, 20, 10, 255] * 12)
    assert cutout.childNodes()[0].selection.pixelData(0, 0, 4, 3) == bytes([200] * 12)
    assert document.undo_steps == 1, "the layer joins the document with its mask: one undo step"


@pytest.mark.parametrize("node_type, words", [("grouplayer", "group layer"), ("vectorlayer", "vector layer")])
def test_group_and_vector_layers_are_refused(node_type, words):
    document = krita.Document(4, 3, [krita.Node("Things", node_type, bounds=(0, 0, 4, 3))])
    with pytest.raises(formats.Refusal, match=f"is a {words}"):
        actions.prepare(document, actions.REMOVE)


def test_a_second_run_is_refused_and_an_active_mask_means_its_layer():
    layer = photo_layer()
    document = krita.Document(4, 3, [layer])
    run(document, actions.REMOVE, bytes(12))
    document.setActiveNode(layer.childNodes()[0])
    with pytest.raises(formats.Refusal, match="already has an AlphaLift mask"):
        actions.prepare(document, actions.REMOVE)
    assert actions.prepare(document, actions.SELECT).node is layer


def test_without_an_active_node_only_a_lone_layer_is_assumed():
    layer = photo_layer()
    document = krita.Document(4, 3, [layer])
    document.active = None
    document.rootNode().addChildNode(krita.Node("Selection Mask", "selectionmask"), None)
    assert actions.prepare(document, actions.REMOVE).node is layer
    document.rootNode().addChildNode(krita.Node("Sky", bounds=(0, 0, 4, 3), pixels=bytes(48)), None)
    with pytest.raises(formats.Refusal, match="Pick a paint layer"):
        actions.prepare(document, actions.REMOVE)


def test_empty_layers_and_no_document_are_refused():
    with pytest.raises(formats.Refusal, match="Open an image"):
        actions.prepare(None, actions.REMOVE)
    with pytest.raises(formats.Refusal, match="is empty"):
        actions.prepare(krita.Document(4, 3, [krita.Node("Blank")]), actions.REMOVE)


def test_layer_deleted_while_working_changes_nothing():
    layer = photo_layer()
    document = krita.Document(4, 3, [layer])
    request = actions.prepare(document, actions.REMOVE)
    document.rootNode().children.remove(layer)
    layer.parent = None
    with pytest.raises(formats.Refusal, match="was deleted"):
        actions.apply(request, bytes(12), None, krita.Selection, lambda n: None)
    assert layer.childNodes() == []


def test_krita_51_goes_through_the_selection_and_restores_it():
    layer = photo_layer()
    document = krita.Krita51Document(4, 3, [layer])
    run(document, actions.REMOVE, bytes([9] * 12))
    (mask,) = layer.childNodes()
    assert mask.name() == "AlphaLift" and mask.selection.pixelData(0, 0, 4, 3) == bytes([9] * 12)
    assert document.selection() is None, "the user had no selection, so none is left behind"


def select_rect(document: krita.Document, x: int, y: int, w: int, h: int) -> None:
    document.global_selection = krita.Selection()
    document.global_selection.setPixelData(bytes([255] * w * h), x, y, w, h)


def test_selection_bounds_are_the_box_in_layer_pixels_and_still_the_limit():
    layer = photo_layer(bounds=(-2, 5, 6, 4))
    document = krita.Document(10, 10, [layer])
    select_rect(document, 0, 6, 3, 2)  # layer pixels x 2..4, y 1..2
    remove = actions.prepare(document, actions.REMOVE)
    assert remove.box == (2, 1, 5, 3)
    assert remove.limit == bytes(6) + bytes([0, 0, 255, 255, 255, 0] * 2) + bytes(6)
    select = actions.prepare(document, actions.SELECT)
    assert select.box == (2, 1, 5, 3) and select.limit is None, "Select Subject: a box, no limit"


def test_a_whole_layer_selection_or_none_gives_no_box_and_one_off_the_layer_is_refused():
    layer = photo_layer()
    document = krita.Document(8, 8, [layer])
    assert actions.prepare(document, actions.REMOVE).box is None
    select_rect(document, 0, 0, 8, 8)
    assert actions.prepare(document, actions.REMOVE).box is None
    select_rect(document, 5, 5, 2, 2)
    with pytest.raises(formats.Refusal, match="selection does not touch \u201cPhoto\u201d"):
        actions.prepare(document, actions.REMOVE)


def ellipse_at(x_px: float, y_px: float, ppi: int, name: str = "Ellipse") -> krita.Shape:
    """A 4-pixel wide ellipse centred on document pixel (x_px, y_px), in points as Krita stores it."""
    to_pt = 72.0 / ppi
    return krita.Shape(name, ((x_px - 2) * to_pt, (y_px - 2) * to_pt, 4 * to_pt, 4 * to_pt), "EllipseShape")


def test_shapes_on_the_point_layers_are_points_in_layer_pixels_at_the_document_resolution():
    layer = photo_layer(bounds=(10, 5, 40, 30), pixels=bytes(40 * 30 * 4))
    include = krita.VectorLayer(prompts.INCLUDE_LAYER, [ellipse_at(30, 20, 300)])
    exclude = krita.VectorLayer(prompts.EXCLUDE_LAYER, [krita.GroupShape("Group", [
        ellipse_at(12.5, 6, 300), ellipse_at(49, 34, 300)])])
    group = krita.Node("Notes", "grouplayer")
    document = krita.Document(60, 40, [layer, include, group], resolution=300)
    group.addChildNode(exclude, None)
    document.setActiveNode(layer)
    request = actions.prepare(document, actions.REMOVE)
    assert request.include == [pytest.approx((20.0, 15.0))]
    assert request.exclude == [pytest.approx((2.5, 1.0)), pytest.approx((39.0, 29.0))]
    assert request.pixels == layer.pixels, "the points layers are not in the pixels sent"


def test_a_point_off_the_layer_is_refused_naming_its_layer():
    layer = photo_layer(bounds=(0, 0, 4, 3))
    document = krita.Document(10, 10, [layer, krita.VectorLayer(prompts.EXCLUDE_LAYER, [ellipse_at(8, 8, 72)])])
    document.setActiveNode(layer)
    with pytest.raises(formats.Refusal, match="\u201cAlphaLift exclude\u201d.*outside \u201cPhoto\u201d"):
        actions.prepare(document, actions.REMOVE)


def test_points_layers_are_added_once_on_top_and_the_cut_out_still_targets_the_photo():
    layer = photo_layer()
    document = krita.Document(4, 3, [layer])
    added = prompts.add_points_layer(document, prompts.EXCLUDE_LAYER)
    assert added.type() == "vectorlayer" and document.topLevelNodes()[-1] is added
    assert document.activeNode() is added and added.colorLabel() != 0
    assert prompts.add_points_layer(document, prompts.EXCLUDE_LAYER) is added
    assert [n.name() for n in document.topLevelNodes()] == ["Photo", prompts.EXCLUDE_LAYER]
    assert document.undo_steps == 1
    assert actions.prepare(document, actions.REMOVE).node is layer, "the layer below the points layer"
    document.active = None  # scripts' documents: the lone layer, points layers aside
    assert actions.prepare(document, actions.REMOVE).node is layer
    other = krita.Node("Other", bounds=(0, 0, 4, 3), pixels=bytes(48))
    document.rootNode().addChildNode(other, layer)
    assert actions.prepare(document, actions.REMOVE, remembered=layer).node is layer


def test_refine_keeps_the_box_takes_the_new_points_and_replaces_the_mask():
    layer = photo_layer(bounds=(0, 0, 4, 3))
    document = krita.Document(4, 3, [layer])
    select_rect(document, 1, 0, 3, 3)
    first = actions.prepare(document, actions.REMOVE)
    actions.apply(first, bytes([100] * 12), None, krita.Selection, lambda n: None)
    exclude = prompts.add_points_layer(document, prompts.EXCLUDE_LAYER)
    exclude.shape_list.append(ellipse_at(2.5, 1.5, 72))
    document.global_selection = None  # the box is the first run's, whatever the selection is now
    steps = document.undo_steps
    again = actions.prepare_refine(first, document)
    assert again.box == (1, 0, 4, 3) and again.limit == first.limit and again.node is layer
    assert again.exclude == [pytest.approx((2.5, 1.5))] and again.include == []
    actions.apply(again, bytes([7] * 12), None, krita.Selection, lambda n: None)
    (mask,) = layer.childNodes()
    assert mask.name() == "AlphaLift" and mask.selection.pixelData(0, 0, 4, 3) == bytes([7] * 12)
    assert layer.pixels == bytes(range(48))
    assert document.undo_steps - steps == 2, "the old mask out, the new one in"


def test_refine_of_select_subject_replaces_the_selection_with_the_first_box():
    layer = photo_layer(bounds=(0, 0, 4, 3))
    document = krita.Document(4, 3, [layer])
    select_rect(document, 0, 0, 2, 3)
    first = actions.prepare(document, actions.SELECT)
    actions.apply(first, bytes([9] * 12), None, krita.Selection, lambda n: None)
    again = actions.prepare_refine(first, document)
    assert again.box == (0, 0, 2, 3) and again.action == actions.SELECT
    actions.apply(again, bytes([5] * 12), None, krita.Selection, lambda n: None)
    assert document.selection().pixelData(0, 0, 4, 3) == bytes([5] * 12) and document.undo_steps == 0


def test_refine_needs_an_earlier_run_on_this_image():
    layer = photo_layer()
    document = krita.Document(4, 3, [layer])
    with pytest.raises(formats.Refusal, match="Run Remove Background"):
        actions.prepare_refine(None, document)
    first = actions.prepare(document, actions.REMOVE)
    with pytest.raises(formats.Refusal, match="Run Remove Background"):
        actions.prepare_refine(first, krita.Document(4, 3, [photo_layer()]))


class Settings:
    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}

    def readSetting(self, group: str, key: str, default: str) -> str:
        return self.values.get((group, key), default)

    def writeSetting(self, group: str, key: str, value: str) -> None:
        self.values[(group, key)] = value


def test_options_are_remembered():
    store = Settings()
    assert settings.load(store) == settings.Options()
    settings.save(store, settings.Options(model="u2netp", refine=False, decontaminate=True))
    assert settings.load(store) == settings.Options("u2netp", False, True)


def test_kritarc_edit_keeps_other_lines(tmp_path):
    sys.path.insert(0, str(INSTALLERS))
    from kritarc import set_plugin_enabled

    kritarc = tmp_path / "kritarc"
    kritarc.write_text("[General]\nfoo=bar\n\n[python]\nenable_other=true\n\n[Theme]\nname=Dark\n")
    set_plugin_enabled(kritarc, "alphalift_krita", True)
    expected = "[General]\nfoo=bar\n\n[python]\nenable_other=true\nenable_alphalift_krita={}\n\n[Theme]\nname=Dark\n"
    assert kritarc.read_text() == expected.format("true")
    set_plugin_enabled(kritarc, "alphalift_krita", False)
    assert kritarc.read_text() == expected.format("false")
    fresh = tmp_path / "new" / "kritarc"
    set_plugin_enabled(fresh, "alphalift_krita", True)
    assert fresh.read_text() == "[python]\nenable_alphalift_krita=true\n"


def test_krita_zip_has_the_desktop_file_and_package_at_the_top(tmp_path):
    sys.path.insert(0, str(INSTALLERS))
    import build

    names = zipfile.ZipFile(build.build_krita(tmp_path)).namelist()
    assert "alphalift_krita.desktop" in names
    assert {"alphalift_krita/__init__.py", "alphalift_krita/alphalift_client.py",
            "alphalift_krita/matte_actions.py"} <= set(names)
