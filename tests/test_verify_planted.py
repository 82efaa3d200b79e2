"""Every check shown able to fail: realistic implementation errors planted into small real runs.

Each plant (a monkeypatch or a configuration option, no code edit) runs the real code on a small grid; the
verification must then flag it with a named failing entry or claim that passes without the plant. Closed form:
the real sweeps of Sphere and Styblinski-Tang at four dimensions with 20 seeds (the cpu scale's seed count, so
the rank rule applies), verified against paper/published/fg.yaml. F3: bp, DRTP and F3 trained on 2,000
MNIST-5k images for 5 epochs at 10x the paper's learning rate (so that F3's advantage over DRTP shows within 5
epochs), verified against paper/published/f3.yaml with the claims' scales widened to this run. The plants and
the check that must catch each are listed in PLANTS and F3_PLANTS (and in docs/verification.md).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
import yaml

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]
FUNCTIONS = ("sphere", "styblinski_tang")
SETTINGS = {
    "dims": [16, 64, 256, 512],
    "approaches": ["bp", "fg_k1", "fg_mean_k2", "fg_mean_k4", "fg_mean_k16", "frog_k2", "frog_k4", "frog_k16"],
    "seeds": list(range(20)),
    "max_steps": None,
    "patience": 50,
    "search_patience": 100,
    "dtype": "float32",
    "jvp_mode": "simulated",
    "gram_solver": "cholesky",
    "curve_points": 2,
    "curve_dims": [],
}


def _plant_mean_for_projection(monkeypatch):
    """The orthogonal projection computed as the mean of the forward gradients."""
    from alttrain.fg_math import sweep

    class MeanForProjection(sweep._PackedUpdate):
        def __init__(self, approaches, packing, dtype):
            approaches = [
                dataclasses.replace(a, combination="mean") if a.combination == "orthogonal_projection" else a
                for a in approaches
            ]
            super().__init__(approaches, packing, dtype)

    monkeypatch.setattr(sweep, "_PackedUpdate", MeanForProjection)


def _plant_double_lr(monkeypatch):
    """Every step taken with twice the configured step size (the recorded lr column stays right)."""
    from alttrain.fg_math import sweep

    original = sweep.run_sweep

    def doubled(function, ns, approaches, lrs, seeds, **options):
        result = original(function, ns, approaches, np.asarray(lrs, dtype=float) * 2, seeds, **options)
        result.lrs = result.lrs / 2
        return result

    monkeypatch.setattr(sweep, "run_sweep", doubled)


def _plant_tangents_not_redrawn(monkeypatch):
    """The tangents of the first step reused at every step."""
    from alttrain.fg_math import sweep

    class FrozenTangents(sweep._PackedUpdate):
        def update(self, draws, grad, x):
            if not hasattr(self, "first"):
                self.first = draws.clone()
            return super().update(self.first, grad, x)

    monkeypatch.setattr(sweep, "_PackedUpdate", FrozenTangents)


def _plant_lost_seed(frame):
    """One seed's result replaced by NaN (without recording a divergence)."""
    frame.loc[frame["seed"] == 3, "final_value_search"] = np.nan
    return frame


# plant -> (monkeypatch, CSV edit, a check that must fail with the plant and pass without it)
PLANTS = {
    "mean instead of orthogonal projection": (
        _plant_mean_for_projection, None, "fg_claim_projection_beats_mean_sphere",
    ),
    "learning rate x 2": (_plant_double_lr, None, "calibration/closed_form_sphere"),
    "tangents not redrawn each step": (
        _plant_tangents_not_redrawn, None, "fg_ref/closed_form/sphere/n64/fg_mean_k16/search_final_value",
    ),
    "one seed's result replaced by NaN": (
        None, _plant_lost_seed, "fg_ref/closed_form/sphere/n16/bp/search_final_value",
    ),
}


