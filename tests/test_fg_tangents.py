"""fg: tangent samplers (docs/methods/fg.md#tangent-samplers, #derived-checks)."""

from __future__ import annotations

import math

import pytest
import torch

from alttrain.fg_math.combination import combine
from alttrain.methods.tangents import sample_tangents, specific_angle_tangents


def test_normal_tangents_follow_the_seed():
    a = sample_tangents(3, 7, torch.Generator().manual_seed(1), batch=(2,))
    b = sample_tangents(3, 7, torch.Generator().manual_seed(1), batch=(2,))
    c = sample_tangents(3, 7, torch.Generator().manual_seed(2), batch=(2,))
    assert a.shape == (2, 3, 7)
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_normalize_gives_unit_tangents():
    tangents = sample_tangents(5, 40, torch.Generator().manual_seed(0), normalize=True, dtype=torch.float64)
    assert torch.allclose(tangents.norm(dim=-1), torch.ones(5, dtype=torch.float64))


def test_rademacher_and_standard_basis():
    tangents = sample_tangents(4, 6, torch.Generator().manual_seed(0), "rademacher")
    assert set(tangents.unique().tolist()) <= {-1.0, 1.0}
    assert int(torch.linalg.matrix_rank(tangents)) == 4  # redrawn until independent (k < 32)
    basis = sample_tangents(2, 3, torch.Generator(), "standard_basis")
    assert torch.equal(basis, torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]]))
    with pytest.raises(ValueError):
        sample_tangents(4, 3, torch.Generator(), "standard_basis")


@pytest.mark.parametrize("angle", [15, 30, 45, 60, 75, 90])
def test_specific_angle_tangents(angle):
    tangents = sample_tangents(
        16, 64, torch.Generator().manual_seed(3), "specific_angle", angle=angle, dtype=torch.float64
    )
    assert torch.allclose(tangents.norm(dim=-1), torch.ones(16, dtype=torch.float64), atol=1e-12)
    cosines = tangents[1:] @ tangents[0]
    assert torch.allclose(
        cosines, torch.full((15,), math.cos(math.radians(angle)), dtype=torch.float64), atol=1e-6
    )


def test_projection_does_not_depend_on_the_angle():
    draws = torch.randn(8, 32, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    grad = torch.randn(32, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    results = []
    for angle in (15, 30, 45, 60, 75, 90):
        tangents = specific_angle_tangents(draws, angle)
        results.append(combine(tangents, tangents @ grad, "orthogonal_projection"))
        # ... while the mean changes with the angle
    assert all(torch.allclose(r, results[0]) for r in results[1:])
    gaussian = combine(draws, draws @ grad, "orthogonal_projection")  # the span of the underlying draws
    assert torch.allclose(gaussian, results[0])
    means = [
        combine(specific_angle_tangents(draws, a), specific_angle_tangents(draws, a) @ grad, "mean")
        for a in (15, 90)
    ]
    assert not torch.allclose(means[0], means[1])
