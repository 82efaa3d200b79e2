"""Gradient estimators: the one training loop asks an estimator to fill every trainable parameter's ``.grad``.

Register a new estimator with ``@register_method("name")`` on a subclass of :class:`GradientEstimator` in any
module of this package; create one with :func:`create_method`; list them with :func:`list_methods`.
"""

from __future__ import annotations

from typing import Any, ClassVar

import torch
from torch import nn

from alttrain.data import DataSplits, Inputs
from alttrain.losses import Loss
from alttrain.registry import Registry

METHODS = Registry("method", "alttrain.methods")
register_method = METHODS.register


def forward_model(model: nn.Module, x: Inputs) -> torch.Tensor:
    """Apply ``model`` to a tensor or to a tuple of input tensors."""
    return model(*x) if isinstance(x, tuple) else model(x)


class GradientEstimator:
    """Base class: given a batch, fill each trainable parameter's ``.grad`` with a gradient estimate.

    Subclasses override :meth:`compute_gradients`. An estimator may modify the model when it is created (e.g. F3
    inserts feedback connectors); the loop builds the optimizer afterwards. State that must survive a resume
    (buffers, generators) goes through :meth:`state_dict` / :meth:`load_state_dict`.

    Attributes:
        exact: True for backprop (the alignment metric is then skipped: it would be 1 by definition).
    """

    exact: ClassVar[bool] = False

    def __init__(
        self, model: nn.Module, loss: Loss, data: DataSplits, generator: torch.Generator, **options: Any
    ) -> None:
        if options:
            raise TypeError(f"{type(self).__name__} got unknown options {sorted(options)}")
        self.model = model
        self.loss = loss
        self.data = data
        self.generator = generator

    def compute_gradients(
        self, x: Inputs, y: torch.Tensor, index: torch.Tensor, update_state: bool = True
    ) -> torch.Tensor:
        """Fill ``p.grad`` of the trainable parameters for this batch and return the batch loss (detached).

        Args:
            x: batch inputs. y: batch targets. index: positions of the samples in the training split.
            update_state: False for the alignment probe: the estimator must leave its own state (buffers) as is.
        """
        raise NotImplementedError

    def true_gradients(self, x: Inputs, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Backprop gradients of the batch loss w.r.t. the trainable parameters (the alignment reference)."""
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        loss = self.loss(forward_model(self.model, x), y)
        grads = torch.autograd.grad(loss, [p for _, p in named], allow_unused=True)
        return {n: g for (n, _), g in zip(named, grads, strict=True) if g is not None}

    def state_dict(self) -> dict[str, Any]:
        """Resumable state (the generator's state by default)."""
        return {"generator": self.generator.get_state()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore :meth:`state_dict`."""
        self.generator.set_state(state["generator"])


def create_method(
    name: str, model: nn.Module, loss: Loss, data: DataSplits, generator: torch.Generator, **options: Any
) -> GradientEstimator:
    """Instantiate the estimator registered as ``name``."""
    return METHODS.get(name)(model, loss, data, generator, **options)


def list_methods() -> list[str]:
    """Names of all registered estimators."""
    return METHODS.names()
