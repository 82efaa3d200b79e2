"""fg: the combinations of directional derivatives against hand computations and probability anchors."""

from __future__ import annotations

import math

import pytest
import torch

from alttrain.fg_math.approx_quality import direct_cell, reduced_cells
from alttrain.fg_math.combination import combine, expected_chi, scaling_correction

SOLVERS = ("qr", "cholesky", "inverse")


def test_combine_hand_made_tangents():
    tangents = torch.tensor([[1.0, 0.0, 0.0], [1.0, 1.0, 0.0]], dtype=torch.float64)
    grad = torch.tensor([3.0, -1.0, 2.0], dtype=torch.float64)
    jvps = tangents @ grad  # [3, 2]
    assert torch.equal(jvps, torch.tensor([3.0, 2.0], dtype=torch.float64))
    assert torch.allclose(combine(tangents, jvps, "sum"), torch.tensor([5.0, 2.0, 0.0], dtype=torch.float64))
    assert torch.allclose(combine(tangents, jvps, "mean"), torch.tensor([2.5, 1.0, 0.0], dtype=torch.float64))
    for solver in SOLVERS:  # span{e1, e1 + e2} = span{e1, e2}: the projection drops the third coordinate
        projection = combine(tangents, jvps, "orthogonal_projection", gram_solver=solver)
        assert torch.allclose(projection, torch.tensor([3.0, -1.0, 0.0], dtype=torch.float64))


def test_combine_per_sample_columns():
    tangents = torch.tensor([[1.0, 0.0], [0.0, 2.0]], dtype=torch.float64)
    jvps = torch.tensor([[1.0, 4.0, 0.0], [2.0, 0.0, 6.0]], dtype=torch.float64)  # (k=2, b=3)
    out = combine(tangents, jvps, "sum")
    assert out.shape == (3, 2)
    assert torch.allclose(out, torch.tensor([[1.0, 4.0], [4.0, 0.0], [0.0, 12.0]], dtype=torch.float64))
    projection = combine(
        tangents, jvps, "orthogonal_projection"
    )  # V invertible: the gradients g_b = V^-1 d_b
    expected = torch.linalg.solve(tangents, jvps).T
    assert torch.allclose(projection, expected)


def test_single_tangent_mean_equals_sum_equals_classic_forward_gradient():
    generator = torch.Generator().manual_seed(0)
    v = torch.randn(1, 10, generator=generator, dtype=torch.float64)
    grad = torch.randn(10, generator=generator, dtype=torch.float64)
    classic = (grad @ v[0]) * v[0]
    for how in ("sum", "mean", "orthogonal_projection"):
        expected = classic if how != "orthogonal_projection" else classic / (v[0] @ v[0])
        assert torch.allclose(combine(v, v @ grad, how), expected)


@pytest.mark.parametrize("solver", SOLVERS)
@pytest.mark.parametrize(("k", "n"), [(8, 8), (12, 8), (30, 30)])
def test_projection_exact_when_tangents_span_the_space(solver, k, n):
    generator = torch.Generator().manual_seed(k * n)
    tangents = torch.randn(k, n, generator=generator, dtype=torch.float64)
    grad = torch.randn(n, generator=generator, dtype=torch.float64)
    estimate = combine(tangents, tangents @ grad, "orthogonal_projection", gram_solver=solver)
    assert float((estimate - grad).norm() / grad.norm()) < 1e-10


