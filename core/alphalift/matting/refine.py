"""The matting stage's order of work, and the resolution each step runs at.

The band is solved at a working resolution (the photo's own up to ``work_side`` pixels on the long
side), because a 1024 px model mask carries no finer information and the sparse solve grows with
the band. Larger photos get their alpha from the working-resolution matte by fast guided
upsampling, which restores strand-level detail from the full-resolution colours.

A later run on the same pixels (a point moved) redoes the cheap global steps (trimap, weights,
colours) on the whole image and the costly local ones (solve, upsampling) only where those
changed: partial.py says where.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from .closed_form import SolverFailed, closed_form_alpha
from .foreground import estimate_foreground, recover_foreground
from .guided_filter import guided_filter, guided_upsample_at
from .partial import Refined, solve_region, upsample_region
from .resample import sample
from .trimap import BACKGROUND, FOREGROUND, UNKNOWN, TrimapSettings, band_radius, make_trimap_and_doubts

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MattingSettings:
    trimap: TrimapSettings = field(default_factory=TrimapSettings)
    work_side: int = 1024
    eps: float = 1e-5
    prior_weight: float = 0.001
    confident_weight: float = 0.01
    confidence_power: float = 8.0
    max_iterations: int = 400
    # A re-solve of part of the band (partial.py) stops nearer the exact matte than a whole run
    # does: measured against fresh runs, it halves the pixels off by more than 2/255 at the same cost.
    partial_tolerance: float = 3e-5
    window_radius: int = 1
    upsample_radius: int = 2
    upsample_eps: float = 1e-4
    colour_side: int = 512  # long side at which foreground/background colours are estimated
    snap_low: float = 0.1  # alpha below this becomes 0, above snap_high 1, linear in between:
    snap_high: float = 1.0  # removes the solver's faint residue over wide bands


def _resize(values: np.ndarray, size: tuple[int, int], resample=Image.BILINEAR) -> np.ndarray:
    if values.ndim == 3:
        return np.asarray(Image.fromarray(values).resize(size, resample))
    return np.asarray(Image.fromarray(values.astype(np.float32), "F").resize(size, resample))


def fallback_alpha(image: np.ndarray, trimap: np.ndarray, prior: np.ndarray, radius: int) -> np.ndarray:
    """The stated simpler estimate: the model's probability, guided-filtered by the photo."""
    alpha = np.clip(guided_filter(image, prior, max(radius, 1), 1e-3), 0.0, 1.0)
    return snap_known(alpha, trimap)


def snap_known(alpha: np.ndarray, trimap: np.ndarray) -> np.ndarray:
    alpha = alpha.astype(np.float32, copy=True)
    alpha[trimap == FOREGROUND] = 1.0
    alpha[trimap == BACKGROUND] = 0.0
    return alpha


