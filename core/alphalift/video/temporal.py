"""The temporal method: each frame's matte leans on the previous frame's, carried along the motion.

An image model's output flickers from frame to frame even where the subject did not change (sensor
noise, a moving backdrop, exposure drift), and the matting stage passes it on: hair shimmers and
regions blink. Each frame here blends its own estimate with the previous frame's *result*, warped
onto it by optical flow (motion.py), twice:

- the model's probability, before the trimap, so the subject region and its unknown band stop
  blinking;
- the final alpha, before the foreground colours, so the solver's small answers to noise settle.

The blend is a first-order recursive filter whose weight, per pixel, is the trust in the motion
(how well the warped previous frame explains this one) times how much the two estimates agree:
where the flow fails (occlusion, fast motion) or the matte truly changed, the frame's own estimate
wins at once. A cut (most of the frame unexplained) restarts the filter, so no stale matte is
dragged across. Only the previous frame's grey image, probability and alpha are kept.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .motion import Motion, MotionEstimator, MotionSettings


@dataclass(frozen=True)
class TemporalSettings:
    motion: MotionSettings = field(default_factory=MotionSettings)
    probability_history: float = 0.6  # weight of the past probability where fully trusted
    alpha_history: float = 0.3  # weight of the past alpha where fully trusted
    disagreement: float = 0.2  # estimates this far apart (in alpha) take nothing from the past


class TemporalFilter:
    """The pipeline's stage hooks for one shot, frames given in order (pipeline.StageHooks)."""

    def __init__(self, settings: TemporalSettings = TemporalSettings()) -> None:
        self.settings = settings
        self._motion_estimator = MotionEstimator(settings.motion)
        self._motion: Motion | None = None
        self._probability: np.ndarray | None = None
        self._alpha: np.ndarray | None = None
        self.frames = 0
        self.cuts = 0  # cuts found so far (frames where the filter restarted)

    def reset(self) -> None:
        """Forget the shot (the next frame starts a new one)."""
        self._motion_estimator.reset()
        self._motion = self._probability = self._alpha = None

    def probability(self, rgb: np.ndarray, probability: np.ndarray) -> np.ndarray:
        """A frame begins: find its motion, then steady the model's probability."""
        self.frames += 1
        self._motion = self._motion_estimator.step(rgb)
        if self._motion_estimator.last_cut:
            self.cuts += 1
        if self._motion is None:
            self._alpha = None
        steady = self._blend(probability, self._probability, self.settings.probability_history)
        self._probability = steady
        return steady

    def alpha(self, rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
        """Steady the frame's final alpha (full resolution), before its colours are estimated."""
        steady = self._blend(alpha, self._alpha, self.settings.alpha_history)
        self._alpha = steady
        return steady

    def _blend(self, current: np.ndarray, previous: np.ndarray | None, history: float) -> np.ndarray:
        current = current.astype(np.float32, copy=False)
        if self._motion is None or previous is None or previous.shape != current.shape:
            return current.copy()
        carried = self._motion.warp(previous)
        agreement = np.clip(1.0 - np.abs(carried - current) / self.settings.disagreement, 0.0, 1.0)
        weight = history * self._motion.trust * agreement
        return np.clip(current + weight * (carried - current), 0.0, 1.0).astype(np.float32)
