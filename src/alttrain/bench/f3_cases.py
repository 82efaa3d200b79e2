"""F3 case: training-step time of F3, DRTP, DFA and backprop, and the throughput of whole epochs.

* Step: FC2-1000 (784 -> 1000 -> 1000 -> 10, tanh, sigmoid output, BCE on one-hot targets) on MNIST-shaped
  inputs, batch 50; one step = zero the grads + the estimator + a plain SGD update. DFA is measured with the
  authors' extra eval-mode forward (``extra_forward: true``, the default) and reusing the training forward.
* Adam step: FC1-500, batch 50, F3 with the F3 jobs' optimizer (Adam lr 1.5e-4 from
  :func:`alttrain.schedules.build_optimizer`: torch's fused Adam) against torch's default Adam (single-tensor
  on a CPU), which is what the authors' code runs (PyTorch-default Adam). The issue that set the target measured
  this artifact's step at parity with the authors' step (1.04x, same machine, both with default Adam), so the
  ratio to the authors is estimated as 1.04 x (default / fused); the authors' code is not part of the artifact.
* Epoch: FC1-500 over 60,000 MNIST-shaped samples held in memory, batch 50, shuffled, exactly the inner loop
  of :func:`alttrain.train.train` (index a permutation, take the batch, zero grads, estimate, step) with the
  jobs' optimizer, one torch thread as the DAG's training jobs use (two such jobs share the 2 cores).
  Throughput = samples/s.
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


# the F3 jobs' optimizer (config/scales: FC networks on MNIST-5k); the authors': Adam with PyTorch defaults
JOB_OPTIMIZER = {"name": "adam", "lr": 1.5e-4, "betas": [0.9, 0.999], "eps": 1e-8, "weight_decay": 0.0}
# this artifact's F3 step / the authors' step, both with default Adam (issue 16: 1 thread, interleaved rounds)
AUTHORS_PARITY = 1.04


def _trainer(data, depth: int, width: int, method: str, options: dict[str, Any], optimizer: str = "sgd"):
    """Model, estimator and optimizer of one method (same seed: same forward weights for every method).

    ``optimizer``: ``sgd`` (plain, lr 1e-4: the estimator comparison), ``job`` (the jobs' fused Adam) or
    ``adam_default`` (torch's default Adam, as the authors run it).
    """
    from alttrain.losses import Loss
    from alttrain.methods import create_method
    from alttrain.models import build_model

    torch.manual_seed(0)
    model = build_model({"name": "f3_fc", "depth": depth, "width": width}, data).to(data.train.y.device).train()
    estimator = create_method(
        method, model, Loss("bce_onehot", data.num_outputs), data, torch.Generator().manual_seed(1), **options
    )
    params = [p for p in model.parameters() if p.requires_grad]
    if optimizer == "job":
        from alttrain.schedules import build_optimizer

        return model, estimator, build_optimizer(params, JOB_OPTIMIZER)
    if optimizer == "adam_default":
        spec = {k: v for k, v in JOB_OPTIMIZER.items() if k != "name"}
        return model, estimator, torch.optim.Adam(params, **{**spec, "betas": tuple(spec["betas"])})
    return model, estimator, torch.optim.SGD(params, lr=1e-4)


def _step(
    data, depth: int, width: int, method: str, options: dict[str, Any], batch: int, optimizer: str = "sgd"
) -> tuple[Callable[[], None], Callable[[], None]]:
    """(one training step, one plain forward pass) of a method on the first ``batch`` samples."""
    model, estimator, optimizer = _trainer(data, depth, width, method, options, optimizer)
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
    _, estimator, optimizer = _trainer(data, depth, width, method, {}, "job")
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


def _bench_adam_steps(record: CaseRecord, settings: Settings) -> None:
    width, batch = (20, 10) if settings.tiny else (500, 50)
    data = synthetic_splits((784,), 10, 1000, settings.device)
    steps = {
        "f3, torch default Adam (the authors' optimizer)": _step(data, 1, width, "f3", {}, batch, "adam_default")[0],
        "f3, the jobs' fused Adam": _step(data, 1, width, "f3", {}, batch, "job")[0],
    }
    record.sizes["FC1-500 Adam step"] = f"f3_fc depth 1 width {width}, batch {batch}, Adam lr 1.5e-4"
    measure_group(record, f"FC1-{width} Adam step", steps, settings,
                  baseline="f3, torch default Adam (the authors' optimizer)", items_per_call=batch)


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
    record.attempt("FC1-500 Adam steps", lambda: _bench_adam_steps(record, settings))
    record.attempt("FC1-500 epoch", lambda: _bench_epoch(record, settings))
    fused = next((r for r in record.rows if r["variant"] == "f3, the jobs' fused Adam"), None)
    speedup = 1 / record.ratio(fused["name"]) if fused and record.ratio(fused["name"]) else None
    record.target(
        "f3.step_vs_authors",
        "F3: FC1-500 step (Adam) speed-up over the authors' step (estimated: 1.04 measured parity x this speed-up "
        "over torch's default Adam)",
        AUTHORS_PARITY * speedup if speedup else None,
        ">=",
        1.3,
        note=f"fused vs default Adam in this run: {speedup:.2f}x" if speedup else None,
    )
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
        "F3: FC1-500 epoch throughput of one process with the jobs' Adam (CPU: 1 thread, per CPU-second)",
        epoch["items_per_call"] / judged_seconds(epoch) if epoch else None,
        ">=",
        30_000.0,
        unit="samples/s",
        note=f"wall clock: {epoch['throughput']:.0f} samples/s" if epoch else None,
    )
    return record
