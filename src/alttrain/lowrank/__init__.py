"""OIALR: orthogonality-informed adaptive low-rank training (oialr spec 2), and the basis-stability analysis.

Not a gradient estimator: a model transform plus a controller that the training loop calls once per optimizer
step, so it combines with every estimator. A run enables it with the run config's ``lowrank`` entry:

* ``{"mode": "oialr", "delay": ..., "stability_frequency": ..., ...}``: :class:`OIALRController`
  (options in :class:`OIALROptions`);
* ``{"mode": "stability", "series": [{"every": 10}], ...}``: :class:`StabilityTracker`, analysis of full-rank
  training (no effect on training).

Modules: :mod:`.linalg` (matrix views, SVD, truncation rule, stability measures), :mod:`.layers` (low-rank
layers), :mod:`.optim_state` (optimizer swaps), :mod:`.controller`, :mod:`.stability`, :mod:`.cli`.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from alttrain.errors import UserError
from alttrain.lowrank.controller import OIALRController, OIALROptions, eligible, eligible_layers
from alttrain.lowrank.stability import StabilityTracker

MODES = ("oialr", "stability")

__all__ = ["MODES", "OIALRController", "OIALROptions", "StabilityTracker", "build_controller", "eligible",
           "eligible_layers"]


def build_controller(model: nn.Module, spec: dict[str, Any],
                     optimizer: torch.optim.Optimizer | None) -> OIALRController | StabilityTracker:
    """The controller described by the run config's ``lowrank`` entry (``mode`` defaults to ``oialr``).

    Called by the training loop after the optimizer exists; the OIALR controller keeps a handle to it to swap the
    converted weights for Sigma in the parameter groups.
    """
    options = dict(spec)
    mode = options.pop("mode", "oialr")
    if mode == "oialr":
        return OIALRController(model, optimizer, OIALROptions.from_dict(options))
    if mode == "stability":
        allowed = {"series", "definition", "r_similarity", "layers"}
        if set(options) - allowed:
            raise UserError(f"unknown lowrank stability option(s) {sorted(set(options) - allowed)}; "
                            f"allowed: {sorted(allowed)}")
        return StabilityTracker(model, **options)
    raise UserError(f"unknown lowrank mode {mode!r}; known: {', '.join(MODES)}")
