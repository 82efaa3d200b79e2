"""The combination of k directional derivatives into one forward gradient (fg paper, arXiv 2410.17764).

For a function with gradient g = grad f in R^n and tangents V = [v_1..v_k] (rows of a ``(k, n)`` tensor), the
directional derivatives (JVPs) are d = V g. A *combination* turns (V, d) into an estimate of g
(docs/methods/fg.md#combining-several-tangents); :data:`COMBINATIONS` names the three the experiments use:

* ``sum``: sum_i d_i v_i = V^T d;
* ``mean``: (1/k) V^T d (k = 1: the classic forward gradient (g.v) v, unbiased for Gaussian tangents);
* ``orthogonal_projection`` (the paper's "frog"): V^T (V V^T)^{-1} d = P_U(g), the orthogonal projection of g
  onto the span U of the tangents. It is computed from d alone, never from g: with V^T = Q R (reduced QR), d = R^T
  Q^T g, so Q^T g = R^{-T} d and P_U g = Q Q^T g = Q R^{-T} d (``gram_solver="qr"``: one triangular solve; accurate
  for ill-conditioned but independent tangents). The default ``gram_solver="svd"`` is rank-revealing: it rescales
  every tangent to unit length (the projection does not depend on tangent lengths), takes the SVD V = A S B^T and
  keeps only the directions with S_i > 1e-6 S_max (float64: 1e-12), so P_U g = B_r S_r^{-1} A_r^T d stays a finite
  projection for duplicated, zero or nearly dependent tangents, where QR, Cholesky and the inverse return NaN or a
  vector longer than g. ``gram_solver="cholesky"`` solves with the Gram matrix G = V V^T instead, and
  ``gram_solver="inverse"`` mimics the authors' code (explicit inverse of G, no regularisation; loses accuracy when
  k is close to n). With k > n the tangents cannot be independent; the first n are used (the result is exact).

Both the training estimator (:mod:`alttrain.methods.forward_gradient`) and the closed-form sweeps and
approximation-quality study (:mod:`alttrain.fg_math`) import it from here. Only torch; no other alttrain import.
"""

from __future__ import annotations

import math

import torch

COMBINATIONS = ("sum", "mean", "orthogonal_projection")
GRAM_SOLVERS = ("svd", "qr", "cholesky", "inverse")


def combine(
    tangents: torch.Tensor, jvps: torch.Tensor, combination: str, *, gram_solver: str = "svd"
) -> torch.Tensor:
    """Combine k directional derivatives into one gradient estimate.

    Args:
        tangents: ``(k, n)`` (or ``(*batch, k, n)``), one tangent per row.
        jvps: directional derivatives ``(k,)`` or one column per sample ``(k, b)`` (with the same leading
            batch shape as ``tangents``).
        combination: ``sum``, ``mean`` or ``orthogonal_projection`` (:data:`COMBINATIONS`).
        gram_solver: how the projection solves its k x k system: ``svd`` (default, rank-revealing), ``qr``,
            ``cholesky`` or ``inverse``.

    Returns:
        ``(n,)`` for vector ``jvps``, ``(b, n)`` for per-sample ``jvps`` (leading batch shape kept).
    """
    if combination not in COMBINATIONS:
        raise ValueError(f"unknown combination {combination!r}; known: {', '.join(COMBINATIONS)}")
    k, n = tangents.shape[-2:]
    per_sample = jvps.dim() == tangents.dim()
    d = jvps if per_sample else jvps.unsqueeze(-1)  # (..., k, b)
    if d.shape[-2] != k:
        raise ValueError(f"jvps have {d.shape[-2]} directional derivatives for {k} tangents")
    if combination == "orthogonal_projection":
        estimate = _project(tangents, d, gram_solver)  # (..., n, b)
    else:
        scale = 1.0 / k if combination == "mean" else 1.0
        estimate = tangents.transpose(-1, -2) @ (d * scale)  # (..., n, b)
    estimate = estimate.transpose(-1, -2)  # (..., b, n)
    return estimate if per_sample else estimate.squeeze(-2)


