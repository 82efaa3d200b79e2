"""The OIALR controller: full-rank warm-up, switch to U Sigma V^T, periodic re-diagonalisation and truncation.

The training loop calls :meth:`OIALRController.after_step` once per optimizer step (never inside ``forward``), and
:meth:`~OIALRController.metrics` at each evaluation (docs/methods/oialr.md#the-oialr-algorithm; authors' code: counting
forward calls). Counting (a documented choice): ``delay`` = d full-rank updates, then the switch and the first stability
check right after update d, further checks after updates d + nu, d + 2 nu, ... The authors' code counts training-mode
forward calls and acts before the forward of call d, i.e. after d - 1 updates; ``count_forward_calls: true`` reproduces
that exactly (a forward pre-hook), and ``ddp_eval_counting_quirk: true`` also counts evaluation forwards after the
switch (the multi-GPU quirk, docs/methods/oialr.md#authors-code-what-is-kept: checks then come more often, by the number
of evaluation batches per epoch).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from alttrain import distributed
from alttrain.errors import UserError
from alttrain.lowrank.layers import CONV_TYPES, FORWARD_MODES, LowRankFactors, convert_module, weight_name
from alttrain.lowrank.linalg import thin_svd, truncation_rank
from alttrain.lowrank.optim_state import remove_parameter, slice_to, swap_parameter, zeros_like_param


@dataclass(frozen=True)
class OIALROptions:
    """OIALR settings (authors' constructor defaults, docs/methods/oialr.md#oialr-defaults; the extension options
    default off).

    Attributes:
        delay: d, full-rank updates before the switch (also the update of the first check); 0 converts at
        once and never checks (the authors' counter never meets a first check at 0).
        stability_frequency: nu, updates between checks.
        sigma_cutoff_fraction: beta, singular values below beta * S[0] are cut.
        network_layer_perc_step: p, the checked set grows by int((L - 1) * p) layers (deepest first) per
        check. stable_update_delay: s; a layer updated at a check sits out the next s - 1 checks (the
        authors' counting).
        keep_first_layer: the first eligible layer stays full rank.
        keep_last_layer: the last converted layer stays full rank (not the head when the head is ineligible).
        full_rank_warmup: False converts when the controller is built.
        reinit_shapes: True shrinks U, Sigma, V^T; False zeroes their tails instead (U[:, k:], V^T[k:], Sigma).
        fixed_inner_dim: never truncate (fixed-rank ablation).
        inner_dim_init_ratio: initial rank as a fraction of min(m, n).
        min_dim_fraction: rank floor as a fraction of the layer's smaller dimension (authors: 0.01).
        forward: ``auto`` / ``dense`` / ``factorized`` (see :mod:`alttrain.lowrank.layers`).
        rotate_moments: rotate the optimizer moments with Sigma's re-diagonalisation (extension).
        bf16_rotation_quirk: round U U_sigma and V_sigma^T V^T to bfloat16 (authors' autocast;
            docs/methods/oialr.md#authors-code-what-is-kept).
        count_forward_calls: count training forward calls like the authors' code
            (docs/methods/oialr.md#authors-code-what-is-kept).
        ddp_eval_counting_quirk: with ``count_forward_calls``, also count evaluation forwards after the
        switch.
        freeze_converted_biases: the authors' behaviour: a converted layer's bias (attention: ``in_proj_bias``)
        leaves the optimizer at the switch, so it keeps its value, yet still counts as trainable
        (``requires_grad`` stays true). Default false: the biases keep training, as the method intends.
    """

    delay: int = 1000
    stability_frequency: int = 100
    sigma_cutoff_fraction: float = 0.1
    network_layer_perc_step: float = 0.1
    stable_update_delay: int = 0
    keep_first_layer: bool = False
    keep_last_layer: bool = True
    full_rank_warmup: bool = True
    reinit_shapes: bool = True
    fixed_inner_dim: bool = False
    inner_dim_init_ratio: float = 1.0
    min_dim_fraction: float = 0.01
    forward: str = "auto"
    rotate_moments: bool = False
    bf16_rotation_quirk: bool = False
    count_forward_calls: bool = False
    ddp_eval_counting_quirk: bool = False
    freeze_converted_biases: bool = False

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> OIALROptions:
        """Validated options; an unknown key or a bad value is a :class:`UserError` naming it."""
        allowed = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(raw) - allowed)
        if unknown:
            raise UserError(f"unknown lowrank option(s) {unknown}; allowed: {sorted(allowed)}")
        options = cls(**raw)
        if options.delay < 0 or options.stability_frequency < 1 or options.stable_update_delay < 0:
            raise UserError(
                "lowrank: delay >= 0, stability_frequency >= 1 and stable_update_delay >= 0 are required"
            )
        if not 0 < options.inner_dim_init_ratio <= 1 or options.forward not in FORWARD_MODES:
            raise UserError(
                f"lowrank: inner_dim_init_ratio in (0, 1] and forward in {FORWARD_MODES} are required"
            )
        return options


def eligible(module: nn.Module) -> bool:
    """Whether the authors' rules convert ``module`` (docs/methods/oialr.md#the-oialr-algorithm, step 2).

    Linear (and attention's packed 3E x E projection): min(out, in) > max(out, in) / 10. Conv: skipped only
    when its (C_out, rest) matrix has too few columns, cols < rows / 10 (the intended transposition is a no-op
    upstream).
    """
    if isinstance(module, nn.MultiheadAttention):
        if not module._qkv_same_embed_dim or module._parameters.get("in_proj_weight") is None:
            return False  # separate q/k/v weights: refused by the controller (_refuse_separate_qkv)
    elif not isinstance(module, (nn.Linear, *CONV_TYPES)):
        return False
    weight = module._parameters.get(weight_name(module))
    if weight is None or not weight.requires_grad or weight.dim() < 2:
        return False
    rows, cols = weight.shape[0], math.prod(weight.shape[1:])
    if isinstance(module, CONV_TYPES):
        return not cols < rows / 10
    return min(rows, cols) > max(rows, cols) / 10


def _refuse_separate_qkv(model: nn.Module) -> None:
    """A :class:`UserError` for attention with separate q/k/v weights (kdim or vdim != embed_dim): the authors
    convert each of the three, this artifact has no low-rank form for them."""
    for name, module in model.named_modules():
        if isinstance(module, nn.MultiheadAttention) and not module._qkv_same_embed_dim:
            raise UserError(
                f"OIALR: nn.MultiheadAttention {name!r} has separate q/k/v projections (kdim/vdim != embed_dim); "
                "the authors convert each of them to low rank, this artifact does not. Use kdim = vdim = "
                "embed_dim (one packed projection), or leave this model out of OIALR."
            )


def eligible_layers(model: nn.Module) -> list[str]:
    """Names of the eligible modules in module order (attention before its ``out_proj``)."""
    return [name for name, module in model.named_modules() if eligible(module)]


class OIALRController:
    """Converts and truncates the model's eligible layers; keeps the optimizer's groups and state
    consistent."""

    def __init__(
        self, model: nn.Module, optimizer: torch.optim.Optimizer | None, options: OIALROptions
    ) -> None:
        self.model = model
        self.optimizer = optimizer
        self.options = options
        self.original_total = sum(p.numel() for p in model.parameters())
        _refuse_separate_qkv(model)
        targets = eligible_layers(model)
        if options.keep_first_layer:
            targets = targets[1:]
        if options.keep_last_layer:
            targets = targets[:-1]  # the last *converted* layer (docs/methods/oialr.md#the-oialr-algorithm)
        self.targets = targets
        self.phase = "full_rank"
        self.count = 0  # updates (or forward calls with count_forward_calls)
        self.next_check = 0
        self.counter = 0
        self.checks = 0
        self.stable_delay = dict.fromkeys(targets, 0)
        self.ranks: dict[str, int] = {}
        self.rank_updates: list[dict[str, Any]] = []  # records since the last metrics() call
        if not options.full_rank_warmup or options.delay == 0:
            self._switch()
        if options.count_forward_calls:
            model.register_forward_pre_hook(self._forward_pre_hook)

    # ------------------------------------------------------------------ loop interface
    def after_step(self, update: int) -> None:
        """Called after optimizer update number ``update`` (1-based)."""
        if not self.options.count_forward_calls:
            self.count = update
            self._advance()

    def metrics(self) -> dict[str, float | str]:
        """Compression % (all stored values incl. U, V vs the original total), ranks and checks so far, and
        ``rank_updates``: the truncations since the previous call as JSON (see :meth:`_record`), then
        forgotten."""
        stored = sum(p.numel() for p in self.model.parameters())
        full = sum(self._factors(n).full_rank for n in self.ranks)
        updates, self.rank_updates = self.rank_updates, []
        return {
            "compression_pct": 100.0 * stored / self.original_total,
            "lowrank_layers": len(self.ranks),
            "rank_pct": 100.0 * sum(self.ranks.values()) / full if full else math.nan,
            "rank_checks": self.checks,
            "rank_updates": json.dumps(updates, separators=(",", ":")),
        }

    def state_dict(self) -> dict[str, Any]:
        """Counters and ranks (the factors themselves are in the model's state dict)."""
        return {
            "phase": self.phase,
            "count": self.count,
            "next_check": self.next_check,
            "counter": self.counter,
            "checks": self.checks,
            "stable_delay": dict(self.stable_delay),
            "ranks": dict(self.ranks),
            "shapes": {n: self._factors(n).rank for n in self.ranks},
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Rebuild the low-rank layers with the saved ranks (before the model's and optimizer's state
        load)."""
        for name, rank in state["shapes"].items():
            module = self.model.get_submodule(name)
            if not hasattr(module, "factors"):
                old = module._parameters[weight_name(module)]
                factors = convert_module(module, rank=rank, forward_mode=self.options.forward)
                swap_parameter(self.optimizer, old, factors.sigma, zeros_like_param(factors.sigma))
                self._freeze_bias(module)
            elif module.factors.rank != rank:
                self._replace_factors(
                    name,
                    LowRankFactors(
                        module.factors.weight_shape, rank, module.factors.u.dtype, module.factors.u.device
                    ),
                    slice_to(rank),
                )
        for key in ("phase", "count", "next_check", "counter", "checks"):
            setattr(self, key, state[key])
        self.stable_delay = dict(state["stable_delay"])
        self.ranks = dict(state["ranks"])

    # ------------------------------------------------------------------ schedule
    def _forward_pre_hook(self, module: nn.Module, args: Any) -> None:
        if module.training or (self.options.ddp_eval_counting_quirk and self.phase == "low_rank"):
            self.count += 1
            self._advance()

    def _advance(self) -> None:
        if self.phase == "full_rank" and self.count >= self.options.delay:
            self._switch()
        if self.phase == "low_rank" and self.count >= self.next_check:
            self._check()
            self.next_check += self.options.stability_frequency

    def _switch(self) -> None:
        """Convert every target layer; Sigma takes the weight's place in the optimizer with zero moments.

        With several processes every rank factorises (the shapes follow from the weight's shape alone), then
        each layer's owner broadcasts its U, Sigma, V^T, so all ranks hold bitwise the same factors.
        """
        for index, name in enumerate(self.targets):
            module = self.model.get_submodule(name)
            old = module._parameters[weight_name(module)]
            factors = convert_module(
                module, init_ratio=self.options.inner_dim_init_ratio, forward_mode=self.options.forward
            )
            distributed.broadcast_tensors(
                [factors.u.data, factors.sigma.data, factors.vt.data], src=distributed.owner_of(index)
            )
            swap_parameter(self.optimizer, old, factors.sigma, zeros_like_param(factors.sigma))
            self._freeze_bias(module)
            self.ranks[name] = factors.rank
        self.phase = "low_rank"
        # the first check is at update d; with d = 0 the authors' counter never meets it: no check at all
        self.next_check = self.options.delay if self.options.delay > 0 else math.inf

    def _freeze_bias(self, module: nn.Module) -> None:
        """With ``freeze_converted_biases``: the converted module's bias leaves the optimizer (authors)."""
        if self.options.freeze_converted_biases:
            bias = module._parameters.get("in_proj_bias" if isinstance(module, nn.MultiheadAttention) else "bias")
            if bias is not None:
                remove_parameter(self.optimizer, bias)

    def _check(self) -> None:
        """One stability check: the deepest ``counter`` layers are re-diagonalised and truncated."""
        self.checks += 1
        layers = len(self.targets)
        self.counter += int((layers - 1) * self.options.network_layer_perc_step)
        # a counter of 0 selects every layer (the authors' slicing, docs/methods/oialr.md#the-oialr-algorithm)
        chosen = self.targets[-self.counter :]
        for name in chosen:
            if self.stable_delay[name] > 0:
                self.stable_delay[name] -= 1
                continue
            self._update_layer(name)
            # the authors set s and decrement it in the same check, so an updated layer sits out s - 1 checks
            self.stable_delay[name] = max(self.options.stable_update_delay - 1, 0)

    # ------------------------------------------------------------------ one layer
    def _factors(self, name: str) -> LowRankFactors:
        return self.model.get_submodule(name).factors

    @torch.no_grad()
    def _update_layer(self, name: str) -> None:
        """Sigma = U_s S V_s^T; U <- U U_s, V^T <- V_s^T V^T, Sigma <- diag(S); then cut to the new rank."""
        factors = self._factors(name)
        k_prev = self.ranks[name]
        sigma = factors.sigma.detach().clone()
        # reinit_shapes false: U[:, k:] and V^T[k:] are zero, so Sigma's tail (which Adam's old moments keep
        # moving) does not enter W; zeroing it first makes S the singular values of W itself
        sigma[k_prev:, :] = 0
        sigma[:, k_prev:] = 0
        svd = self._owner_svd(sigma, owner=distributed.owner_of(self.targets.index(name)))
        if svd is None:
            return  # NaN/inf Sigma (a diverging run): leave the layer as it is
        u_s, s, vt_s = svd  # (k, k), (k,), (k, k), float32
        dtype = factors.u.dtype
        u_new, vt_new = factors.u.float() @ u_s, vt_s @ factors.vt.float()  # (m, k), (k, n)
        if self.options.bf16_rotation_quirk:  # the authors' products ran under bf16 autocast
            bf16 = torch.bfloat16
            u_new = (factors.u.to(bf16).float() @ u_s.to(bf16).float()).to(bf16).float()
            vt_new = (vt_s.to(bf16).float() @ factors.vt.to(bf16).float()).to(bf16).float()
        min_dim = int(math.floor(self.options.min_dim_fraction * factors.full_rank))
        k_new = (
            k_prev
            if self.options.fixed_inner_dim
            else truncation_rank(s[:k_prev], k_prev, self.options.sigma_cutoff_fraction, min_dim)
        )
        if not self.options.fixed_inner_dim:
            self._record(name, s[:k_prev], k_prev, k_new, factors.full_rank)
        rotation = (u_s, vt_s) if self.options.rotate_moments else None
        if self.options.reinit_shapes and k_new != factors.rank:
            new = LowRankFactors(factors.weight_shape, k_new, dtype, factors.u.device)
            new.u.copy_(u_new[:, :k_new])
            new.sigma.copy_(torch.diag(s[:k_new]))
            new.vt.copy_(vt_new[:k_new])
            self._replace_factors(name, new, slice_to(k_new, rotation))
        else:
            # reinit_shapes false: the tail is zeroed instead of removed, in U, V^T and Sigma as the authors do,
            # so it stays inert (W keeps rank <= k_new however Sigma's tail moves)
            u_new[:, k_new:] = 0
            vt_new[k_new:] = 0
            s = s.clone()
            s[k_new:] = 0
            factors.u.copy_(u_new)
            factors.vt.copy_(vt_new)
            factors.sigma.copy_(torch.diag(s))
            if rotation is not None:
                self._transform_state(factors.sigma, slice_to(factors.rank, rotation))
        self.ranks[name] = k_new

    def _record(self, name: str, spectrum: torch.Tensor, k_prev: int, k_new: int, full_rank: int) -> None:
        """One truncation as the verification re-derives it (``oialr_check_rank_rule``,
        docs/methods/oialr.md#derived-checks): the singular values it saw (float32, 9 significant digits: exact),
        the rank before and the rank chosen, the configured beta and floor fraction, the layer's min(m, n)."""
        self.rank_updates.append({
            "count": self.count, "check": self.checks, "layer": name, "rank_before": k_prev, "rank_chosen": k_new,
            "full_rank": full_rank, "beta": self.options.sigma_cutoff_fraction,
            "min_dim_fraction": self.options.min_dim_fraction,
            "singular_values": " ".join(f"{v:.9g}" for v in spectrum.tolist()),
        })

    @staticmethod
    def _owner_svd(sigma: torch.Tensor, owner: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor] | None:
        """SVD of the (k, k) ``sigma``, computed on rank ``owner`` only and broadcast to the others (the
        authors' multi-GPU scheme, docs/methods/oialr.md#the-oialr-algorithm); ``None`` on every rank when it fails
        (NaN/inf entries).

        In one process this is :func:`thin_svd`. With several, every rank ends with the owner's bitwise
        factors, so the ranks' low-rank layers cannot drift apart through differing SVD round-off.
        """
        k = sigma.shape[0]  # in one process rank 0 is every layer's owner and the broadcast is a no-op
        ok = torch.zeros(1, device=sigma.device)
        u_s, s, vt_s = (torch.empty(shape, device=sigma.device) for shape in ((k, k), (k,), (k, k)))
        if distributed.rank() == owner:
            try:
                u_s, s, vt_s = (t.contiguous() for t in thin_svd(sigma))
                ok.fill_(1)
            except ValueError:
                pass
        distributed.broadcast_tensors([ok, u_s, s, vt_s], src=owner)
        return (u_s, s, vt_s) if ok.item() == 1 else None

    def _replace_factors(self, name: str, new: LowRankFactors, transform) -> None:
        module = self.model.get_submodule(name)
        old_sigma = module.factors.sigma
        module.factors = new  # Module.__setattr__ replaces the child
        swap_parameter(self.optimizer, old_sigma, new.sigma, transform)
        old_sigma.grad = None  # the authors zero the gradients after a rank change

    def _transform_state(self, param: torch.Tensor, transform) -> None:
        if self.optimizer is not None and self.optimizer.state.get(param):
            state = self.optimizer.state[param]
            for key, value in state.items():
                if torch.is_tensor(value) and value.shape == param.shape:
                    state[key] = transform(key, value)
