"""Closed-form test functions of the fg paper, batched: ``x`` of shape ``(..., n)`` -> ``(...)``
(docs/methods/fg.md#closed-form-functions).

Each function has an analytic gradient (used by the simulated-JVP sweep; tests compare it with autograd), the
start point and step budget of the paper, and its global minimum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# minimiser of t^4 - 16 t^2 + 5 t (root of 4 t^3 - 32 t + 5 = 0 near -2.9) and half its value (per coordinate)
STYBLINSKI_TANG_ARGMIN = -2.903534027771178
STYBLINSKI_TANG_MIN_PER_DIM = 0.5 * (
    STYBLINSKI_TANG_ARGMIN**4 - 16 * STYBLINSKI_TANG_ARGMIN**2 + 5 * STYBLINSKI_TANG_ARGMIN
)


def sphere_terms(x: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
    """Per-coordinate contributions x_i^2 (``pairs`` is unused; see :func:`rosenbrock_terms`)."""
    return x * x


def sphere(x: torch.Tensor) -> torch.Tensor:
    """f(x) = sum_i x_i^2."""
    return sphere_terms(x).sum(-1)


def sphere_grad(x: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
    """2 x."""
    return 2 * x


def _straddling(pairs: torch.Tensor) -> torch.Tensor:
    """Indices of the neighbouring pairs (i, i+1) that belong to two different packed functions."""
    return torch.nonzero(~pairs).flatten()


def rosenbrock_terms(x: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
    """Contributions 100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2 per coordinate i < n (the last one: 0).

    Args:
        x: (..., n).
        pairs: optional bool mask (n - 1,): which neighbouring pairs (i, i+1) belong to the same function
            (several functions packed into one vector); default all.
    """
    head, tail = x[..., :-1], x[..., 1:]
    terms = 100 * (tail - head * head) ** 2 + (1 - head) ** 2  # (..., n-1)
    if pairs is not None:
        # zero the pairs that straddle two packed functions; not a product: inf * 0 would leak NaN into the next
        # function; index_fill_ on the few straddling columns rather than torch.where over all of them (faster)
        terms.index_fill_(-1, _straddling(pairs), 0.0)
    return torch.cat([terms, torch.zeros_like(x[..., :1])], dim=-1)


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """f(x) = sum_{i<n} [100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2] (a = 1, b = 100); identically 0 for n = 1."""
    return rosenbrock_terms(x).sum(-1)


def rosenbrock_grad(x: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
    """Analytic gradient of :func:`rosenbrock` (``pairs`` as in :func:`rosenbrock_terms`)."""
    head, tail = x[..., :-1], x[..., 1:]
    inner = tail - head * head  # (..., n-1)
    as_head = -400 * head * inner - 2 * (1 - head)  # d/dx_i of pair (i, i+1)
    as_tail = 200 * inner  # d/dx_{i+1} of pair (i, i+1)
    if pairs is not None:
        cut = _straddling(pairs)
        as_head.index_fill_(-1, cut, 0.0)
        as_tail.index_fill_(-1, cut, 0.0)
    grad = torch.zeros_like(x)
    grad[..., :-1] += as_head
    grad[..., 1:] += as_tail
    return grad


def styblinski_tang_terms(x: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
    """Per-coordinate contributions (x_i^4 - 16 x_i^2 + 5 x_i) / 2."""
    return 0.5 * (x**4 - 16 * x**2 + 5 * x)


def styblinski_tang(x: torch.Tensor) -> torch.Tensor:
    """f(x) = 1/2 sum_i (x_i^4 - 16 x_i^2 + 5 x_i)."""
    return styblinski_tang_terms(x).sum(-1)


def styblinski_tang_grad(x: torch.Tensor, pairs: torch.Tensor | None = None) -> torch.Tensor:
    """2 x^3 - 16 x + 2.5."""
    return 2 * x**3 - 16 * x + 2.5


@dataclass(frozen=True)
class TestFunction:
    """A closed-form function with everything the sweep needs.

    Attributes:
        name: id used in configs and CSVs. value: batched function. terms: per-coordinate contributions (their
            sum is the value; accepts a pair mask for packed vectors). grad: analytic gradient (same pair
            mask).
        start_value: the coordinates of the start point x0 for the first and the remaining coordinates.
        max_steps: the paper's step budget.
    """

    name: str
    value: Callable[[torch.Tensor], torch.Tensor]
    terms: Callable[..., torch.Tensor]
    grad: Callable[..., torch.Tensor]
    start_first: float
    start_rest: float
    max_steps: int

    def start(self, n: int, dtype: torch.dtype = torch.float64) -> torch.Tensor:
        """The deterministic start point x0, shape (n,)."""
        x = torch.full((n,), self.start_rest, dtype=dtype)
        x[0] = self.start_first
        return x

    def minimum(self, n: int) -> float:
        """Global minimum value in dimension n."""
        return STYBLINSKI_TANG_MIN_PER_DIM * n if self.name == "styblinski_tang" else 0.0


FUNCTIONS: dict[str, TestFunction] = {
    "sphere": TestFunction("sphere", sphere, sphere_terms, sphere_grad, -1.0, -1.0, 1000),
    "rosenbrock": TestFunction("rosenbrock", rosenbrock, rosenbrock_terms, rosenbrock_grad, -1.0, 0.0, 25000),
    "styblinski_tang": TestFunction(
        "styblinski_tang", styblinski_tang, styblinski_tang_terms, styblinski_tang_grad, 0.0, 0.0, 1000
    ),
}
