"""Loss functions of the training loop, each with a per-sample form used by the evaluation.

* ``cross_entropy``: softmax cross-entropy on logits (fg, oialr), optional label smoothing.
* ``bce_onehot``: binary cross-entropy between probabilities (sigmoid outputs) and one-hot targets, mean over
  batch x classes in training; per sample it is summed over the classes (docs/methods/f3.md#evaluation).
* ``mse``: mean squared error; per sample it is the mean over the output dimensions.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass(frozen=True)
class Loss:
    """A training loss and its per-sample evaluation form."""

    name: str
    num_classes: int
    label_smoothing: float = 0.0

    def __call__(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Mean-reduced training loss of a batch."""
        if self.name == "cross_entropy":
            return F.cross_entropy(outputs, targets, label_smoothing=self.label_smoothing)
        if self.name == "bce_onehot":
            return F.binary_cross_entropy(outputs, self.one_hot(targets))
        return F.mse_loss(outputs, targets.reshape(outputs.shape))

    def per_sample(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Loss of each sample, shape (B,), as summed by the evaluation."""
        if self.name == "cross_entropy":
            return F.cross_entropy(outputs, targets, reduction="none")
        if self.name == "bce_onehot":
            bce = F.binary_cross_entropy(outputs, self.one_hot(targets), reduction="none")  # (B, C)
            return bce.sum(dim=1)
        squared = (outputs - targets.reshape(outputs.shape)) ** 2
        return squared.reshape(len(squared), -1).mean(dim=1)

    def one_hot(self, targets: torch.Tensor) -> torch.Tensor:
        """Float one-hot targets (B, C) from class indices (B,)."""
        return F.one_hot(targets, self.num_classes).to(torch.get_default_dtype())
