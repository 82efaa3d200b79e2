"""oialr pipeline: experiment plan per scale, collected CSVs, every figure and table, published numbers."""

from __future__ import annotations

import csv
import hashlib
import math
import re
from pathlib import Path

import matplotlib.figure
import pandas as pd
import pytest
import yaml

from alttrain.artifacts import FIGURES, TABLES
from alttrain.artifacts.style import Context
from alttrain.errors import UserError
from alttrain.grids import Settings
from alttrain.grids.oialr import experiment_plan, training_runs
from alttrain.pipelines.oialr import collect
from alttrain.workflow import check_config, deep_merge, scale_settings

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = (
    "final",
    "curves",
    "stability",
    "rank_updates",
    "stability_summary",
    "status",
    "hparams",
    "reference_autoformer",
    "reference_stability",
)
NAMES = {
    "final": "collected_final.csv",
    "curves": "collected_curves.csv",
    "stability": "collected_stability.csv",
    "rank_updates": "collected_rank_updates.csv",
    "stability_summary": "stability_summary.csv",
    "status": "experiment_status.csv",
    "hparams": "hparams.csv",
    "reference_autoformer": "reference_autoformer.csv",
    "reference_stability": "reference_stability.csv",
}


def _config(scale: str, **data) -> dict:
    base = yaml.safe_load((REPO / "config/config.yaml").read_text())
    base.update(scale=scale, papers=["oialr"])
    base["data"].update(data)
    return deep_merge(scale_settings(scale, REPO), base)


@pytest.mark.parametrize("scale", ["smoke", "cpu", "paper"])
def test_every_scale_validates_and_plans_every_experiment(scale):
    config = _config(scale)
    check_config(config, REPO / "config/schema/config.schema.yaml")
    plan = experiment_plan(config["oialr"], Settings.from_config(config))
    assert [p["experiment"] for p in plan] == [
        "e1_vit",
        "e2_vit_b16",
        "e3_resnetrs101",
        "e4_autoformer_192",
        "e4_autoformer_720",
    ]
    imagenet = {p["experiment"]: p for p in plan if p["experiment"] in ("e2_vit_b16", "e3_resnetrs101")}
    for entry in imagenet.values():
        assert entry["status"] == "not run" and entry["reason"].startswith(f"not run at the {scale} scale")
    if scale == "paper":
        assert all("data.imagenet is not configured" in p["reason"] for p in imagenet.values())
    runs = training_runs(config["oialr"], Settings.from_config(config))
    assert {r["experiment"] for r in runs} <= {p["experiment"] for p in plan if p["status"] == "run"}


def test_imagenet_experiments_run_when_the_folder_is_configured():
    config = _config("paper", imagenet="/data/imagenet")
    runs = training_runs(config["oialr"], Settings.from_config(config))
    imagenet_runs = [r for r in runs if r["experiment"] in ("e2_vit_b16", "e3_resnetrs101")]
    assert imagenet_runs and all(r["dataset"]["path"] == "/data/imagenet" for r in imagenet_runs)
    baseline = next(r for r in imagenet_runs if r["run_id"] == "baseline")
    assert baseline["lowrank"] == {"mode": "stability", "series": [{"every": 5, "until": 100}]}


def test_a_missing_offline_file_is_a_reason_not_an_error(tmp_path):
    config = _config("cpu", root=str(tmp_path), search_paths=[str(tmp_path / "nowhere")])
    plan = {p["experiment"]: p for p in experiment_plan(config["oialr"], Settings.from_config(config))}
    assert plan["e4_autoformer_192"]["status"] == "not run"
    assert "ETTh2.csv(.gz) not found" in plan["e4_autoformer_192"]["reason"]
    assert plan["e1_vit"]["status"] == "run"


def test_bad_config_values_name_the_key():
    config = _config("cpu")
    config["oialr"]["e1_vit"]["oialr"]["sigma_cutoff"] = 0.2
    with pytest.raises(UserError, match="oialr.e1_vit.oialr"):
        check_config(config, REPO / "config/schema/config.schema.yaml")
    config = _config("cpu")
    config["oialr"]["e1_vit"]["stability"] = {"series": [{"every": 2}, {"every": 2, "until": 4}]}
    with pytest.raises(UserError, match="each 'every' may appear once"):
        experiment_plan(config["oialr"], Settings.from_config(config))


