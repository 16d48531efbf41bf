"""A point run after a first run re-solves the matting stage only around the change
(matting/partial.py), and what it returns is what a fresh run with that point returns: no seam
where the re-solved part meets the kept one, the same colours; a full run is unchanged."""
from __future__ import annotations

import numpy as np
import pytest

from alphalift.pipeline import Remover
from alphalift.prompts import Prompt

# Wider than the matting stage's working resolution (1024 px), so the matte is solved smaller and
# guided-upsampled: every step of the stage takes part.
WIDTH, HEIGHT = 1280, 320
DISCS = ((260.0, 160.0, 110.0), (900.0, 150.0, 95.0), (1160.0, 230.0, 60.0))  # x, y, radius


def photo() -> np.ndarray:
    """Three furry red discs on a textured backdrop (fixed seed): soft, hair-like edges that the
    solver has to decide from the colours."""
    rng = np.random.default_rng(7)
    y, x = np.mgrid[:HEIGHT, :WIDTH].astype(np.float32)
    alpha = np.zeros((HEIGHT, WIDTH), np.float32)
    for cx, cy, radius in DISCS:
        angle = np.arctan2(y - cy, x - cx)
        fur = 0.12 * radius * np.abs(np.sin(9 * angle) * np.cos(23 * angle))  # tufts along the rim
        distance = np.hypot(x - cx, y - cy) - radius - fur
        alpha = np.maximum(alpha, np.clip(0.5 - distance / 6.0, 0.0, 1.0))
    backdrop = np.stack([15 + 10 * np.sin(x / 37.0), 50 + 20 * np.cos(y / 23.0),
                         200 + 25 * np.sin((x + y) / 51.0)], -1)
    backdrop += rng.normal(0, 3, backdrop.shape)
    subject = np.array([215, 35, 40], np.float32) + rng.normal(0, 4, (HEIGHT, WIDTH, 3))
    rgb = backdrop * (1 - alpha[..., None]) + subject * alpha[..., None]
    return np.clip(np.round(rgb), 0, 255).astype(np.uint8)


def uint8(mask: np.ndarray) -> np.ndarray:
    return np.round(mask * 255).astype(int)


@pytest.fixture
def solves(monkeypatch) -> list:
    """The share of the band each matting solve of this test solved."""
    import alphalift.matting.refine as refine

    shares: list[float] = []
    inner = refine.closed_form_alpha

    def recorded(image, trimap, *args, region=None, **kwargs):
        band = trimap == 128
        shares.append(1.0 if region is None else float((band & region).sum() / max(band.sum(), 1)))
        if region is not None:
            kwargs["region"] = region
        return inner(image, trimap, *args, **kwargs)

    monkeypatch.setattr(refine, "closed_form_alpha", recorded)
    return shares


SMALLEST = ((DISCS[2][0], DISCS[2][1]),)
BOX = (100, 20, 1270, 310)


@pytest.mark.parametrize("first, then", [
    (None, Prompt(exclude=SMALLEST)),
    (Prompt(box=BOX), Prompt(box=BOX, exclude=SMALLEST)),
], ids=["automatic-then-exclude", "box-then-exclude"])
def test_a_point_run_matches_a_fresh_run_everywhere(tiny_home, solves, first, then) -> None:
    rgb = photo()
    warm = Remover(backend="onnxruntime")
    warm.remove(rgb, model="tiny", prompt=first)
    again = warm.remove(rgb, model="tiny", prompt=then)
    fresh = Remover(backend="onnxruntime").remove(rgb, model="tiny", prompt=then)
    x, y, radius = (round(value) for value in DISCS[2])
    core = fresh.mask[y - radius // 2:y + radius // 2, x - radius // 2:x + radius // 2]
    assert core.max() < 0.05, "the excluded disc is gone"
    difference = np.abs(uint8(again.mask) - uint8(fresh.mask))
    assert difference.max() <= 2, f"{(difference > 2).sum()} pixels differ by more than 2/255"
    # Colours count where they show: under alpha 0 (in one run, 1e-5 in the other) they are moot.
    shown = (uint8(again.mask) > 0) | (uint8(fresh.mask) > 0)
    # Colours in semi-transparent pixels come from the compositing equation (divided by alpha), so
    # the solver tolerance in alpha shows a little larger there.
    assert np.abs(again.foreground.astype(int) - fresh.foreground)[shown].max() <= 6
    assert solves[0] == 1.0 and solves[1] < 0.5, "the point run solves only around the change"


def test_a_change_across_the_image_is_a_full_run(tiny_home, solves) -> None:
    """Excluding the largest disc changes the band far and wide: the run is a fresh one, byte
    for byte."""
    rgb = photo()
    point = Prompt(exclude=((DISCS[0][0], DISCS[0][1]), (DISCS[1][0], DISCS[1][1])))
    warm = Remover(backend="onnxruntime")
    warm.remove(rgb, model="tiny")
    again = warm.remove(rgb, model="tiny", prompt=point)
    fresh = Remover(backend="onnxruntime").remove(rgb, model="tiny", prompt=point)
    assert solves[:2] == [1.0, 1.0]
    assert np.array_equal(again.mask, fresh.mask)
    assert np.array_equal(again.foreground, fresh.foreground)


def test_the_automatic_run_is_the_plain_matting_stage(tiny_home) -> None:
    """A fresh Remover's automatic cut-out is refine_matte on the model's output, byte for byte."""
    from alphalift.matting import refine_matte
    from alphalift.models import ModelStore
    from alphalift.segment import segment

    rgb = photo()
    remover = Remover(backend="onnxruntime")
    spec = ModelStore().catalog.get("tiny")
    probability = segment(rgb, spec, remover.backend_for(spec))
    alpha, colours = refine_matte(rgb, probability, spec.input_size)
    first = remover.remove(rgb, model="tiny")
    assert np.array_equal(first.mask, alpha) and np.array_equal(first.foreground, colours)
