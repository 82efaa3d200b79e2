"""The one training loop on a tiny real data set: learning, early stopping, divergence, outputs, resume."""

import json

import pandas as pd
import pytest
import torch

from alttrain.config import RunConfig
from alttrain.errors import UserError
from alttrain.train import CHECKPOINT, train
from conftest import tiny_run


def test_backprop_learns_digits_and_writes_outputs(tmp_path):
    summary = train(RunConfig.from_dict(tiny_run(epochs=3)), tmp_path, progress=False)
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert list(metrics["epoch"]) == [0, 1, 2, 3]
    # 10 classes: chance is 10 %; three epochs of SGD on digits get far above it
    assert metrics["test_acc"].iloc[0] < 25 and metrics["test_acc"].iloc[-1] > 60
    assert metrics["train_loss"].iloc[-1] < metrics["train_loss"].iloc[0]
    assert summary["status"] == "completed" and summary["seed"] == 0
    assert set(summary["versions"]) >= {"torch", "python", "timm"}
    assert json.loads((tmp_path / "summary.json").read_text())["fingerprint"] == summary["fingerprint"]
    assert not (tmp_path / CHECKPOINT).exists(), "a finished run leaves only its declared outputs"
    assert not list(tmp_path.glob(".*.tmp")), "no temporary files are left behind"


def test_same_seed_gives_identical_metrics(tmp_path):
    cfg = RunConfig.from_dict(tiny_run())
    train(cfg, tmp_path / "a", progress=False)
    train(cfg, tmp_path / "b", progress=False)
    assert (tmp_path / "a/metrics.csv").read_bytes() == (tmp_path / "b/metrics.csv").read_bytes()


def test_divergence_stops_and_is_recorded(tmp_path):
    cfg = RunConfig.from_dict(tiny_run(optimizer={"name": "sgd", "lr": 1e4}, epochs=5, divergence_threshold=10.0))
    summary = train(cfg, tmp_path, progress=False)
    assert summary["status"] == "diverged"
    assert summary["diverged_epoch"] == 1
    assert summary["epochs_run"] == 1


def test_early_stopping_with_patience(tmp_path):
    # lr so small that the validation loss cannot improve by min_delta: stops after `patience` epochs
    cfg = RunConfig.from_dict(tiny_run(
        optimizer={"name": "sgd", "lr": 1e-9}, epochs=20,
        early_stopping={"patience": 3, "min_delta": 1.0, "monitor": "val_loss"},
    ))
    summary = train(cfg, tmp_path, progress=False)
    assert summary["status"] == "early_stopped"
    assert summary["epochs_run"] == 3


def test_resume_from_checkpoint_equals_uninterrupted_run(tmp_path, monkeypatch):
    cfg = RunConfig.from_dict(tiny_run(epochs=3))
    train(cfg, tmp_path / "full", progress=False)

    # interrupted run: stop right after the checkpoint of epoch 2 is written
    import alttrain.train as loop

    original = loop._save_checkpoint
    calls = {"n": 0}

    def save_then_die(path, *args, **kwargs):
        original(path, *args, **kwargs)
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(loop, "_save_checkpoint", save_then_die)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path / "resumed", progress=False)
    monkeypatch.setattr(loop, "_save_checkpoint", original)
    assert (tmp_path / "resumed" / CHECKPOINT).exists()
    assert not (tmp_path / "resumed" / "metrics.csv").exists()
    train(cfg, tmp_path / "resumed", progress=False)
    assert (tmp_path / "full/metrics.csv").read_bytes() == (tmp_path / "resumed/metrics.csv").read_bytes()


def test_checkpoint_of_another_config_is_refused(tmp_path, monkeypatch):
    import alttrain.train as loop

    def die(*args, **kwargs):
        raise KeyboardInterrupt

    cfg = RunConfig.from_dict(tiny_run(epochs=2))
    original = loop._save_checkpoint
    monkeypatch.setattr(loop, "_evaluate_epoch", loop._evaluate_epoch)
    calls = {"n": 0}

    def save_once(path, *args, **kwargs):
        original(path, *args, **kwargs)
        calls["n"] += 1
        die()

    monkeypatch.setattr(loop, "_save_checkpoint", save_once)
    with pytest.raises(KeyboardInterrupt):
        train(cfg, tmp_path, progress=False)
    monkeypatch.setattr(loop, "_save_checkpoint", original)
    other = RunConfig.from_dict(tiny_run(epochs=2, seed=5))
    with pytest.raises(UserError, match="different configuration"):
        train(other, tmp_path, progress=False)