def _synthetic_run_csvs(folder: Path) -> list[Path]:
    """Aggregated CSVs as the generic rules write them, for one E1 and one E4 experiment (two seeds)."""
    finals, curves = [], []
    for seed in (0, 1):
        for variant, pct in (("baseline", 100.0), ("oialr", 40.0), ("oialr_tuned", 38.0)):
            ident = {
                "paper": "oialr",
                "experiment": "e1_vit",
                "run_id": variant,
                "variant": variant,
                "seed": seed,
                "scale": "cpu",
                "dataset": "MNIST-5k",
                "status": "completed",
                "wall_time_s": 10.0 + seed,
            }
            finals.append(
                {
                    **ident,
                    "final_test_acc": 80.0 + seed,
                    "final_trainable_pct": pct,
                    "final_compression_pct": 150.0 if variant != "baseline" else float("nan"),
                    "final_stability/d3/mean": 0.99,
                }
            )
            for epoch in range(4):
                row = {
                    **ident,
                    "epoch": epoch,
                    "lr": 1e-3,
                    "val_acc": 50.0 + 10 * epoch,
                    "test_acc": 49.0 + epoch,
                    "trainable_pct": 100.0 if epoch < 2 else pct,
                }
                if variant != "baseline":
                    row["rank_checks"] = max(0, epoch - 1)
                if variant == "baseline" and epoch > 0:
                    for index, layer in enumerate(("blocks.0.attn.qkv", "head")):
                        row[f"stability/d3/{index:03d}/{layer}"] = 0.9 + 0.02 * epoch + 0.01 * index
                        row[f"r_similarity/d3/{index:03d}/{layer}"] = 0.8 + 0.05 * epoch
                    row["stability/d3/mean"] = 0.905 + 0.02 * epoch
                    row["r_similarity/d3/mean"] = 0.8 + 0.05 * epoch
                curves.append(row)
    paths = [folder / "e1_vit.csv", folder / "e1_vit_curves.csv"]
    pd.DataFrame(finals).to_csv(paths[0], index=False)
    pd.DataFrame(curves).to_csv(paths[1], index=False)
    af = [
        {
            "paper": "oialr",
            "experiment": "e4_autoformer_192",
            "run_id": v,
            "variant": v,
            "seed": 0,
            "scale": "cpu",
            "dataset": "ETTh2",
            "status": "completed",
            "wall_time_s": 5.0,
            "best_test_mse": m,
            "best_test_mae": m / 2,
            "final_trainable_pct": p,
        }
        for v, m, p in (("baseline", 0.40, 100.0), ("oialr", 0.42, 47.0))
    ]
    af_curves = [
        {
            **{k: a[k] for k in ("experiment", "run_id", "variant", "seed", "scale", "dataset")},
            "epoch": e,
            "test_mse": 0.7 - 0.1 * e,
            "val_mse": 0.6 - 0.1 * e,
            "trainable_pct": a["final_trainable_pct"],
        }
        for a in af
        for e in range(3)
    ]
    paths += [folder / "e4_autoformer_192.csv", folder / "e4_autoformer_192_curves.csv"]
    pd.DataFrame(af).to_csv(paths[2], index=False)
    pd.DataFrame(af_curves).to_csv(paths[3], index=False)
    return paths


def _collect(tmp_path: Path, csvs: list[Path]) -> dict[str, pd.DataFrame]:
    config = _config("cpu")
    plan = experiment_plan(config["oialr"], Settings.from_config(config))
    out = tmp_path / "out"
    collect(csvs, plan, "cpu", REPO / "resources/oialr", {k: out / NAMES[k] for k in OUTPUTS})
    frames = {}
    for name in NAMES.values():
        try:
            frames[name] = pd.read_csv(out / name)
        except pd.errors.EmptyDataError:
            frames[name] = pd.DataFrame()
    return frames


