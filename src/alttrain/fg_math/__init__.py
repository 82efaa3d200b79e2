"""The fg paper's mathematics outside the training loop (docs/methods/fg.md).

* :mod:`.combination`: the combination of k directional derivatives into a forward gradient (``combine``), used
  by the training estimator (:mod:`alttrain.methods.forward_gradient`) and by the modules below;
* :mod:`.functions`: the closed-form test functions; :mod:`.sweep`: vectorised gradient descent on them;
* :mod:`.approx_quality`: the approximation-quality study (cosine and norm ratio vs n and k).

The steps that run them are in :mod:`alttrain.pipelines.fg`.

Public API (DESIGN section 8): ``sphere(x)``, ``rosenbrock(x)``, ``styblinski_tang(x)`` with ``x`` of shape
``(..., n)`` returning ``(...)``.
"""

from alttrain.fg_math.functions import FUNCTIONS, rosenbrock, sphere, styblinski_tang

__all__ = ["FUNCTIONS", "rosenbrock", "sphere", "styblinski_tang"]
