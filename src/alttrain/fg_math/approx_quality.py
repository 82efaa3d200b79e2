"""Approximation quality of multi-tangent forward gradients
(docs/methods/fg.md#approximation-quality, #fixed-angle-tangents).

For a true gradient g and a forward-gradient sample b: cosine = g.b / (|g| |b|), norm ratio = |b| / |g|;
summary per cell: mean, std and 95 % CI half-width 1.96 std / sqrt(count) over the samples.

Two samplers of the same distribution:

* ``direct`` (the authors' procedure): draw the k x n tangents V, simulate d = V g with g = ones(n), combine
  with :func:`alttrain.fg_math.combination.combine`. Cost O(samples n k^2); used for custom tangents and
  at paper scale.
* ``reduced`` (exact in distribution for Gaussian tangents, cost independent of n): both metrics are invariant
  to rotations and to the scale of g, so g = e_1 can be used. Then d = V e_1 ~ N(0, I_k) and the Gram matrix
  is G = V V^T = d d^T + W with W = B B^T ~ Wishart_k(n - 1, I), independent of d, where B is the lower-
  trapezoidal Bartlett factor (k x min(k, n-1); B_ii ~ chi_{n-1-i}, entries below the diagonal N(0, 1)). Every
  metric follows in closed form from (d, B): sum s = V^T d: s.g = d.d, |s|^2 = (d.d)^2 + |B^T d|^2 (mean: |s|
  / k); normalised tangents (r_i^2 = G_ii, y = d/r^2): s'.g = sum d_i^2 / r_i^2, |s'|^2 = (y.d)^2 + |B^T y|^2;
  projection (k < n): |P g|^2 = q / (1 + q) with q = d^T W^{-1} d = |B^{-1} d|^2 (Sherman-Morrison), cosine =
  norm ratio = |P g|; k >= n: exactly 1. The below-diagonal draws of B and d are shared by all cells of a
  sample (prefixes), like the authors' fixed seed.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch

from alttrain.fg_math.combination import combine
from alttrain.methods.tangents import sample_tangents

# (combination, normalized) pairs reported per (n, k); fg_baseline is the k = 1 forward gradient (sum,
# unnormalised)
VARIANTS = (("orthogonal_projection", False), ("mean", False), ("mean", True), ("sum", False), ("sum", True))


def summarize(cosine: np.ndarray, norm_ratio: np.ndarray) -> dict[str, float]:
    """Mean, std and 95 % CI half-width of both metrics over samples."""
    count = len(cosine)
    row: dict[str, float] = {"count": count}
    for name, values in (("cosine", cosine), ("norm_ratio", norm_ratio)):
        values = np.asarray(values, dtype=np.float64)
        std = float(np.std(values, ddof=1)) if count > 1 else 0.0
        row[f"{name}_mean"] = float(np.mean(values))
        row[f"{name}_std"] = std
        row[f"{name}_ci95"] = 1.96 * std / math.sqrt(count)
    return row


def _metrics(estimate: torch.Tensor, true_grad: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Cosine and norm ratio of estimates (c, n) against g (n,)."""
    g_norm = true_grad.norm()
    est_norm = estimate.norm(dim=-1)
    cosine = (estimate @ true_grad) / (est_norm * g_norm)
    return cosine.cpu().numpy(), (est_norm / g_norm).cpu().numpy()


