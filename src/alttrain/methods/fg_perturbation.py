"""Weight and activity (node) perturbation for the ``fg`` estimator, in simulated and in true forward mode.

Activity perturbation (docs/methods/fg.md#activity-perturbation-in-networks, the paper's setting): the network is a
sequence of blocks a_l = f_l(a_{l-1}); a global tangent T_j in R^n (n = sum of the per-sample block-output sizes) is
shared by all samples of the batch. The per-sample directional derivative of sample b's loss along T_j is d_{j,b} =
sum_l <T_j^(l), delta_l[b]> with delta_l = d loss / d a_l. The per-sample forward gradients g_b = combine(T, d[:, b])
replace the true activation gradients, and every block back-propagates its piece only inside itself (layer-local
backward, the block's input is detached).

* ``simulated``: delta_l from a reverse pass through the chain of blocks (what the authors ran);
* ``forward``: d from ``torch.func.jvp`` of the per-sample losses with every block output perturbed along T_j,
  vmapped over the k tangents (one batched forward pass). Both give the same estimate for the same tangents.

Weight perturbation: tangents live in parameter space (n = number of trainable parameters) and d = V
grad(loss); ``simulated`` reads grad(loss) from backprop, ``forward`` uses ``torch.func.jvp`` over
``functional_call``.

BatchNorm: the jvp passes run with running statistics frozen (batch statistics are still used in train mode,
so the tangent pass sees the same function as the training forward); the ordinary forward updates them once.
In train mode BatchNorm couples the samples of a batch, and the two activity modes then answer slightly
different questions: simulated d_{j,b} = <T_j, d L / d a[b]> perturbs sample b only and measures the whole
batch loss; forward mode perturbs every sample (one shared tangent) and measures sample b's loss. Per sample
they differ, their sums over the batch agree (a test checks both); without coupling (eval mode, no BatchNorm:
the FC nets and the ViT) they are identical. The paper's runs use the simulated mode.
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import nn

from alttrain.losses import Loss
from alttrain.methods import forward_model


class Estimator(Protocol):
    """What the steps read of the estimator (:class:`alttrain.methods.forward_gradient.ForwardGradient`)."""

    model: nn.Module
    loss: Loss
    mode: str
    bn_double_update: bool

    def draw_tangents(self, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor: ...

    def combine(self, tangents: torch.Tensor, jvps: torch.Tensor) -> torch.Tensor: ...


def loss_terms(loss: Loss, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample contributions ``(B,)`` summing to the mean-reduced loss ``loss(outputs, targets)``."""
    batch = outputs.shape[0]
    if loss.name == "cross_entropy":
        terms = F.cross_entropy(outputs, targets, label_smoothing=loss.label_smoothing, reduction="none")
        return terms / batch
    if loss.name == "bce_onehot":
        terms = F.binary_cross_entropy(outputs, loss.one_hot(targets), reduction="none")  # (B, C)
        return terms.sum(dim=1) / terms.numel()
    squared = (outputs - targets.reshape(outputs.shape)) ** 2
    return squared.reshape(batch, -1).sum(dim=1) / squared.numel()


@contextmanager
def frozen_batch_norm(module: nn.Module):
    """Temporarily stop BatchNorm layers from updating running statistics (batch statistics still used)."""
    layers = _tracked_batch_norms(module)
    for layer in layers:
        layer.track_running_stats = False
    try:
        yield
    finally:
        for layer in layers:
            layer.track_running_stats = True


def _tracked_batch_norms(module: nn.Module) -> list[nn.modules.batchnorm._BatchNorm]:
    """BatchNorm layers of ``module`` that keep running statistics."""
    return [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats]


@contextmanager
def forward_ad_context(module: nn.Module):
    """Settings of every jvp pass: BatchNorm statistics frozen, no autograd graph, math attention kernel.

    why the math kernel: the fused CPU attention kernels have no forward-mode derivative (torch 2.14).
    """
    from torch.nn.attention import SDPBackend, sdpa_kernel

    with frozen_batch_norm(module), torch.no_grad(), sdpa_kernel(SDPBackend.MATH):
        yield


def _split(flat: torch.Tensor, shapes: list[torch.Size]) -> list[torch.Tensor]:
    """Split ``(..., n)`` into pieces ``(..., *shape_l)``."""
    sizes = [math.prod(s) for s in shapes]
    return [p.reshape(*flat.shape[:-1], *s) for p, s in zip(flat.split(sizes, dim=-1), shapes, strict=True)]