def _failing(report) -> set[str]:
    return (
        {e["id"] for e in report["entries"] if e["status"] == "fail"}
        | {c["id"] for c in report["claims"] if c["status"] == "fail"}
        | {f"calibration/{r['experiment']}" for r in report["calibration"] if r["status"] == "fail"}
    )


def _sweeps() -> dict:
    from alttrain.pipelines.fg import sweep

    return {function: sweep(function, SETTINGS)[0] for function in FUNCTIONS}


def _verify_closed_form(folder: Path, finals: dict) -> set[str]:
    from alttrain.verification.report import CsvStore, build_report

    paths = []
    for function, final in finals.items():
        path = folder / "fg" / f"closed_form_{function}.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        final.to_csv(path, index=False)
        paths.append(path)
    report = build_report(
        "cpu", ["fg"], REPO / "paper" / "published", CsvStore(folder, paths), None, with_artifacts=False
    )
    return _failing(report)


@pytest.fixture(scope="module")
def closed_form_baseline(tmp_path_factory) -> tuple[dict, set[str]]:
    finals = _sweeps()
    return finals, _verify_closed_form(tmp_path_factory.mktemp("baseline"), finals)


@pytest.mark.parametrize("plant", list(PLANTS))
def test_planted_closed_form_error_is_caught_by_name(plant, closed_form_baseline, monkeypatch, tmp_path):
    patch, edit, catcher = PLANTS[plant]
    finals, baseline = closed_form_baseline
    assert catcher not in baseline, f"{catcher} fails without a planted error"
    if patch is not None:
        patch(monkeypatch)
        finals = _sweeps()
    if edit is not None:
        finals = {function: edit(final.copy()) for function, final in finals.items()}
    failing = _verify_closed_form(tmp_path, finals)
    assert catcher in failing, f"planted '{plant}' not caught by {catcher}; failing: {sorted(failing)[:10]}"


# ---------------------------------------------------------------------------------------------------- F3


def _plant_buffer_never_updated(monkeypatch):
    """F3's delayed-error buffer never written: it keeps the targets, so F3 trains exactly as DRTP."""
    from alttrain.methods import feedback

    monkeypatch.setattr(
        feedback.FeedbackEstimator, "_value_to_store", lambda self, y, targets, outputs, logits: targets
    )


def _plant_gap_sign(monkeypatch):
    """Gap reduction with the sign flipped."""
    from alttrain import metrics

    original = metrics.gap_reduction
    monkeypatch.setattr(metrics, "gap_reduction", lambda *args, **kw: -original(*args, **kw))


F3_PLANTS = {
    "F3 delayed-error buffer never updated": (_plant_buffer_never_updated, "f3_claim_v1_narrows_gap_vs_drtp"),
    "gap reduction with the sign flipped": (_plant_gap_sign, "f3_claim_gap_reduction_positive"),
}


def _train_runs(config: dict, folder: Path, wanted) -> list[Path]:
    """Train the runs of ``config`` that ``wanted(run)`` selects, on the CPU, each in its own folder under
    ``folder``; their summary.json paths."""
    from alttrain.config import RunConfig
    from alttrain.grids import training_runs
    from alttrain.train import train

    summaries = []
    for key, run in training_runs(config).items():
        if not wanted(run):
            continue
        cfg = RunConfig.from_dict({**run, "device": "cpu", "threads": 1})
        run_folder = folder / key
        run_folder.mkdir(parents=True)
        (run_folder / "config.yaml").write_text(yaml.safe_dump(cfg.to_dict()))
        train(cfg, run_folder, progress=False)
        summaries.append(run_folder / "summary.json")
    return summaries


