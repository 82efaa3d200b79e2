"""OIALR: orthogonality-informed adaptive low-rank training (docs/methods/oialr.md#method), and the
basis-stability analysis.

Not a gradient estimator: a model transform plus a controller that the training loop calls once per optimizer
step, so it combines with every estimator. A run enables it with the run config's ``lowrank`` entry:

* ``{"mode": "oialr", "delay": ..., "stability_frequency": ..., ...}``: :class:`OIALRController`
  (options in :class:`OIALROptions`);
* ``{"mode": "stability", "series": [{"every": 10}], ...}``: :class:`StabilityTracker`, analysis of full-rank
  training (no effect on training).

Modules: :mod:`.linalg` (matrix views, SVD, truncation rule, stability measures), :mod:`.layers` (low-rank
layers), :mod:`.optim_state` (optimizer swaps), :mod:`.controller`, :mod:`.stability`. The paper's steps beside
training (collecting the CSVs, stability from snapshots) are in :mod:`alttrain.pipelines.oialr`. This package
file imports no torch.
"""

from __future__ import annotations

import importlib
from typing import Any

from alttrain.errors import UserError

MODES = ("oialr", "stability")
STABILITY_OPTIONS = ("series", "definition", "r_similarity", "layers")
_LAZY = {
    "OIALRController": "controller",
    "OIALROptions": "controller",
    "eligible": "controller",
    "eligible_layers": "controller",
    "StabilityTracker": "stability",
}

__all__ = ["MODES", "build_controller", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"alttrain.lowrank.{_LAZY[name]}"), name)
    raise AttributeError(f"module 'alttrain.lowrank' has no attribute {name!r}")


def build_controller(model: Any, spec: dict[str, Any], optimizer: Any) -> Any:
    """The controller described by the run config's ``lowrank`` entry (``mode`` defaults to ``oialr``).

    Called by the training loop after the optimizer exists; the OIALR controller keeps a handle to it to swap
    the converted weights for Sigma in the parameter groups.

    Args:
        model: the ``nn.Module`` being trained (converted in place).
        spec: the ``lowrank`` entry of the run config.
        optimizer: the torch optimizer over the model's trainable parameters (or ``None``).
    """
    options = dict(spec)
    mode = options.pop("mode", "oialr")
    if mode == "oialr":
        from alttrain.lowrank.controller import OIALRController, OIALROptions

        return OIALRController(model, optimizer, OIALROptions.from_dict(options))
    if mode == "stability":
        from alttrain.lowrank.stability import StabilityTracker

        unknown = sorted(set(options) - set(STABILITY_OPTIONS))
        if unknown:
            raise UserError(
                f"unknown lowrank stability option(s) {unknown}; allowed: {list(STABILITY_OPTIONS)}"
            )
        return StabilityTracker(model, **options)
    raise UserError(f"unknown lowrank mode {mode!r}; known: {', '.join(MODES)}")