def _trainable(model: nn.Module) -> list[tuple[str, nn.Parameter]]:
    return [(n, p) for n, p in model.named_parameters() if p.requires_grad]


def _assign_grads(params: list[nn.Parameter], grads) -> None:
    for p, g in zip(params, grads, strict=True):
        if g is not None:
            p.grad = g.detach() if p.grad is None else p.grad + g.detach()


# ------------------------------------------------------------------------------------------------------------
# ---- activity perturbation


def block_forward(blocks: nn.ModuleList, x: torch.Tensor) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """Run the blocks with detached inputs; returns (block inputs, block outputs), each one tensor per block.

    Every block's graph is separate, so a backward from block l reaches only block l's parameters and input.
    """
    inputs, outputs = [], []
    h = x
    for i, block in enumerate(blocks):
        h_in = h.detach().requires_grad_(True) if i > 0 else h
        h = block(h_in)
        inputs.append(h_in)
        outputs.append(h)
    return inputs, outputs


def activation_gradients(
    loss_value: torch.Tensor, inputs: list[torch.Tensor], outputs: list[torch.Tensor]
) -> list[torch.Tensor]:
    """True gradients delta_l = d loss / d a_l of every block output (reverse pass through the blocks)."""
    deltas = [torch.autograd.grad(loss_value, outputs[-1], retain_graph=True)[0]]
    for l in range(len(outputs) - 1, 0, -1):
        deltas.insert(0, torch.autograd.grad(outputs[l], inputs[l], deltas[0], retain_graph=True)[0])
    return deltas


def forward_activity_jvps(
    blocks: nn.ModuleList,
    loss: Loss,
    x: torch.Tensor,
    y: torch.Tensor,
    tangents: torch.Tensor,
    shapes: list[torch.Size],
) -> torch.Tensor:
    """Per-sample JVPs ``(k, B)`` by true forward mode: outputs perturbed along each tangent, vmapped."""
    pieces = _split(tangents, shapes)  # k x per-sample shape, shared by the batch
    primals = tuple(torch.zeros(s, dtype=tangents.dtype, device=tangents.device) for s in shapes)

    def perturbed_loss_terms(*perturbations: torch.Tensor) -> torch.Tensor:
        h = x
        for block, p in zip(blocks, perturbations, strict=True):
            h = block(h) + p  # p broadcasts over the batch: one tangent for every sample
        return loss_terms(loss, h, y)  # (B,)

    def one_tangent(*tangent_pieces: torch.Tensor) -> torch.Tensor:
        return torch.func.jvp(perturbed_loss_terms, primals, tangent_pieces)[1]

    with forward_ad_context(blocks):
        # why randomness="same": dropout must draw one mask for all tangents, as a single perturbed pass would
        return torch.func.vmap(one_tangent, randomness="same")(*pieces)


# ---- true forward mode in one pass (MLP-type blocks)
#
# For blocks made only of the layers below, the tangent is pushed by hand beside the graph-building forward: one
# pass gives the block outputs (with their graph, for the layer-local backward) and the tangent of every block
# output, instead of a separate ``torch.func.jvp`` pass that recomputes every activation through dual tensors
# (docs/performance.md: that pass costs ~4x a plain forward on small layers). Tangents t have shape (k, B, ...);
# a block's own perturbation T^(l) is shared by the batch, (k, 1, ...). Other blocks use the general path.