def _verify_f3(folder: Path) -> set[str]:
    from alttrain.pipelines.f3 import gap_reductions
    from alttrain.results import aggregate
    from alttrain.verification.checks import evaluate_claim
    from alttrain.verification.published import load_published
    from alttrain.workflow.catalog import scale_config

    config = scale_config("smoke")
    config["papers"] = ["f3"]
    config["f3"]["seeds"] = [0, 1]
    mnist = config["f3"]["classification"]["benchmarks"]["mnist"]
    mnist["epochs"], mnist["dataset"]["train_size"] = 5, 2000
    rates = config["f3"]["learning_rates"]["mnist"]
    for method in ("bp", "drtp", "f3"):
        rates[method] *= 10
    summaries = _train_runs(
        config, folder, lambda run: run["experiment"] == "classification"
        and run["method"]["name"] in ("bp", "drtp", "f3")
    )
    final, _, _ = aggregate(summaries)
    frames = {"classification": final, "gap_reduction": gap_reductions({"classification": final}, "smoke")}
    failing = set()
    for claim in load_published(REPO / "paper" / "published" / "f3.yaml", "f3")["claims"]:
        if claim["experiment"] in frames:
            result = evaluate_claim({**claim, "scales": ["smoke"]}, frames[claim["experiment"]], "smoke")
            if result["status"] == "fail":
                failing.add(claim["id"])
    return failing


@pytest.fixture(scope="module")
def f3_baseline(tmp_path_factory) -> set[str]:
    return _verify_f3(tmp_path_factory.mktemp("f3_baseline"))


@pytest.mark.parametrize("plant", list(F3_PLANTS))
def test_planted_f3_error_is_caught_by_name(plant, f3_baseline, monkeypatch, tmp_path):
    patch, catcher = F3_PLANTS[plant]
    assert catcher not in f3_baseline, f"{catcher} fails without a planted error"
    patch(monkeypatch)
    failing = _verify_f3(tmp_path)
    assert catcher in failing, f"planted '{plant}' not caught by {catcher}; failing: {sorted(failing)}"


# ---------------------------------------------------------------------------------------------------- OIALR


def _plant_double_cutoff(monkeypatch):
    """The controller truncates with twice the configured cutoff fraction beta (the recorded beta stays right)."""
    from alttrain.lowrank import controller

    original = controller.truncation_rank
    monkeypatch.setattr(
        controller, "truncation_rank", lambda s, k_prev, beta, min_dim: original(s, k_prev, 2 * beta, min_dim)
    )


OIALR_PLANTS = {"OIALR singular-value cutoff x 2": (_plant_double_cutoff, "oialr_check_rank_rule")}


def _verify_oialr(folder: Path) -> set[str]:
    """The smoke scale's E1 OIALR run (tiny ViT, 500 MNIST-5k images, 2 epochs, 3 rank checks), verified by
    the oialr claims on its truncation records."""
    from alttrain.pipelines.oialr import rank_updates
    from alttrain.results import aggregate
    from alttrain.verification.checks import evaluate_claim
    from alttrain.verification.published import load_published
    from alttrain.workflow.catalog import scale_config

    config = scale_config("smoke")
    config["papers"] = ["oialr"]
    summaries = _train_runs(config, folder, lambda run: run["experiment"] == "e1_vit" and run["run_id"] == "oialr")
    assert summaries, "the smoke scale has no e1_vit oialr run"
    frame = rank_updates(aggregate(summaries)[1])
    failing = set()
    for claim in load_published(REPO / "paper" / "published" / "oialr.yaml", "oialr")["claims"]:
        if claim["experiment"] == "collected_rank_updates":
            result = evaluate_claim(claim, frame, "smoke")
            assert result["status"] in ("pass", "fail"), result["detail"]
            if result["status"] == "fail":
                failing.add(claim["id"])
    return failing


@pytest.mark.parametrize("plant", list(OIALR_PLANTS))
def test_planted_oialr_error_is_caught_by_name(plant, monkeypatch, tmp_path):
    patch, catcher = OIALR_PLANTS[plant]
    baseline = _verify_oialr(tmp_path / "baseline")
    assert catcher not in baseline, f"{catcher} fails without a planted error"
    patch(monkeypatch)
    failing = _verify_oialr(tmp_path / "planted")
    assert catcher in failing, f"planted '{plant}' not caught by {catcher}; failing: {sorted(failing)}"
