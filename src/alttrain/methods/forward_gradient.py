"""The fg paper's gradient estimator (arXiv 2410.17764): forward gradients with k tangents.

The estimator registered as ``fg`` (class :class:`ForwardGradient`) draws k tangents, takes the k directional
derivatives of the loss along them and combines them into a gradient estimate with
:func:`alttrain.fg_math.combination.combine` (``sum``, ``mean`` or ``orthogonal_projection``, "frog"; the
mathematics is there, docs/methods/fg.md#method). It trains networks by weight perturbation or activity (node)
perturbation, in true forward mode or in the simulated mode the authors used (see
:mod:`alttrain.methods.fg_perturbation`).
"""

from __future__ import annotations

import torch
from torch import nn

from alttrain.data import DataSplits, Inputs
from alttrain.fg_math.combination import COMBINATIONS, GRAM_SOLVERS, combine, scaling_correction
from alttrain.losses import Loss
from alttrain.methods import GradientEstimator, fg_perturbation, register_method
from alttrain.methods.tangents import SAMPLERS, sample_tangents


@register_method("fg")
class ForwardGradient(GradientEstimator):
    """Forward-gradient estimator with k tangents.

    Options (all validated here and in ``config/schema/fg.schema.yaml``):
        k: number of tangents.
        combination: ``sum``, ``mean`` or ``orthogonal_projection`` (:data:`COMBINATIONS`).
        mode: ``simulated`` (directional derivatives from the backprop activation/weight gradient, as the
            authors ran it) or ``forward`` (true forward mode: ``torch.func.jvp`` vmapped over the k tangents,
            one pass).
        perturbation: ``activity`` (node perturbation of every block output, global tangent over all blocks;
            the paper's setting) or ``weight``.
        sampler: tangent sampler (:data:`alttrain.methods.tangents.SAMPLERS`); angle: for ``specific_angle``.
        normalize: rescale tangents to unit length.
        gram_solver: ``svd`` (default, rank-revealing), ``qr``, ``cholesky`` or ``inverse`` (the authors'
            explicit inverse).
        scaling_correction: divide the estimate by its expected relative length (off in the paper).
        bn_double_update: simulated activity mode updates BatchNorm running statistics twice per step, like
            the authors' block re-run (docs/methods/fg.md#authors-code-what-is-kept).
    """

    def __init__(
        self,
        model: nn.Module,
        loss: Loss,
        data: DataSplits,
        generator: torch.Generator,
        *,
        k: int = 1,
        combination: str = "mean",
        mode: str = "simulated",
        perturbation: str = "activity",
        sampler: str = "normal",
        normalize: bool = False,
        angle: float | None = None,
        gram_solver: str = "svd",
        scaling_correction: bool = False,
        bn_double_update: bool = True,
    ) -> None:
        super().__init__(model, loss, data, generator)
        problems = []
        if not isinstance(k, int) or k < 1:
            problems.append(f"k must be a positive integer, got {k!r}")
        for name, value, allowed in (
            ("combination", combination, COMBINATIONS),
            ("mode", mode, ("simulated", "forward")),
            ("perturbation", perturbation, ("activity", "weight")),
            ("sampler", sampler, SAMPLERS),
            ("gram_solver", gram_solver, GRAM_SOLVERS),
        ):
            if value not in allowed:
                problems.append(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
        if perturbation == "activity" and not hasattr(model, "blocks"):
            problems.append(
                "activity perturbation needs a model with `blocks` (e.g. fg_fc, fg_resnet18, fg_vit)"
            )
        if problems:
            raise ValueError("fg estimator: " + "; ".join(problems))
        self.k, self.combination, self.mode, self.perturbation = k, combination, mode, perturbation
        self.sampler, self.normalize, self.angle = sampler, normalize, angle
        self.gram_solver, self.use_scaling, self.bn_double_update = (
            gram_solver,
            scaling_correction,
            bn_double_update,
        )

    def draw_tangents(self, n: int, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """k tangents of dimension n from the run's generator: ``(k, n)``."""
        return sample_tangents(
            self.k,
            n,
            self.generator,
            self.sampler,
            normalize=self.normalize,
            angle=self.angle,
            dtype=dtype,
            device=device,
        )

    def combine(self, tangents: torch.Tensor, jvps: torch.Tensor) -> torch.Tensor:
        """:func:`~alttrain.fg_math.combination.combine` with this estimator's options (and the optional scaling
        correction)."""
        estimate = combine(tangents, jvps, self.combination, gram_solver=self.gram_solver)
        if self.use_scaling:
            estimate = estimate / scaling_correction(self.combination, self.k, tangents.shape[-1], self.normalize)
        return estimate

    def compute_gradients(
        self, x: Inputs, y: torch.Tensor, index: torch.Tensor, update_state: bool = True
    ) -> torch.Tensor:
        if self.perturbation == "weight":
            return fg_perturbation.weight_perturbation_step(self, x, y, tangents=None)
        return fg_perturbation.activity_perturbation_step(self, x, y, tangents=None, update_state=update_state)