def direct_cell(
    n: int,
    k: int,
    samples: int,
    seed: int,
    *,
    sampler: str = "normal",
    angle: float | None = None,
    variants: Iterable[tuple[str, bool]] = VARIANTS,
    gram_solver: str = "qr",
    max_elements: int = 2**24,
    device: str = "cpu",
) -> dict[tuple[str, bool], tuple[np.ndarray, np.ndarray]]:
    """Per-sample metrics of one (n, k) cell by direct simulation with g = ones(n) (float64).

    Returns:
        ``{(combination, normalized): (cosine, norm_ratio)}`` with arrays of length ``samples``.
    """
    generator = torch.Generator().manual_seed(seed)
    true_grad = torch.ones(n, dtype=torch.float64, device=device)
    chunk = max(1, min(samples, max_elements // (k * n)))
    results: dict[tuple[str, bool], list] = {v: [] for v in variants}
    for start in range(0, samples, chunk):
        c = min(chunk, samples - start)
        tangents = sample_tangents(
            k, n, generator, sampler, batch=(c,), angle=angle, dtype=torch.float64, device=device
        )  # (c, k, n)
        unit = tangents / tangents.norm(dim=-1, keepdim=True)
        for combination, normalized in variants:
            v = unit if normalized else tangents
            jvps = v @ true_grad  # (c, k): simulated directional derivatives
            estimate = combine(v, jvps, combination, gram_solver=gram_solver)  # (c, n)
            results[(combination, normalized)].append(_metrics(estimate, true_grad))
    return {
        key: (np.concatenate([r[0] for r in parts]), np.concatenate([r[1] for r in parts]))
        for key, parts in results.items()
    }


def reduced_cells(
    ns: list[int], ks: list[int], samples: int, seed: int, chunk: int | None = None
) -> dict[tuple[int, int, str, bool], tuple[np.ndarray, np.ndarray]]:
    """Per-sample metrics of every (n, k) cell by the reduced (Bartlett) sampler; Gaussian tangents only."""
    rng = np.random.default_rng(seed)  # chi-square draws (torch has no seeded chi-square sampler)
    generator = torch.Generator().manual_seed(seed)
    k_max = max(ks)
    chunk = chunk or max(1, 2**22 // (k_max * k_max))
    rows_idx, cols_idx = torch.tril_indices(k_max, k_max, -1)
    out: dict[tuple[int, int, str, bool], list] = {}
    # why float32: B is well conditioned wherever it is solved (k < n means n - 1 >= 2k - 1 for powers of
    # two), and the summaries are accumulated in float64 by numpy
    for start in range(0, samples, chunk):
        c = min(chunk, samples - start)
        d_all = torch.randn((c, k_max), generator=generator)  # (c, K): d = V e_1
        lower = torch.zeros(c, k_max, k_max)  # (c, K, K): strictly lower part of the Bartlett factor
        lower[:, rows_idx, cols_idx] = torch.randn((c, len(rows_idx)), generator=generator)
        squares = lower * lower
        full_rows = squares.sum(-1)  # (c, K): squared row norms of the strictly lower part
        diags, r2s = {}, {}
        for n in ns:
            m = n - 1  # degrees of freedom of W
            cols = min(k_max, m)
            chi2 = rng.chisquare(np.arange(m, m - cols, -1), size=(c, cols))  # chi^2_{m-i}
            diag = torch.from_numpy(np.sqrt(chi2)).float()
            rows = full_rows if cols >= k_max else squares[:, :, :cols].sum(-1)  # sum_{j<cols} lower_ij^2
            r2 = d_all * d_all + rows  # (c, K): |v_i|^2 = d_i^2 + W_ii; a cell's k tangents are its prefix
            r2[:, :cols] += diag * diag
            diags[n], r2s[n] = diag, r2
        for k in ks:
            _reduced_metrics(
                out, ns, k, d_all[:, :k], lower[:, :k, :k], diags, {n: r2s[n][:, :k] for n in ns}
            )
    return {
        key: (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
        for key, parts in out.items()
    }


def _reduced_metrics(
    out: dict,
    ns: list[int],
    k: int,
    d: torch.Tensor,
    lower: torch.Tensor,
    diags: dict[int, torch.Tensor],
    r2s: dict[int, torch.Tensor],
) -> None:
    """Append the metrics of cells (n, k) for every n of one chunk of samples to ``out``.

    B = lower[:, :k, :cols] + diag(chi) with cols = min(k, n - 1); products with B are assembled from products
    with the n-independent strictly lower part (computed once per k) plus the diagonal term.
    """
    c = d.shape[0]
    dd = (d * d).sum(-1)  # (c,)
    lower_t_d = (d.unsqueeze(1) @ lower).squeeze(1)  # (c, k): sum_i d_i lower_ij (row vector times matrix)
    y_all = torch.stack([d / r2s[n] for n in ns], dim=1)  # (c, N, k): y = d / r^2 for every n
    lower_t_y = y_all @ lower  # (c, N, k)
    diagonal = lower.diagonal(dim1=1, dim2=2)  # view; zero except while a projection is solved
    for index, n in enumerate(ns):
        cols = min(k, n - 1)
        diag = diags[n][:, :cols]  # (c, cols)
        y = y_all[:, index]
        bt_d = lower_t_d[:, :cols] + diag * d[:, :cols]  # (c, cols) = B^T d
        bt_y = lower_t_y[:, index, :cols] + diag * y[:, :cols]  # (c, cols) = B^T y
        s_norm = torch.sqrt(dd**2 + (bt_d * bt_d).sum(-1))
        yd = (y * d).sum(-1)
        sn_norm = torch.sqrt(yd**2 + (bt_y * bt_y).sum(-1))
        cos_plain, cos_norm = dd / s_norm, yd / sn_norm
        metrics = {
            ("sum", False): (cos_plain, s_norm),
            ("mean", False): (cos_plain, s_norm / k),
            ("sum", True): (cos_norm, sn_norm),
            ("mean", True): (cos_norm, sn_norm / k),
        }
        if k < n:  # W invertible: |P e_1|^2 = q / (1 + q), q = |B^{-1} d|^2
            diagonal.copy_(diag)  # why in place: B = lower + diag without copying the k x k matrices
            q = torch.linalg.solve_triangular(lower, d.unsqueeze(-1), upper=False).squeeze(-1).pow(2).sum(-1)
            diagonal.zero_()
            proj = torch.sqrt(q / (1 + q))
        else:  # the first n tangents span R^n: the projection is the true gradient
            proj = torch.ones(c, dtype=d.dtype)
        metrics[("orthogonal_projection", False)] = (proj, proj)
        for (combination, normalized), (cos, ratio) in metrics.items():
            out.setdefault((n, k, combination, normalized), []).append((cos.numpy(), ratio.numpy()))


def approximation_quality(
    ns: list[int],
    ks: list[int],
    samples: int | dict[int, int],
    seed: int = 0,
    method: str = "reduced",
    gram_solver: str = "qr",
    device: str = "cpu",
) -> pd.DataFrame:
    """Summary table of the approximation-quality study (one row per n, k, combination, normalisation).

    Args:
        ns, ks: dimensions and numbers of tangents. samples: per n (dict) or for all n.
        seed: seed of the sampler. method: ``reduced`` or ``direct``.
    """
    per_n = samples if isinstance(samples, dict) else dict.fromkeys(ns, samples)
    rows = []
    if method == "reduced":
        for count in sorted(set(per_n.values())):
            group = [n for n in ns if per_n[n] == count]
            for k in ks:  # why one call per k: the chunk of samples processed together can then grow as 1/k^2
                cells = reduced_cells(group, [k], count, seed)
                rows += [_row(n, k, agg, norm, *vals) for (n, k, agg, norm), vals in cells.items()]
    elif method == "direct":
        for n in ns:
            for k in ks:
                cells = direct_cell(n, k, per_n[n], seed, gram_solver=gram_solver, device=device)
                rows += [_row(n, k, agg, norm, *vals) for (agg, norm), vals in cells.items()]
    else:
        raise ValueError(f"unknown approximation-quality method {method!r}; known: reduced, direct")
    frame = pd.DataFrame(rows)
    baseline = frame[(frame["combination"] == "sum") & (frame["k"] == 1) & ~frame["normalized"]].copy()
    baseline["combination"] = (
        "fg_baseline"  # the classic single-tangent forward gradient, reported for every n
    )
    frame = pd.concat([frame, baseline], ignore_index=True)
    frame.insert(5, "method", method)
    return frame.sort_values(["n", "k", "combination", "normalized"], kind="stable").reset_index(drop=True)


def _row(n: int, k: int, combination: str, normalized: bool, cosine: np.ndarray, ratio: np.ndarray) -> dict:
    return {
        "n": n,
        "k": k,
        "combination": combination,
        "normalized": normalized,
        "sampler": "normal",
        **summarize(cosine, ratio),
    }


def custom_angle_quality(
    n: int,
    ks: list[int],
    angles: list[float],
    samples: int,
    seed: int = 0,
    gram_solver: str = "qr",
) -> pd.DataFrame:
    """Approximation quality with fixed-angle unit tangents (direct simulation); one row per angle, k,
    combination.

    The same underlying Gaussian draws are used for every angle (same seed), so the projection is identical
    for all angles in (0, 90] degrees.
    """
    rows = []
    # tangents are unit length by construction
    variants = (("orthogonal_projection", False), ("mean", False), ("sum", False))
    for angle in angles:
        for k in ks:
            cells = direct_cell(
                n,
                k,
                samples,
                seed,
                sampler="specific_angle",
                angle=angle,
                variants=variants,
                gram_solver=gram_solver,
            )
            for (combination, _), (cosine, ratio) in cells.items():
                rows.append(
                    {
                        "n": n,
                        "k": k,
                        "angle": angle,
                        "combination": combination,
                        "method": "direct",
                        "sampler": "specific_angle",
                        **summarize(cosine, ratio),
                    }
                )
    frame = pd.DataFrame(rows)
    # how far each cell's mean cosine is from the 90-degree cell of the same k and combination
    # (the invariance of the projection to the angle is checked on it); NaN without a 90-degree cell
    reference = frame[frame["angle"] == 90].set_index(["k", "combination"])["cosine_mean"]
    keys = list(zip(frame["k"], frame["combination"], strict=True))
    frame["cosine_gap_to_90"] = [
        abs(c - reference.get(key, np.nan)) for c, key in zip(frame["cosine_mean"], keys, strict=True)
    ]
    return frame