def _foreground(work_image: np.ndarray, work_alpha: np.ndarray, rgb: np.ndarray,
                alpha: np.ndarray, colour_side: int) -> np.ndarray:
    """Foreground colours (uint8 HxWx3) at the photo's resolution.

    Smooth F and B are estimated at up to ``colour_side`` pixels (colours vary slowly); F is then
    solved exactly from the compositing equation, only where the matte is semi-transparent.
    """
    height, width = work_alpha.shape
    scale = min(1.0, colour_side / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if scale < 1.0:
        work_image = np.dstack([_resize(work_image[..., c], size) for c in range(3)])
        work_alpha = np.clip(_resize(work_alpha, size), 0, 1)
    fg_small, bg_small = estimate_foreground(work_image, work_alpha)
    fg = rgb.copy()
    rows, cols = np.nonzero((alpha > 0.0) & (alpha < 1.0))
    if rows.size:
        colours = rgb[rows, cols].astype(np.float32) / 255.0
        estimate = recover_foreground(colours, alpha[rows, cols],
                                      sample(bg_small, rows, cols, alpha.shape),
                                      sample(fg_small, rows, cols, alpha.shape))
        fg[rows, cols] = np.round(estimate * 255.0).astype(np.uint8)
    return fg


def refine_matte(rgb: np.ndarray, probability: np.ndarray, model_size: tuple[int, int],
                 foreground: bool = True, colour: np.ndarray | None = None,
                 settings: MattingSettings = MattingSettings(),
                 adjust_alpha: Callable[[np.ndarray], np.ndarray] | None = None,
                 ) -> tuple[np.ndarray, np.ndarray]:
    """(alpha float32 HxW, foreground uint8 HxWx3) for an HxWx3 uint8 photo and its probability.

    ``colour`` is what the foreground falls back to where alpha is 1 (the user's own pixels).
    ``adjust_alpha`` sees the full-resolution alpha before the colours are estimated from it (the
    video sequence mode steadies it there).
    """
    run = refine_again(rgb, probability, model_size, None, foreground, colour, settings, adjust_alpha)
    return run.alpha, run.colours


def refine_again(rgb: np.ndarray, probability: np.ndarray, model_size: tuple[int, int],
                 previous: Refined | None, foreground: bool = True, colour: np.ndarray | None = None,
                 settings: MattingSettings = MattingSettings(),
                 adjust_alpha: Callable[[np.ndarray], np.ndarray] | None = None,
                 margin: int | None = None) -> Refined:
    """refine_matte's run, remembered. Given the ``previous`` run on the same pixels (and colour,
    settings and model size), the band is solved and upsampled again only where the trimap, the
    weights or the probability changed, ``margin`` working pixels around (default: eight band
    widths); a change that reaches half the band makes it a whole run.
    """
    colour = rgb if colour is None else colour
    height, width = probability.shape
    scale = min(1.0, settings.work_side / max(height, width))
    work_size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = scale < 1.0
    if previous is not None and (adjust_alpha is not None or not previous.exact):
        previous = None
    if previous is not None:
        image = previous.work_image  # the same pixels: no need to resize them again
    else:
        work_rgb = _resize(rgb, work_size) if small else rgb
        image = work_rgb.astype(np.float32) / 255.0
    work_prob = np.clip(_resize(probability, work_size), 0, 1) if small else probability

    trimap, doubts = make_trimap_and_doubts(work_prob, model_size, settings.trimap, image)
    # Trust the model where it is confident, unless the colours doubt it; let colours decide
    # where it hesitates.
    confidence = np.abs(2.0 * work_prob - 1.0) ** settings.confidence_power
    weights = settings.prior_weight + settings.confident_weight * confidence * ~doubts
    region = None
    if previous is not None:
        if margin is None:
            margin = 8 * band_radius(trimap.shape, model_size, settings.trimap)
        region = solve_region(previous, trimap, weights, work_prob, margin)
        if region is None:
            previous = None
    exact = True
    partial = {} if region is None else \
        {"region": region, "held": previous.solved, "tolerance": settings.partial_tolerance}
    try:
        solved = closed_form_alpha(image, trimap, work_prob, settings.eps, weights,
                                   settings.max_iterations, radius=settings.window_radius, **partial)
    except SolverFailed as exc:
        if region is not None:  # the whole band may still converge
            return refine_again(rgb, probability, model_size, None, foreground, colour, settings)
        log.warning("matting solver failed (%s); using the guided-filter estimate", exc)
        radius = band_radius(trimap.shape, model_size, settings.trimap)
        solved = fallback_alpha(image, trimap, work_prob, radius)
        exact = False

    alpha = solved
    if settings.snap_low > 0.0 or settings.snap_high < 1.0:
        alpha = np.clip((alpha - settings.snap_low) / (settings.snap_high - settings.snap_low), 0.0, 1.0)

    if small:
        full_trimap = _resize(trimap, (width, height), Image.NEAREST)
        work_alpha = alpha
        if previous is None:
            alpha = (full_trimap == FOREGROUND).astype(np.float32)
            redo = full_trimap == UNKNOWN
        else:
            # A pixel's upsampled alpha reads the working alpha within two box radii of it.
            reach = 2 * settings.upsample_radius + 1
            redo = upsample_region(previous, trimap, work_alpha, (height, width), reach)
            alpha = previous.alpha.copy()
            alpha[redo] = full_trimap[redo] == FOREGROUND
            redo &= full_trimap == UNKNOWN
        rows, cols = np.nonzero(redo)
        colours = rgb[rows, cols].astype(np.float32) / 255.0
        alpha[rows, cols] = np.clip(guided_upsample_at(
            image, work_alpha, rows, cols, colours, (height, width), settings.upsample_radius,
            settings.upsample_eps), 0.0, 1.0)
    else:
        work_alpha = alpha
    alpha = alpha.astype(np.float32, copy=False)
    if adjust_alpha is not None:
        alpha = adjust_alpha(alpha).astype(np.float32, copy=False)
        work_alpha = work_alpha if small else alpha
    if not foreground:
        fg = colour
    else:
        fg = _foreground(image, work_alpha, rgb, alpha, settings.colour_side)
        opaque = alpha >= 1.0
        fg[opaque] = colour[opaque]
    return Refined(probability, alpha, fg, image, work_prob, trimap, weights, solved, work_alpha, exact)
