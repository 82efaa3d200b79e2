"""Low-rank layers W = U Sigma V^T with U, V frozen and Sigma a dense trainable k x k matrix
(docs/methods/oialr.md#the-oialr-algorithm).

A layer is converted in place: its weight parameter is removed, a :class:`LowRankFactors` child named
``factors`` holds U (m, k), Sigma (k, k) and V^T (k, n) of the tall matrix, and the module's class is swapped
for a subclass of its own class (``LowRankLinear`` for ``nn.Linear`` ...) whose ``weight`` (``in_proj_weight``
for attention) is a property that rebuilds W. So the module is still an ``nn.Linear`` / ``nn.Conv2d`` /
``nn.MultiheadAttention``, code that reads ``module.weight`` keeps working (torch's attention reads
``out_proj.weight``), and the bias, hooks and settings stay where they were.

Forward rule (documented choice; the authors always rebuild W, docs/methods/oialr.md#the-oialr-algorithm step 4): for a
Linear or a plain Conv with T output positions (tokens x spatial positions), rebuilding W costs about m n k + T m n
multiply-adds, two thin products cost T k (m + n). ``forward_mode="auto"`` uses the thin products when ``T k (m + n) < m
n (k + T)``, which for many tokens means ``k < m n / (m + n)`` (half the width for a square layer); both give the same
output up to float round-off. Attention's packed input projection always rebuilds W (torch's attention takes the
weight).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from alttrain.lowrank.linalg import as_matrix, tall, thin_svd

FORWARD_MODES = ("auto", "dense", "factorized")
CONV_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d)


class LowRankFactors(nn.Module):
    """U (m, k) and V^T (k, n) frozen, Sigma (k, k) trainable, for a weight of shape ``weight_shape``.

    Attributes:
        weight_shape: shape of the original weight (e.g. (C_out, C_in, kh, kw)).
        transposed: True when the weight's 2-D view (rows, cols) has rows < cols, so the tall matrix is its
        transpose. full_rank: min(rows, cols), the rank at conversion with ``inner_dim_init_ratio`` 1.
    """

    def __init__(
        self, weight_shape: tuple[int, ...], rank: int, dtype: torch.dtype, device: torch.device
    ) -> None:
        super().__init__()
        rows, cols = weight_shape[0], math.prod(weight_shape[1:])
        self.weight_shape = tuple(weight_shape)
        self.transposed = rows < cols
        m, n = (cols, rows) if self.transposed else (rows, cols)
        self.full_rank = n
        self.u = nn.Parameter(torch.zeros(m, rank, dtype=dtype, device=device), requires_grad=False)
        self.sigma = nn.Parameter(torch.zeros(rank, rank, dtype=dtype, device=device))
        self.vt = nn.Parameter(torch.zeros(rank, n, dtype=dtype, device=device), requires_grad=False)

    @classmethod
    def from_weight(cls, weight: torch.Tensor, init_ratio: float = 1.0) -> LowRankFactors:
        """Factors of ``weight`` from its thin SVD (float32), Sigma = diag(s), rank = floor(init_ratio *
        n)."""
        matrix, _ = tall(as_matrix(weight.detach()))
        u, s, vh = thin_svd(matrix)
        rank = max(1, int(init_ratio * len(s)))
        factors = cls(tuple(weight.shape), rank, weight.dtype, weight.device)
        with torch.no_grad():
            factors.u.copy_(u[:, :rank])
            factors.sigma.copy_(torch.diag(s[:rank]))
            factors.vt.copy_(vh[:rank])
        return factors

    @property
    def rank(self) -> int:
        """Current inner dimension k."""
        return self.sigma.shape[0]

    @property
    def shape_2d(self) -> tuple[int, int]:
        """(rows, cols) of the weight's 2-D view."""
        return self.weight_shape[0], math.prod(self.weight_shape[1:])

    def tall_matrix(self) -> torch.Tensor:
        """U Sigma V^T, (m, n)."""
        return self.u @ self.sigma @ self.vt

    def weight(self) -> torch.Tensor:
        """The weight W in its original shape (differentiable in Sigma)."""
        matrix = self.tall_matrix()
        return (matrix.T if self.transposed else matrix).reshape(self.weight_shape)

    def left_right(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(A, B)`` with the 2-D view W = A @ B, A (rows, k), B (k, cols)."""
        if self.transposed:  # W = (U S V^T)^T = V S^T U^T
            return self.vt.T @ self.sigma.T, self.u.T
        return self.u @ self.sigma, self.vt


def use_factorized(mode: str, rows: int, cols: int, rank: int, positions: int) -> bool:
    """The forward rule of the module docstring: True when two thin products are cheaper than rebuilding W."""
    if mode == "dense":
        return False
    if mode == "factorized":
        return True
    return positions * rank * (rows + cols) < rows * cols * (rank + positions)


class _LinearMixin:
    """``weight`` property and factorised forward for ``nn.Linear`` subclasses."""

    _weight_name = "weight"

    @property
    def weight(self) -> torch.Tensor:
        return self.factors.weight()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = self.factors.shape_2d
        plain = type(self)._full_rank_class in (nn.Linear, nn.modules.linear.NonDynamicallyQuantizableLinear)
        if not plain or not use_factorized(
            self.forward_mode, rows, cols, self.factors.rank, x.numel() // cols
        ):
            return super().forward(x)
        a, b = self.factors.left_right()  # (out, k), (k, in)
        return F.linear(F.linear(x, b), a, self.bias)  # x (..., in) -> (..., k) -> (..., out)


class _ConvMixin:
    """``weight`` property and factorised forward (k-channel conv, then 1x1 conv) for conv subclasses."""

    _weight_name = "weight"

    @property
    def weight(self) -> torch.Tensor:
        return self.factors.weight()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        rows, cols = self.factors.shape_2d
        plain = (
            type(self)._full_rank_class in CONV_TYPES
            and self.groups == 1
            and self.padding_mode == "zeros"
            and not isinstance(self.padding, str)
        )
        if not plain or not use_factorized(
            self.forward_mode, rows, cols, self.factors.rank, self._positions(x)
        ):
            return super().forward(x)
        a, b = self.factors.left_right()  # (C_out, k), (k, C_in * prod(kernel))
        conv = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}[len(self.kernel_size)]
        spatial = (1,) * len(self.kernel_size)
        inner = conv(
            x, b.reshape(b.shape[0], *self.weight_shape_tail), None, self.stride, self.padding, self.dilation
        )
        return conv(
            inner, a.reshape(*a.shape, *spatial), self.bias
        )  # 1x1 conv mixes the k channels into C_out

    @property
    def weight_shape_tail(self) -> tuple[int, ...]:
        return self.factors.weight_shape[1:]

    def _positions(self, x: torch.Tensor) -> int:
        """Number of output positions (batch x output spatial size) of this conv for input ``x``."""
        batch = x.numel() // math.prod(x.shape[-len(self.kernel_size) - 1 :])
        size = batch
        for length, k, s, p, d in zip(
            x.shape[-len(self.kernel_size) :],
            self.kernel_size,
            self.stride,
            self.padding,
            self.dilation,
            strict=True,
        ):
            size *= max(0, (length + 2 * p - d * (k - 1) - 1) // s + 1)
        return size


class _AttentionMixin:
    """``in_proj_weight`` property for ``nn.MultiheadAttention`` (packed q/k/v projection, 3E x E)."""

    _weight_name = "in_proj_weight"

    @property
    def in_proj_weight(self) -> torch.Tensor:
        return self.factors.weight()


_CLASSES: dict[type, type] = {}


def lowrank_class(base: type) -> type:
    """The low-rank subclass of ``base`` (created once per class, e.g. ``LowRankLinear`` for
    ``nn.Linear``)."""
    if base not in _CLASSES:
        if issubclass(base, nn.MultiheadAttention):
            mixin = _AttentionMixin
        elif issubclass(base, nn.Linear):
            mixin = _LinearMixin
        elif issubclass(base, CONV_TYPES):
            mixin = _ConvMixin
        else:
            raise TypeError(f"no low-rank form for {base.__name__}")
        _CLASSES[base] = type(
            f"LowRank{base.__name__}", (mixin, base), {"_full_rank_class": base, "__module__": __name__}
        )
    return _CLASSES[base]


def weight_name(module: nn.Module) -> str:
    """Name of the parameter a conversion factorises (``in_proj_weight`` for attention, else ``weight``)."""
    return "in_proj_weight" if isinstance(module, nn.MultiheadAttention) else "weight"


def is_lowrank(module: nn.Module) -> bool:
    """True for a converted module."""
    return type(module) in _CLASSES.values()


def convert_module(
    module: nn.Module, *, rank: int | None = None, init_ratio: float = 1.0, forward_mode: str = "auto"
) -> LowRankFactors:
    """Convert ``module`` in place and return its factors.

    Args:
        module: an ``nn.Linear``, ``nn.Conv1d/2d/3d`` or ``nn.MultiheadAttention`` (packed projection).
        rank: build empty factors of this rank (a resume: the values come from the state dict); ``None``
        factorises
            the current weight by its SVD.
        init_ratio: initial rank as a fraction of min(m, n) (``inner_dim_init_ratio``; 1 keeps W exactly).
        forward_mode: ``auto``, ``dense`` or ``factorized`` (see the module docstring).
    """
    if forward_mode not in FORWARD_MODES:
        raise ValueError(f"forward_mode must be one of {FORWARD_MODES}, got {forward_mode!r}")
    name = weight_name(module)
    weight = module._parameters[name]
    if rank is None:
        factors = LowRankFactors.from_weight(weight, init_ratio)
    else:
        factors = LowRankFactors(tuple(weight.shape), rank, weight.dtype, weight.device)
    del module._parameters[name]
    module.__class__ = lowrank_class(type(module))
    module.add_module("factors", factors)
    module.forward_mode = forward_mode
    return factors
