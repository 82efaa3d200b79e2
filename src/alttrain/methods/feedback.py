"""Feedback methods of the f3 paper (docs/methods/f3.md#method): shallow learning, DFA, DRTP and F3.

DFA, DRTP and F3 share one mechanism. Every block of the model learns only from its own signal: the block's
input is detached (no autograd path crosses a block boundary, so there is no backward pass through the
network), the output block gets the true local gradient of the mean batch loss, and every hidden block ``i``
gets the pseudo-gradient ``g_i = e @ B_i`` injected at its post-activation output, where ``B_i`` (C x n_i) is
a fixed random feedback matrix and ``e`` (B x C) the batch's *error information*. Backward inside the block
then applies the activation derivative and sums over the batch (no 1/B, as in the authors' code); one
optimizer step updates all.

The methods differ only in ``e`` (sign convention of the authors: e = t - y):

* ``one_hot_target`` (DRTP): e = t (one-hot target; regression: the standardised target);
* ``current_error`` (DFA): e = t - y with the current weights (an extra eval-mode forward by default);
* ``delayed_error`` (F3): e = E[n], E[n] = t - y of sample n at its previous visit (y as the model outputs it:
  sigmoid outputs in the FC nets, raw logits in the cross-entropy Transformer, as the authors' code);
* ``delayed_error_one_hot`` (F3): e = t * E[n], the target scaled by the delayed error of the true class;
* ``delayed_loss`` (F3): E[n] = -d loss / d y of the mean-reduced loss (so it carries 1/(B*C));
* ``delayed_loss_one_hot`` (F3): e = t * E[n] with the delayed loss gradient;
* ``delayed_error_softmax`` (F3): E[n] = t - softmax(y) (FC nets: softmax of the sigmoid outputs, a quirk);
* ``delayed_loss_softmax`` (F3): E[n] = -d loss(softmax(y), t) / d y with the model's own loss (BCE in the FC
  nets, cross-entropy in the Transformer).

The per-sample buffer E (N_train x C) starts as the targets, so F3's first epoch is exactly DRTP. It is
written with this batch's pre-update outputs; since a sample is visited once per epoch, the value read in
epoch k is the error of the visit in epoch k - 1.
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from alttrain.data import DataSplits, Inputs
from alttrain.errors import UserError
from alttrain.losses import Loss
from alttrain.methods import GradientEstimator, forward_model, register_method

FEEDBACK_INITS = ("kaiming", "trinomial", "binomial", "pm_identity")
F3_ERROR_INFOS = (
    "delayed_error",
    "delayed_error_one_hot",
    "delayed_loss",
    "delayed_loss_one_hot",
    "delayed_error_softmax",
    "delayed_loss_softmax",
)
# error information that only makes sense with one-hot class targets
CLASSIFICATION_ONLY = tuple(e for e in F3_ERROR_INFOS if e.endswith(("one_hot", "softmax")))


def feedback_matrix(init: str, num_outputs: int, width: int) -> torch.Tensor:
    """A fixed feedback matrix B of shape (C, n), drawn from the global torch RNG (``pm_identity`` draws
    nothing).

    Args:
        init: ``kaiming`` (U(-1/sqrt(n), 1/sqrt(n)): kaiming_uniform with a = sqrt(5), fan_in = n),
            ``trinomial`` (uniform over {-1, 0, 1}), ``binomial`` (uniform over {0, 1}) or ``pm_identity``
            (tiles of [I, -I]).
        num_outputs: C, the width of the error information.
        width: n, the output width of the block that receives the signal.
    """
    if init == "kaiming":
        matrix = torch.empty(num_outputs, width)
        nn.init.kaiming_uniform_(matrix, a=math.sqrt(5))  # fan_in = size(1) = n, bound = 1/sqrt(n)
        return matrix
    if init in ("trinomial", "binomial"):
        values = torch.tensor([-1.0, 0.0, 1.0] if init == "trinomial" else [0.0, 1.0])
        return values[torch.randint(len(values), (num_outputs, width))]
    if init == "pm_identity":
        eye = torch.eye(num_outputs)
        tile = torch.cat([eye, -eye], dim=1)  # (C, 2C): hidden unit j gets +e_j, then -e_j, alternating per C
        repeats = -(-width // tile.shape[1])
        return tile.repeat(1, repeats)[:, :width].contiguous()  # a remainder takes the tile's first columns
    raise UserError(f"unknown feedback_init {init!r}; known: {', '.join(FEEDBACK_INITS)}")


def model_blocks(model: nn.Module) -> nn.ModuleList:
    """The model's ``blocks`` (at least two: hidden and output); a model without them is a clear error."""
    blocks = getattr(model, "blocks", None)
    if not isinstance(blocks, nn.ModuleList) or len(blocks) < 2:
        raise UserError(
            f"feedback methods need a model with at least two `blocks` (e.g. f3_fc), got "
            f"{type(model).__name__}"
        )
    return blocks


def one_hot_targets(y: torch.Tensor, data: DataSplits) -> torch.Tensor:
    """(B, C) float targets: one-hot classes, or the regression targets as columns."""
    if data.task == "classification":
        return F.one_hot(y, data.num_outputs).to(torch.get_default_dtype())
    return y.reshape(len(y), -1).to(torch.get_default_dtype())


