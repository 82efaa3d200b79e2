"""fg: closed-form functions, their minima and the vectorised gradient-descent sweep
(docs/methods/fg.md#closed-form-functions, #derived-checks)."""

from __future__ import annotations

import math

import pytest
import torch

from alttrain.fg_math import FUNCTIONS, rosenbrock, sphere, styblinski_tang
from alttrain.fg_math.sweep import Approach, parse_approach, run_sweep, stop_step

ST_ARGMIN = -2.9035340


def test_values_and_gradients_at_the_start_points():
    for n in (1, 2, 3, 64, 1024):
        x0 = FUNCTIONS["sphere"].start(n)
        assert float(sphere(x0)) == n
        assert torch.equal(FUNCTIONS["sphere"].grad(x0), torch.full((n,), -2.0, dtype=torch.float64))
    for n, value in ((1, 0.0), (2, 104.0), (8, 110.0), (1024, 1126.0)):
        assert float(rosenbrock(FUNCTIONS["rosenbrock"].start(n))) == value
    grad = FUNCTIONS["rosenbrock"].grad(FUNCTIONS["rosenbrock"].start(6))
    assert grad.tolist() == [-404.0, -202.0, -2.0, -2.0, -2.0, 0.0]
    assert FUNCTIONS["rosenbrock"].grad(FUNCTIONS["rosenbrock"].start(2)).tolist() == [-404.0, -200.0]
    x0 = FUNCTIONS["styblinski_tang"].start(5)
    assert float(styblinski_tang(x0)) == 0.0
    assert FUNCTIONS["styblinski_tang"].grad(x0).tolist() == [2.5] * 5


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_analytic_gradients_match_autograd(name):
    fn = FUNCTIONS[name]
    x = torch.randn(3, 7, generator=torch.Generator().manual_seed(0), dtype=torch.float64, requires_grad=True)
    (autograd,) = torch.autograd.grad(fn.value(x).sum(), x)
    assert torch.allclose(fn.grad(x.detach()), autograd)
    assert torch.allclose(fn.terms(x.detach()).sum(-1), fn.value(x.detach()))


def test_global_minima():
    n = 64
    assert float(sphere(torch.zeros(n))) == 0.0
    assert float(rosenbrock(torch.ones(n, dtype=torch.float64))) == 0.0
    assert torch.allclose(
        FUNCTIONS["rosenbrock"].grad(torch.ones(n, dtype=torch.float64)), torch.zeros(n, dtype=torch.float64)
    )
    x = torch.full((n,), ST_ARGMIN, dtype=torch.float64)
    assert float(styblinski_tang(x)) == pytest.approx(-39.1661657 * n, rel=1e-8)
    assert float(styblinski_tang(x)) == pytest.approx(FUNCTIONS["styblinski_tang"].minimum(n), rel=1e-12)
    assert float(FUNCTIONS["styblinski_tang"].grad(x).abs().max()) < 1e-5  # stationary point
    assert 6 * ST_ARGMIN**2 - 16 > 0  # and a minimum (second derivative of 2x^3 - 16x + 2.5 positive)
    assert FUNCTIONS["styblinski_tang"].minimum(1024) == pytest.approx(-40106.15, abs=0.01)
    assert float(rosenbrock(torch.randn(1, generator=torch.Generator().manual_seed(0)))) == 0.0  # n = 1: 0


def test_stop_step_rule():
    assert stop_step([5.0] * 60, 50) == 50  # the 50th consecutive step without improvement
    values = [10.0, 9.0] + [9.0] * 30 + [8.0] + [8.0] * 60  # a single decrease resets the counter
    assert stop_step(values, 50) == 32 + 50
    assert stop_step([3.0, 2.0, 1.0], 50) == 2  # never stalls: the last step
    assert stop_step([3.0, float("nan"), 1.0], 50) == 1


def _bp(lr: float = 0.1):
    return [Approach("bp", "bp", 0)], [[lr]]


def test_bp_on_the_sphere_follows_the_closed_form_trajectory():
    approaches, lrs = _bp(0.1)
    result = run_sweep("sphere", [4], approaches, lrs, [0], max_steps=30, dtype=torch.float64)
    expected = torch.tensor([4 * (1 - 2 * 0.1) ** (2 * t) for t in range(31)], dtype=torch.float64)
    assert torch.allclose(result.values[:, 0, 0, 0], expected)
    stopped = run_sweep(
        "sphere", [4], approaches, [[0.5]], [0], patiences=(50, 100), max_steps=300, dtype=torch.float64
    )
    assert float(stopped.values[1, 0, 0, 0]) == 0.0  # step size 0.5 reaches the minimum in one step
    assert int(stopped.stops[50][0, 0, 0]) == 51 and int(stopped.stops[100][0, 0, 0]) == 101


