"""Closed-form matting (Levin, Lischinski and Weiss, 2008), solved on the unknown band only.

In each 3x3 window alpha is assumed affine in colour; that gives the matting Laplacian L, and the
matte minimises  a'La + lambda * |a - prior|^2  with the trimap's known pixels fixed. The sparse
system is built only from windows that touch the band, so its size follows the band, not the image,
and is solved by conjugate gradients with a Jacobi preconditioner. A small pull towards the model's
own probability (``prior_weight``) keeps the system well posed where the band has no known pixel
nearby and lets the network's opinion win where colours cannot decide.
"""
from __future__ import annotations

import numpy as np
from scipy import ndimage, sparse
from scipy.sparse.linalg import cg

from .trimap import FOREGROUND, UNKNOWN

BLOCK_ENTRIES = 1 << 22  # Laplacian entries per batch while building L: bounds memory


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
                      radius: int = 1) -> tuple[sparse.csr_matrix, np.ndarray]:
    """Laplacian over the pixels the given windows cover; returns (L, covered flat indices)."""
    width = image.shape[1]
    colours = image.reshape(-1, 3).astype(np.float64)
    offsets = window_offsets(radius)
    flat_offsets = offsets[:, 0] * width + offsets[:, 1]
    n = len(flat_offsets)
    pixels = centres[:, None] + flat_offsets[None, :]  # windows x n
    covered, local = np.unique(pixels, return_inverse=True)
    local = local.reshape(pixels.shape).astype(np.int32)
    size = len(covered)
    identity = np.eye(n)
    regulariser = (eps / n) * np.eye(3)
    laplacian = sparse.csr_matrix((size, size))
    step = max(1, BLOCK_ENTRIES // (n * n))
    for start in range(0, len(centres), step):
        win = colours[pixels[start:start + step]]  # m x n x 3
        centred = win - win.mean(axis=1, keepdims=True)
        covariance = np.einsum("mki,mkj->mij", centred, centred) / n + regulariser
        projected = centred @ np.linalg.inv(covariance)  # m x n x 3
        block = identity - (1.0 + projected @ centred.transpose(0, 2, 1)) / n  # m x n x n
        index = local[start:start + step]
        rows = np.repeat(index, n, axis=1).ravel()
        cols = np.tile(index, (1, n)).ravel()
        laplacian = laplacian + sparse.coo_matrix((block.ravel(), (rows, cols)), shape=(size, size)).tocsr()
    return laplacian, covered


def closed_form_alpha(image: np.ndarray, trimap: np.ndarray, prior: np.ndarray,
                      eps: float = 1e-5, prior_weight: float | np.ndarray = 0.02,
                      max_iterations: int = 400, tolerance: float = 1e-4,
                      radius: int = 1) -> np.ndarray:
    """Alpha (float32 HxW) with the trimap's known pixels fixed and the band solved.

    Raises SolverFailed if the solver does not converge within ``max_iterations``.
    """
    alpha = (trimap == FOREGROUND).astype(np.float64)
    unknown = trimap == UNKNOWN
    if not unknown.any():
        return alpha.astype(np.float32)
    centres = _window_centres(unknown, radius)
    if centres.size == 0:
        raise SolverFailed("the image is too small for the matting windows")
    laplacian, covered = matting_laplacian(image, centres, eps, radius)
    is_unknown = unknown.ravel()[covered]
    u, k = np.flatnonzero(is_unknown), np.flatnonzero(~is_unknown)
    l_uu = laplacian[u][:, u]
    l_uk = laplacian[u][:, k]
    known_values = alpha.ravel()[covered[k]]
    prior_u = np.clip(prior.ravel()[covered[u]], 0.0, 1.0).astype(np.float64)
    weight_u = np.broadcast_to(np.asarray(prior_weight, np.float64), trimap.shape).ravel()[covered[u]]
    system = (l_uu + sparse.diags(weight_u)).tocsr()
    rhs = -(l_uk @ known_values) + weight_u * prior_u
    jacobi = sparse.diags(1.0 / system.diagonal())
    solution, info = cg(system, rhs, x0=prior_u, rtol=tolerance, maxiter=max_iterations, M=jacobi)
    if info != 0 or not np.all(np.isfinite(solution)):
        raise SolverFailed(f"conjugate gradients stopped without converging (info={info})")
    flat = alpha.ravel()
    flat[covered[u]] = np.clip(solution, 0.0, 1.0)
    # Unknown pixels no window reached (1 px image border of a tiny image) keep the prior.
    missed = unknown.ravel().copy()
    missed[covered[u]] = False
    flat[missed] = prior.ravel()[missed]
    return flat.reshape(trimap.shape).astype(np.float32)
