"""Where each pixel of a frame was in the frame before, and how far that can be trusted.

Dense optical flow (OpenCV's DIS) from the new frame back to the previous one, on one channel
(the shot's principal colour axis: colour_axis) at most ``flow_side`` pixels wide (flow is smooth;
a 4K frame costs what a 960 px one does). Trust per pixel is how well the warped previous frame
explains the new one: the residual after warping, with the exposure drift between the frames taken
out by one gain, measured against the frame's own noise level; times how well the flow survives a
round trip (back to the previous frame, then forward again): a pixel the subject just uncovered,
or one where a smooth backdrop lets the flow slide, can show a small colour residual yet fail the
round trip, so fast motion stays sharp. Where most of the frame is unexplained the previous frame
is no evidence at all (a cut, a flash, motion too fast for the flow), and the step says so by
returning no motion.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .deps import cv2_module


@dataclass(frozen=True)
class MotionSettings:
    flow_side: int = 960  # long side of the frames the flow is computed on
    finest_side: int = 480  # DIS's finest pyramid level is the coarsest still this wide: full
    # resolution for small frames (a 128 px shot needs every pixel), half from 960 px (as good on
    # the composited sequences, at a quarter of the cost)
    colour_axis: bool = True  # flow on the shot's principal colour axis (False: on luma)
    residual_window: int = 5  # the residual is averaged over this many pixels square
    noise_multiple: float = 3.0  # residuals this many times the frame's typical one lose trust
    residual_floor: float = 0.02  # ...but never below this (grey levels in [0, 1])
    cut_residual: float = 0.08  # a typical residual above this means the frames do not match
    cut_trusted: float = 0.35  # as does trust in less than this share of the frame
    consistency: float = 0.5  # forward-backward flow disagreement (px at flow size) that halves
    # trust; 0: no backward flow


@dataclass
class Motion:
    """The previous frame's pixel for each pixel of this one, and the trust in it (0..1)."""

    map_x: np.ndarray  # float32 HxW: x in the previous frame
    map_y: np.ndarray
    trust: np.ndarray  # float32 HxW

    def warp(self, values: np.ndarray) -> np.ndarray:
        """A map of the previous frame (float32 HxW) moved onto this frame."""
        cv2 = cv2_module()
        return cv2.remap(values.astype(np.float32, copy=False), self.map_x, self.map_y,
                         cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


LUMA = (np.asarray([0.299, 0.587, 0.114], np.float32), np.full(3, 128.0, np.float32))  # Y' itself


def colour_axis(rgb: np.ndarray, samples: int = 20000) -> tuple[np.ndarray, np.ndarray]:
    """The frame's principal colour direction (unit RGB vector) and mean colour.

    The flow reads one channel. Luma alone misses a subject that differs from its backdrop in hue
    more than in brightness (red on blue can have the same luma); the direction along which the
    shot's colours vary most keeps whichever contrast the frame has (usually close to luma)."""
    pixels = rgb.reshape(-1, 3)
    step = max(1, len(pixels) // samples)
    sample = pixels[::step].astype(np.float32)
    mean = sample.mean(0)
    _, vectors = np.linalg.eigh(np.cov((sample - mean).T) + np.eye(3, dtype=np.float32) * 1e-3)
    axis = vectors[:, -1].astype(np.float32)
    if axis.sum() < 0:  # brighter reads brighter, as in luma
        axis = -axis
    return axis, mean.astype(np.float32)


def project(rgb: np.ndarray, axis: np.ndarray, mean: np.ndarray) -> np.ndarray:
    """uint8 HxW: the frame's colours along ``axis``, centred on ``mean``."""
    values = (rgb.astype(np.float32) - mean) @ axis + 128.0
    return np.clip(values + 0.5, 0, 255).astype(np.uint8)


class MotionEstimator:
    """Keeps the previous frame (small and grey: memory does not grow with the shot)."""

    def __init__(self, settings: MotionSettings = MotionSettings()) -> None:
        cv2 = cv2_module()
        self.settings = settings
        self._flow = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)
        self._previous: np.ndarray | None = None
        self._axis: tuple[np.ndarray, np.ndarray] = (np.ones(3, np.float32) / np.sqrt(3), np.zeros(3, np.float32))
        self._size: tuple[int, int] | None = None
        self.last_cut = False  # whether the latest step found the frames unrelated

    def reset(self) -> None:
        self._previous, self._size = None, None

    def step(self, rgb: np.ndarray) -> Motion | None:
        """Motion from the previous frame to ``rgb``; None for a first frame or after a cut."""
        cv2 = cv2_module()
        height, width = rgb.shape[:2]
        scale = min(1.0, self.settings.flow_side / max(height, width))
        small_size = (max(8, round(width * scale)), max(8, round(height * scale)))
        small_rgb = rgb if small_size == (width, height) else cv2.resize(
            rgb, small_size, interpolation=cv2.INTER_AREA)
        same_shape = self._size == (width, height)
        self._size = (width, height)
        self.last_cut = False
        if self._previous is None or not same_shape:
            self._start(small_rgb)
            return None
        self._flow.setFinestScale(int(max(0, np.floor(np.log2(max(small_size) / self.settings.finest_side)))))
        small = project(small_rgb, *self._axis)
        previous, self._previous = self._previous, small
        flow = self._flow.calc(small, previous, None)
        trust_small, cut = self._trust(small, previous, flow)
        if self.settings.consistency > 0 and not cut:
            trust_small *= self._consistency(flow, self._flow.calc(previous, small, None))
        if cut:
            self.last_cut = True
            self._start(small_rgb)  # the new shot's own colours
            return None
        return self._full_size(flow, trust_small, (width, height))

    def _start(self, small_rgb: np.ndarray) -> None:
        """A shot begins: the colour axis the flow reads for the rest of it (kept fixed, so two
        frames are always compared in the same terms)."""
        self._axis = colour_axis(small_rgb) if self.settings.colour_axis else LUMA
        self._previous = project(small_rgb, *self._axis)

    def _trust(self, frame: np.ndarray, previous: np.ndarray, flow: np.ndarray) -> tuple[np.ndarray, bool]:
        cv2 = cv2_module()
        height, width = frame.shape
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        map_x, map_y = grid_x + flow[..., 0], grid_y + flow[..., 1]
        warped = cv2.remap(previous.astype(np.float32), map_x, map_y, cv2.INTER_LINEAR,
                           borderMode=cv2.BORDER_REPLICATE) / 255.0
        current = frame.astype(np.float32) / 255.0
        gain = float(current.mean()) / max(float(warped.mean()), 1e-6)  # exposure drift
        size = self.settings.residual_window
        residual = cv2.blur(np.abs(current - gain * warped), (size, size))
        typical = float(np.median(residual[::3, ::3]))  # a ninth of the pixels says as much
        scale = max(self.settings.noise_multiple * typical, self.settings.residual_floor)
        trust = np.exp(-((residual / scale) ** 2)).astype(np.float32)
        outside = (map_x < 0) | (map_x > width - 1) | (map_y < 0) | (map_y > height - 1)
        trust[outside] = 0.0
        cut = typical > self.settings.cut_residual or float(trust.mean()) < self.settings.cut_trusted
        return trust, cut

    def _consistency(self, flow: np.ndarray, backward: np.ndarray) -> np.ndarray:
        """Trust from the round trip: a pixel carried back by ``flow`` and forth again by
        ``backward`` should land where it started; occluded or mismatched pixels do not."""
        cv2 = cv2_module()
        height, width = flow.shape[:2]
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        there = cv2.remap(backward, grid_x + flow[..., 0], grid_y + flow[..., 1], cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)
        error = np.hypot(flow[..., 0] + there[..., 0], flow[..., 1] + there[..., 1])
        return np.exp(-np.log(2.0) * (error / self.settings.consistency) ** 2).astype(np.float32)

    @staticmethod
    def _full_size(flow: np.ndarray, trust: np.ndarray, size: tuple[int, int]) -> Motion:
        cv2 = cv2_module()
        width, height = size
        small_h, small_w = trust.shape
        if (small_w, small_h) != size:
            flow = cv2.resize(flow, size, interpolation=cv2.INTER_LINEAR)
            flow[..., 0] *= width / small_w
            flow[..., 1] *= height / small_h
            trust = cv2.resize(trust, size, interpolation=cv2.INTER_LINEAR)
        grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        return Motion(grid_x + flow[..., 0], grid_y + flow[..., 1], np.clip(trust, 0.0, 1.0))
