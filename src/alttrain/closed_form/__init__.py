"""Closed-form experiments of the fg paper: test functions, vectorised gradient-descent sweeps, approximation
quality.

Public API (DESIGN section 8): ``sphere(x)``, ``rosenbrock(x)``, ``styblinski_tang(x)`` with ``x`` of shape
``(..., n)`` returning ``(...)``.
"""

from alttrain.closed_form.functions import FUNCTIONS, rosenbrock, sphere, styblinski_tang

__all__ = ["FUNCTIONS", "rosenbrock", "sphere", "styblinski_tang"]