def test_projection_invariants():
    generator = torch.Generator().manual_seed(3)
    n, k = 20, 5
    tangents = torch.randn(k, n, generator=generator, dtype=torch.float64)
    grad = torch.randn(n, generator=generator, dtype=torch.float64)
    projection = combine(tangents, tangents @ grad, "orthogonal_projection")
    again = combine(tangents, tangents @ projection, "orthogonal_projection")
    assert torch.allclose(again, projection)  # idempotent
    assert torch.allclose(tangents @ (grad - projection), torch.zeros(k, dtype=torch.float64), atol=1e-12)
    mixing = torch.randn(k, k, generator=generator, dtype=torch.float64) + 3 * torch.eye(
        k, dtype=torch.float64
    )
    mixed = mixing @ tangents  # another basis of the same span
    assert torch.allclose(combine(mixed, mixed @ grad, "orthogonal_projection"), projection)
    scaled = tangents * torch.tensor([[0.1], [5.0], [1.0], [2.0], [0.3]], dtype=torch.float64)
    assert torch.allclose(combine(scaled, scaled @ grad, "orthogonal_projection"), projection)
    orthonormal = torch.linalg.qr(tangents.T).Q.T  # (k, n) orthonormal rows
    assert torch.allclose(
        combine(orthonormal, orthonormal @ grad, "orthogonal_projection"),
        combine(orthonormal, orthonormal @ grad, "sum"),
    )


def test_every_combination_is_a_descent_direction():
    generator = torch.Generator().manual_seed(4)
    tangents = torch.randn(200, 6, 30, generator=generator, dtype=torch.float64)  # 200 samples of k=6, n=30
    grad = torch.randn(30, generator=generator, dtype=torch.float64)
    jvps = tangents @ grad
    for how in ("sum", "mean", "orthogonal_projection"):
        assert bool(((combine(tangents, jvps, how) @ grad) >= -1e-12).all())


def test_inverse_solver_loses_accuracy_when_k_is_close_to_n():
    """The authors' explicit float32 inverse of the Gram matrix vs the QR solve
(docs/methods/fg.md#orthogonal-projection)."""
    generator = torch.Generator().manual_seed(0)
    errors = {"qr": [], "inverse": []}
    for _ in range(20):
        tangents = torch.randn(
            64, 64, generator=generator
        )  # k = n: the projection should return grad exactly
        grad = torch.randn(64, generator=generator)
        for solver in errors:
            estimate = combine(tangents, tangents @ grad, "orthogonal_projection", gram_solver=solver)
            errors[solver].append(float((estimate - grad).norm() / grad.norm()))
    median = {solver: sorted(values)[10] for solver, values in errors.items()}
    assert median["qr"] < 1e-3
    assert median["inverse"] > 10 * median["qr"]


def test_mean_is_unbiased():
    n, samples = 8, 20000
    generator = torch.Generator().manual_seed(5)
    grad = torch.linspace(-1.0, 2.0, n, dtype=torch.float64)
    tangents = torch.randn(samples, 1, n, generator=generator, dtype=torch.float64)
    estimates = combine(tangents, tangents @ grad, "mean")  # (samples, n)
    standard_error = estimates.std(dim=0) / math.sqrt(samples)
    assert bool(((estimates.mean(dim=0) - grad).abs() < 5 * standard_error).all())


@pytest.mark.parametrize("k", [1, 4])
def test_mean_squared_norm(k):
    """E|mean|^2 = (n + k + 1) / k |g|^2 for Gaussian tangents (docs/methods/fg.md#derived-checks)."""
    n, samples = 16, 20000
    generator = torch.Generator().manual_seed(k)
    grad = torch.zeros(n, dtype=torch.float64)
    grad[0] = 1.0
    tangents = torch.randn(samples, k, n, generator=generator, dtype=torch.float64)
    squared = combine(tangents, tangents @ grad, "mean").pow(2).sum(-1)
    expected = (n + k + 1) / k
    assert abs(float(squared.mean()) - expected) < 5 * float(squared.std()) / math.sqrt(samples)


def expected_cosine_single(n: int) -> float:
    """E cos(g_v, g) = Gamma(n/2) / (sqrt(pi) Gamma((n+1)/2)) for one Gaussian tangent."""
    return math.exp(math.lgamma(n / 2) - math.lgamma((n + 1) / 2)) / math.sqrt(math.pi)