def test_alignment_probe_does_not_change_training(tmp_path):
    """A method that is not exact gets alignment rows; the probe leaves the training trajectory unchanged."""
    from alttrain.methods import register_method
    from alttrain.methods.bp import Backprop

    @register_method("_test_noisy_bp")
    class NoisyBackprop(Backprop):
        exact = False

        def compute_gradients(self, x, y, index, update_state=True):
            loss = super().compute_gradients(x, y, index, update_state)
            for p in self.model.parameters():
                p.grad += 0.1 * torch.randn(p.shape, generator=self.generator)
            return loss

    on = RunConfig.from_dict(tiny_run(method={"name": "_test_noisy_bp"}))
    off = RunConfig.from_dict(tiny_run(method={"name": "_test_noisy_bp"}, alignment={"enabled": False}))
    train(on, tmp_path / "on", progress=False)
    train(off, tmp_path / "off", progress=False)
    with_probe = pd.read_csv(tmp_path / "on/metrics.csv")
    without = pd.read_csv(tmp_path / "off/metrics.csv")
    pd.testing.assert_frame_equal(with_probe[without.columns], without)
    assert with_probe["align_cosine"].between(-1, 1).all()
    alignment = pd.read_csv(tmp_path / "on/alignment.csv")
    assert set(alignment["epoch"]) == {0, 1, 2}


def _spiky_first_batch(monkeypatch):
    """Backprop whose very first mini-batch reports a loss of 50 (the model itself trains normally)."""
    from alttrain.methods.bp import Backprop

    original, calls = Backprop.compute_gradients, []

    def spiky(self, *args, **kwargs):
        loss = original(self, *args, **kwargs)
        calls.append(1)
        return loss * 0 + 50.0 if len(calls) == 1 else loss

    monkeypatch.setattr(Backprop, "compute_gradients", spiky)


def test_val_loss_divergence_rule_ignores_mini_batch_spikes(tmp_path, monkeypatch):
    """fg authors' rule: a run is aborted when an epoch's validation loss is >= 10 or NaN, not at a mini-batch."""
    _spiky_first_batch(monkeypatch)
    common = {"epochs": 2, "divergence_threshold": 10.0, "eval_splits": ["val", "test"]}
    summary = train(RunConfig.from_dict(tiny_run(**common, divergence_check="val_loss")), tmp_path / "a",
                    progress=False)
    assert summary["status"] == "completed" and summary["epochs_run"] == 2
    _spiky_first_batch(monkeypatch)
    summary = train(RunConfig.from_dict(tiny_run(**common)), tmp_path / "b", progress=False)
    assert summary["status"] == "diverged" and summary["diverged_epoch"] == 1  # the other papers' rule


@pytest.mark.parametrize("bad_val", [10.0, float("nan")])
def test_val_loss_divergence_rule_stops_after_the_epoch(tmp_path, monkeypatch, bad_val):
    import alttrain.train as loop

    evaluate, calls = loop.evaluate, []

    def fake(*args, **kwargs):  # eval_splits [val, test]: call 2 e is the validation pass of epoch e
        out = evaluate(*args, **kwargs)
        calls.append(1)
        return {**out, "loss": bad_val} if len(calls) == 2 * 2 + 1 else out

    monkeypatch.setattr(loop, "evaluate", fake)
    cfg = RunConfig.from_dict(tiny_run(epochs=4, divergence_threshold=10.0, eval_splits=["val", "test"],
                                       divergence_check="val_loss"))
    summary = train(cfg, tmp_path, progress=False)
    assert summary["status"] == "diverged" and summary["diverged_epoch"] == 2 and summary["epochs_run"] == 2
    metrics = pd.read_csv(tmp_path / "metrics.csv")
    assert list(metrics["epoch"]) == [0, 1, 2]  # the diverged epoch's row is kept, NaN included
    assert metrics["val_loss"].iloc[-1] == pytest.approx(bad_val, nan_ok=True)


def test_val_loss_divergence_rule_needs_a_validation_split():
    with pytest.raises(UserError, match="divergence_check 'val_loss' needs 'val' in eval_splits"):
        RunConfig.from_dict(tiny_run(eval_splits=["test"], divergence_check="val_loss"))
    with pytest.raises(UserError, match="divergence_check must be one of"):
        RunConfig.from_dict(tiny_run(divergence_check="sometimes"))
