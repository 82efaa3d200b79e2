"""Matrix views, robust thin SVD, the rank-truncation rule and the basis-stability measures
(docs/methods/oialr.md#method).

Every weight with at least two dimensions is viewed as a 2-D matrix (C_out, rest): a Linear weight as is, a
conv kernel (C_out, C_in, *k) as (C_out, C_in * prod(k)). The "tall" orientation transposes it when it has
fewer rows than columns, so the working matrix is m x n with m >= n and every SVD is the thin SVD of that tall
matrix.
"""

from __future__ import annotations

import math

import torch


def as_matrix(weight: torch.Tensor) -> torch.Tensor:
    """The 2-D view (C_out, rest) of a weight with at least two dimensions."""
    if weight.dim() < 2:
        raise ValueError(
            f"a weight needs at least two dimensions to be a matrix, got shape {tuple(weight.shape)}"
        )
    return weight.reshape(weight.shape[0], -1)


def tall(matrix: torch.Tensor) -> tuple[torch.Tensor, bool]:
    """``(tall_matrix, transposed)``: the matrix, transposed when it has fewer rows than columns."""
    transposed = matrix.shape[0] < matrix.shape[1]
    return (matrix.T if transposed else matrix), transposed


def thin_svd(matrix: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Thin SVD ``U (m, k), S (k,), Vh (k, n)`` in float32, k = min(m, n).

    Repeated or zero singular values are fine (the forward SVD has no division by their gaps); LAPACK's
    divide-and-conquer driver can fail to converge on badly scaled float32 input, so a failure is retried in
    float64. A matrix with NaN or inf entries is a ``ValueError`` (the caller decides to skip it).
    """
    work = matrix.detach().float()
    if not bool(torch.isfinite(work).all()):
        raise ValueError("matrix has NaN or inf entries")
    try:
        u, s, vh = torch.linalg.svd(work, full_matrices=False)
    except RuntimeError:  # torch.linalg.LinAlgError is a RuntimeError
        u, s, vh = (t.float() for t in torch.linalg.svd(work.double(), full_matrices=False))
    return u, s, vh


def polar_factor(weight: torch.Tensor) -> torch.Tensor:
    """Q = U Vh of the tall 2-D view (m x n): the orthogonal polar factor, free of the SVD's sign ambiguity.

    Flipping the sign of a singular pair (u_i, v_i) leaves u_i v_i^T unchanged, so Q does not depend on it.
    """
    u, _, vh = thin_svd(tall(as_matrix(weight))[0])
    return u @ vh  # (m, n)


def r_factor(weight: torch.Tensor) -> torch.Tensor:
    """R (n x n) of the QR decomposition of the tall 2-D view, rows signed so that diag(R) >= 0 (unique
    then)."""
    work = tall(as_matrix(weight))[0].detach().float()
    r = torch.linalg.qr(work, mode="r").R  # (n, n)
    signs = torch.where(torch.diagonal(r) < 0, -1.0, 1.0)
    return r * signs[:, None]  # flipping a row of R with the matching column of Q keeps W = Q R


def column_cosine_stability(q_prev: torch.Tensor, q_now: torch.Tensor, absolute: bool = False) -> float:
    """Mean over columns j of cos(Q_prev[:, j], Q_now[:, j]) (the authors' signed definition;
    docs/methods/oialr.md#basis-stability).

    Args:
        q_prev, q_now: polar factors (m, n) of the same layer at two snapshots.
        absolute: take |cos| per column first (an alternative definition; not the authors' default).
    """
    if q_prev.shape != q_now.shape:
        raise ValueError(f"snapshots of different shapes {tuple(q_prev.shape)} and {tuple(q_now.shape)}")
    cos = torch.nn.functional.cosine_similarity(q_prev.float(), q_now.float(), dim=0, eps=1e-12)  # (n,)
    return float((cos.abs() if absolute else cos).mean())


STABILITY_DEFINITIONS = {
    "column_cosine": lambda a, b: column_cosine_stability(a, b),
    "abs_column_cosine": lambda a, b: column_cosine_stability(a, b, absolute=True),
}


def r_similarity(r_prev: torch.Tensor, r_now: torch.Tensor) -> float:
    """1 - mean_i ||R_now[i] - R_prev[i]|| / mean_i ||R_prev[i]|| (definition inferred;
    docs/methods/oialr.md#r-matrix-similarity).

    The row-to-row Euclidean distances are the diagonal of ``cdist(R_prev, R_now)``; dividing by the mean row
    norm makes the value scale-free, 1 for identical R, and near 0 or below for unrelated matrices.
    """
    distance = torch.linalg.vector_norm(r_now.float() - r_prev.float(), dim=1).mean()
    scale = torch.linalg.vector_norm(r_prev.float(), dim=1).mean()
    if scale == 0:
        return math.nan
    return float(1.0 - distance / scale)


def truncation_rank(singular_values: torch.Tensor, k_prev: int, beta: float, min_dim: int) -> int:
    """New rank after a stability check (authors' rule, docs/methods/oialr.md#the-oialr-algorithm;
    never grows).

    Args:
        singular_values: S (k_prev,), descending.
        k_prev: current rank.
        beta: sigma_cutoff_fraction; values below ``beta * S[0]`` are cut.
        min_dim: floor, ``floor(0.01 * n)`` for the layer's smaller dimension n.

    Returns:
        k_prev when no value is below the cutoff; half of k_prev (at most a 50 % cut per check) when the first
        value below the cutoff, z, is under half and half is above the floor; the floor when z is below it;
        else z.
    """
    below = singular_values < beta * singular_values[0]
    if not bool(below.any()):
        return k_prev
    z = int(torch.nonzero(below)[0, 0])
    if z < 0.5 * k_prev and 0.5 * k_prev > min_dim:
        k_new = int(math.floor(0.5 * k_prev))
    elif z < min_dim:
        k_new = min_dim
    else:
        k_new = z
    return max(1, min(k_new, k_prev))
