"""Basis stability (docs/methods/oialr.md#basis-stability): the metric's invariants, the analysis controller, and
OIALR in the loop."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import torch
from torch import nn

from alttrain.config import RunConfig
from alttrain.lowrank import build_controller
from alttrain.lowrank.linalg import column_cosine_stability, polar_factor, r_factor, r_similarity
from alttrain.pipelines.oialr import tidy_stability
from alttrain.train import CHECKPOINT, train
from conftest import tiny_run


def _stability(a: torch.Tensor, b: torch.Tensor) -> float:
    return column_cosine_stability(polar_factor(a), polar_factor(b))


def test_identical_and_scaled_snapshots_are_stable():
    torch.manual_seed(0)
    weight = torch.randn(30, 12)
    assert math.isclose(_stability(weight, weight), 1.0, abs_tol=1e-6)
    assert math.isclose(_stability(weight, 3.7 * weight), 1.0, abs_tol=1e-6)
    assert math.isclose(_stability(weight, -weight), -1.0, abs_tol=1e-6)  # signed: no absolute value


def test_polar_factor_is_free_of_the_svd_sign_ambiguity():
    torch.manual_seed(1)
    weight = torch.randn(20, 8)
    u, s, vh = torch.linalg.svd(weight, full_matrices=False)
    signs = torch.tensor([1.0, -1.0, -1.0, 1.0, -1.0, 1.0, 1.0, -1.0])
    flipped_u, flipped_vh = u * signs, vh * signs[:, None]  # the same W: u_i v_i^T is unchanged
    assert torch.allclose(flipped_u @ torch.diag(s) @ flipped_vh, weight, atol=1e-5)
    q_flipped = flipped_u @ flipped_vh
    assert torch.allclose(q_flipped, polar_factor(weight), atol=1e-5)
    assert math.isclose(column_cosine_stability(q_flipped, polar_factor(weight)), 1.0, abs_tol=1e-6)


def test_diagonal_weight_has_identity_basis_and_wide_layers_use_the_tall_view():
    q = polar_factor(torch.diag(torch.tensor([3.0, 1.0, 0.5, 2.0])))
    assert torch.allclose(q, torch.eye(4), atol=1e-6)
    assert polar_factor(torch.randn(5, 40)).shape == (40, 5)  # transposed to tall
    assert polar_factor(torch.randn(16, 3, 3, 3)).shape == (
        27,
        16,
    )  # conv kernel as (C_out, C_in*kh*kw), tall


def test_independent_gaussian_matrices_have_near_zero_stability():
    generator = torch.Generator().manual_seed(2)
    a, b = torch.randn(512, 256, generator=generator), torch.randn(512, 256, generator=generator)
    assert abs(_stability(a, b)) < 0.01


def test_r_similarity_basics():
    torch.manual_seed(3)
    weight = torch.randn(25, 10)
    r = r_factor(weight)
    assert (torch.diagonal(r) >= 0).all() and torch.allclose(r, torch.triu(r))
    assert math.isclose(r_similarity(r, r_factor(weight.clone())), 1.0, abs_tol=1e-6)
    assert math.isclose(
        r_similarity(r, r_factor(2 * weight)), 0.0, abs_tol=1e-5
    )  # distance = norm of R itself
    assert math.isclose(r_similarity(r, r_factor(-weight)), 1.0, abs_tol=1e-6)  # QR signs normalised


def test_tracker_series_and_resume():
    torch.manual_seed(4)
    model = nn.Sequential(nn.Linear(6, 10), nn.ReLU(), nn.Linear(10, 6), nn.Conv1d(2, 8, 3))
    tracker = build_controller(
        model, {"mode": "stability", "series": [{"every": 2}, {"every": 1, "until": 1}]}, None
    )
    assert tracker.layers == ["0", "2", "3"]
    assert tracker.metrics() == {}  # epoch 0: snapshots only
    row1 = tracker.metrics()  # epoch 1: the "every 1" series compares with epoch 0 (unchanged weights)
    assert set(k.split("/")[1] for k in row1) == {"d1"}
    assert all(math.isclose(v, 1.0, abs_tol=1e-6) for v in row1.values())
    with torch.no_grad():
        model[0].weight.add_(torch.randn_like(model[0].weight))
    state = tracker.state_dict()
    resumed = build_controller(
        model, {"mode": "stability", "series": [{"every": 2}, {"every": 1, "until": 1}]}, None
    )
    resumed.load_state_dict(state)
    row2 = resumed.metrics()  # epoch 2: only the "every 2" series (the other ended at epoch 1)
    assert set(k.split("/")[1] for k in row2) == {"d2"}
    assert row2["stability/d2/000/0"] < 0.99 and math.isclose(row2["stability/d2/001/2"], 1.0, abs_tol=1e-6)
    assert math.isclose(
        row2["stability/d2/mean"],
        (row2["stability/d2/000/0"] + row2["stability/d2/001/2"] + row2["stability/d2/002/3"]) / 3,
        rel_tol=1e-6,
    )


def test_tracker_reads_attention_and_conv_weights():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.attention = nn.MultiheadAttention(8, 2)
            self.conv = nn.Conv2d(3, 8, 3)

    tracker = build_controller(Net(), {"mode": "stability", "series": [{"every": 1}]}, None)
    assert tracker.layers == ["attention", "attention.out_proj", "conv"]
    tracker.metrics()
    row = tracker.metrics()
    assert math.isclose(row["stability/d1/000/attention"], 1.0, abs_tol=1e-6)  # the packed 24 x 8 projection


def test_stability_columns_in_the_loop_and_their_tidy_form(tmp_path):
    cfg = RunConfig.from_dict(
        tiny_run(
            paper="oialr",
            epochs=3,
            model={"name": "mlp", "hidden": [32]},
            optimizer={"name": "adam", "lr": 1e-2},
            lowrank={"mode": "stability", "series": [{"every": 1}]},
        )
    )
    train(cfg, tmp_path, progress=False)
    metrics = pd.read_csv(tmp_path / "metrics.csv").assign(experiment="unit", run_id="baseline", seed=0)
    tidy = tidy_stability(metrics)
    layers = tidy[(tidy["measure"] == "stability") & (tidy["layer_index"] >= 0)]
    assert sorted(set(layers["layer"])) == ["blocks.0.1", "blocks.1.0"]  # the mlp's two Linear layers
    assert sorted(set(layers["epoch"])) == [1, 2, 3]
    assert ((layers["value"] > -1.0 - 1e-6) & (layers["value"] <= 1.0 + 1e-6)).all()
    means = tidy[(tidy["measure"] == "stability") & (tidy["layer"] == "mean")].set_index("epoch")["value"]
    by_hand = layers.groupby("epoch")["value"].mean()
    assert means.sort_index().tolist() == pytest.approx(by_hand.sort_index().tolist(), rel=1e-6)


def _oialr_run(**overrides):
    # digits (64 inputs), mlp 64 -> 32 -> 10: the first Linear converts (the head stays: keep_last_layer)
    fields = {
        "paper": "oialr",
        "epochs": 3,
        "model": {"name": "mlp", "hidden": [32]},
        "optimizer": {"name": "adam", "lr": 1e-2},
        "lowrank": {"mode": "oialr", "delay": 5, "stability_frequency": 4, "sigma_cutoff_fraction": 1e-6},
    }
    return RunConfig.from_dict(tiny_run(**{**fields, **overrides}))


def test_oialr_trainable_percent_in_the_loop_matches_the_hand_count(tmp_path):
    train(_oialr_run(), tmp_path, progress=False)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    original = (64 * 32 + 32) + (32 * 10 + 10)
    after = (32 * 32 + 32) + (
        32 * 10 + 10
    )  # Sigma 32x32 (the tall matrix is 64x32) and both biases, the head
    assert metrics["trainable_pct"].iloc[0] == 100.0
    assert metrics["trainable_pct"].iloc[-1] == pytest.approx(100 * after / original)
    stored = (64 * 32 + 32 * 32 + 32 * 32 + 32) + (32 * 10 + 10)
    assert metrics["compression_pct"].iloc[-1] == pytest.approx(100 * stored / original)


def test_oialr_run_resumes_to_the_same_metrics(tmp_path, monkeypatch):
    cfg = _oialr_run(
        lowrank={"mode": "oialr", "delay": 5, "stability_frequency": 4, "sigma_cutoff_fraction": 0.5}
    )
    train(cfg, tmp_path / "full", progress=False)
    import alttrain.train as loop

    original = loop._save_checkpoint
    calls = {"n": 0}

    def save_then_die(path, *args, **kwargs):
        original(path, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:  # after epoch 2: the model is low rank and truncated by then
            raise KeyboardInterrupt

    monkeypatch.setattr(loop, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "resumed", progress=False)
    monkeypatch.setattr(loop, "_save_checkpoint", original)
    assert (tmp_path / "resumed" / CHECKPOINT).exists()
    train(cfg, tmp_path / "resumed", progress=False)
    full = pd.read_csv(tmp_path / "full/metrics.csv")
    resumed = pd.read_csv(tmp_path / "resumed/metrics.csv")
    assert full["rank_pct"].iloc[-1] < 100.0
    pd.testing.assert_frame_equal(full, resumed)
