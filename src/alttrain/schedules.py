"""Learning-rate schedules, stepped once per optimizer update (``None`` = constant learning rate).

* ``cosine``: timm's ``CosineLRScheduler`` with warm-up, counted in updates
  (docs/methods/oialr.md#learning-rate-schedule).
* ``halve_every_epoch``: the Autoformer ``type1`` rule. The Autoformer code sets lr = lr0 * 0.5 ** ((e - 1) // 1)
  after each epoch e (1-based) for the next one, so epochs 1 and 2 both run at lr0 and 0-based epoch j runs at
  lr0 * 0.5 ** max(0, j - 1).
"""

from __future__ import annotations

from typing import Any

import torch

from alttrain.errors import UserError


class Schedule:
    """Sets the learning rate of every parameter group before each update."""

    def __init__(self, optimizer: torch.optim.Optimizer, spec: dict[str, Any] | None, steps_per_epoch: int):
        self.optimizer = optimizer
        self.spec = dict(spec or {})
        self.steps_per_epoch = steps_per_epoch
        self.base_lrs = [g["lr"] for g in optimizer.param_groups]
        self.kind = self.spec.pop("name", None)
        self._timm = None
        if self.kind == "cosine":
            from timm.scheduler import CosineLRScheduler

            epochs = self.spec.pop("epochs")
            warmup = self.spec.pop("warmup_epochs", 0)
            self._timm = CosineLRScheduler(
                optimizer,
                t_initial=(epochs - warmup) * steps_per_epoch,
                warmup_t=warmup * steps_per_epoch,
                warmup_prefix=True,
                t_in_epochs=False,
                **self.spec,
            )
        elif self.kind not in (None, "halve_every_epoch"):
            raise UserError(f"unknown schedule {self.kind!r}; known: cosine, halve_every_epoch, or none")

    def before_update(self, update: int) -> None:
        """Set the learning rate for update number ``update`` (0-based)."""
        if self._timm is not None:
            self._timm.step_update(update)
        elif self.kind == "halve_every_epoch":
            halvings = max(0, update // self.steps_per_epoch - 1)  # epochs 0 and 1 (0-based) at lr0
            for group, base in zip(self.optimizer.param_groups, self.base_lrs, strict=True):
                group["lr"] = base * 0.5**halvings

    def current_lr(self) -> float:
        """Learning rate of the first parameter group."""
        return float(self.optimizer.param_groups[0]["lr"])


def build_optimizer(params, spec: dict[str, Any]) -> torch.optim.Optimizer:
    """``sgd`` (plain, momentum optional), ``adam`` or ``adamw`` from the run config's ``optimizer`` entry.

    Adam and AdamW use torch's fused implementation (one kernel per parameter instead of about ten; CPU and CUDA)
    when every parameter is a floating-point tensor on one of those devices: the same update up to float rounding
    (tested against torch's default), and it makes the F3 FC1-500 step about 1.6x faster (docs/performance.md).
    """
    from alttrain.eager_optim import OPTIMIZERS as classes  # torch.optim's classes, without torch._dynamo

    options = dict(spec)
    name = options.pop("name")
    if name not in classes:
        raise UserError(f"unknown optimizer {name!r}; known: {', '.join(classes)}")
    if "betas" in options:
        options["betas"] = tuple(options["betas"])
    params = list(params)
    if name in ("adam", "adamw") and all(p.is_floating_point() and p.device.type in ("cpu", "cuda") for p in params):
        options.setdefault("fused", True)
    return classes[name](params, **options)