def _tangent_flatten(layer: nn.Flatten, t: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return t.reshape(*t.shape[:2], -1)


def _tangent_linear(layer: nn.Linear, t: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    return t @ layer.weight.T  # the bias has no tangent


TANGENT_RULES = {
    nn.Flatten: _tangent_flatten,
    nn.Linear: _tangent_linear,
    nn.ReLU: lambda layer, t, out: t * (out > 0),
    nn.Tanh: lambda layer, t, out: t * (1 - out * out),
    nn.Sigmoid: lambda layer, t, out: t * (out * (1 - out)),
    nn.Identity: lambda layer, t, out: t,
}


def fused_forward_supported(blocks: nn.ModuleList) -> bool:
    """Whether every block is a chain of layers of :data:`TANGENT_RULES` (Flatten only as ``start_dim=1``)."""
    for block in blocks:
        layers = list(block) if isinstance(block, nn.Sequential) else [block]
        for layer in layers:
            if type(layer) not in TANGENT_RULES:
                return False
            if isinstance(layer, nn.Flatten) and (layer.start_dim, layer.end_dim) != (1, -1):
                return False
    return True


def fused_forward_jvps(
    blocks: nn.ModuleList, loss: Loss, x: torch.Tensor, y: torch.Tensor, pieces_of, draw
) -> tuple[list[torch.Tensor], torch.Tensor, torch.Tensor]:
    """Block outputs (with graph), the tangents ``(k, n)`` drawn by ``draw(n, last output)`` and the per-sample
    JVPs ``(k, B)``.

    ``pieces_of(tangents, shapes)`` splits the tangents into the blocks' pieces. The tangents are drawn once the
    block output sizes are known (after the first pass), exactly as :func:`activity_perturbation_step` draws
    them, so both paths use the same random numbers.
    """
    outputs, layer_io = [], []
    h = x
    for i, block in enumerate(blocks):
        h = h.detach().requires_grad_(True) if i > 0 else h
        ios = []
        for layer in list(block) if isinstance(block, nn.Sequential) else [block]:
            out = layer(h)
            ios.append((layer, out))
            h = out
        outputs.append(h)
        layer_io.append(ios)
    shapes = [o.shape[1:] for o in outputs]
    tangents = draw(sum(math.prod(s) for s in shapes), outputs[-1])
    with torch.no_grad():
        t = None
        for ios, piece in zip(layer_io, pieces_of(tangents, shapes), strict=True):
            if t is not None:
                for layer, out in ios:
                    t = TANGENT_RULES[type(layer)](layer, t, out.detach())
            t = piece.unsqueeze(1) if t is None else t + piece.unsqueeze(1)  # + T^(l), shared by the batch
    # Through the loss: sample b's loss term depends on its own outputs only (cross-entropy, BCE, MSE: the
    # losses of loss_terms), so its JVP is <d term_b / d o_b, t_b>, read off one small gradient of the summed
    # terms ((B, C): cheaper than forward-mode AD through the loss, whose dual kernels are Python decompositions).
    final = outputs[-1].detach().requires_grad_(True)
    with torch.enable_grad():
        (slopes,) = torch.autograd.grad(loss_terms(loss, final, y).sum(), final)
    jvps = (t * slopes).reshape(t.shape[0], slopes.shape[0], -1).sum(-1)  # (k, B)
    return outputs, tangents, jvps


def activity_perturbation_step(
    est: Estimator,
    x: torch.Tensor,
    y: torch.Tensor,
    tangents: torch.Tensor | None = None,
    update_state: bool = True,
    fused: bool = True,
) -> torch.Tensor:
    """Fill ``.grad`` with the activity-perturbed forward gradient; returns the detached batch loss.

    Args:
        est: the estimator (options, generator, model, loss).
        x, y: the batch.
        tangents: ``(k, n)`` global tangents to use instead of drawing new ones (tests compare modes with
        them). update_state: False for the alignment probe (no second BatchNorm update).
        fused: in forward mode, use the one-pass tangents of :func:`fused_forward_jvps` when every block allows
            it (False: always the ``torch.func.jvp`` pass; the benchmark and the tests compare the two).
    """
    model = est.model
    double = est.bn_double_update and update_state and est.mode == "simulated"
    snapshot = _bn_snapshot(model) if double else {}
    if est.mode == "forward" and fused and fused_forward_supported(model.blocks):
        given = tangents

        def draw(n: int, like: torch.Tensor) -> torch.Tensor:
            return given if given is not None else est.draw_tangents(n, like.dtype, like.device)

        outputs, tangents, jvps = fused_forward_jvps(model.blocks, est.loss, x, y, _split, draw)
        loss_value = est.loss(outputs[-1], y)
        shapes = [o.shape[1:] for o in outputs]
        return _layer_local_backward(est, model, tangents, jvps, outputs, shapes, loss_value, double, snapshot)
    inputs, outputs = block_forward(model.blocks, x)
    loss_value = est.loss(outputs[-1], y)
    shapes = [o.shape[1:] for o in outputs]
    if tangents is None:
        tangents = est.draw_tangents(sum(math.prod(s) for s in shapes), outputs[-1].dtype, outputs[-1].device)
    if est.mode == "simulated":
        deltas = activation_gradients(loss_value, inputs, outputs)
        delta = torch.cat([d.reshape(d.shape[0], -1) for d in deltas], dim=1)  # (B, n)
        jvps = tangents @ delta.T  # (k, B)
    else:
        jvps = forward_activity_jvps(model.blocks, est.loss, x, y, tangents, shapes)
    return _layer_local_backward(est, model, tangents, jvps, outputs, shapes, loss_value, double, snapshot)


def _layer_local_backward(est, model, tangents, jvps, outputs, shapes, loss_value, double, snapshot) -> torch.Tensor:
    """Combine the JVPs into per-sample output gradients and back-propagate each block's piece inside it."""
    estimate = est.combine(tangents, jvps)  # (B, n): per-sample forward gradients w.r.t. the block outputs
    pieces = [p.reshape(o.shape) for p, o in zip(_split(estimate, shapes), outputs, strict=True)]
    params = [p for _, p in _trainable(model)]
    grads = torch.autograd.grad(outputs, params, pieces, allow_unused=True)  # layer-local backward
    _assign_grads(params, grads)
    if double:
        _bn_second_update(snapshot)
    return loss_value.detach()


def _bn_snapshot(model: nn.Module) -> dict[nn.Module, tuple[torch.Tensor, torch.Tensor]]:
    return {
        m: (m.running_mean.clone(), m.running_var.clone())
        for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm)
        and m.track_running_stats
        and m.running_mean is not None
        and m.momentum is not None
    }


@torch.no_grad()
def _bn_second_update(snapshot: dict[nn.Module, tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Apply the running-statistics update of the last forward once more (as the authors' block re-run does).

    After one update new = (1-m) old + m batch; a second one with the same batch statistics gives (1-m) new +
    m batch = (2-m) new - (1-m) old, so no batch statistics need to be recomputed.
    """
    for layer, (old_mean, old_var) in snapshot.items():
        m = layer.momentum
        layer.running_mean.mul_(2 - m).sub_((1 - m) * old_mean)
        layer.running_var.mul_(2 - m).sub_((1 - m) * old_var)
        layer.num_batches_tracked.add_(1)


# ------------------------------------------------------------------------------------------------------------
# ---- weight perturbation


def forward_weight_jvps(
    model: nn.Module, loss: Loss, x, y: torch.Tensor, tangents: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batch loss and its JVPs ``(k,)`` along weight-space tangents, by ``torch.func.jvp`` vmapped over k.

    Returns:
        ``(loss, jvps)``: the loss of the unperturbed weights (a scalar; the primal output of the same pass)
        and the k directional derivatives.
    """
    named = _trainable(model)
    params = {n: p.detach() for n, p in named}
    pieces = dict(zip(params, _split(tangents, [p.shape for _, p in named]), strict=True))

    def batch_loss(p: dict[str, torch.Tensor]) -> torch.Tensor:
        outputs = torch.func.functional_call(model, p, x if isinstance(x, tuple) else (x,), strict=False)
        return loss(outputs, y)

    def one_tangent(t: dict[str, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.func.jvp(batch_loss, (params,), (t,))

    with forward_ad_context(model):
        # the primal does not depend on the tangent: vmap computes it once and out_dims=None returns it once
        return torch.func.vmap(one_tangent, randomness="same", out_dims=(None, 0))(pieces)


def weight_perturbation_step(
    est: Estimator, x, y: torch.Tensor, tangents: torch.Tensor | None = None
) -> torch.Tensor:
    """Fill ``.grad`` with the weight-perturbed forward gradient; returns the detached batch loss."""
    named = _trainable(est.model)
    params = [p for _, p in named]
    n = sum(p.numel() for p in params)
    if est.mode == "simulated":
        loss_value = est.loss(forward_model(est.model, x), y)
        grads = torch.autograd.grad(loss_value, params, allow_unused=True)
        flat = torch.cat(
            [
                (g if g is not None else torch.zeros_like(p)).reshape(-1)
                for g, p in zip(grads, params, strict=True)
            ]
        )  # (n,)
        if tangents is None:
            tangents = est.draw_tangents(n, flat.dtype, flat.device)
        jvps = tangents @ flat  # (k,)
    else:
        if tangents is None:
            tangents = est.draw_tangents(n, params[0].dtype, params[0].device)
        # one pass gives the loss and the k JVPs; BatchNorm statistics are frozen in it, so a model with
        # running statistics gets their one update from a plain forward first
        if _tracked_batch_norms(est.model):
            with torch.no_grad():
                forward_model(est.model, x)
        loss_value, jvps = forward_weight_jvps(est.model, est.loss, x, y, tangents)
    estimate = est.combine(tangents, jvps)  # (n,)
    _assign_grads(params, _split(estimate, [p.shape for p in params]))
    return loss_value.detach()