def test_collect_tidies_stability_and_derives_the_table_columns(tmp_path):
    frames = _collect(tmp_path, _synthetic_run_csvs(tmp_path))
    final = frames["collected_final.csv"]
    e1 = final[final["experiment"] == "e1_vit"]
    assert (
        set(e1["top1"]) == {80.0, 81.0}
        and (e1.loc[e1["run_id"] == "baseline", "compression_pct"] == 100).all()
    )
    assert not any("/" in c for c in final.columns)  # per-layer stability columns do not leak into the table
    af = final[final["experiment"] == "e4_autoformer_192"].set_index("run_id")
    assert af.loc["oialr", "mse"] == 0.42 and af.loc["oialr", "mae"] == 0.21
    stability = frames["collected_stability.csv"]
    layer_rows = stability[(stability["measure"] == "stability") & (stability["layer_index"] >= 0)]
    assert len(layer_rows) == 2 * 2 * 3  # seeds x layers x epochs 1..3
    head = layer_rows[
        (layer_rows["layer"] == "head") & (layer_rows["epoch"] == 2) & (layer_rows["seed"] == 0)
    ]
    assert math.isclose(head["value"].iloc[0], 0.9 + 0.04 + 0.01)
    assert set(stability["series"]) == {"main"}  # every 3 is the first cpu series
    summary = frames["stability_summary.csv"]
    points = summary[(summary["measure"] == "stability") & (summary["seed"] == 0)].set_index("point")["value"]
    assert math.isclose(points["first"], 0.925) and math.isclose(points["final"], 0.965)
    status = frames["experiment_status.csv"].set_index("experiment")
    assert status.loc["e2_vit_b16", "status"] == "not run" and len(status) == 5
    assert {"d (delay)", "beta (cutoff)"} <= set(frames["hparams.csv"]["parameter"])
    # every training time says which low-rank forward it was measured with (the authors rebuild W: dense)
    assert dict(zip(e1["run_id"], e1["forward"], strict=True)) == {
        "baseline": "full rank", "oialr": "auto", "oialr_tuned": "auto"}
    hparams = frames["hparams.csv"].set_index(["experiment", "variant", "parameter"])["value"]
    assert hparams[("e1_vit", "oialr", "forward")] == "auto"
    assert hparams[("e1_vit", "oialr", "biases of converted layers")] == "trained"
    assert hparams[("e4_autoformer_192", "oialr", "biases of converted layers")] == "frozen (authors)"


def test_paper_scale_runs_oialr_as_the_authors_code():
    """Where results and times are compared with the authors' numbers: frozen converted biases, W rebuilt, the
    authors' forward-call counting."""
    config = _config("paper", imagenet="/data/imagenet")
    runs = [r for r in training_runs(config["oialr"], Settings.from_config(config)) if r["run_id"] != "baseline"]
    assert runs and all(
        r["lowrank"]["freeze_converted_biases"] and r["lowrank"]["forward"] == "dense"
        and r["lowrank"]["count_forward_calls"] for r in runs
    )


def test_reference_curves_are_the_authors_csv(tmp_path):
    frames = _collect(tmp_path, [])
    ref = frames["reference_autoformer.csv"]
    with open(REPO / "resources/oialr/af-720-mse.csv") as f:
        rows = list(csv.DictReader(f))
    last = rows[-1]
    got = ref[
        (ref["horizon"] == 720)
        & (ref["step"] == int(last["Step"]))
        & (ref["series"] == "oialr_trainable_pct")
    ]
    assert math.isclose(got["mean"].iloc[0], float(last["OIALR Trainable Parameters"]))
    assert ref[(ref["horizon"] == 720) & (ref["series"] == "baseline_mse")]["step"].max() == 4  # empty later
    readings = frames["reference_stability.csv"]
    vit = readings[(readings["experiment"] == "e2_vit_b16") & (readings["measure"] == "stability")]
    # the minimum named in docs/methods/oialr.md#claims-and-expected-results
    assert vit.set_index("epoch")["value"].idxmin() == 10


