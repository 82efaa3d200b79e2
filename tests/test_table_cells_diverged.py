"""Each paper's tables count diverged seeds through the one cell formatter (alttrain.artifacts.cells.format_cell):
a diverged seed's number is never printed or averaged, and the cell says how many seeds diverged."""

from __future__ import annotations

import importlib

import numpy as np
import pandas as pd

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
