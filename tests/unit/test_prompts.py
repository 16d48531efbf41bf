"""Prompts in the core: two objects the model scores alike, and only the prompt says which is the
subject; the edges stay real alpha; every bad value is refused naming its field."""
from __future__ import annotations

import numpy as np
import pytest

from alphalift.pipeline import Remover
from alphalift.prompts import CLI_NAMES, Prompt, PromptError

WIDTH, HEIGHT = 160, 96
LEFT, RIGHT, CENTRE_Y, RADIUS = (44.0, 40.0), (116.0, 48.0), 48.0, 24.0


def disc_alpha(centre: tuple[float, float], radius: float) -> np.ndarray:
    """Exact-ish coverage of a disc (4x4 supersampling): the scene's known alpha."""
    y, x = np.mgrid[0:HEIGHT * 4, 0:WIDTH * 4] / 4.0 + 0.125
    inside = (x - centre[0]) ** 2 + (y - centre[1]) ** 2 <= radius ** 2
    return inside.reshape(HEIGHT, 4, WIDTH, 4).mean(axis=(1, 3))


def scene(left_colour=(230, 30, 30), right_colour=(220, 40, 40)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Two discs on a blue backdrop: (rgb, left alpha, right alpha)."""
    left = disc_alpha((LEFT[0], CENTRE_Y), RADIUS)
    right = disc_alpha((RIGHT[0], CENTRE_Y), RADIUS)
    backdrop = np.array([30, 40, 200], np.float32)
    rgb = backdrop * (1 - left - right)[..., None] + np.float32(left_colour) * left[..., None] \
        + np.float32(right_colour) * right[..., None]
    return np.round(rgb).astype(np.uint8), left, right


@pytest.fixture
def remover(tiny_home) -> Remover:
    return Remover(backend="onnxruntime")


def mean_on(mask: np.ndarray, alpha: np.ndarray) -> float:
    return float(mask[alpha >= 1].mean())


def soft_edge(mask: np.ndarray, alpha: np.ndarray) -> bool:
    edge = (alpha > 0.05) & (alpha < 0.95)
    return bool(((mask[edge] > 0.02) & (mask[edge] < 0.98)).any())


def test_without_a_prompt_the_model_takes_both_discs(remover: Remover) -> None:
    rgb, left, right = scene()
    mask = remover.remove(rgb, model="tiny").mask
    assert mean_on(mask, left) > 0.9 and mean_on(mask, right) > 0.9


def test_a_box_around_one_disc_makes_it_the_only_subject(remover: Remover) -> None:
    rgb, left, right = scene()
    box = (LEFT[0] - 30, CENTRE_Y - 30, LEFT[0] + 30, CENTRE_Y + 30)
    mask = remover.remove(rgb, model="tiny", prompt=Prompt(box=box)).mask
    assert mean_on(mask, left) > 0.95
    assert mask[right > 0].max() == 0.0  # outside the box nothing is subject
    assert np.abs(mask - left).mean() < 0.01
    assert soft_edge(mask, left)


def test_a_box_edge_through_a_pixel_keeps_the_covered_part(remover: Remover) -> None:
    rgb, left, right = scene()
    mask = remover.remove(rgb, model="tiny", prompt=Prompt(box=(10.0, 10.0, 50.5, 90.0))).mask
    assert mask[:, 51:].max() == 0.0
    assert 0.4 < mask[int(CENTRE_Y), 50] <= 0.5  # half of column 50 is in the box
    assert mask[int(CENTRE_Y), 45] > 0.95


def test_an_exclude_point_removes_the_whole_disc_it_falls_in(remover: Remover) -> None:
    rgb, left, right = scene()
    mask = remover.remove(rgb, model="tiny", prompt=Prompt(exclude=((RIGHT[0], RIGHT[1]),))).mask
    assert mean_on(mask, right) < 0.05  # the region, not only the pixel
    assert np.abs(mask - left).mean() < 0.01  # the other disc untouched
    assert soft_edge(mask, left)


def test_an_include_point_adds_the_region_the_model_missed(remover: Remover) -> None:
    rgb, left, right = scene(right_colour=(40, 200, 60))  # green: the tiny model scores it 0
    assert mean_on(remover.remove(rgb, model="tiny").mask, right) < 0.05
    mask = remover.remove(rgb, model="tiny", prompt=Prompt(include=((RIGHT[0], RIGHT[1]),))).mask
    assert mean_on(mask, right) > 0.9
    assert mean_on(mask, left) > 0.9
    assert mask[right + left == 0].mean() < 0.02  # the backdrop stays out
    assert soft_edge(mask, right)


def test_points_reuse_the_model_output_of_the_same_pixels(remover: Remover, monkeypatch) -> None:
    import alphalift.pipeline as pipeline

    rgb, left, right = scene()
    calls = []
    real = pipeline.segment
    monkeypatch.setattr(pipeline, "segment", lambda *a: calls.append(1) or real(*a))
    box = Prompt(box=(2.0, 2.0, 150.0, 90.0))
    remover.remove(rgb, model="tiny", prompt=box)
    remover.remove(rgb, model="tiny", prompt=Prompt(box=box.box, exclude=((RIGHT[0], RIGHT[1]),)))
    remover.remove(rgb, model="tiny", prompt=Prompt(box=box.box, include=((LEFT[0], LEFT[1]),)))
    assert len(calls) == 2  # the whole photo and the box's view, once each
    remover.remove(rgb, model="tiny", prompt=Prompt(box=(3.0, 2.0, 150.0, 90.0)))  # a new box
    changed = rgb.copy()
    changed[50, 20] ^= 1
    assert len(calls) == 3  # only the new box's view
    remover.remove(changed, model="tiny", prompt=box)  # other pixels
    assert len(calls) == 5


def test_a_remover_that_does_not_remember_keeps_nothing_and_cuts_out_the_same(remover, monkeypatch):
    """A batch's Remover: no digest, no kept runs, the very same cut-outs (auto and prompted)."""
    import alphalift.pipeline as pipeline

    rgb, left, right = scene()
    prompts = (None, Prompt(box=(2.0, 2.0, 150.0, 90.0), exclude=((RIGHT[0], RIGHT[1]),)))
    expected = [remover.remove(rgb, model="tiny", prompt=prompt) for prompt in prompts]
    forgetful = Remover(backend="onnxruntime", remember=False)
    monkeypatch.setattr(pipeline, "pixels_key", lambda *a: pytest.fail("digested an image"))
    for _ in range(2):
        for prompt, reference in zip(prompts, expected):
            cutout = forgetful.remove(rgb, model="tiny", prompt=prompt)
            np.testing.assert_array_equal(cutout.mask, reference.mask)
            np.testing.assert_array_equal(cutout.foreground, reference.foreground)
    assert len(forgetful.probabilities) == 0 and len(forgetful.refined) == 0


@pytest.mark.parametrize("prompt, words", [
    (Prompt(box=(10, 10, 10, 50)), "--box 10,10,10,50 is empty or inverted"),
    (Prompt(box=(50, 10, 10, 50)), "--box 50,10,10,50 is empty or inverted"),
    (Prompt(box=(-1, 0, 10, 10)), "--box -1,0,10,10 reaches outside the image (the image is 160x96)"),
    (Prompt(box=(0, 0, 161, 10)), "reaches outside"),
    (Prompt(include=((160, 5),)), "--include 160,5 is outside the image"),
    (Prompt(exclude=((5, -0.5),)), "--exclude 5,-0.5 is outside the image"),
])
def test_a_prompt_the_image_cannot_take_is_refused_naming_the_option(prompt: Prompt, words: str) -> None:
    with pytest.raises(PromptError) as error:
        prompt.check(WIDTH, HEIGHT, CLI_NAMES)
    assert words in str(error.value)
    assert error.value.code == "bad-prompt"


def test_the_remover_checks_the_prompt_before_the_model_runs(remover: Remover, monkeypatch) -> None:
    import alphalift.pipeline as pipeline

    monkeypatch.setattr(pipeline, "segment", lambda *a: pytest.fail("the model ran"))
    with pytest.raises(PromptError, match="box"):
        remover.remove(scene()[0], model="tiny", prompt=Prompt(box=(0, 0, 500, 10)))


@pytest.mark.parametrize("value, words", [
    ([], "prompt: [] is not an object"),
    ({"box": [1, 2, 3]}, "box: [1, 2, 3] is not x0,y0,x1,y1"),
    ({"box": "1,2,3,4"}, "box: '1,2,3,4' is not x0,y0,x1,y1"),
    ({"include": [[1, "a"]]}, "include: 'a' is not a number"),
    ({"include": [1, 2]}, "include: 1 is not x,y"),
    ({"exclude": "1,2"}, "exclude: '1,2' is not a list of points"),
    ({"exclude": [[1, float("nan")]]}, "exclude: nan is not a finite number"),
    ({"include": [[True, 2]]}, "include: True is not a number"),
    ({"boxes": []}, "prompt: unknown field 'boxes'"),
])
def test_a_malformed_prompt_is_refused_naming_the_field(value, words: str) -> None:
    with pytest.raises(PromptError) as error:
        Prompt.from_json(value)
    assert words in str(error.value)


def test_remove_background_takes_box_and_points(tiny_home, monkeypatch) -> None:
    import alphalift.pipeline as pipeline

    monkeypatch.setattr(pipeline, "_default", Remover(backend="onnxruntime"))
    rgb, left, right = scene()
    cutout = pipeline.remove_background(rgb, model="tiny", box=(1, 1, 159, 95),
                                        exclude=[(LEFT[0], LEFT[1])])
    assert mean_on(cutout.mask, left) < 0.05 and mean_on(cutout.mask, right) > 0.9


def test_a_point_after_a_run_matches_a_fresh_run_with_that_point(tiny_home) -> None:
    """The second run re-solves only around the change (matting/partial.py); the matte it pastes
    is the one a fresh run makes, up to the solver's tolerance."""
    rgb, left, right = scene()
    wide = np.zeros((HEIGHT * 2, WIDTH * 3, 3), np.uint8)
    wide[...] = rgb[0, 0]
    wide[:HEIGHT, :WIDTH] = rgb  # two discs in the corner of a larger photo
    point = Prompt(exclude=((RIGHT[0], RIGHT[1]),))
    warm = Remover(backend="onnxruntime")
    warm.remove(wide, model="tiny")
    again = warm.remove(wide, model="tiny", prompt=point)
    fresh = Remover(backend="onnxruntime").remove(wide, model="tiny", prompt=point)
    assert mean_on(again.mask[:HEIGHT, :WIDTH], right) < 0.05
    assert np.abs(again.mask - fresh.mask).max() < 0.02
    assert np.abs(again.foreground.astype(int) - fresh.foreground).max() <= 3


def test_a_box_believes_the_view_whose_subject_fills_it() -> None:
    from alphalift.prompts.box import believed, model_window

    whole = np.zeros((100, 200), np.float32)
    whole[20:80, 20:180] = 1.0  # the whole photo's subject spans the box
    zoomed = np.zeros((100, 200), np.float32)
    zoomed[40:60, 90:110] = 1.0  # zoomed in, the model picked a detail
    box = (10, 10, 190, 90)
    assert believed(zoomed, whole, box) is whole
    assert believed(whole, zoomed, box) is whole
    same = whole.copy()
    assert believed(same, whole, box) is same  # a tie: the zoomed view (more model pixels)
    assert model_window((0, 45, 120, 55), 200, 100) == (0, 10, 120, 90)  # a 12:1 strip widened to 1.5:1
    assert model_window((0, 0, 200, 10), 200, 100) == (0, 0, 200, 72)  # within the photo
