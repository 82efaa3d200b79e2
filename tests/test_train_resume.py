"""alttrain.train: kill-and-resume, determinism (same seed, other seed) and the alignment probe.

The runs use an estimator defined here that draws from every random stream the loop documents: dropout
from the global torch RNG, gradient noise from the estimator's own generator, and a per-sample buffer in its
resumable state. A resumed run must reproduce the uninterrupted run's ``metrics.csv`` and ``alignment.csv``
byte for byte (CPU).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import torch
import torch.nn.functional as F

from alttrain.config import RunConfig
from alttrain.methods import METHODS, GradientEstimator, forward_model
from alttrain.train import CHECKPOINT, train

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("metrics.csv", "alignment.csv", "summary.json")


class Killed(Exception):
    """Stands in for SIGKILL in the in-process tests: the loop dies between two checkpoints."""


class NoisyEstimator(GradientEstimator):
    """Backprop through input dropout (global RNG) plus generator noise, scaled by a per-sample visit buffer.

    ``kill_at`` (class attribute): raise :class:`Killed` (or SIGKILL the process when ``kill_signal``) at that
    training call, counted from 1 over this process.
    """

    exact = False
    kill_at: int | None = None
    kill_signal = False
    calls = 0

    def __init__(self, model, loss, data, generator, **options):
        super().__init__(model, loss, data, generator, **options)
        self.visits = torch.zeros(len(data.train))  # (N,) how often each training sample was seen

    def compute_gradients(self, x, y, index, update_state=True):
        if update_state:
            NoisyEstimator.calls += 1
            if NoisyEstimator.calls == NoisyEstimator.kill_at:
                if NoisyEstimator.kill_signal:
                    os.kill(os.getpid(), signal.SIGKILL)
                raise Killed
        loss = self.loss(forward_model(self.model, F.dropout(x, p=0.2, training=True)), y)
        loss.backward()
        scale = 1.0 / (1.0 + float(self.visits[index.cpu()].mean()))  # depends on the restored buffer
        for p in self.model.parameters():
            noise = torch.randn(p.shape, generator=self.generator).to(p.device)
            p.grad.mul_(scale).add_(0.01 * noise)
        if update_state:
            self.visits[index.cpu()] += 1
        return loss.detach()

    def state_dict(self):
        return {**super().state_dict(), "visits": self.visits.clone()}

    def load_state_dict(self, state):
        super().load_state_dict(state)
        self.visits.copy_(state["visits"])


@pytest.fixture
def noisy_method():
    """Register the test estimator for the duration of one test (kept out of other tests' list_methods())."""
    METHODS.names()  # import the package's own estimators first
    METHODS._entries["test_noisy"] = NoisyEstimator
    NoisyEstimator.kill_at, NoisyEstimator.kill_signal, NoisyEstimator.calls = None, False, 0
    yield "test_noisy"
    METHODS._entries.pop("test_noisy", None)


def run_config(method: str = "test_noisy", **overrides) -> RunConfig:
    """A 4-epoch digits run: Adam, a halving schedule, early-stopping bookkeeping, alignment probe."""
    raw = {
        "paper": "fg", "experiment": "reliability", "run_id": "noisy", "seed": 7, "scale": "smoke",
        "dataset": {"name": "digits"}, "model": {"name": "mlp", "hidden": [32]}, "method": {"name": method},
        "optimizer": {"name": "adam", "lr": 0.01}, "schedule": {"name": "halve_every_epoch"},
        "early_stopping": {"patience": 100, "monitor": "val_loss"}, "epochs": 4, "batch_size": 128,
        "alignment": {"enabled": True, "probe_size": 32}, "device": "cpu", "threads": 1,
    }
    raw.update(overrides)
    return RunConfig.from_dict(raw)


def read_outputs(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("metrics.csv", "alignment.csv")}


STEPS_PER_EPOCH = 10  # ceil(1259 training digits / 128)


@pytest.mark.parametrize(
    "kill_at",
    [3, STEPS_PER_EPOCH + 6, 2 * STEPS_PER_EPOCH + 1, 4 * STEPS_PER_EPOCH],
    ids=["epoch1-before-first-checkpoint", "mid-epoch2", "first-batch-epoch3", "last-batch"],
)
def test_killed_run_resumes_to_identical_outputs(tmp_path, noisy_method, kill_at):
    cfg = run_config()
    train(cfg, tmp_path / "straight", progress=False)

    NoisyEstimator.kill_at, NoisyEstimator.calls = kill_at, 0
    with pytest.raises(Killed):
        train(cfg, tmp_path / "killed", progress=False)
    killed = tmp_path / "killed"
    assert not any((killed / name).exists() for name in OUTPUTS), "a killed run must leave no declared output"
    completed_epochs = (kill_at - 1) // STEPS_PER_EPOCH
    assert (killed / CHECKPOINT).exists() == (completed_epochs > 0)

    NoisyEstimator.kill_at = None
    train(cfg, killed, progress=False)
    assert read_outputs(killed) == read_outputs(tmp_path / "straight")
    assert not (killed / CHECKPOINT).exists(), "a finished run leaves only its declared outputs"


def test_same_config_twice_gives_identical_metrics(tmp_path, noisy_method):
    cfg = run_config()
    first = train(cfg, tmp_path / "a", progress=False)
    second = train(cfg, tmp_path / "b", progress=False)
    assert read_outputs(tmp_path / "a") == read_outputs(tmp_path / "b")
    assert first["final"] == second["final"]


def test_another_seed_gives_other_metrics(tmp_path, noisy_method):
    """The seed matters: changing it changes the outcome (else the test above would be vacuous)."""
    train(run_config(seed=7), tmp_path / "a", progress=False)
    train(run_config(seed=8), tmp_path / "b", progress=False)
    assert (tmp_path / "a/metrics.csv").read_bytes() != (tmp_path / "b/metrics.csv").read_bytes()


def test_alignment_probe_does_not_change_training(tmp_path, noisy_method):
    with_probe = train(run_config(), tmp_path / "probe", progress=False)
    without = train(run_config(alignment={"enabled": False}), tmp_path / "noprobe", progress=False)
    a = pd.read_csv(tmp_path / "probe/metrics.csv")
    b = pd.read_csv(tmp_path / "noprobe/metrics.csv")
    assert {"align_cosine", "align_norm_ratio"} <= set(a.columns)
    assert not {"align_cosine", "align_norm_ratio"} & set(b.columns)
    pd.testing.assert_frame_equal(a[b.columns], b, check_exact=True)
    assert with_probe["final"]["test_loss"] == without["final"]["test_loss"]
    assert a["align_cosine"].between(-1, 1).all()
    assert set(pd.read_csv(tmp_path / "probe/alignment.csv")["epoch"]) == set(range(5)), "epoch 0 and every epoch"


def test_summary_records_seed_versions_and_device(tmp_path, noisy_method):
    import json

    import numpy

    train(run_config(), tmp_path, progress=False)
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seed"] == 7
    assert summary["device"] == "cpu"
    assert summary["versions"]["torch"] == torch.__version__
    assert summary["versions"]["numpy"] == numpy.__version__
    assert summary["versions"]["python"] == ".".join(map(str, sys.version_info[:3]))
    assert summary["processes"] == 1


def test_best_row_without_early_stopping_is_the_final_row(tmp_path, noisy_method):
    summary = train(run_config(early_stopping=None), tmp_path, progress=False)
    assert summary["best_epoch"] == summary["final"]["epoch"] == 4
    assert summary["best"] == summary["final"]


WRAPPER = """
import sys
sys.path.insert(0, {tests!r})
from test_train_resume import NoisyEstimator
from alttrain.methods import METHODS
from alttrain.cli import main
METHODS.names()
METHODS._entries["test_noisy"] = NoisyEstimator
NoisyEstimator.kill_at = int(sys.argv[2]) or None
NoisyEstimator.kill_signal = True
sys.exit(main(["train", sys.argv[1], "--no-progress"]))
"""


@pytest.mark.slow
def test_sigkill_mid_epoch_then_rerun_matches_uninterrupted_run(tmp_path):
    """Real processes, a real SIGKILL in the middle of epoch 3, then the same command again."""
    import yaml

    wrapper = tmp_path / "train_noisy.py"
    wrapper.write_text(WRAPPER.format(tests=str(REPO / "tests")))
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    folders = {}
    for name in ("straight", "killed"):
        folders[name] = tmp_path / name
        folders[name].mkdir()
        (folders[name] / "config.yaml").write_text(yaml.safe_dump(run_config().to_dict()))

    def launch(folder: Path, kill_at: int) -> subprocess.CompletedProcess:
        cmd = [sys.executable, str(wrapper), str(folder / "config.yaml"), str(kill_at)]
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)

    assert launch(folders["straight"], 0).returncode == 0
    killed = launch(folders["killed"], 2 * STEPS_PER_EPOCH + 5)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    assert (folders["killed"] / CHECKPOINT).exists()
    assert not (folders["killed"] / "metrics.csv").exists()
    rerun = launch(folders["killed"], 0)
    assert rerun.returncode == 0, rerun.stderr
    assert read_outputs(folders["killed"]) == read_outputs(folders["straight"])
    assert not list(folders["killed"].glob(".*.tmp")), "no temporary file is left behind"