@register_method("llo")
class ShallowLearning(GradientEstimator):
    """Shallow learning: all blocks but the last stay at their random init; the output layer learns by BP."""

    def __init__(self, model: nn.Module, loss: Loss, data: DataSplits, generator: torch.Generator) -> None:
        super().__init__(model, loss, data, generator)
        self.blocks = model_blocks(model)
        for block in self.blocks[:-1]:
            block.requires_grad_(False)  # the loop builds the optimizer from the trainable parameters only

    def compute_gradients(
        self, x: Inputs, y: torch.Tensor, index: torch.Tensor, update_state: bool = True
    ) -> torch.Tensor:
        with torch.no_grad():
            h = x
            for block in self.blocks[:-1]:
                h = block(h)
        loss = self.loss(self.blocks[-1](h), y)
        loss.backward()
        return loss.detach()


class FeedbackEstimator(GradientEstimator):
    """Direct feedback to every hidden block through fixed matrices B_i, with a chosen error information.

    Args:
        feedback_init: how the B_i are drawn (:data:`FEEDBACK_INITS`); drawn here, i.e. right after the
            model's Linear layers (the loop seeds, builds the model, then creates the estimator), so every
            method sees the same forward weights for a seed.
        error_info: the signal e (see the module docstring).
        extra_forward: DFA only: compute e with a separate eval-mode forward before the update (authors' cost
            profile); False reuses the training forward's outputs (numerically the same for these models).
        softmax_on_logits: ``*_softmax`` variants only: softmax of the output block's pre-sigmoid logits
            instead of the sigmoid outputs (a fix of the authors' quirk; off by default).
    """

    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: DataSplits,
        generator: torch.Generator,
        *,
        error_info: str,
        feedback_init: str = "kaiming",
        extra_forward: bool = True,
        softmax_on_logits: bool = False,
    ) -> None:
        super().__init__(model, loss, data, generator)
        if data.task != "classification" and error_info in CLASSIFICATION_ONLY:
            raise UserError(
                f"error_info {error_info!r} needs class targets; regression allows delayed_error, "
                "delayed_loss"
            )
        if feedback_init not in FEEDBACK_INITS:
            raise UserError(f"unknown feedback_init {feedback_init!r}; known: {', '.join(FEEDBACK_INITS)}")
        self.blocks = model_blocks(model)
        self.error_info = error_info
        self.feedback_init = feedback_init
        self.extra_forward = extra_forward
        self.softmax_on_logits = softmax_on_logits
        if softmax_on_logits and not (
            isinstance(self.blocks[-1], nn.Sequential) and isinstance(self.blocks[-1][-1], nn.Sigmoid)
        ):
            raise UserError("softmax_on_logits needs an output block that ends with a sigmoid (f3_fc)")
        device = data.train.y.device
        widths = self._hidden_widths()
        self.feedback = [feedback_matrix(feedback_init, data.num_outputs, n).to(device) for n in widths]
        self.delayed: torch.Tensor | None = None
        if error_info.startswith("delayed"):
            # (N, C) per-sample buffer starting as the targets: epoch 1 uses e = t, i.e. DRTP
            self.delayed = one_hot_targets(data.train.y, data).clone()

    def _hidden_widths(self) -> list[int]:
        """Flattened output width of every hidden block, from one training sample (consumes no RNG)."""
        x, _ = self.data.train.take(torch.arange(1, device=self.data.train.y.device))
        widths = []
        with torch.no_grad():
            h = x
            for block in self.blocks[:-1]:
                h = block(h)
                widths.append(h[0].numel())
        return widths

    def _forward_blocks(self, x: Inputs, local: bool):
        """Hidden block outputs, model outputs and (with ``softmax_on_logits``) the output logits.

        ``local=True`` detaches every block's input, so each block is its own autograd graph.
        """
        hidden = []
        h = x
        for block in self.blocks[:-1]:
            h = block(h)
            hidden.append(h)
            if local:
                h = h.detach()  # no gradient flows from block i+1 back into block i
        logits = None
        if self.softmax_on_logits:
            logits = self.blocks[-1][:-1](h)
            outputs = self.blocks[-1][-1](logits)
        else:
            outputs = self.blocks[-1](h)
        return hidden, outputs, logits

    def _prediction(self, outputs: torch.Tensor) -> torch.Tensor:
        """What the error t - y compares with the target (softmax of the logits for cross-entropy)."""
        return torch.softmax(outputs, dim=1) if self.loss.name == "cross_entropy" else outputs

    def _signal(
        self, x: Inputs, targets: torch.Tensor, outputs: torch.Tensor, index: torch.Tensor
    ) -> torch.Tensor:
        """The error information e (B, C) of this batch, read before the buffer is written."""
        if self.error_info == "one_hot_target":
            return targets
        if self.error_info == "current_error":
            if not self.extra_forward:
                return targets - self._prediction(outputs)
            was_training = self.model.training
            self.model.eval()
            with torch.no_grad():  # the authors' separate forward with the current weights
                current = forward_model(self.model, x)
            self.model.train(was_training)
            return targets - self._prediction(current)
        delayed = self.delayed[index]  # (B, C): the error of each sample's previous visit
        return targets * delayed if self.error_info.endswith("one_hot") else delayed

    def _value_to_store(
        self, y: torch.Tensor, targets: torch.Tensor, outputs: torch.Tensor, logits: torch.Tensor | None
    ) -> torch.Tensor:
        """What E[index] becomes after this batch: an error or a negative loss gradient of the outputs."""
        info = self.error_info
        if info in ("delayed_error", "delayed_error_one_hot"):
            return targets - outputs  # the model's outputs as they are (logits for cross-entropy, as the authors)
        if info in ("delayed_loss", "delayed_loss_one_hot"):
            copy = outputs.detach().requires_grad_(True)
            (grad,) = torch.autograd.grad(self.loss(copy, y), copy)
            return -grad  # mean-reduced loss: carries the 1/(B*C) factor (docs/methods/f3.md#delayed-error-buffer)
        # FC nets: the sigmoid outputs (the authors' quirk; docs/methods/f3.md#authors-code-what-is-kept)
        squashed = logits if self.softmax_on_logits else outputs
        if info == "delayed_error_softmax":
            return targets - torch.softmax(squashed.detach(), dim=1)
        copy = squashed.detach().requires_grad_(True)  # the model's own loss applied to softmax(y) (authors)
        (grad,) = torch.autograd.grad(self.loss(torch.softmax(copy, dim=1), y), copy)
        return -grad

    def compute_gradients(
        self, x: Inputs, y: torch.Tensor, index: torch.Tensor, update_state: bool = True
    ) -> torch.Tensor:
        targets = one_hot_targets(y, self.data)  # (B, C)
        hidden, outputs, logits = self._forward_blocks(x, local=True)
        loss = self.loss(outputs, y)
        signal = self._signal(x, targets, outputs.detach(), index)  # (B, C)
        # One scalar whose gradient is the loss gradient for the output block and the injected (B, C) x (C, n_i)
        # signal for each hidden block output (d/dh sum(h * g) = g, exactly): each block's graph ends at its
        # detached input. (A scalar root also keeps torch.autograd.backward from importing sympy, 0.3 s.)
        surrogate = loss
        for h, matrix in zip(hidden, self.feedback, strict=True):
            if h.requires_grad:
                surrogate = surrogate + (h * (signal @ matrix).reshape(h.shape)).sum()
        surrogate.backward()
        if update_state and self.delayed is not None:
            self.delayed[index] = self._value_to_store(y, targets, outputs.detach(), logits).detach()
        return loss.detach()

    def true_gradients(self, x: Inputs, y: torch.Tensor) -> dict[str, torch.Tensor]:
        """Backprop through the same blocks without detaching (the reference of the alignment metric)."""
        named = [(n, p) for n, p in self.model.named_parameters() if p.requires_grad]
        _, outputs, _ = self._forward_blocks(x, local=False)
        grads = torch.autograd.grad(self.loss(outputs, y), [p for _, p in named], allow_unused=True)
        return {n: g for (n, _), g in zip(named, grads, strict=True) if g is not None}

    def state_dict(self) -> dict[str, Any]:
        return {**super().state_dict(), "feedback": list(self.feedback), "delayed": self.delayed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        device = self.data.train.y.device
        self.feedback = [m.to(device) for m in state["feedback"]]
        self.delayed = state["delayed"].to(device) if state["delayed"] is not None else None


@register_method("dfa")
class DirectFeedbackAlignment(FeedbackEstimator):
    """DFA: e = t - y of the current weights (update-locked: needs this batch's output before any update)."""

    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: DataSplits,
        generator: torch.Generator,
        feedback_init: str = "kaiming",
        extra_forward: bool = True,
    ) -> None:
        super().__init__(
            model,
            loss,
            data,
            generator,
            error_info="current_error",
            feedback_init=feedback_init,
            extra_forward=extra_forward,
        )


@register_method("drtp")
class DirectRandomTargetProjection(FeedbackEstimator):
    """DRTP: e = t, the target itself (no error information at all)."""

    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: DataSplits,
        generator: torch.Generator,
        feedback_init: str = "kaiming",
    ) -> None:
        super().__init__(
            model, loss, data, generator, error_info="one_hot_target", feedback_init=feedback_init
        )


@register_method("f3")
class DelayedFeedback(FeedbackEstimator):
    """F3: e = the per-sample error information stored at the sample's previous visit (one epoch old)."""

    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: DataSplits,
        generator: torch.Generator,
        error_info: str = "delayed_error",
        feedback_init: str = "kaiming",
        softmax_on_logits: bool = False,
    ) -> None:
        if error_info not in F3_ERROR_INFOS:
            raise UserError(f"unknown f3 error_info {error_info!r}; known: {', '.join(F3_ERROR_INFOS)}")
        super().__init__(
            model,
            loss,
            data,
            generator,
            error_info=error_info,
            feedback_init=feedback_init,
            softmax_on_logits=softmax_on_logits,
        )
