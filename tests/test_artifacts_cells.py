"""alttrain.artifacts.cells: the one cell formatter (format_cell) and each paper's tables through it: a diverged
seed's number is never printed or averaged, and the cell says how many seeds diverged."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd
import pytest

from alttrain.artifacts.cells import format_cell
from alttrain.artifacts.context import Context


def build(table_id: str, frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    module = importlib.import_module(f"alttrain.tables.{table_id}")
    inputs = {name: frames.get(name, pd.DataFrame()) for name in module.SPEC.inputs}
    return module.build(inputs, Context.from_frames("smoke", inputs))


def test_fg_closed_form_table_counts_diverged_seeds():
    rows = [
        {"function": "sphere", "n": 4, "approach": a, "seed": s, "final_value": v, "diverged": d, "f_min": 0.0,
         "dataset": "closed form", "scale": "smoke"}
        for a, values in (("bp", [1.0, 3.0, np.nan]), ("fg_k1", [np.nan, np.nan, np.nan]))
        for s, v in enumerate(values)
        for d in [bool(np.isnan(v))]
    ]
    table = build("fg_tab_closed_form", {"closed_form_sphere.csv": pd.DataFrame(rows)})
    sphere = table[table["function"] == "Sphere"].set_index("approach")["n=4"]
    assert list(sphere) == ["2 ± 1.41 (1/3 diverged)", "diverged"]  # mean and std of 1 and 3 only


def test_fg_fc_table_counts_a_diverged_run():
    rows = [
        {"approach": "bp", "width": 256, "task": "fc_w256", "seed": s, "best_test_acc": acc, "final_test_acc": acc,
         "status": status, "diverged_epoch": epoch, "dataset": "MNIST-5k", "scale": "smoke"}
        for s, (acc, status, epoch) in enumerate([(90.0, "completed", None), (10.0, "diverged", 2)])
    ]
    table = build("fg_tab_fc_mnist", {"fc_mnist.csv": pd.DataFrame(rows)})
    assert table["w = 256"].iloc[0] == "90.00 (1/2 diverged) [90.00 (1/2 diverged)]"


def test_f3_wine_table_counts_diverged_seeds():
    rows = [
        {"approach": "f3_delayed_error", "topology": "fc1-500", "seed": s, "final_test_mse": mse, "final_test_mae": mse,
         "status": status, "diverged_epoch": epoch, "epochs_run": 3, "dataset": "wine_quality", "scale": "smoke",
         "benchmark": "wine"}
        for s, (mse, status, epoch) in enumerate([(np.nan, "diverged", 3), (np.inf, "diverged", 1)])
    ]
    table = build("f3_tab_wine", {"wine.csv": pd.DataFrame(rows)})
    assert table["test MSE"].iloc[0] == "diverged (epochs 1, 3)"


def test_oialr_results_table_counts_diverged_seeds():
    status = pd.DataFrame([{"experiment": "e1_vit", "title": "mini-ViT", "reason": ""}])
    finals = pd.DataFrame([
        {"experiment": "e1_vit", "run_id": "oialr", "seed": s, "top1": top1, "trainable_pct": 10.0,
         "status": st, "diverged_epoch": ep, "dataset": "mnist5k", "scale": "smoke"}
        for s, (top1, st, ep) in enumerate([(80.0, "completed", None), (82.0, "completed", None),
                                            (11.0, "diverged", 4)])
    ])
    table = build("oialr_tab_results", {"experiment_status.csv": status, "collected_final.csv": finals})
    assert table["top-1 (%)"].iloc[0] == "81.00 ± 1.41 (1/3 diverged)"


# ---------------------------------------------------------------- the one cell formatter


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