def test_expected_cosine_formula_anchors():
    for n, anchor in ((2, 0.6366), (16, 0.2026), (64, 0.1001), (1024, 0.02494), (16384, 0.006234)):
        assert expected_cosine_single(n) == pytest.approx(anchor, rel=1e-3)
        assert expected_cosine_single(n) == pytest.approx(math.sqrt(2 / (math.pi * n)), rel=2 / n + 1e-3)
    for (n, k), anchor in (
        ((64, 4), 0.2359),
        ((64, 16), 0.4942),
        ((64, 32), 0.7044),
        ((1024, 2), 0.03918),
        ((1024, 16), 0.1231),
        ((1024, 64), 0.2491),
    ):
        assert expected_chi(k) / expected_chi(n) == pytest.approx(anchor, rel=2e-3)
    assert scaling_correction("orthogonal_projection", 4, 64) == pytest.approx(
        expected_chi(4) / expected_chi(64)
    )
    assert scaling_correction("orthogonal_projection", 64, 16) == 1.0


@pytest.mark.parametrize("n", [16, 64])
def test_single_tangent_cosine_within_monte_carlo_error(n):
    cells = direct_cell(n, 1, 4000, seed=1, variants=(("mean", False),))
    cosine = cells[("mean", False)][0]
    error = cosine.std(ddof=1) / math.sqrt(len(cosine))
    assert abs(abs(cosine).mean() - expected_cosine_single(n)) < 4 * error


def test_projection_cosine_matches_chi_ratio():
    cells = direct_cell(64, 16, 2000, seed=2, variants=(("orthogonal_projection", False),))
    cosine, ratio = cells[("orthogonal_projection", False)]
    assert abs(cosine.mean() - expected_chi(16) / expected_chi(64)) < 4 * cosine.std(ddof=1) / math.sqrt(2000)
    assert abs(cosine - ratio).max() < 1e-10  # the projection's cosine equals its norm ratio


def test_projection_expectation_is_k_over_n_times_gradient():
    n, k, samples = 16, 4, 20000
    generator = torch.Generator().manual_seed(6)
    grad = torch.randn(n, generator=generator, dtype=torch.float64)
    tangents = torch.randn(samples, k, n, generator=generator, dtype=torch.float64)
    estimates = combine(tangents, tangents @ grad, "orthogonal_projection")
    error = estimates.std(dim=0) / math.sqrt(samples)
    assert bool(((estimates.mean(dim=0) - k / n * grad).abs() < 5 * error).all())


@pytest.mark.parametrize(("n", "k"), [(16, 4), (64, 16), (8, 16)])
def test_reduced_sampler_matches_direct_simulation(n, k):
    """The Bartlett-based sampler draws the same distribution as drawing the k x n tangents."""
    samples = 3000
    direct = direct_cell(n, k, samples, seed=7)
    reduced = reduced_cells([n], [k], samples, seed=8)
    for (combination, normalized), (cosine, ratio) in direct.items():
        other_cosine, other_ratio = reduced[(n, k, combination, normalized)]
        for a, b in ((cosine, other_cosine), (ratio, other_ratio)):
            scale = math.sqrt(a.var(ddof=1) / samples + b.var(ddof=1) / samples) + 1e-12
            assert abs(a.mean() - b.mean()) < 4.5 * scale, (combination, normalized)


def test_reduced_projection_never_worse_than_mean_per_sample():
    cells = reduced_cells([64, 1024], [2, 16], 200, seed=0)
    for n in (64, 1024):
        for k in (2, 16):
            assert (cells[(n, k, "orthogonal_projection", False)][0] >= cells[(n, k, "mean", False)][0] - 1e-6).all()


