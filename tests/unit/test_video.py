"""The video sequence mode: the temporal method on arrays, then through the pipeline on the tiny
model. Synthetic shots with known alpha: a soft-edged red disc moving over a noisy, panning,
textured backdrop (fresh sensor noise every frame, as a camera gives)."""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("cv2")

from alphalift.video.sources import folder_frames, natural_key  # noqa: E402
from alphalift.video.temporal import TemporalFilter  # noqa: E402


def shot(frames: int = 10, size: tuple[int, int] = (128, 96), seed: int = 0, backdrop: int = 0,
         speed: float = 2.0, start: int = 0) -> tuple[list[np.ndarray], list[np.ndarray]]:
    """(frames HxWx3 uint8, true alphas HxW float32). ``backdrop`` picks one of two unlike scenes
    (a cut joins them); the disc moves ``speed`` px a frame, the backdrop pans 1 px a frame."""
    width, height = size
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:height, :width].astype(np.float32)
    images, truths = [], []
    for t in range(start, start + frames):
        cx, cy = width * 0.3 + speed * t, height / 2 + 4 * np.sin(t / 3)
        alpha = np.clip((height * 0.22 - np.hypot(x - cx, y - cy)) / 3.0 + 0.5, 0, 1)
        u = x + t  # panning
        if backdrop == 0:
            back = np.stack([40 + 25 * np.sin(u / 5) * np.cos(y / 7), 90 + 30 * np.sin(y / 4),
                             170 + 30 * np.cos(u / 6)], -1)
        else:
            back = np.stack([90 + 60 * ((u // 12 + y // 12) % 2), 160 + 40 * np.cos(u / 3),
                             60 + 50 * np.sin(y / 5)], -1)
        colour = alpha[..., None] * np.asarray([215, 45, 40], np.float32) + (1 - alpha[..., None]) * back
        noisy = colour + rng.normal(0, 7, colour.shape)
        images.append(np.clip(noisy + 0.5, 0, 255).astype(np.uint8))
        truths.append(alpha.astype(np.float32))
    return images, truths


def dtssd(alphas: list[np.ndarray], truths: list[np.ndarray]) -> float:
    """Erofeev et al.'s dtSSD: how far each frame's change departs from the truth's change."""
    return float(np.mean([np.sqrt((((a1 - a0) - (g1 - g0)) ** 2).sum())
                          for a0, a1, g0, g1 in zip(alphas, alphas[1:], truths, truths[1:])]))


def sad(alphas: list[np.ndarray], truths: list[np.ndarray]) -> float:
    return float(np.mean([np.abs(a - g).sum() for a, g in zip(alphas, truths)]))


def flickering_estimates(truths: list[np.ndarray], seed: int = 1) -> list[np.ndarray]:
    """What a per-frame model gives: the truth, blurred a little at the edge, with independent
    noise in every frame, strongest where the matte is uncertain."""
    rng = np.random.default_rng(seed)
    out = []
    for truth in truths:
        edge = 4 * truth * (1 - truth) + 0.1
        out.append(np.clip(truth + rng.normal(0, 0.15, truth.shape) * edge, 0, 1).astype(np.float32))
    return out


def test_method_on_arrays_follows_the_truths_change_much_closer_than_per_frame():
    images, truths = shot(12)
    estimates = flickering_estimates(truths)
    steady = TemporalFilter()
    result = [steady.alpha(image, steady.probability(image, estimate))
              for image, estimate in zip(images, estimates)]
    assert steady.cuts == 0
    assert dtssd(result, truths) < 0.93 * dtssd(estimates, truths)
    assert sad(result, truths) <= 1.02 * sad(estimates, truths), "steadier, not less accurate"


def test_a_cut_restarts_the_method_so_the_next_frame_owes_nothing_to_the_last_shot():
    first, _ = shot(5, backdrop=0)
    second, truths_b = shot(5, backdrop=1, seed=3, start=20)
    steady = TemporalFilter()
    estimates = flickering_estimates([np.zeros_like(truths_b[0])] * 5 + truths_b)
    results = [steady.probability(image, estimate)
               for image, estimate in zip(first + second, estimates)]
    assert steady.cuts == 1, "exactly one cut, at the join"
    assert np.array_equal(results[5], estimates[5]), "the first frame after the cut is its own"
    assert not np.array_equal(results[6], estimates[6]), "and the new shot is smoothed again"


def test_fast_motion_is_not_dragged_behind():
    """A disc jumping 12 px a frame: the result stays as accurate as the per-frame estimates."""
    images, truths = shot(10, speed=12.0, size=(192, 96))
    estimates = flickering_estimates(truths)
    steady = TemporalFilter()
    result = [steady.alpha(image, steady.probability(image, estimate))
              for image, estimate in zip(images, estimates)]
    assert sad(result, truths) <= 1.02 * sad(estimates, truths)


def test_backdrop_the_subject_just_uncovered_is_not_trusted_to_the_past():
    """Behind a disc moving 8 px a frame the previous frame held the disc, not this backdrop: the
    flow there fails its round trip (forward, then back), so the past matte carries no weight,
    while the backdrop the disc never touched stays trusted."""
    from alphalift.video.motion import MotionEstimator

    images, truths = shot(3, size=(192, 96), speed=8.0)
    estimator = MotionEstimator()
    estimator.step(images[1])
    motion = estimator.step(images[2])
    uncovered = (truths[1] > 0.9) & (truths[2] < 0.1)
    untouched = (truths[1] == 0) & (truths[2] == 0)
    assert motion.trust[uncovered].mean() < 0.3
    assert motion.trust[untouched].mean() > 0.5


def test_frames_are_read_in_natural_name_order(tmp_path):
    from PIL import Image

    for number in (10, 2, 1, 33, 3):
        Image.new("RGB", (8, 8)).save(tmp_path / f"frame_{number}.png")
    Image.new("RGB", (8, 8)).save(tmp_path / "frame_2-mask.png")  # an earlier run's output
    assert [p.name for p in folder_frames(tmp_path)] == [
        "frame_1.png", "frame_2.png", "frame_3.png", "frame_10.png", "frame_33.png"]
    assert sorted(["b_10", "a_2", "a_10", "A_3"], key=natural_key) == ["a_2", "A_3", "a_10", "b_10"]


def test_sequence_mode_through_the_pipeline_is_steadier_than_per_frame(tiny_home):
    from alphalift.pipeline import Remover
    from alphalift.video import SequenceRemover

    images, truths = shot(10)
    remover = Remover(download=False)
    results = {}
    for temporal in (False, True):
        runner = SequenceRemover(remover, model="tiny", temporal=temporal)
        results[temporal] = [runner.cut(image).mask for image in images]
    assert dtssd(results[True], truths) < 0.93 * dtssd(results[False], truths)
    assert sad(results[True], truths) <= 1.02 * sad(results[False], truths)
