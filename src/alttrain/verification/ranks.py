"""The rank rule for single-draw references and the rank-calibration test (numpy/scipy only).

A reference value of the authors is one run (their seed 0). If this artifact implements the same method, that
value is one more draw from the distribution of our N seeds, so under this null hypothesis H0 the number of our
values below it, its rank r, is uniform on 0..N (N + 1 exchangeable draws, continuous distribution).

Per reference (:func:`rank_test`): fail when r lies outside the two-sided band [a, N - a], with
a = floor(alpha (N + 1) / 2) for the stated per-cell false-alarm rate alpha; the exact level achieved is
2a / (N + 1) (N = 20, alpha = 0.1: a = 1, 2/21 = 9.5 %). Lower is better for every ranked metric (function
values, losses): a diverged seed (NaN or inf) ranks above every finite value. Values equal to the reference
within float round-off (:data:`TIE_REL` relative, :data:`TIE_ABS` absolute) are ties: the reference may take any
rank from r to r + ties, and the cell passes when that range meets the band.

Across references (:func:`calibration`): the randomized probability integral transform
u = (r + t + V) / (N + 1), with t uniform on 0..ties and V uniform on [0, 1), is exactly uniform on [0, 1) under
H0 (ties broken at random, as for a continuous distribution). A Kolmogorov-Smirnov test of the u of one
function against the uniform distribution gives the p-value: a small systematic bias that no single cell shows
(every reference a little too good, say) makes it small. t and V come from a generator seeded with the entry id
(CRC-32), so the report is reproducible.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import asdict, dataclass

import numpy as np

TIE_REL = 1e-6  # float32 round-off of a value (relative), as the claims' ROUNDOFF
TIE_ABS = 1e-9  # absolute: values at the minimum 0 reached in float32 (f ~ 1e-14) tie with 0


def band(n: int, alpha: float) -> tuple[int, int, float]:
    """(low, high, achieved level) of the two-sided acceptance band of a rank among ``n`` values.

    ``low = floor(alpha (n + 1) / 2)``, ``high = n - low``; the achieved false-alarm rate is
    ``2 low / (n + 1)`` (0 when ``low`` is 0: too few values for the stated rate, nothing can fail).
    """
    low = math.floor(alpha * (n + 1) / 2 + 1e-12)
    return low, n - low, 2 * low / (n + 1)


def min_values(alpha: float) -> int:
    """The smallest N whose band can fail at all at level ``alpha`` (low >= 1): ceil(2 / alpha) - 1."""
    return math.ceil(2 / alpha - 1e-12) - 1


@dataclass(frozen=True)
class RankResult:
    """Where the reference lies among the reproduced values."""

    n: int  # reproduced values (seeds), diverged ones included
    below: int  # values better (lower) than the reference beyond round-off
    ties: int  # values equal to it within round-off
    diverged: int  # seeds without a finite value (rank worst)
    low: int  # band [low, high]
    high: int
    alpha: float  # achieved per-cell false-alarm rate
    passed: bool | None  # None: too few values for the stated rate
    minimum: float | None  # finite values: min, median (diverged as +inf), max
    median: float | None
    maximum: float | None

    def as_dict(self) -> dict:
        return asdict(self)


def _ties(values: np.ndarray, reference: float) -> np.ndarray:
    if not math.isfinite(reference):
        return ~np.isfinite(values)
    finite = np.isfinite(values)
    tol = TIE_REL * np.maximum(np.abs(values, where=finite, out=np.zeros_like(values)), abs(reference)) + TIE_ABS
    return finite & (np.abs(np.where(finite, values, 0.0) - reference) <= tol)


def rank_test(values, reference: float, alpha: float) -> RankResult:
    """Rank of ``reference`` among ``values`` (lower is better; NaN and inf rank worst) and its band test.

    Args:
        values: the reproduced value of every seed (NaN/inf for a diverged seed).
        reference: the authors' single value (NaN or inf: a diverged reference, tied with diverged seeds).
        alpha: the stated per-cell false-alarm rate.
    """
    values = np.asarray(values, dtype=float)
    values = np.where(np.isnan(values), np.inf, values)  # NaN: diverged, worst
    reference = math.inf if math.isnan(reference) else float(reference)
    n = len(values)
    ties = _ties(values, reference)
    below = int(np.sum((values < reference) & ~ties))
    n_ties = int(ties.sum())
    low, high, achieved = band(n, alpha)
    passed = None if low == 0 else bool(below <= high and below + n_ties >= low)
    finite = values[np.isfinite(values)]
    return RankResult(
        n=n,
        below=below,
        ties=n_ties,
        diverged=int(n - len(finite)),
        low=low,
        high=high,
        alpha=achieved,
        passed=passed,
        minimum=float(finite.min()) if len(finite) else None,
        median=float(np.median(values)) if n else None,
        maximum=float(finite.max()) if len(finite) else None,
    )


def randomized_rank(below: int, ties: int, n: int, key: str) -> tuple[int, float]:
    """(rank, u): the rank with ties broken at random, below + t with t uniform on 0..ties, and
    u = (rank + V) / (n + 1) with V uniform on [0, 1); under H0 rank is uniform on 0..n and u on [0, 1).

    The generator is seeded with the CRC-32 of ``key`` (the entry id): the same report every time.
    """
    rng = np.random.default_rng(zlib.crc32(key.encode()))
    rank = below + int(rng.integers(0, ties + 1))
    return rank, float((rank + rng.random()) / (n + 1))


def calibration(pits) -> tuple[float, float]:
    """(statistic, p-value) of the one-sample Kolmogorov-Smirnov test of ``pits`` against U[0, 1) (exact
    distribution for small samples, scipy's default ``method='auto'``)."""
    from scipy import stats

    result = stats.kstest(np.asarray(pits, dtype=float), "uniform")
    return float(result.statistic), float(result.pvalue)

