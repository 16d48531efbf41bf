"""The matting stage on synthetic photos whose true alpha is known by construction."""
from __future__ import annotations

import logging

import numpy as np
import pytest
from PIL import Image

from alphalift.matting import MattingSettings, refine_matte
from alphalift.matting.closed_form import SolverFailed, closed_form_alpha
from alphalift.matting.foreground import estimate_foreground
from alphalift.matting.trimap import BACKGROUND, FOREGROUND, UNKNOWN, make_trimap

FG_COLOUR = np.array([230, 40, 40], np.float32)


def soft_disc(size=160, radius=45.0, softness=6.0) -> np.ndarray:
    y, x = np.mgrid[:size, :size]
    distance = np.hypot(x - size / 2, y - size / 2)
    return np.clip((radius - distance) / softness + 0.5, 0, 1).astype(np.float32)


def two_backgrounds(size=160) -> np.ndarray:
    """Left half green, right half blue, with a little texture."""
    rng = np.random.default_rng(1)
    bg = np.zeros((size, size, 3), np.float32)
    bg[:, : size // 2] = (40, 170, 60)
    bg[:, size // 2:] = (30, 60, 200)
    return np.clip(bg + rng.normal(0, 3, bg.shape), 0, 255)


def composite(alpha: np.ndarray, background: np.ndarray) -> np.ndarray:
    a = alpha[..., None]
    return np.round(a * FG_COLOUR + (1 - a) * background).astype(np.uint8)


def blurry_model_mask(alpha: np.ndarray, factor: int = 8) -> np.ndarray:
    """What a low-resolution network gives: the truth down- then up-sampled, edges smeared."""
    size = alpha.shape[::-1]
    small = Image.fromarray(alpha, "F").resize((size[0] // factor, size[1] // factor), Image.BILINEAR)
    mask = np.asarray(small.resize(size, Image.BILINEAR))
    return np.clip(mask * 0.9, 0, 1).astype(np.float32)  # and a little unsure inside


def test_refined_alpha_is_much_closer_to_the_truth_than_the_raw_mask():
    truth = soft_disc()
    photo = composite(truth, two_backgrounds())
    raw = blurry_model_mask(truth, 4)
    alpha, _ = refine_matte(photo, raw, (160, 160), foreground=False)
    raw_error = np.abs(raw - truth).sum()
    refined_error = np.abs(alpha - truth).sum()
    assert refined_error < 0.5 * raw_error, (refined_error, raw_error)


def test_fine_stripes_are_recovered_from_colour():
    truth = np.zeros((120, 120), np.float32)
    truth[20:100, 20:100] = 1.0
    truth[20:100, 100:110:2] = 1.0  # one-pixel strands sticking out
    photo = composite(truth, two_backgrounds(120))
    raw = blurry_model_mask(truth, 4)
    alpha, _ = refine_matte(photo, raw, (120, 120), foreground=False)
    strands = np.s_[30:90, 100:110]
    assert np.abs(alpha[strands] - truth[strands]).mean() < 0.6 * np.abs(raw[strands] - truth[strands]).mean()


def test_decontaminated_colours_match_the_true_foreground_in_the_band():
    truth = soft_disc()
    photo = composite(truth, two_backgrounds())
    alpha, foreground = refine_matte(photo, truth.copy(), (160, 160), foreground=True)
    band = (truth > 0.1) & (truth < 0.9)
    assert band.sum() > 100
    error = np.abs(foreground[band].astype(np.float32) - FG_COLOUR).mean()
    halo = np.abs(photo[band].astype(np.float32) - FG_COLOUR).mean()
    assert error < 0.25 * halo, (error, halo)
    assert (foreground[alpha >= 1.0] == photo[alpha >= 1.0]).all(), "opaque pixels keep their colour"


def test_estimate_foreground_inverts_the_compositing_equation():
    truth = soft_disc(64, 20, 4)
    background = two_backgrounds(64)
    photo = composite(truth, background).astype(np.float32) / 255
    fg, bg = estimate_foreground(photo, truth)
    recomposed = truth[..., None] * fg + (1 - truth[..., None]) * bg
    assert np.abs(recomposed - photo).max() < 0.05


def test_solver_failure_falls_back_to_the_guided_filter_and_says_so(caplog):
    truth = soft_disc()
    photo = composite(truth, two_backgrounds())
    raw = blurry_model_mask(truth, 4)
    settings = MattingSettings(max_iterations=1)
    with caplog.at_level(logging.WARNING):
        alpha, _ = refine_matte(photo, raw, (160, 160), foreground=False, settings=settings)
    assert "using the guided-filter estimate" in caplog.text
    assert np.isfinite(alpha).all() and alpha.min() >= 0 and alpha.max() <= 1
    assert np.abs(alpha - truth).sum() < np.abs(raw - truth).sum(), "the fallback still helps"


def test_closed_form_raises_when_it_cannot_converge():
    image = np.random.default_rng(0).random((30, 30, 3))
    trimap = np.full((30, 30), UNKNOWN, np.uint8)
    trimap[:, :3] = BACKGROUND
    trimap[:, -3:] = FOREGROUND
    with pytest.raises(SolverFailed):
        closed_form_alpha(image, trimap, np.full((30, 30), 0.5), max_iterations=1)


@pytest.mark.parametrize("fill", [0.0, 1.0])
def test_all_background_or_all_foreground_stays_so(fill):
    photo = np.full((40, 50, 3), 128, np.uint8)
    mask = np.full((40, 50), fill, np.float32)
    alpha, foreground = refine_matte(photo, mask, (20, 20))
    assert (alpha == fill).all() and foreground.shape == (40, 50, 3)


def test_no_band_at_all_returns_known_regions_exactly():
    trimap = np.full((20, 20), BACKGROUND, np.uint8)
    trimap[5:15, 5:15] = FOREGROUND
    alpha = closed_form_alpha(np.zeros((20, 20, 3)), trimap, np.zeros((20, 20)))
    assert (alpha == (trimap == FOREGROUND)).all()


def test_one_pixel_wide_band_and_tiny_images():
    trimap = np.full((9, 9), BACKGROUND, np.uint8)
    trimap[:, 5:] = FOREGROUND
    trimap[:, 4] = UNKNOWN
    image = np.zeros((9, 9, 3))
    image[:, 5:] = 1.0
    image[:, 4] = 0.25
    alpha = closed_form_alpha(image, trimap, np.full((9, 9), 0.5))
    assert alpha[2:7, 4] == pytest.approx(0.25, abs=0.05)
    for shape in [(1, 30), (2, 2), (30, 1)]:
        photo = np.zeros(shape + (3,), np.uint8)
        mask = np.full(shape, 0.5, np.float32)
        alpha, _ = refine_matte(photo, mask, (20, 20))
        assert alpha.shape == shape and np.isfinite(alpha).all()


def test_an_unsure_interior_does_not_stay_grey():
    truth = np.zeros((200, 200), np.float32)
    truth[20:180, 20:180] = 1.0
    photo = composite(truth, two_backgrounds(200))
    probability = truth * 0.4  # a subject the model is unsure about...
    probability[20:180, 20:60] = 0.99  # ...touching one it is sure about
    trimap = make_trimap(probability, (200, 200))
    assert trimap[5, 5] == BACKGROUND and trimap[100, 45] == FOREGROUND
    assert (trimap[30:170, 179] == UNKNOWN).all(), "the outline is a band"
    alpha, _ = refine_matte(photo, probability, (200, 200), foreground=False)
    assert alpha[40:160, 60:160].min() > 0.95, "decided by colour, not left at 0.4"
    assert alpha[:15].max() < 0.05


def test_large_images_are_solved_at_working_resolution_then_upsampled():
    truth = soft_disc(400, 120, 6)
    photo = composite(truth, two_backgrounds(400))
    raw = blurry_model_mask(truth, 4)
    settings = MattingSettings(work_side=200)
    alpha, fg = refine_matte(photo, raw, (100, 100), settings=settings)
    assert alpha.shape == (400, 400) and fg.shape == (400, 400, 3)
    assert np.abs(alpha - truth).sum() < 0.6 * np.abs(raw - truth).sum()


def test_a_subject_the_model_is_unsure_of_everywhere_is_not_erased():
    truth = soft_disc()
    photo = composite(truth, two_backgrounds())
    probability = blurry_model_mask(truth, 4) * 0.75  # peak 0.68: below the usual seed level
    alpha, _ = refine_matte(photo, probability, (160, 160), foreground=False)
    assert alpha[80, 80] > 0.95 and np.abs(alpha - truth).sum() < np.abs(probability - truth).sum()


def levin_laplacian_dense(image: np.ndarray, centres: list[tuple[int, int]], eps: float) -> np.ndarray:
    """The matting Laplacian written out from its definition, one 3x3 window at a time."""
    height, width = image.shape[:2]
    laplacian = np.zeros((height * width, height * width))
    for y, x in centres:
        pixels = [(y + dy) * width + (x + dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
        colours = image.reshape(-1, 3)[pixels].astype(np.float64)
        mean = colours.mean(axis=0)
        covariance = (colours - mean).T @ (colours - mean) / 9
        inverse = np.linalg.inv(covariance + eps / 9 * np.eye(3))
        for i, p in enumerate(pixels):
            for j, q in enumerate(pixels):
                affinity = (1 + (colours[i] - mean) @ inverse @ (colours[j] - mean)) / 9
                laplacian[p, q] += (i == j) - affinity
    return laplacian


def test_stencil_laplacian_equals_the_definition():
    from alphalift.matting.closed_form import matting_laplacian

    rng = np.random.default_rng(3)
    image = rng.random((7, 9, 3)).astype(np.float32)
    centres = [(1, 1), (1, 2), (2, 4), (3, 3), (5, 7), (4, 7)]
    flat_centres = np.array([y * 9 + x for y, x in centres])
    steps, values = matting_laplacian(image, flat_centres, 1e-5)
    stencil = np.zeros((63, 63))
    for step, row in zip(steps, values):
        for f in np.flatnonzero(row):
            stencil[f, f + step] = stencil[f + step, f] = row[f]
    np.testing.assert_allclose(stencil, levin_laplacian_dense(image, centres, 1e-5), atol=1e-9)
    assert np.allclose(stencil.sum(axis=1), 0.0)  # constants are in the null space


def test_tiled_guided_upsampling_equals_the_whole_image_fit():
    from alphalift.matting.guided_filter import guided_coefficients, guided_upsample_at
    from alphalift.matting.resample import sample

    rng = np.random.default_rng(4)
    guide, source = rng.random((150, 200, 3)).astype(np.float32), rng.random((150, 200)).astype(np.float32)
    rows, cols = np.nonzero(np.pad(np.ones((1, 380), bool), ((170, 129), (10, 10))))  # one line
    rows, cols = np.concatenate([rows, [0, 299]]), np.concatenate([cols, [0, 399]])  # and corners
    colours = rng.random((rows.size, 3)).astype(np.float32)
    a, b = guided_coefficients(guide, source, 2, 1e-4)
    whole = np.einsum("nc,nc->n", sample(a, rows, cols, (300, 400)), colours) + sample(b, rows, cols, (300, 400))
    tiled = guided_upsample_at(guide, source, rows, cols, colours, (300, 400), 2, 1e-4)
    np.testing.assert_allclose(tiled, whole, atol=1e-6)
