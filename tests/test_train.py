"""alttrain.train, the one training loop, on a tiny real data set: learning, outputs, early stopping, divergence,
checkpoints of another configuration. Determinism, kill-and-resume and the alignment probe: test_train_resume.py.

A diverging run stops, is recorded as diverged with its epoch and exits 0 (so the DAG goes on); tables print it as
"diverged", never as a number.
"""

import json
import math

import pandas as pd
import pytest
import yaml

from alttrain import cli
from alttrain.artifacts.cells import format_cell
from alttrain.config import RunConfig
from alttrain.errors import UserError
from alttrain.results import aggregate
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


def test_early_stopping_with_patience(tmp_path):
    # lr so small that the validation loss cannot improve by min_delta: stops after `patience` epochs
    cfg = RunConfig.from_dict(tiny_run(
        optimizer={"name": "sgd", "lr": 1e-9}, epochs=20,
        early_stopping={"patience": 3, "min_delta": 1.0, "monitor": "val_loss"},
    ))
    summary = train(cfg, tmp_path, progress=False)
    assert summary["status"] == "early_stopped"
    assert summary["epochs_run"] == 3


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


# ---------------------------------------------------------------- divergence


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
