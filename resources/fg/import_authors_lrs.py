"""Maintenance tool (not run by the workflow): convert the authors' LR tables into this folder's CSVs.

Usage: python resources/fg/import_authors_lrs.py tests/reference/multitangent. Reads the
``*_with_search_loss.csv`` copies of frog@fdd31d2 ``lrs/*.csv`` and ``lrs_sota_nns.csv`` of frog@7beb8cb and
writes lrs_math.csv, lrs_math_custom_tangents.csv and lrs_nn.csv with the project's approach ids (bp, fg_k1,
fg_mean_k{2,4,16}, frog_k{2,4,16}). Values are copied at full precision, never rounded.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pandas as pd

HERE = Path(__file__).resolve().parent
FUNCTION_IDS = {"sphere": "sphere", "rosenbrock": "rosenbrock", "styblinski-tang": "styblinski_tang"}


def approach_id(gradient_approach: str, k: float) -> str:
    """Project id of an (authors' ``gradient_approach``, ``k``) pair."""
    if gradient_approach == "bp":
        return "bp"
    k = int(k)
    if gradient_approach == "fg-mean":
        return "fg_k1" if k == 1 else f"fg_mean_k{k}"
    if gradient_approach == "frog":
        return f"frog_k{k}"
    raise ValueError(gradient_approach)


def main(source: Path) -> None:
    math = pd.read_csv(source / "lrs_math_with_search_loss.csv")
    math_out = pd.DataFrame(
        {
            "function": math["function"].map(FUNCTION_IDS),
            "n": math["n"],
            "approach": [
                approach_id(a, k) for a, k in zip(math["gradient_approach"], math["k"], strict=True)
            ],
            "lr": math["lr"],
            "search_loss": math["loss"],
        }
    )
    math_out.to_csv(HERE / "lrs_math.csv", index=False)

    custom = pd.read_csv(source / "lrs_math__custom_tangents_with_search_loss.csv")
    sampler = [re.search(r"sampler=([a-z_0-9]+)", o).group(1) for o in custom["optimizer"]]
    custom_out = pd.DataFrame(
        {
            "function": custom["function"].map(FUNCTION_IDS),
            "n": custom["n"],
            "combination": custom["gradient_approach"].map(
                {"fg-mean": "mean", "frog": "orthogonal_projection"}
            ),
            "k": custom["k"].astype(int),
            "angle": [int(s.rsplit("_", 1)[1]) if s.startswith("specific_angle") else None for s in sampler],
            "tuned_with": sampler,
            "lr": custom["lr"],
            "search_loss": custom["loss"],
        }
    )
    custom_out.to_csv(HERE / "lrs_math_custom_tangents.csv", index=False)

    frames = []
    for name in ("lrs_fc_nns_with_search_loss.csv", "lrs_sota_nns_with_search_loss.csv"):
        frame = pd.read_csv(source / name)
        frames.append(frame)
    nn = pd.concat(frames, ignore_index=True)
    head = pd.read_csv(source / "lrs_sota_nns.csv")
    task = [
        f"fc_w{m.split('=')[1]}" if m.startswith("fc_w") else f"{m}_{d}"
        for m, d in zip(nn["model"], nn["dataset"], strict=True)
    ]
    approach = [approach_id(a, k) for a, k in zip(nn["gradient_approach"], nn["k"], strict=True)]
    head_task = [f"{m}_{d}" for m, d in zip(head["model"], head["dataset"], strict=True)]
    head_approach = [approach_id(a, k) for a, k in zip(head["gradient_approach"], head["k"], strict=True)]
    head_lr = dict(zip(zip(head_task, head_approach, strict=True), head["lr"], strict=True))
    nn_out = pd.DataFrame(
        {
            "task": task,
            "approach": approach,
            "lr": [head_lr.get((t, a), lr) for t, a, lr in zip(task, approach, nn["lr"], strict=True)],
            "lr_pre2025": nn["lr"],
            "search_loss": nn["loss"],
        }
    )
    nn_out.to_csv(HERE / "lrs_nn.csv", index=False)


if __name__ == "__main__":
    main(Path(sys.argv[1]))
