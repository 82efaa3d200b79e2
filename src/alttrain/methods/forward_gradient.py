"""Multi-tangent forward gradients (fg paper, arXiv 2410.17764): combinations of k directional derivatives.

Math (docs/methods/fg.md#method): for a function with gradient g = grad f in R^n and tangents V = [v_1..v_k] (rows of
a ``(k, n)`` tensor), the directional derivatives (JVPs) are d = V g. The forward gradient combines them:

* ``sum``: sum_i d_i v_i = V^T d;
* ``mean``: (1/k) V^T d (k = 1: the classic forward gradient (g.v) v, unbiased for Gaussian tangents);
* ``orthogonal_projection`` ("frog"): V^T (V V^T)^{-1} d = P_U(g), the orthogonal projection of g onto the
  span U of the tangents. It is computed from d alone, never from g: with V^T = Q R (reduced QR), d = R^T Q^T
  g, so Q^T g = R^{-T} d and P_U g = Q Q^T g = Q R^{-T} d (``gram_solver="qr"``: one triangular solve; accurate
  for ill-conditioned but independent tangents). The default ``gram_solver="svd"`` is rank-revealing: it
  rescales every tangent to unit length (the projection does not depend on tangent lengths), takes the SVD
  V = A S B^T and keeps only the directions with S_i > 1e-6 S_max (float64: 1e-12), so P_U g = B_r S_r^{-1}
  A_r^T d stays a finite projection for duplicated, zero or nearly dependent tangents, where QR, Cholesky and
  the inverse return NaN or a vector longer than g. ``gram_solver="cholesky"`` solves with the Gram matrix
  G = V V^T instead, and
  ``gram_solver="inverse"`` mimics the authors' code (explicit inverse of G, no regularisation; loses accuracy
  when k is close to n). With k > n the tangents cannot be independent; the first n are used (the result is
  exact).

The gradient estimator registered as ``fg`` (class :class:`ForwardGradient`) trains networks with these
estimates, by weight perturbation or activity (node) perturbation, in true forward mode or in the simulated
mode the authors used (see :mod:`alttrain.methods.fg_perturbation`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from alttrain.data import DataSplits, Inputs
from alttrain.losses import Loss
from alttrain.methods import GradientEstimator, register_method
from alttrain.methods.tangents import SAMPLERS, sample_tangents

AGGREGATIONS = ("sum", "mean", "orthogonal_projection")
GRAM_SOLVERS = ("svd", "qr", "cholesky", "inverse")


def combine(tangents: torch.Tensor, jvps: torch.Tensor, how: str, *, gram_solver: str = "svd") -> torch.Tensor:
    """Combine k directional derivatives into one gradient estimate.

    Args:
        tangents: ``(k, n)`` (or ``(*batch, k, n)``), one tangent per row.
        jvps: directional derivatives ``(k,)`` or one column per sample ``(k, b)`` (with the same leading
            batch shape as ``tangents``).
        how: ``sum``, ``mean`` or ``orthogonal_projection``.
        gram_solver: how the projection solves its k x k system: ``svd`` (default, rank-revealing), ``qr``,
            ``cholesky`` or ``inverse``.

    Returns:
        ``(n,)`` for vector ``jvps``, ``(b, n)`` for per-sample ``jvps`` (leading batch shape kept).
    """
    if how not in AGGREGATIONS:
        raise ValueError(f"unknown combination {how!r}; known: {', '.join(AGGREGATIONS)}")
    k, n = tangents.shape[-2:]
    per_sample = jvps.dim() == tangents.dim()
    d = jvps if per_sample else jvps.unsqueeze(-1)  # (..., k, b)
    if d.shape[-2] != k:
        raise ValueError(f"jvps have {d.shape[-2]} directional derivatives for {k} tangents")
    if how == "orthogonal_projection":
        estimate = _project(tangents, d, gram_solver)  # (..., n, b)
    else:
        scale = 1.0 / k if how == "mean" else 1.0
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
    left, sing, right_t = torch.linalg.svd(v_unit, full_matrices=False)  # (..., m, m), (..., m), (..., m, n)
    rtol = 1e-12 if v.dtype == torch.float64 else 1e-6
    keep = sing > rtol * sing[..., :1]  # (..., m): numerically independent directions
    inv_sing = torch.where(keep, 1.0 / torch.where(keep, sing, torch.ones_like(sing)), torch.zeros_like(sing))
    coords = inv_sing.unsqueeze(-1) * (left.transpose(-1, -2) @ d_unit)  # B_r^T g: (..., m, b)
    return right_t.transpose(-1, -2) @ coords  # (..., n, b)


def expected_chi(k: int) -> float:
    """E[chi_k] = sqrt(2) Gamma((k+1)/2) / Gamma(k/2): the mean length of a standard Gaussian in R^k."""
    return math.sqrt(2.0) * math.exp(math.lgamma((k + 1) / 2) - math.lgamma(k / 2))


def scaling_correction(how: str, k: int, n: int, normalized: bool = False) -> float:
    """Expected length of the combination relative to ||g|| as the authors' optional correction uses it.

    The correction (off in every reported experiment, docs/methods/fg.md#scaling-correction) divides the estimate by
    this factor.
    """
    if how == "orthogonal_projection":
        return 1.0 if k >= n else expected_chi(k) / expected_chi(n)
    squared_norm = 1.0 if normalized else float(n)  # E||v||^2
    if k == 1:
        mean_factor = squared_norm * math.sqrt(2.0 / (math.pi * n))
    else:
        mean_factor = squared_norm * math.sqrt((n + k) / (1 + k)) / n
    # the sum is k times the mean, so its expected length is k * mean_factor; the authors' code multiplies the sum
    # by (1/k) / mean_factor, the same correction (docs/methods/fg.md#scaling-correction)
    return k * mean_factor if how == "sum" else mean_factor


@register_method("fg")
class ForwardGradient(GradientEstimator):
    """Forward-gradient estimator with k tangents.

    Options (all validated here and in ``config/schema/fg.schema.yaml``):
        k: number of tangents.
        combine: ``sum``, ``mean`` or ``orthogonal_projection``.
        mode: ``simulated`` (directional derivatives from the backprop activation/weight gradient, as the
            authors ran it) or ``forward`` (true forward mode: ``torch.func.jvp`` vmapped over the k tangents,
            one pass).
        perturbation: ``activity`` (node perturbation of every block output, global tangent over all blocks;
            the paper's setting) or ``weight``.
        sampler: tangent sampler (:data:`alttrain.methods.tangents.SAMPLERS`); angle: for ``specific_angle``.
        normalize: rescale tangents to unit length.
        gram_solver: ``svd`` (default, rank-revealing), ``qr``, ``cholesky`` or ``inverse`` (the authors'
            explicit inverse).
        scaling_correction: divide the estimate by its expected relative length (off in the paper).
        bn_double_update: simulated activity mode updates BatchNorm running statistics twice per step, like
            the authors' block re-run (docs/methods/fg.md#authors-code-what-is-kept).
    """

    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: DataSplits,
        generator: torch.Generator,
        *,
        k: int = 1,
        combine: str = "mean",
        mode: str = "simulated",
        perturbation: str = "activity",
        sampler: str = "normal",
        normalize: bool = False,
        angle: float | None = None,
        gram_solver: str = "svd",
        scaling_correction: bool = False,
        bn_double_update: bool = True,
    ) -> None:
        super().__init__(model, loss, data, generator)
        problems = []
        if not isinstance(k, int) or k < 1:
            problems.append(f"k must be a positive integer, got {k!r}")
        for name, value, allowed in (
            ("combine", combine, AGGREGATIONS),
            ("mode", mode, ("simulated", "forward")),
            ("perturbation", perturbation, ("activity", "weight")),
            ("sampler", sampler, SAMPLERS),
            ("gram_solver", gram_solver, GRAM_SOLVERS),
        ):
            if value not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if perturbation == "activity" and not hasattr(model, "blocks"):
            problems.append(
                "activity perturbation needs a model with `blocks` (e.g. fg_fc, fg_resnet18, fg_vit)"
            )
        if problems:
            raise ValueError("fg estimator: " + "; ".join(problems))
        self.k, self.how, self.mode, self.perturbation = k, combine, mode, perturbation
        self.sampler, self.normalize, self.angle = sampler, normalize, angle
        self.gram_solver, self.use_scaling, self.bn_double_update = (
            gram_solver,
            scaling_correction,
            bn_double_update,
        )

    def draw_tangents(self, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """k tangents of dimension n from the run's generator: ``(k, n)``."""
        return sample_tangents(
            self.k,
            n,
            self.generator,
            self.sampler,
            normalize=self.normalize,
            angle=self.angle,
            dtype=dtype,
            device=device,
        )

    def aggregate(self, tangents: torch.Tensor, jvps: torch.Tensor) -> torch.Tensor:
        """:func:`combine` with this estimator's options (and the optional scaling correction)."""
        estimate = combine(tangents, jvps, self.how, gram_solver=self.gram_solver)
        if self.use_scaling:
            estimate = estimate / scaling_correction(self.how, self.k, tangents.shape[-1], self.normalize)
        return estimate

    def compute_gradients(
        self, x: Inputs, y: torch.Tensor, index: torch.Tensor, update_state: bool = True
    ) -> torch.Tensor:
        from alttrain.methods import fg_perturbation as fp

        if self.perturbation == "weight":
            return fp.weight_perturbation_step(self, x, y, tangents=None)
        return fp.activity_perturbation_step(self, x, y, tangents=None, update_state=update_state)
