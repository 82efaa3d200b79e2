"""Tangent samplers of the forward-gradient methods (docs/methods/fg.md#tangent-samplers).

Every sampler returns tangents of shape ``(*batch, k, n)`` drawn from a dedicated ``torch.Generator`` so that
a run's tangent stream depends only on its seed:

* ``normal``: v ~ N(0, I_n) (the default of every experiment of the paper);
* ``rademacher``: entries +-1 with probability 1/2; for k < 32 a draw whose tangents are linearly dependent is
  redrawn up to 10 times (as in the authors' code; a Gaussian draw is independent almost surely);
* ``standard_basis``: the first k unit vectors e_1..e_k (deterministic; k <= n);
* ``specific_angle``: unit tangents with angle exactly ``angle`` degrees to the first tangent (custom tangents
  of the paper's section 4.3): v_i' = cos(a) v_1 + sin(a) w_i with w_i the normalised part of v_i orthogonal
  to v_1.

``normalize=True`` rescales every tangent to unit length afterwards.
"""

from __future__ import annotations

import math

import torch

SAMPLERS = ("normal", "rademacher", "standard_basis", "specific_angle")


def sample_tangents(
    k: int,
    n: int,
    generator: torch.Generator,
    sampler: str = "normal",
    *,
    batch: tuple[int, ...] = (),
    normalize: bool = False,
    angle: float | None = None,
    dtype: torch.dtype = torch.float32,
    device: torch.device | str = "cpu",
) -> torch.Tensor:
    """Draw ``k`` tangents of dimension ``n`` (for each index of ``batch``).

    Args:
        k: number of tangents. n: dimension of each tangent.
        generator: the method's own random stream (CPU generator; tangents are moved to ``device``
        afterwards). sampler: one of :data:`SAMPLERS`. batch: leading batch shape (independent draws).
        normalize: rescale each tangent to unit Euclidean norm. angle: angle in degrees to the first tangent
            (``specific_angle`` only). dtype, device: of the returned tensor.

    Returns:
        Tensor of shape ``(*batch, k, n)``.
    """
    shape = (*batch, k, n)
    if sampler == "normal":
        tangents = torch.randn(shape, generator=generator, dtype=dtype)
    elif sampler == "rademacher":
        tangents = _rademacher(shape, generator, dtype)
    elif sampler == "standard_basis":
        if k > n:
            raise ValueError(f"standard_basis needs k <= n, got k={k}, n={n}")
        tangents = torch.eye(n, dtype=dtype)[:k].expand(shape).clone()
    elif sampler == "specific_angle":
        if angle is None:
            raise ValueError("the specific_angle sampler needs an angle in degrees")
        tangents = specific_angle_tangents(torch.randn(shape, generator=generator, dtype=dtype), angle)
    else:
        raise ValueError(f"unknown tangent sampler {sampler!r}; known: {', '.join(SAMPLERS)}")
    if normalize:
        tangents = tangents / tangents.norm(dim=-1, keepdim=True)
    return tangents.to(device)


def specific_angle_tangents(draws: torch.Tensor, angle: float) -> torch.Tensor:
    """Turn Gaussian draws ``(..., k, n)`` into unit tangents at ``angle`` degrees to the first one.

    The first tangent is the normalised first draw; every other tangent is cos(a) v_1 + sin(a) w_i where w_i
    is the normalised component of draw i orthogonal to v_1. The secondary tangents are not mutually
    orthogonal.
    """
    unit = draws / draws.norm(dim=-1, keepdim=True)
    first = unit[..., :1, :]  # (..., 1, n)
    rest = unit[..., 1:, :]  # (..., k-1, n)
    orthogonal = rest - (rest * first).sum(-1, keepdim=True) * first
    orthogonal = orthogonal / orthogonal.norm(dim=-1, keepdim=True)
    radians = math.radians(angle)
    rotated = math.cos(radians) * first + math.sin(radians) * orthogonal
    return torch.cat([first, rotated], dim=-2)


def _rademacher(shape: tuple[int, ...], generator: torch.Generator, dtype: torch.dtype) -> torch.Tensor:
    """+-1 entries; small sets of tangents are redrawn (up to 10 times) while they are linearly dependent."""
    k, n = shape[-2], shape[-1]
    for _ in range(10):
        tangents = torch.randint(0, 2, shape, generator=generator).to(dtype) * 2 - 1
        # why: with few +-1 tangents in low dimension, duplicates (dependent tangents) are likely; the Gram
        # matrix of the projection would then be singular. Large k (>= 32) is never checked, as in the
        # authors' code.
        if k >= 32 or bool((torch.linalg.matrix_rank(tangents.double()) == min(k, n)).all()):
            return tangents
    return tangents
