"""Forward-gradient case: cost of one fg estimator step relative to one backprop step.

For each model (docs/methods/fg.md#fully-connected-networks-on-mnist and #resnet18-and-vit: MLP 784-256-256-10 at batch
64; ResNet18 and the fg ViT on 32x32 RGB inputs at batch 16) and k in {1, 4, 16}, three ways to get the k directional
derivatives of the activity-perturbed network (all followed by the same combination and layer-local backward):

* ``forward``: the ``fg`` estimator in true forward mode: for the MLP the one-pass tangents pushed beside the
  forward (:func:`alttrain.methods.fg_perturbation.fused_forward_jvps`), for ResNet18 and the ViT
  ``torch.func.jvp`` vmapped over the k tangents;
* ``forward (jvp)`` (MLP only): the same estimator forced onto the ``torch.func.jvp`` pass (``fused=False``),
  the vmapped pass that the loop is compared with;
* ``simulated``: the ``fg`` estimator in simulated mode (JVPs from one reverse pass through the block
  chain);
* ``loop``: true forward mode with a Python loop of k separate ``torch.func.jvp`` calls (written here: the
  estimator has no such option; it is the baseline the vmapped pass is measured against).

The combination is the orthogonal projection (the paper's "frog"). Ratios are step time / backprop step
time; FLOPs are relative to one plain forward pass.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import torch

from alttrain.bench.harness import Settings, count_flops
from alttrain.bench.record import CaseRecord, measure_group
from alttrain.bench.workloads import estimator_step, synthetic_splits

NAME, TITLE = "forward_gradient", "Forward gradients: estimator step vs backprop"


def _split(flat: torch.Tensor, shapes: list[torch.Size]) -> list[torch.Tensor]:
    sizes = [math.prod(s) for s in shapes]
    return [p.reshape(*flat.shape[:-1], *s) for p, s in zip(flat.split(sizes, dim=-1), shapes, strict=True)]


def loop_activity_jvps(
    blocks, loss, x: torch.Tensor, y: torch.Tensor, tangents: torch.Tensor, shapes: list[torch.Size]
) -> torch.Tensor:
    """Per-sample JVPs ``(k, B)`` of the activity-perturbed loss, one ``torch.func.jvp`` per tangent.

    The same function as :func:`alttrain.methods.fg_perturbation.forward_activity_jvps`, without ``vmap``.
    """
    from alttrain.methods import fg_perturbation as fp

    primals = tuple(torch.zeros(s, dtype=tangents.dtype, device=tangents.device) for s in shapes)

    def perturbed_loss_terms(*perturbations: torch.Tensor) -> torch.Tensor:
        h = x
        for block, p in zip(blocks, perturbations, strict=True):
            h = block(h) + p  # one tangent piece for every sample of the batch
        return fp.loss_terms(loss, h, y)  # (B,)

    with fp.forward_ad_context(blocks):
        return torch.stack(
            [torch.func.jvp(perturbed_loss_terms, primals, tuple(_split(t, shapes)))[1] for t in tangents]
        )


def loop_activity_step(est, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The ``fg`` activity-perturbation step in true forward mode, a loop of k jvps instead of ``vmap``."""
    from alttrain.methods import fg_perturbation as fp

    inputs, outputs = fp.block_forward(est.model.blocks, x)
    loss_value = est.loss(outputs[-1], y)
    shapes = [o.shape[1:] for o in outputs]
    tangents = est.draw_tangents(sum(math.prod(s) for s in shapes), outputs[-1].dtype, outputs[-1].device)
    jvps = loop_activity_jvps(est.model.blocks, est.loss, x, y, tangents, shapes)  # (k, B)
    estimate = est.combine(tangents, jvps)  # (B, n)
    pieces = [p.reshape(o.shape) for p, o in zip(_split(estimate, shapes), outputs, strict=True)]
    params = [p for p in est.model.parameters() if p.requires_grad]
    grads = torch.autograd.grad(outputs, params, pieces, allow_unused=True)  # layer-local backward
    for p, g in zip(params, grads, strict=True):
        if g is not None:
            p.grad = g if p.grad is None else p.grad + g
    return loss_value.detach()


def model_specs(tiny: bool) -> list[dict[str, Any]]:
    """The three workloads (smaller in ``tiny`` mode)."""
    if tiny:
        return [
            {"group": "mlp", "model": {"name": "fg_fc", "width": 16}, "shape": (784,), "batch": 4},
            {
                "group": "resnet18",
                "model": {"name": "fg_resnet18"},
                "shape": (3, 8, 8),
                "batch": 2,
                "ks": (1,),
            },
            {
                "group": "vit",
                "model": {"name": "fg_vit", "num_layers": 2, "hidden_dim": 32, "num_heads": 2, "mlp_dim": 64},
                "shape": (3, 16, 16),
                "batch": 2,
            },
        ]
    return [
        {"group": "mlp", "model": {"name": "fg_fc", "width": 256}, "shape": (784,), "batch": 64},
        {"group": "resnet18", "model": {"name": "fg_resnet18"}, "shape": (3, 32, 32), "batch": 16},
        {"group": "vit", "model": {"name": "fg_vit"}, "shape": (3, 32, 32), "batch": 16},
    ]