def _project(tangents: torch.Tensor, d: torch.Tensor, gram_solver: str) -> torch.Tensor:
    """P_U(g) from V (..., k, n) and d = V g (..., k, b); returns (..., n, b)."""
    k, n = tangents.shape[-2:]
    # why: more than n tangents are dependent; the first n span R^n (docs/methods/fg.md#orthogonal-projection)
    m = min(k, n)
    v, d = tangents[..., :m, :], d[..., :m, :]
    if gram_solver == "svd":
        return _project_svd(v, d)
    if gram_solver == "qr":
        q, r = torch.linalg.qr(v.transpose(-1, -2))  # q: (..., n, m), r: (..., m, m) upper triangular
        coords = torch.linalg.solve_triangular(r.transpose(-1, -2), d, upper=False)  # Q^T g: (..., m, b)
        return q @ coords
    if gram_solver == "cholesky":
        # why float64: with k >= n the Gram matrix of n Gaussian tangents in R^n is often too ill-conditioned for a
        # float32 Cholesky factorisation (it fails); the vectorised sweep factorises in float64 as well
        wide = v.double()
        coeff = torch.cholesky_solve(d.double(), torch.linalg.cholesky(wide @ wide.transpose(-1, -2)))
        return (wide.transpose(-1, -2) @ coeff).to(v.dtype)
    if gram_solver != "inverse":
        raise ValueError(f"unknown gram_solver {gram_solver!r}; known: {', '.join(GRAM_SOLVERS)}")
    coeff = torch.linalg.inv(v @ v.transpose(-1, -2)) @ d  # the authors' way; kept only to measure its error
    return v.transpose(-1, -2) @ coeff


def _project_svd(v: torch.Tensor, d: torch.Tensor) -> torch.Tensor:
    """Rank-revealing projection: unit-length tangents, SVD, directions below a relative cutoff dropped."""
    lengths = v.norm(dim=-1, keepdim=True)  # (..., m, 1)
    safe = torch.where(lengths > 0, lengths, torch.ones_like(lengths))  # a zero tangent adds no direction
    v_unit, d_unit = v / safe, d / safe  # d_i / |v_i| is the directional derivative along v_i / |v_i|
    if v.shape[-2] == 1:  # one tangent: P_U g = u (u . g) = u d_unit for the unit tangent u (0 for a zero one)
        return v_unit.transpose(-1, -2) @ d_unit  # the SVD's answer without the SVD (a third of a k=1 fg step)
    left, sing, right_t = torch.linalg.svd(v_unit, full_matrices=False)  # (..., m, m), (..., m), (..., m, n)
    rtol = 1e-12 if v.dtype == torch.float64 else 1e-6
    keep = sing > rtol * sing[..., :1]  # (..., m): numerically independent directions
    inv_sing = torch.where(keep, 1.0 / torch.where(keep, sing, torch.ones_like(sing)), torch.zeros_like(sing))
    coords = inv_sing.unsqueeze(-1) * (left.transpose(-1, -2) @ d_unit)  # B_r^T g: (..., m, b)
    return right_t.transpose(-1, -2) @ coords  # (..., n, b)


def expected_chi(k: int) -> float:
    """E[chi_k] = sqrt(2) Gamma((k+1)/2) / Gamma(k/2): the mean length of a standard Gaussian in R^k."""
    return math.sqrt(2.0) * math.exp(math.lgamma((k + 1) / 2) - math.lgamma(k / 2))


def scaling_correction(combination: str, k: int, n: int, normalized: bool = False) -> float:
    """Expected length of the combination relative to ||g|| as the authors' optional correction uses it.

    The correction (off in every reported experiment, docs/methods/fg.md#scaling-correction) divides the estimate by
    this factor.
    """
    if combination == "orthogonal_projection":
        return 1.0 if k >= n else expected_chi(k) / expected_chi(n)
    squared_norm = 1.0 if normalized else float(n)  # E||v||^2
    if k == 1:
        mean_factor = squared_norm * math.sqrt(2.0 / (math.pi * n))
    else:
        mean_factor = squared_norm * math.sqrt((n + k) / (1 + k)) / n
    # the sum is k times the mean, so its expected length is k * mean_factor; the authors' code multiplies the sum
    # by (1/k) / mean_factor, the same correction (docs/methods/fg.md#scaling-correction)
    return k * mean_factor if combination == "sum" else mean_factor