def test_sweep_stops_agree_with_the_reference_rule():
    approaches = [Approach(name, *parse_approach(name)) for name in ("fg_k1", "frog_k2")]
    result = run_sweep(
        "styblinski_tang",
        [4, 16],
        approaches,
        [[0.01, 0.002], [0.02, 0.02]],
        [0, 1],
        patiences=(5, 20),
        max_steps=400,
        dtype=torch.float64,
    )
    for patience, stops in result.stops.items():
        for a in range(2):
            for s in range(2):
                for i in range(2):
                    assert int(stops[a, s, i]) == stop_step(result.values[:, a, s, i].tolist(), patience)


def test_projection_with_enough_tangents_reproduces_backprop():
    approaches = [Approach("bp", "bp", 0), Approach("frog_k16", "orthogonal_projection", 16)]
    result = run_sweep(
        "rosenbrock",
        [4, 8],
        approaches,
        [[1e-3, 1e-3], [1e-3, 1e-3]],
        [3],
        max_steps=200,
        dtype=torch.float64,
    )
    assert torch.allclose(result.values[:, 0], result.values[:, 1], rtol=1e-9, atol=1e-12)


def test_packed_path_equals_per_dimension_combine():
    names = ("bp", "fg_k1", "fg_mean_k4", "frog_k2", "frog_k16")
    approaches = [Approach(name, *parse_approach(name)) for name in names]
    lrs = [[0.02, 0.01, 0.005]] * len(names)
    kwargs = {"max_steps": 60, "dtype": torch.float64, "patiences": (50,)}
    packed = run_sweep("sphere", [2, 8, 32], approaches, lrs, [0, 1], gram_solver="cholesky", **kwargs)
    general = run_sweep("sphere", [2, 8, 32], approaches, lrs, [0, 1], gram_solver="qr", **kwargs)
    assert torch.allclose(packed.values, general.values, rtol=1e-8, atol=1e-12)


def test_forward_mode_jvps_equal_simulated_jvps():
    approaches = [Approach("fg_mean_k4", "mean", 4), Approach("frog_k4", "orthogonal_projection", 4)]
    kwargs = {"max_steps": 8, "dtype": torch.float64, "gram_solver": "qr"}
    simulated = run_sweep("rosenbrock", [6], approaches, [[1e-4]] * 2, [0], jvp_mode="simulated", **kwargs)
    forward = run_sweep("rosenbrock", [6], approaches, [[1e-4]] * 2, [0], jvp_mode="forward_ad", **kwargs)
    assert torch.allclose(simulated.values, forward.values, rtol=1e-10)


def test_a_diverging_dimension_does_not_touch_the_others():
    approaches, _ = _bp()
    alone = run_sweep("rosenbrock", [4], approaches, [[1e-3]], [0], max_steps=50, dtype=torch.float64)
    packed = run_sweep(
        "rosenbrock", [2, 4], approaches, [[10.0, 1e-3]], [0], max_steps=50, dtype=torch.float64
    )
    assert bool(packed.diverged[0, 0, 0]) and not bool(packed.diverged[0, 0, 1])
    steps = int(alone.stops[50][0, 0, 0])
    assert torch.allclose(packed.values[: steps + 1, 0, 0, 1], alone.values[:, 0, 0, 0])
    assert math.isnan(float(packed.values[int(packed.stops[50][0, 0, 0]), 0, 0, 0]))


def test_forward_ad_with_cholesky_runs_when_k_reaches_n_and_matches_simulated():
    """jvp_mode forward_ad with the cholesky solver (the cpu scale's) at k >= n: the projection must not fail
    (a float32 Cholesky of n Gaussian tangents in R^n did), and it takes the simulated mode's steps."""
    approaches = [Approach("frog_k4", "orthogonal_projection", 4), Approach("frog_k16", "orthogonal_projection", 16)]
    runs = {
        mode: run_sweep("sphere", [4, 8, 16], approaches, [[1e-2] * 3] * 2, [0, 1, 2], max_steps=300,
                        jvp_mode=mode, gram_solver="cholesky")
        for mode in ("forward_ad", "simulated")
    }
    torch.testing.assert_close(runs["forward_ad"].values, runs["simulated"].values, rtol=1e-4, atol=1e-9)