def _bench_model(record: CaseRecord, spec: dict[str, Any], ks: tuple[int, ...], settings: Settings) -> None:
    from alttrain.losses import Loss
    from alttrain.methods import create_method
    from alttrain.methods import fg_perturbation as fp
    from alttrain.models import build_model, count_parameters

    device = settings.device
    data = synthetic_splits(spec["shape"], 10, spec["batch"], device)
    torch.manual_seed(0)
    model = build_model(spec["model"], data).to(device).train()
    loss = Loss("cross_entropy", 10)
    index = torch.arange(spec["batch"], device=device)
    x, y = data.train.take(index)
    gen = torch.Generator().manual_seed(1)
    variants = {"backprop": estimator_step(model, create_method("bp", model, loss, data, gen), x, y, index)}
    for k in ks:
        for mode in ("forward", "simulated"):
            est = create_method("fg", model, loss, data, gen, k=k, combination="orthogonal_projection", mode=mode)
            variants[f"k={k} {mode}"] = estimator_step(model, est, x, y, index)
        if spec["group"] == "mlp":
            general = create_method(
                "fg", model, loss, data, gen, k=k, combination="orthogonal_projection", mode="forward"
            )
            variants[f"k={k} forward (jvp)"] = estimator_step(model, _GeneralForwardAdapter(general), x, y, index)
        looped = create_method("fg", model, loss, data, gen, k=k, combination="orthogonal_projection", mode="forward")
        variants[f"k={k} loop"] = estimator_step(model, _LoopAdapter(looped), x, y, index)

    def forward() -> None:
        with torch.no_grad():
            model(x)

    forward_flops = record.attempt(f"{spec['group']}: forward FLOPs", lambda: count_flops(forward, settings))
    with torch.no_grad():
        outputs = [o.shape[1:] for o in fp.block_forward(model.blocks, x)[1]]
    record.sizes[spec["group"]] = (
        f"{spec['model']['name']} {spec['shape']} batch {spec['batch']}, "
        f"{count_parameters(model):,} parameters, tangent dim "
        f"{sum(math.prod(s) for s in outputs):,}"
    )
    group_settings = settings
    if spec["group"] != "mlp":
        # why: a round of the conv/attention models costs seconds (the loop of 16 jvps most), and the targets
        # are on the MLP; FLOP counting dispatches every op through Python, so a tiny run counts the MLP only
        group_settings = dataclasses.replace(
            settings, repeats=min(settings.repeats, 3), flops=settings.flops and not settings.tiny
        )
    measure_group(
        record,
        spec["group"],
        variants,
        group_settings,
        baseline="backprop",
        forward_flops=forward_flops,
        items_per_call=spec["batch"],
        # why: a loop's FLOPs are about k times the k=1 loop's; counting it costs another slow call
        skip_flops=tuple(f"k={k} loop" for k in ks if k > 1 and spec["group"] != "mlp"),
    )


class _GeneralForwardAdapter:
    """The ``fg`` forward-mode step on the ``torch.func.jvp`` path even where the one-pass tangents apply."""

    def __init__(self, est) -> None:
        self.est = est

    def compute_gradients(self, x, y, index, update_state: bool = True) -> torch.Tensor:
        from alttrain.methods import fg_perturbation as fp

        return fp.activity_perturbation_step(self.est, x, y, fused=False)


class _LoopAdapter:
    """Gives :func:`loop_activity_step` the ``compute_gradients`` interface of an estimator."""

    def __init__(self, est) -> None:
        self.est = est

    def compute_gradients(self, x, y, index, update_state: bool = True) -> torch.Tensor:
        return loop_activity_step(self.est, x, y)


def run(settings: Settings) -> CaseRecord:
    """Run the forward-gradient case (see the module docstring)."""
    record = CaseRecord(NAME, TITLE)
    ks = (1, 2) if settings.tiny else (1, 4, 16)
    for spec in model_specs(settings.tiny):
        record.attempt(spec["group"], lambda spec=spec: _bench_model(record, spec, spec.get("ks", ks), settings))
    _targets(record, ks)
    record.notes.append(
        "step = zero the grads + fill them (no optimizer update); combination = orthogonal "
        "projection; tangents drawn inside the step; 'loop' = true forward mode with a Python "
        "loop of k torch.func.jvp calls (bench code, same function as the vmapped pass)."
    )
    return record


def _targets(record: CaseRecord, ks: tuple[int, ...]) -> None:
    k = max(ks)
    loop, vmapped = record.seconds(f"mlp: k={k} loop"), record.seconds(f"mlp: k={k} forward (jvp)")
    speedup = loop / vmapped if loop and vmapped else None
    record.target(
        f"fg.mlp.vmap_vs_loop_k{k}",
        f"fg MLP: k={k} vmapped true forward mode, speed-up over a loop of {k} jvps",
        speedup,
        ">=",
        4.0,
    )
    record.target(
        "fg.mlp.forward_k1_vs_bp",
        "fg MLP: k=1 true forward-mode step / backprop step",
        record.ratio("mlp: k=1 forward"),
        "<=",
        1.5,
    )
