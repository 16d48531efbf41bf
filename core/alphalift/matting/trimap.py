"""Trimap from a segmentation probability: sure foreground, sure background, unknown band.

The subject region is found by hysteresis (pixels above ``low`` connected to pixels above
``high``), so an interior the model is merely unsure about (a pot, a sweater, a second flower)
joins the subject instead of staying grey. The unknown band straddles that region's outline; its
width follows how blurry the mask is at this resolution (a 1024 px model output upscaled to
4000 px is four times blurrier), and widens where the model itself is uncertain near the edge.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

BACKGROUND, UNKNOWN, FOREGROUND = 0, 128, 255


@dataclass(frozen=True)
class TrimapSettings:
    low: float = 0.02  # hysteresis: weakest probability that can still belong to the subject
    high: float = 0.8  # hysteresis: seeds the model is confident about
    band_model_px: float = 6.0  # width of the band outside the outline, in model-resolution pixels
    inner_band: float = 1.0  # width of the band inside the outline, as a fraction of the outer one
    min_band_px: int = 2
    uncertain_low: float = 0.05
    uncertain_high: float = 0.99
    colour_reach: float = 24.0  # inside pixels this many band-widths deep that look like the
    # nearby background (closer to its mean colour than to the subject's) stay unknown
    uncertain_reach: float = 3.0  # uncertain pixels outside the outline, this many band-widths
    # from it, stay unknown: where the model hesitates, hair and fur usually reach further


def band_radius(shape: tuple[int, int], model_size: tuple[int, int], settings: TrimapSettings) -> int:
    """Band half-width in pixels of ``shape``: model pixels scaled to this resolution."""
    scale = max(shape[0] / model_size[1], shape[1] / model_size[0])
    return max(settings.min_band_px, int(round(settings.band_model_px * max(scale, 1.0))))


def subject_region(probability: np.ndarray, settings: TrimapSettings) -> np.ndarray:
    """Hysteresis threshold: components above ``low`` that contain a pixel above ``high``
    (or near the image's peak probability, when even that is below ``high``)."""
    candidate = probability > settings.low
    labels, count = ndimage.label(candidate)
    if count == 0:
        return candidate
    # A subject the model is less sure of (its peak below ``high``) still seeds from its peak.
    seed_level = min(settings.high, 0.9 * float(probability.max()))
    seeded = np.zeros(count + 1, dtype=bool)
    seeded[np.unique(labels[probability >= seed_level])] = True
    seeded[0] = False
    return seeded[labels]


def make_trimap(probability: np.ndarray, model_size: tuple[int, int],
                settings: TrimapSettings = TrimapSettings(),
                image: np.ndarray | None = None) -> np.ndarray:
    """uint8 HxW trimap (0 background, 128 unknown, 255 foreground) from a soft mask."""
    return make_trimap_and_doubts(probability, model_size, settings, image)[0]


def make_trimap_and_doubts(probability: np.ndarray, model_size: tuple[int, int],
                           settings: TrimapSettings = TrimapSettings(),
                           image: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The trimap, and the pixels the model called subject that the photo's colours doubt."""
    region = subject_region(probability, settings)
    radius = band_radius(probability.shape, model_size, settings)
    # Distance to the region's outline, inside and outside, in pixels.
    inside = ndimage.distance_transform_edt(region)
    outside = ndimage.distance_transform_edt(~region)
    distance = np.where(region, inside, outside)
    trimap = np.where(region, FOREGROUND, BACKGROUND).astype(np.uint8)
    # A thin subject keeps a core of sure foreground for the solver to propagate from.
    inner = max(1.0, min(settings.inner_band * radius, 0.5 * float(inside.max())))
    uncertain = (probability > settings.uncertain_low) & (probability < settings.uncertain_high)
    reach = settings.uncertain_reach * radius
    band = np.where(region, distance <= inner, distance <= radius) | (uncertain & (distance <= reach))
    doubts = np.zeros_like(band)
    if settings.colour_reach > 0 and image is not None:
        deep = region & (distance <= settings.colour_reach * radius) & ~band
        doubts = deep & _looks_like_background(image, region, band, int(settings.colour_reach * radius))
        band |= doubts
    trimap[band] = UNKNOWN
    return trimap, doubts


def _looks_like_background(image: np.ndarray, region: np.ndarray, band: np.ndarray,
                           radius: int) -> np.ndarray:
    """Pixels whose colour is nearer the local background mean than the local subject mean.

    The means span hundreds of pixels, so they are taken on a grid ``step`` times coarser (a step
    is 1/32 of the radius) and spread back: the same answer at a fraction of the filtering.
    """
    step = max(1, radius // 32)
    size = 2 * (radius // step) + 1
    coarse = image[::step, ::step]

    def local_mean(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mask = mask[::step, ::step]
        weight = ndimage.uniform_filter(mask.astype(np.float32), size)
        total = np.dstack([ndimage.uniform_filter(coarse[..., c] * mask, size) for c in range(3)])
        mean = total / np.maximum(weight, 1e-6)[..., None]
        return _spread(mean, step, image.shape[:2]), _spread(weight, step, image.shape[:2])

    bg_mean, bg_weight = local_mean(~region & ~band)
    fg_mean, _ = local_mean(region & ~band)
    closer = ((image - bg_mean) ** 2).sum(-1) < ((image - fg_mean) ** 2).sum(-1)
    return closer & (bg_weight > 0.01)


def _spread(values: np.ndarray, step: int, shape: tuple[int, int]) -> np.ndarray:
    """Each coarse value repeated over the ``step`` x ``step`` pixels it stands for."""
    if step == 1:
        return values
    return np.repeat(np.repeat(values, step, axis=0), step, axis=1)[: shape[0], : shape[1]]
