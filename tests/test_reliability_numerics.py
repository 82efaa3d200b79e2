"""Divergence and numerical faults (reliability issue, item 4).

A diverging run stops, is recorded as diverged with its epoch and exits 0 (so the DAG goes on); tables
print it as "diverged", never as a number. The orthogonal projection and the low-rank SVD path stay finite on
adversarial input (nearly dependent tangents; repeated or zero singular values).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from alttrain import cli
from alttrain.artifacts.cells import format_cell
from alttrain.config import RunConfig
from alttrain.fg_math.combination import combine
from alttrain.results import aggregate
from alttrain.train import CHECKPOINT, train

REPO = Path(__file__).resolve().parents[1]


def digits_run(**overrides) -> RunConfig:
    raw = {
        "paper": "f3", "experiment": "numerics", "run_id": "bp", "seed": 0, "scale": "smoke",
        "dataset": {"name": "digits"}, "model": {"name": "mlp", "hidden": [16]}, "method": {"name": "bp"},
        "optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 5, "batch_size": 128,
        "device": "cpu", "threads": 1,
    }
    raw.update(overrides)
    return RunConfig.from_dict(raw)


def test_nan_loss_is_recorded_as_diverged(tmp_path):
    # a step of size 1e38 overflows the weights to inf, and the next loss is NaN
    summary = train(digits_run(optimizer={"name": "sgd", "lr": 1e38}), tmp_path, progress=False)
    assert summary["status"] == "diverged"
    assert math.isnan(summary["final"]["train_batch_loss"])
    assert summary["diverged_epoch"] == 1 and summary["epochs_run"] == 1  # stopped, did not run 5 epochs
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert list(metrics["epoch"]) == [0, 1]
    assert not (tmp_path / CHECKPOINT).exists()


def test_loss_above_the_configured_bound_is_divergence(tmp_path):
    # the initial cross-entropy of 10 classes is about ln 10 = 2.3: above the bound 1.0 from the first batch
    summary = train(digits_run(divergence_threshold=1.0), tmp_path, progress=False)
    assert summary["status"] == "diverged" and summary["diverged_epoch"] == 1
    relaxed = train(digits_run(divergence_threshold=10.0, epochs=2), tmp_path / "relaxed", progress=False)
    assert relaxed["status"] == "completed" and relaxed["diverged_epoch"] is None


def test_diverged_run_exits_zero_and_aggregates_with_its_status(tmp_path):
    """The CLI succeeds (the DAG goes on); the aggregated CSV has status and epoch; the table cell says so."""
    folders = []
    for seed, lr in ((0, 1e38), (1, 0.1)):
        folder = tmp_path / f"seed{seed}"
        folder.mkdir()
        cfg = digits_run(seed=seed, epochs=2, optimizer={"name": "sgd", "lr": lr})
        (folder / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
        folders.append(folder)
    for folder in folders:
        assert cli.main(["train", str(folder / "config.yaml"), "--no-progress"]) == 0
    final, curves, _ = aggregate([f / "summary.json" for f in folders])
    assert list(final["status"]) == ["diverged", "completed"]
    assert final.loc[0, "diverged_epoch"] == 1 and math.isnan(final.loc[1, "diverged_epoch"])
    cell = format_cell(final, "final_test_acc")
    completed_acc = final.loc[1, "final_test_acc"]
    assert cell == f"{completed_acc:.2f} (1/2 diverged)"
    assert format_cell(final.iloc[:1], "final_test_acc") == "diverged (epoch 1)"
    assert json.loads((folders[0] / "summary.json").read_text())["status"] == "diverged"


def _seeds(values, statuses=None, epochs=None, **extra) -> pd.DataFrame:
    frame = pd.DataFrame({"metric": values, **extra})
    if statuses is not None:
        frame["status"] = statuses
    if epochs is not None:
        frame["diverged_epoch"] = epochs
    return frame


@pytest.mark.parametrize("frame, expected", [
    (_seeds([1.0, 2.0, 3.0]), "2.00 ± 1.00"),  # sample std of 1, 2, 3 is 1
    (_seeds([97.123], ["completed"], [None]), "97.12"),
    (_seeds([5.0, float("nan")], ["diverged", "diverged"], [3, 5]), "diverged (epochs 3, 5)"),
    (_seeds([5.0, 7.0], ["diverged", "early_stopped"], [2, None]), "7.00 (1/2 diverged)"),
    (_seeds([float("nan"), None], ["completed", "completed"]), "–"),
    (_seeds([1e9, 4.0, 6.0], ["diverged", "completed", "completed"], [1.0, None, None]), "5.00 ± 1.41 (1/3 diverged)"),
    # closed-form sweeps: a boolean diverged flag, no epoch; an infinite value is a divergence too
    (_seeds([0.5, float("nan"), 1.5], diverged=[False, True, False]), "1.00 ± 0.71 (1/3 diverged)"),
    (_seeds([float("inf"), 2.0]), "2.00 (1/2 diverged)"),
    (_seeds([float("nan"), float("nan")], diverged=[True, True]), "diverged"),
    # a seed without a value that did not diverge is counted, not dropped
    (_seeds([2.0, float("nan")], ["completed", "completed"]), "2.00 (1/2 no value)"),
    (_seeds([float("nan"), float("nan")], ["diverged", "completed"], [4, None]),
     "diverged (1/2, epoch 4, 1/2 no value)"),
])
def test_format_cell_never_prints_or_drops_a_diverged_run(frame, expected):
    assert format_cell(frame, "metric") == expected


def test_format_cell_scale_digits_and_missing():
    frame = _seeds([0.971, 0.973])
    assert format_cell(frame, "metric", scale=100, digits=1) == "97.2 ± 0.1"
    assert format_cell(frame, "other", missing="not run") == "not run"
    assert format_cell(frame.iloc[:0], "metric") == "–"


# ---------------------------------------------------------------- orthogonal projection, adversarial tangents


def _span_projection(basis: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """P g onto the row span of a well-conditioned basis (float64 least squares; the reference)."""
    basis, g = basis.double(), g.double()
    coeff = torch.linalg.lstsq(basis.T, g).solution
    return basis.T @ coeff


ADVERSARIAL_TANGENTS = {
    # name -> (tangents made of the rows v0, v1, v2 of a Gaussian (3, n), a well-conditioned basis inside
    # their span)
    "exact duplicate": (lambda v: torch.stack([v[0], v[0], v[1]]), lambda v: v[:2]),
    "scaled duplicate": (lambda v: torch.stack([v[0], -2.5 * v[0], v[1]]), lambda v: v[:2]),
    "nearly dependent": (lambda v: torch.stack([v[0], v[0] + 1e-7 * v[2], v[1]]), lambda v: v[:2]),
    "zero tangent": (lambda v: torch.stack([v[0], torch.zeros_like(v[0]), v[1]]), lambda v: v[:2]),
    "tiny scale": (lambda v: 1e-20 * v, lambda v: v),
    "huge scale": (lambda v: 1e18 * v, lambda v: v),
    "mixed scales": (lambda v: torch.stack([1e-15 * v[0], v[1], 1e15 * v[2]]), lambda v: v),
}


@pytest.mark.parametrize("case", list(ADVERSARIAL_TANGENTS))
def test_orthogonal_projection_stays_a_projection_on_adversarial_tangents(case):
    """Finite, never longer than g, and exact on the well-conditioned part of the tangents' span.

    Whatever the estimate does with a numerically degenerate direction, it must still be the projection of g
    onto some subspace that contains the clean span: P_clean(estimate) = P_clean(g), ||estimate|| <= ||g||.
    """
    make, clean = ADVERSARIAL_TANGENTS[case]
    for seed in range(50):
        generator = torch.Generator().manual_seed(seed)
        v = torch.randn(3, 20, generator=generator)  # (3, n)
        g = torch.randn(20, generator=generator)  # (n,)
        tangents = make(v)  # (k, n)
        estimate = combine(tangents, tangents @ g, "orthogonal_projection")
        assert torch.isfinite(estimate).all(), f"{case}, seed {seed}: non-finite estimate"
        assert estimate.norm() <= g.norm() * (1 + 1e-4), f"{case}, seed {seed}: longer than the gradient"
        basis = clean(v)
        torch.testing.assert_close(_span_projection(basis, estimate.double()), _span_projection(basis, g),
                                   rtol=1e-3, atol=1e-3 * float(g.norm()), msg=f"{case}, seed {seed}")


@pytest.mark.parametrize("how", ["sum", "mean"])
def test_sum_and_mean_stay_finite_on_extreme_tangents(how):
    v = torch.randn(4, 10, generator=torch.Generator().manual_seed(0))
    for tangents in (v * 1e-20, v * 1e15, torch.zeros_like(v)):
        estimate = combine(tangents, tangents @ torch.ones(10), how)
        assert torch.isfinite(estimate).all()


# ---------------------------------------------------------------- low-rank SVD path, degenerate spectra


DEGENERATE_MATRICES = {
    "zero": lambda: torch.zeros(12, 8),
    "identity (all singular values repeated)": lambda: torch.eye(12, 8),
    "rank one": lambda: torch.outer(torch.arange(1.0, 13.0), torch.ones(8)),
    "repeated pairs": lambda: torch.diag(torch.tensor([3.0, 3.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0])),
    "tiny": lambda: 1e-30 * torch.eye(12, 8),
}


@pytest.mark.parametrize("case", list(DEGENERATE_MATRICES))
def test_low_rank_svd_and_truncation_are_finite_on_degenerate_spectra(case):
    linalg = pytest.importorskip("alttrain.lowrank.linalg", reason="the OIALR code is not written yet")
    matrix = DEGENERATE_MATRICES[case]()
    u, s, vh = linalg.thin_svd(matrix)
    for factor in (u, s, vh):
        assert torch.isfinite(factor).all(), f"{case}: non-finite SVD factor"
    torch.testing.assert_close(u @ torch.diag(s) @ vh, matrix, atol=1e-5, rtol=1e-5)
    k = linalg.truncation_rank(s, len(s), beta=0.1, min_dim=1)
    assert 1 <= k <= len(s)
    q = linalg.polar_factor(matrix)
    assert torch.isfinite(q).all()
