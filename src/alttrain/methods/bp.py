"""Backpropagation: the exact gradient, the reference of every approximate method."""

from __future__ import annotations

import torch

from alttrain.data import Inputs
from alttrain.methods import GradientEstimator, forward_model, register_method


@register_method("bp")
class Backprop(GradientEstimator):
    """Ordinary reverse-mode gradient of the mean batch loss."""

    exact = True

    def compute_gradients(
        self, x: Inputs, y: torch.Tensor, index: torch.Tensor, update_state: bool = True
    ) -> torch.Tensor:
        loss = self.loss(forward_model(self.model, x), y)
        loss.backward()
        return loss.detach()
