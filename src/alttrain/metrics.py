"""Metrics: gradient alignment (approximation quality), gap reduction, and split evaluation."""

from __future__ import annotations

import math
from collections.abc import Mapping

import torch
from torch import nn

from alttrain.data import Split
from alttrain.losses import Loss


def gradient_alignment(estimate: torch.Tensor, true_grad: torch.Tensor) -> dict[str, float]:
    """Cosine similarity and norm ratio ||estimate|| / ||true_grad|| of two gradients (flattened).

    A zero true gradient gives NaN for both (undefined), never a division error.
    """
    est = estimate.detach().reshape(-1).double()
    ref = true_grad.detach().reshape(-1).double()
    ref_norm = ref.norm()
    est_norm = est.norm()
    if ref_norm == 0:
        return {"cosine": math.nan, "norm_ratio": math.nan}
    cosine = (est @ ref) / (est_norm * ref_norm) if est_norm > 0 else torch.tensor(0.0)
    return {"cosine": float(cosine), "norm_ratio": float(est_norm / ref_norm)}


def alignment_by_parameter(
    estimates: Mapping[str, torch.Tensor], true_grads: Mapping[str, torch.Tensor]
) -> tuple[dict[str, float], dict[str, dict[str, float]]]:
    """Global alignment over all parameters present in both mappings, and per-parameter alignment."""
    names = [n for n in true_grads if n in estimates]
    if not names:
        return {"cosine": math.nan, "norm_ratio": math.nan}, {}
    per_param = {n: gradient_alignment(estimates[n], true_grads[n]) for n in names}
    flat_est = torch.cat([estimates[n].reshape(-1) for n in names])
    flat_ref = torch.cat([true_grads[n].reshape(-1) for n in names])
    return gradient_alignment(flat_est, flat_ref), per_param


def gap_reduction(method: float, reference: float, backprop: float, higher_is_better: bool) -> float:
    """Fraction of the reference method's gap to backprop that ``method`` closes (docs/methods/f3.md#gap-reduction).

    higher-is-better: (P_method - P_ref) / (P_bp - P_ref); lower-is-better: (P_ref - P_method) / (P_ref - P_bp).
    Returns NaN when the reference has no gap to backprop (the ratio is undefined).
    """
    gap = (backprop - reference) if higher_is_better else (reference - backprop)
    if gap == 0 or any(math.isnan(v) for v in (method, reference, backprop)):
        return math.nan
    gain = (method - reference) if higher_is_better else (reference - method)
    return gain / gap


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, loss: Loss, task: str, batch_size: int) -> dict[str, float]:
    """Loss (sum of per-sample losses / N) and accuracy or MSE/MAE of ``model`` on ``split``."""
    was_training = model.training
    model.eval()
    total_loss, correct, abs_err, sq_err, n_values = 0.0, 0, 0.0, 0.0, 0
    for start in range(0, len(split), batch_size):
        index = torch.arange(start, min(start + batch_size, len(split)), device=split.y.device)
        x, y = split.take(index)
        outputs = model(*x) if isinstance(x, tuple) else model(x)
        total_loss += float(loss.per_sample(outputs, y).sum())
        if task == "classification":
            correct += int((outputs.argmax(dim=1) == y).sum())
        else:
            diff = outputs - y.reshape(outputs.shape)
            sq_err += float((diff**2).sum())
            abs_err += float(diff.abs().sum())
            n_values += diff.numel()
    model.train(was_training)
    result = {"loss": total_loss / len(split)}
    if task == "classification":
        result["acc"] = 100.0 * correct / len(split)
    else:
        result["mse"] = sq_err / n_values
        result["mae"] = abs_err / n_values
    return result
