"""F3 case: training-step time of F3, DRTP, DFA and backprop, and the throughput of whole epochs.

* Step: FC2-1000 (784 -> 1000 -> 1000 -> 10, tanh, sigmoid output, BCE on one-hot targets) on MNIST-shaped
  inputs, batch 50; one step = zero the grads + the estimator + a plain SGD update. DFA is measured with the
  authors' extra eval-mode forward (``extra_forward: true``, the default) and reusing the training forward.
* Epoch: FC1-500 over 60,000 MNIST-shaped samples held in memory, batch 50, shuffled, exactly the inner loop
  of :func:`alttrain.train.train` (index a permutation, take the batch, zero grads, estimate, step), one
  torch thread as the DAG's training jobs use (two such jobs share the 2 cores). Throughput = samples/s.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import torch

from alttrain.bench.harness import Settings, count_flops
from alttrain.bench.record import CaseRecord, judged_seconds, measure_group
from alttrain.bench.workloads import synthetic_splits

NAME, TITLE = "f3", "F3 and feedback methods: step time and epoch throughput"
METHODS: dict[str, tuple[str, dict[str, Any]]] = {
    "backprop": ("bp", {}),
    "f3 (delayed_error)": ("f3", {"error_info": "delayed_error"}),
    "drtp": ("drtp", {}),
    "dfa (extra forward)": ("dfa", {"extra_forward": True}),
    "dfa (reuse forward)": ("dfa", {"extra_forward": False}),
}


def _trainer(data, depth: int, width: int, method: str, options: dict[str, Any]):
    """Model, estimator and SGD optimizer of one method (same seed: same forward weights for every method)."""
    from alttrain.losses import Loss
    from alttrain.methods import create_method
    from alttrain.models import build_model

    torch.manual_seed(0)
    model = build_model({"name": "f3_fc", "depth": depth, "width": width}, data).to(data.train.y.device).train()
    estimator = create_method(
        method, model, Loss("bce_onehot", data.num_outputs), data, torch.Generator().manual_seed(1), **options
    )
    optimizer = torch.optim.SGD([p for p in model.parameters() if p.requires_grad], lr=1e-4)
    return model, estimator, optimizer


def _step(
    data, depth: int, width: int, method: str, options: dict[str, Any], batch: int
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one training step, one plain forward pass) of a method on the first ``batch`` samples."""
    model, estimator, optimizer = _trainer(data, depth, width, method, options)
    index = torch.arange(batch, device=data.train.y.device)
    x, y = data.train.take(index)

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        estimator.compute_gradients(x, y, index)
        optimizer.step()

    def forward() -> None:
        with torch.no_grad():
            model(x)

    return step, forward


def _epoch(data, depth: int, width: int, method: str, batch: int) -> Callable[[], None]:
    _, estimator, optimizer = _trainer(data, depth, width, method, {})
    shuffle = torch.Generator().manual_seed(0)
    device = data.train.y.device

    def epoch() -> None:
        order = torch.randperm(len(data.train), generator=shuffle).to(device)
        for start in range(0, len(order), batch):
            index = order[start : start + batch]
            x, y = data.train.take(index)
            optimizer.zero_grad(set_to_none=True)
            estimator.compute_gradients(x, y, index)
            optimizer.step()

    return epoch


def _bench_steps(record: CaseRecord, settings: Settings) -> None:
    depth, width, batch = (2, 20, 10) if settings.tiny else (2, 1000, 50)
    data = synthetic_splits((784,), 10, 1000, settings.device)
    steps = {label: _step(data, depth, width, method, options, batch) for label, (method, options) in METHODS.items()}
    forward_flops = record.attempt("forward FLOPs", lambda: count_flops(steps["backprop"][1], settings))
    record.sizes["FC2-1000 step"] = f"f3_fc depth {depth} width {width}, batch {batch}, MNIST-shaped inputs"
    measure_group(
        record,
        f"FC{depth}-{width} step",
        {label: s[0] for label, s in steps.items()},
        settings,
        baseline="backprop",
        forward_flops=forward_flops,
        items_per_call=batch,
    )


def _bench_epoch(record: CaseRecord, settings: Settings) -> None:
    depth, width, batch, samples = (1, 20, 50, 500) if settings.tiny else (1, 500, 50, 60_000)
    data = synthetic_splits((784,), 10, samples, settings.device)
    variants = {
        label: _epoch(data, depth, width, method, batch)
        for label, method in (("backprop", "bp"), ("f3 (delayed_error)", "f3"), ("drtp", "drtp"))
    }
    record.sizes["FC1-500 epoch"] = (
        f"f3_fc depth {depth} width {width}, {samples:,} samples in memory, "
        f"batch {batch}, {torch.get_num_threads()} thread(s)"
    )
    epochs = dataclasses.replace(settings, repeats=min(settings.repeats, 3), warmup=1, memory=False, flops=False)
    measure_group(record, f"FC{depth}-{width} epoch", variants, epochs, baseline="backprop", items_per_call=samples)


def run(settings: Settings) -> CaseRecord:
    """Run the F3 case (see the module docstring)."""
    record = CaseRecord(NAME, TITLE)
    record.attempt("FC2-1000 steps", lambda: _bench_steps(record, settings))
    record.attempt("FC1-500 epoch", lambda: _bench_epoch(record, settings))
    step = next((r for r in record.rows if r["variant"] == "f3 (delayed_error)" and "step" in r["group"]), None)
    record.target(
        "f3.step_vs_bp",
        "F3: FC2-1000 training step / backprop step",
        record.ratio(step["name"]) if step else None,
        "<=",
        1.0,
    )
    epoch = next((r for r in record.rows if "epoch" in r["group"] and r["variant"].startswith("f3")), None)
    # why per CPU-second on a CPU: with one thread, CPU time is what the epoch takes on a core of its own;
    # on a shared machine the wall clock mostly measures the neighbours (both are in the table)
    record.target(
        "f3.epoch_throughput",
        "F3: FC1-500 epoch throughput of one process (CPU: 1 thread, per CPU-second)",
        epoch["items_per_call"] / judged_seconds(epoch) if epoch else None,
        ">=",
        20_000.0,
        unit="samples/s",
        note=f"wall clock: {epoch['throughput']:.0f} samples/s" if epoch else None,
    )
    return record