@pytest.mark.parametrize(("n", "k"), [(64, 4), (256, 16), (64, 1)])
def test_scaling_correction_gives_sum_and_mean_the_length_of_the_gradient(n, k):
    """Measured with Gaussian tangents: E|estimate| / |g| of the sum is k times the mean's, so its correction
    factor is k times the mean's (the authors multiply the sum by (1/k) / mean_factor); after the correction
    both have about the gradient's length (the mean factor is the authors' approximation, within 15 %)."""
    gen = torch.Generator().manual_seed(3)
    g = torch.randn(n, generator=gen, dtype=torch.float64)
    v = torch.randn(4000, k, n, generator=gen, dtype=torch.float64)  # 4000 draws of k tangents
    summed = ((v @ g).unsqueeze(-1) * v).sum(dim=1)  # sum_i (v_i . g) v_i, by hand
    length = {"sum": summed.norm(dim=-1).mean() / g.norm(), "mean": summed.norm(dim=-1).mean() / k / g.norm()}
    assert length["sum"] == pytest.approx(k * length["mean"])
    corrected = {how: float(length[how] / scaling_correction(how, k, n)) for how in ("sum", "mean")}
    assert corrected["sum"] == pytest.approx(corrected["mean"], rel=1e-12)
    assert 0.85 < corrected["sum"] < 1.15


# ---------------------------------------------------------------- adversarial tangents (finite, still a projection)


def _span_projection(basis: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """P g onto the row span of a well-conditioned basis (float64 least squares; the reference)."""
    basis, g = basis.double(), g.double()
    coeff = torch.linalg.lstsq(basis.T, g).solution
    return basis.T @ coeff


ADVERSARIAL_TANGENTS = {
    # name -> (tangents made of the rows v0, v1, v2 of a Gaussian (3, n), a well-conditioned basis inside
    # their span)
    "exact duplicate": (lambda v: torch.stack([v[0], v[0], v[1]]), lambda v: v[:2]),
    "scaled duplicate": (lambda v: torch.stack([v[0], -2.5 * v[0], v[1]]), lambda v: v[:2]),
    "nearly dependent": (lambda v: torch.stack([v[0], v[0] + 1e-7 * v[2], v[1]]), lambda v: v[:2]),
    "zero tangent": (lambda v: torch.stack([v[0], torch.zeros_like(v[0]), v[1]]), lambda v: v[:2]),
    "tiny scale": (lambda v: 1e-20 * v, lambda v: v),
    "huge scale": (lambda v: 1e18 * v, lambda v: v),
    "mixed scales": (lambda v: torch.stack([1e-15 * v[0], v[1], 1e15 * v[2]]), lambda v: v),
}


@pytest.mark.parametrize("case", list(ADVERSARIAL_TANGENTS))
def test_orthogonal_projection_stays_a_projection_on_adversarial_tangents(case):
    """Finite, never longer than g, and exact on the well-conditioned part of the tangents' span.

    Whatever the estimate does with a numerically degenerate direction, it must still be the projection of g
    onto some subspace that contains the clean span: P_clean(estimate) = P_clean(g), ||estimate|| <= ||g||.
    """
    make, clean = ADVERSARIAL_TANGENTS[case]
    for seed in range(50):
        generator = torch.Generator().manual_seed(seed)
        v = torch.randn(3, 20, generator=generator)  # (3, n)
        g = torch.randn(20, generator=generator)  # (n,)
        tangents = make(v)  # (k, n)
        estimate = combine(tangents, tangents @ g, "orthogonal_projection")
        assert torch.isfinite(estimate).all(), f"{case}, seed {seed}: non-finite estimate"
        assert estimate.norm() <= g.norm() * (1 + 1e-4), f"{case}, seed {seed}: longer than the gradient"
        basis = clean(v)
        torch.testing.assert_close(_span_projection(basis, estimate.double()), _span_projection(basis, g),
                                   rtol=1e-3, atol=1e-3 * float(g.norm()), msg=f"{case}, seed {seed}")


@pytest.mark.parametrize("how", ["sum", "mean"])
def test_sum_and_mean_stay_finite_on_extreme_tangents(how):
    v = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    for tangents in (v * 1e-20, v * 1e15, torch.zeros_like(v)):
        estimate = combine(tangents, tangents @ torch.ones(10), how)
        assert torch.isfinite(estimate).all()
