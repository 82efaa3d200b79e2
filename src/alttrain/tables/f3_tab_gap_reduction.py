"""f3_tab_gap_reduction: how much of a baseline's gap to backprop F3 closes, per configuration
(docs/methods/f3.md#gap-reduction)."""

from __future__ import annotations

import pandas as pd

from alttrain.artifacts import ArtifactSpec
from alttrain.artifacts.cells import has_rows
from alttrain.artifacts.context import Context
from alttrain.artifacts.f3 import APPROACHES, INITS, data_label, topology_name

SPEC = ArtifactSpec(
    id="f3_tab_gap_reduction",
    paper="f3",
    inputs=("gap_reduction.csv",),
    caption=(
        "Gap reduction of F3 = 1 - gap(F3)/gap(baseline), gap = distance to backprop in final test accuracy"
        " (classification) or test MSE (regression), against DRTP, DFA, shallow learning and the best of "
        "them. Cells: on the seed means (in parentheses: mean of the per-seed ratios); 'max' marks the "
        "largest positive value per task and baseline over all configurations and F3 variants (the paper's "
        "'up to'; none when F3 is behind the baseline everywhere);"
        " undefined where the baseline is not worse than BP; 'best' is the best baseline still behind BP. "
        "Paper abstracts: up to 96 % (v1); up to 56 % classification and 96 % regression (v2); their "
        "baseline and configuration are not known."
    ),
)
REFERENCES = {"drtp": "vs DRTP", "dfa": "vs DFA", "llo": "vs Shallow", "best": "vs best baseline"}


def _cell(rows: pd.DataFrame) -> str:
    means = rows[rows["statistic"] == "seed_means"]
    per_seed = rows[rows["statistic"] == "per_seed_mean"]
    if means.empty:
        return ""
    if pd.isna(means["reduction"].iloc[0]):
        return "undefined (baseline not behind BP)"
    text = f"{100 * means['reduction'].iloc[0]:.1f} %"
    if not per_seed.empty and pd.notna(per_seed["reduction"].iloc[0]):
        text += f" ({100 * per_seed['reduction'].iloc[0]:.1f} %)"
    if str(means["is_max"].iloc[0]).lower() == "true":
        text += " max"
    if rows["reference"].iloc[0] == "best":
        text += f" [{APPROACHES.get(rows['reference_approach'].iloc[0], '')}]"
    return text


def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame:
    data = frames.get("gap_reduction.csv")
    if not has_rows(data, "reduction"):
        return pd.DataFrame(
            [{"configuration": "no F3 configuration with a backprop and a baseline run at this scale"}]
        )
    keys = ["task", "benchmark", "topology", "feedback_init", "approach"]
    rows = []
    for (task, benchmark, topology, init, approach), part in data.groupby(keys, sort=True):
        cells = {
            "task": task,
            "data set": data_label(benchmark, part["dataset"].iloc[0] if "dataset" in part else ""),
            "network": topology_name(topology),
            "feedback init": INITS.get(init, init),
            "F3 variant": APPROACHES.get(approach, approach),
        }
        for reference, label in REFERENCES.items():
            cells[label] = _cell(part[part["reference"] == reference])
        rows.append(cells)
    for task in sorted(set(data["task"])):
        cells = {
            "task": task,
            "data set": "maximum over configurations",
            "network": "",
            "feedback init": "",
            "F3 variant": "all",
        }
        for reference, label in REFERENCES.items():
            best = data[
                (data["task"] == task)
                & (data["reference"] == reference)
                & (data["statistic"] == "seed_means")
            ]["reduction"]
            if not best.notna().any():
                cells[label] = ""
            else:
                cells[label] = f"{100 * best.max():.1f} %" if best.max() > 0 else "no positive reduction"
        rows.append(cells)
    return pd.DataFrame(rows)
