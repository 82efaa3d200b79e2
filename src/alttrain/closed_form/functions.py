"""Closed-form test functions of the fg paper (spec section 3.2), batched: ``x`` of shape ``(..., n)`` -> ``(...)``.

Each function has an analytic gradient (used by the simulated-JVP sweep; tests compare it with autograd), the start
point and step budget of the paper, and its global minimum.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

# minimiser of t^4 - 16 t^2 + 5 t (root of 4 t^3 - 32 t + 5 = 0 near -2.9) and half its value (per coordinate)
STYBLINSKI_TANG_ARGMIN = -2.903534027771178
STYBLINSKI_TANG_MIN_PER_DIM = 0.5 * (STYBLINSKI_TANG_ARGMIN**4 - 16 * STYBLINSKI_TANG_ARGMIN**2
                                     + 5 * STYBLINSKI_TANG_ARGMIN)


def sphere(x: torch.Tensor) -> torch.Tensor:
    """f(x) = sum_i x_i^2."""
    return (x * x).sum(-1)


def sphere_grad(x: torch.Tensor) -> torch.Tensor:
    """2 x."""
    return 2 * x


def rosenbrock(x: torch.Tensor) -> torch.Tensor:
    """f(x) = sum_{i<n} [100 (x_{i+1} - x_i^2)^2 + (1 - x_i)^2] (a = 1, b = 100); identically 0 for n = 1."""
    head, tail = x[..., :-1], x[..., 1:]
    return (100 * (tail - head * head) ** 2 + (1 - head) ** 2).sum(-1)


def rosenbrock_grad(x: torch.Tensor) -> torch.Tensor:
    """Analytic gradient of :func:`rosenbrock`."""
    head, tail = x[..., :-1], x[..., 1:]
    inner = tail - head * head  # (..., n-1)
    grad = torch.zeros_like(x)
    grad[..., :-1] += -400 * head * inner - 2 * (1 - head)  # terms where x_i is the "head"
    grad[..., 1:] += 200 * inner  # terms where x_i is the "tail"
    return grad


def styblinski_tang(x: torch.Tensor) -> torch.Tensor:
    """f(x) = 1/2 sum_i (x_i^4 - 16 x_i^2 + 5 x_i)."""
    return 0.5 * (x**4 - 16 * x**2 + 5 * x).sum(-1)


def styblinski_tang_grad(x: torch.Tensor) -> torch.Tensor:
    """2 x^3 - 16 x + 2.5."""
    return 2 * x**3 - 16 * x + 2.5


@dataclass(frozen=True)
class TestFunction:
    """A closed-form function with everything the sweep needs.

    Attributes:
        name: id used in configs and CSVs. value / grad: batched function and analytic gradient.
        start_value: the coordinates of the start point x0 for the first and the remaining coordinates.
        max_steps: the paper's step budget.
    """

    name: str
    value: Callable[[torch.Tensor], torch.Tensor]
    grad: Callable[[torch.Tensor], torch.Tensor]
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
    "sphere": TestFunction("sphere", sphere, sphere_grad, -1.0, -1.0, 1000),
    "rosenbrock": TestFunction("rosenbrock", rosenbrock, rosenbrock_grad, -1.0, 0.0, 25000),
    "styblinski_tang": TestFunction("styblinski_tang", styblinski_tang, styblinski_tang_grad, 0.0, 0.0, 1000),
}