def test_vendored_reference_files_are_the_recorded_copies():
    """resources/oialr holds the authors' files unchanged: each sha256 is the one its README records."""
    readme = (REPO / "resources/oialr/README.md").read_text()
    recorded = dict(re.findall(r"^\| `([\w.-]+)` \|.*\| `([0-9a-f]{64})` \|$", readme, flags=re.M))
    assert sorted(recorded) == ["af-192-mse.csv", "af-720-mse.csv", "facts.yaml"]
    for name, digest in recorded.items():
        assert hashlib.sha256((REPO / "resources/oialr" / name).read_bytes()).hexdigest() == digest, name


@pytest.mark.parametrize("with_runs", [False, True])
def test_every_oialr_figure_and_table_is_produced(tmp_path, with_runs):
    frames = _collect(tmp_path, _synthetic_run_csvs(tmp_path) if with_runs else [])
    figures = {k: m for k, m in FIGURES.items() if m.SPEC.paper == "oialr"}
    tables = {k: m for k, m in TABLES.items() if m.SPEC.paper == "oialr"}
    spec_ids = {
        "oialr_fig_stability",
        "oialr_fig_stability_cifar",
        "oialr_fig_r_similarity",
        "oialr_fig_cifar_top1_perc",
        "oialr_fig_cifar_top1_perc_stab",
        "oialr_fig_cifar_lr",
        "oialr_fig_imagenet_top1_perc_vit",
        "oialr_fig_imagenet_top1_perc_resnet",
        "oialr_fig_autoformer_192",
        "oialr_fig_autoformer_720",
    }
    assert set(figures) == spec_ids and set(tables) == {"oialr_tab_results", "oialr_tab_hparams"}
    import matplotlib.pyplot as plt

    for module in figures.values():
        inputs = {name: frames[name] for name in module.SPEC.inputs}
        fig = module.draw(inputs, Context.from_frames("cpu", inputs))
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)
    results = tables["oialr_tab_results"].build(
        {n: frames[n] for n in tables["oialr_tab_results"].SPEC.inputs}, Context("cpu")
    )
    not_run = results[results["status"].str.startswith("not run")]
    assert set(not_run["experiment"]) >= {"E2 ViT-B/16, ImageNet-2012", "E3 ResNet-RS 101, ImageNet-2012"}
    if with_runs:
        e1 = results[results["experiment"].str.startswith("E1")].set_index("method")
        assert e1.loc["OIALR", "top-1 (%)"] == "80.50 ± 0.71"  # mean and sample std of 80 and 81
        assert e1.loc["OIALR", "% trainable"] == "40.00 ± 0.00"  # both seeds 40 %: the one cell format
        assert e1.loc["OIALR", "low-rank forward"] == "auto"
        assert e1.loc["baseline (full rank)", "low-rank forward"] == "full rank"
    hparams = tables["oialr_tab_hparams"].build(
        {n: frames[n] for n in tables["oialr_tab_hparams"].SPEC.inputs}, Context("cpu")
    )
    assert "status" in set(hparams["parameter"])


def test_published_file_is_valid_and_holds_every_placeholder():
    import jsonschema

    published = yaml.safe_load((REPO / "paper/published/oialr.yaml").read_text())
    schema = yaml.safe_load((REPO / "config/schema/published.schema.yaml").read_text())
    jsonschema.Draft202012Validator(schema).validate(published)
    ids = [e["id"] for e in published["entries"]]
    assert len(ids) == len(set(ids))
    facts = yaml.safe_load((REPO / "resources/oialr/facts.yaml").read_text())
    placeholders = {k for k in facts["placeholders"] if k.startswith("oialr_tab_results/")}
    assert placeholders <= set(ids)
    by_id = {e["id"]: e for e in published["entries"]}
    for pid in placeholders:  # nothing invented: null unless the facts give the value
        assert by_id[pid]["value"] == facts["placeholders"][pid]
    with open(REPO / "resources/oialr/af-192-mse.csv") as f:
        step4 = [r for r in csv.DictReader(f) if r["Step"] == "4"][0]
    assert by_id["oialr_fig_autoformer_192/baseline/step4/mse"]["value"] == float(step4["Baseline MSE"])
    smk = (REPO / "workflow/rules/oialr.smk").read_text()
    for entry in [*published["entries"], *published["claims"]]:
        assert f"results/metrics/oialr/{entry['experiment']}.csv" in smk, entry["id"]
