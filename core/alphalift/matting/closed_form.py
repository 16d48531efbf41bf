"""Closed-form matting (Levin, Lischinski and Weiss, 2008), solved on the unknown band only.

In each 3x3 window alpha is assumed affine in colour; that gives the matting Laplacian L, and the
matte minimises  a'La + lambda * |a - prior|^2  with the trimap's known pixels fixed. L is built
only from windows that touch the band, as a stencil: one value per pixel for each offset a window
can span, so building it is a few vectorised scatters and its size follows the band, not the
image. The band's system is solved by conjugate gradients with a Jacobi preconditioner. A small
pull towards the model's own probability (``prior_weight``) keeps the system well posed where the
band has no known pixel nearby and lets the network's opinion win where colours cannot decide.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import cg

from .trimap import FOREGROUND, UNKNOWN

BLOCK_WINDOWS = 1 << 16  # windows per batch while building L: bounds memory


def window_offsets(radius: int) -> np.ndarray:
    steps = range(-radius, radius + 1)
    return np.array([(dy, dx) for dy in steps for dx in steps])


class SolverFailed(RuntimeError):
    """Conjugate gradients did not converge; the caller falls back to a simpler estimate."""


def _window_centres(unknown: np.ndarray, radius: int) -> np.ndarray:
    """Flat indices of window centres whose window lies inside the image and meets the band."""
    size = 2 * radius + 1
    touched = ndimage.binary_dilation(unknown, structure=np.ones((size, size), bool))
    touched[:radius, :] = touched[-radius:, :] = False
    touched[:, :radius] = touched[:, -radius:] = False
    return np.flatnonzero(touched)


def matting_laplacian(image: np.ndarray, centres: np.ndarray, eps: float,
                      radius: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """The Laplacian of the given windows as the upper half of a stencil over the flat image.

    Returns (steps >= 0, values K x H*W) with L[f, f + steps[k]] = L[f + steps[k], f] =
    values[k, f]; L is symmetric, so the other half is not stored. Pixels no window covers have
    zero rows.
    """
    width = image.shape[1]
    colours = image.reshape(-1, 3).astype(np.float64)
    offsets = window_offsets(radius)
    flat_offsets = offsets[:, 0] * width + offsets[:, 1]
    n = len(flat_offsets)
    pair_steps = flat_offsets[None, :] - flat_offsets[:, None]  # [a, b]: from pixel a to pixel b
    steps = np.unique(pair_steps[pair_steps >= 0])
    # For each pixel a of a window: the pixels b at or after it, and the stencil row of each step.
    # Each step occurs once per a, so the scatters below never add twice to one place.
    pairs = [(a, later, np.searchsorted(steps, pair_steps[a, later]))
             for a in range(n) for later in [np.flatnonzero(pair_steps[a] >= 0)]]
    values = np.zeros((len(steps), colours.shape[0]))
    identity = np.eye(n)
    regulariser = (eps / n) * np.eye(3)
    for start in range(0, len(centres), BLOCK_WINDOWS):
        batch = centres[start:start + BLOCK_WINDOWS]
        pixels = batch[:, None] + flat_offsets[None, :]  # m x n
        win = colours[pixels]  # m x n x 3
        centred = win - win.mean(axis=1, keepdims=True)
        covariance = centred.transpose(0, 2, 1) @ centred / n + regulariser
        projected = centred @ np.linalg.inv(covariance)  # m x n x 3
        block = identity - (1.0 + projected @ centred.transpose(0, 2, 1)) / n  # m x n x n
        for a, later, rows in pairs:
            values[rows[:, None], pixels[None, :, a]] += block[:, a, later].T
    return steps, values


def _band_system(steps: np.ndarray, values: np.ndarray, band: np.ndarray,
                 known_alpha: np.ndarray) -> tuple[sparse.csr_matrix, np.ndarray]:
    """(L restricted to the band's pixels, -L_bk @ known alpha) from the half stencil."""
    size = values.shape[1]
    index = np.full(size, -1, np.int64)
    index[band] = np.arange(len(band))
    # Columns in ascending order: f - s for the largest s first, then f, then f + s.
    lower = [(-step, np.take(values[k], band - step, mode="clip"))
             for k, step in reversed(list(enumerate(steps))) if step > 0]
    upper = [(step, values[k, band]) for k, step in enumerate(steps)]
    offsets = np.array([step for step, _ in lower + upper])
    entries = np.stack([weights for _, weights in lower + upper], axis=1)  # band x slots
    neighbours = band[:, None] + offsets[None, :]
    entries[(neighbours < 0) | (neighbours >= size)] = 0.0
    neighbours = np.clip(neighbours, 0, size - 1)
    coupling = -np.einsum("bs,bs->b", entries, known_alpha[neighbours])
    columns = index[neighbours]
    keep = (columns >= 0) & (entries != 0.0)
    indptr = np.concatenate([[0], np.cumsum(keep.sum(axis=1))])
    system = sparse.csr_matrix((entries[keep], columns[keep], indptr), shape=(len(band), len(band)))
    return system, coupling


def closed_form_alpha(image: np.ndarray, trimap: np.ndarray, prior: np.ndarray,
                      eps: float = 1e-5, prior_weight: float | np.ndarray = 0.02,
                      max_iterations: int = 400, tolerance: float = 1e-4,
                      radius: int = 1, region: np.ndarray | None = None,
                      held: np.ndarray | None = None) -> np.ndarray:
    """Alpha (float32 HxW) with the trimap's known pixels fixed and the band solved.

    With ``region`` (bool HxW) only the band inside it is solved: the band outside keeps the
    alpha in ``held`` (an earlier solve of a system that differs only inside the region) and
    enters the solve as known values, so a local change costs a local solve.
    Raises SolverFailed if the solver does not converge within ``max_iterations``.
    """
    alpha = (trimap == FOREGROUND).astype(np.float64)
    unknown = trimap == UNKNOWN
    if region is not None:
        kept = unknown & ~region
        alpha[kept] = held[kept]
        unknown = unknown & region
    if not unknown.any():
        return alpha.astype(np.float32)
    centres = _window_centres(unknown, radius)
    if centres.size == 0:
        raise SolverFailed("the image is too small for the matting windows")
    steps, values = matting_laplacian(image, centres, eps, radius)
    covered = values[0] != 0.0  # steps[0] == 0: the diagonal
    flat = alpha.ravel()
    band = np.flatnonzero(unknown.ravel() & covered)
    laplacian, coupling = _band_system(steps, values, band, flat)
    prior_u = np.clip(prior.ravel()[band], 0.0, 1.0).astype(np.float32)
    weight_u = np.broadcast_to(np.asarray(prior_weight, np.float32), trimap.shape).ravel()[band]
    # Single precision halves the memory each iteration streams. Measured at 1920x1080: the same
    # iteration count, and a matte within 0.011 of double precision's (1e-5 on average).
    system = (laplacian + sparse.diags(weight_u, format="csr")).astype(np.float32)
    rhs = (coupling + weight_u * prior_u).astype(np.float32)
    jacobi = sparse.diags((1.0 / system.diagonal()).astype(np.float32))
    solution, info = cg(system, rhs, x0=prior_u, rtol=tolerance, maxiter=max_iterations, M=jacobi)
    if info != 0 or not np.all(np.isfinite(solution)):
        raise SolverFailed(f"conjugate gradients stopped without converging (info={info})")
    flat[band] = np.clip(solution, 0.0, 1.0)
    # Unknown pixels no window reached (1 px image border of a tiny image) keep the prior.
    missed = unknown.ravel() & ~covered
    flat[missed] = prior.ravel()[missed]
    return flat.reshape(trimap.shape).astype(np.float32)
