"""``python -m alttrain oialr <step>``: the oialr jobs beside the training runs (``workflow/rules/oialr.smk``).

* ``collect`` (rule ``collect_oialr_results``): the paper's tidy CSVs; every oialr figure and table reads
  these (pandas only, no torch);
* ``stability CURVES.csv... --out STABILITY.csv``: the stability columns recorded during baseline training
  (:class:`alttrain.lowrank.stability.StabilityTracker`) in long form; or ``stability --snapshots A.pt B.pt
  [--out X.csv]``: per-layer stability between two saved ``state_dict`` snapshots (every weight with at least
  two dimensions present in both). A tool for a person; no rule calls it.

:func:`collect` gathers the aggregated CSVs of the oialr training experiments of one scale and the experiment
plan (:func:`alttrain.grids.oialr.experiment_plan`) into files that exist at every scale, whatever was run:

* ``collected_final.csv``: one row per run and seed, with ``top1`` (last-epoch test accuracy, %), ``mse`` /
  ``mae`` (test error at the best validation epoch, the Autoformer protocol), ``trainable_pct``,
  ``compression_pct``, ``train_time_s`` and ``forward`` (the low-rank forward the time was measured with:
  ``dense`` rebuilds W = U Sigma V^T every step as the authors' code, ``auto`` uses thin products where they
  are cheaper; ``full rank`` for the baseline);
* ``collected_curves.csv``: per epoch (stability columns moved out);
* ``collected_stability.csv``: the basis-stability analysis in long form (:func:`tidy_stability`);
* ``collected_rank_updates.csv``: one row per truncation of a layer, with the singular values the controller saw,
  the rank it chose and the rank the authors' rule gives on those values with the configured beta
  (:func:`rank_updates`; verified by ``oialr_check_rank_rule``);
* ``stability_summary.csv``: first / minimum / final mean stability per run and series;
* ``experiment_status.csv``: every experiment of the paper (docs/methods/oialr.md#experiments) with ``run`` / ``not
  run`` and the reason;
* ``hparams.csv``: the hyperparameters of every variant (long form);
* ``reference_autoformer.csv``, ``reference_stability.csv``: the authors' published curves and figure
  readings.
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from alttrain.atomic import write_csv
from alttrain.errors import UserError

# CSVs (under results/metrics/oialr/) that ``collect`` writes
CSVS = ("collected_final", "collected_curves", "collected_stability", "collected_rank_updates", "stability_summary",
        "experiment_status", "hparams", "reference_autoformer", "reference_stability")
STABILITY_PREFIXES = ("stability/", "r_similarity/")
RANK_UPDATES = "rank_updates"  # the controller's JSON record per evaluation row (OIALRController.metrics)
# singular values within this relative distance of the cutoff beta * S[0] count as above and as below it: the
# controller compares in float32, this check in float64
CUTOFF_ROUNDOFF = 1e-6
IDENTITY = ["experiment", "run_id", "variant", "seed", "dataset", "scale"]
AF_SERIES = {
    "OIALR MSE": "oialr_mse",
    "OIALR Trainable Parameters": "oialr_trainable_pct",
    "Baseline MSE": "baseline_mse",
}
READINGS = {  # facts.yaml key -> (experiment, model label, measure)
    "vit_b16_imagenet_mean_stability": ("e2_vit_b16", "ViT-B/16", "stability"),
    "resnetrs101_imagenet_mean_stability": ("e3_resnetrs101", "ResNet-RS 101", "stability"),
    "vit_b16_imagenet_mean_similarity": ("e2_vit_b16", "ViT-B/16", "r_similarity"),
    "resnetrs101_imagenet_mean_similarity": ("e3_resnetrs101", "ResNet-RS 101", "r_similarity"),
}


def _read(path: Path) -> pd.DataFrame:
    try:
        return pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)


def series_names(plan: list[dict[str, Any]]) -> dict[tuple[str, int], str]:
    """(experiment, every) -> ``main`` for the first configured stability series, ``early`` for the others."""
    names = {}
    for entry in plan:
        lowrank = entry.get("variants", {}).get("baseline", {}).get("lowrank") or {}
        for i, series in enumerate(lowrank.get("series", [])):
            names[(entry["experiment"], int(series["every"]))] = "main" if i == 0 else "early"
    return names


def tidy_stability(curves: pd.DataFrame, series: dict[tuple[str, int], str] | None = None) -> pd.DataFrame:
    """Stability columns ``<measure>/d<every>/<index>/<layer>`` (and ``.../mean``) of the curves in long form.

    Returns:
        Columns: identity, ``epoch``, ``measure`` (stability, r_similarity), ``every``, ``series``,
        ``layer_index`` (-1 for the mean over layers), ``layer`` (``mean`` for the mean), ``value``,
        ``after_minimum`` (1 from the epoch of the series' lowest mean value on; on the mean rows).
    """
    columns = [c for c in curves.columns if c.startswith(STABILITY_PREFIXES)]
    out_columns = [
        *IDENTITY,
        "epoch",
        "measure",
        "every",
        "series",
        "layer_index",
        "layer",
        "value",
        "after_minimum",
    ]
    if not columns:
        return pd.DataFrame(columns=out_columns)
    ids = [c for c in [*IDENTITY, "epoch"] if c in curves.columns]
    long = (
        curves[ids + columns]
        .melt(id_vars=ids, var_name="column", value_name="value")
        .dropna(subset=["value"])
    )
    parts = long["column"].str.split("/", n=3, expand=True).reindex(columns=range(4))
    long["measure"] = parts[0]
    long["every"] = parts[1].str[1:].astype(int)
    is_mean = parts[2] == "mean"
    long["layer_index"] = pd.to_numeric(parts[2].where(~is_mean, "-1")).astype(int)
    long["layer"] = parts[3].where(~is_mean, "mean")
    series = series or {}
    long["series"] = [
        series.get((e, n), "main") for e, n in zip(long.get("experiment", ""), long["every"], strict=False)
    ]
    long = long.drop(columns="column")
    long["after_minimum"] = 0
    means = long[long["layer"] == "mean"]
    keys = [c for c in ("experiment", "run_id", "seed", "measure", "every") if c in long.columns]
    for _, group in means.groupby(keys):
        first_min = group.loc[group["value"].idxmin(), "epoch"]
        long.loc[group.index[group["epoch"] >= first_min], "after_minimum"] = 1
    return long.sort_values([*keys, "layer_index", "epoch"]).reset_index(drop=True)[
        [c for c in out_columns if c in long.columns]
    ]


def authors_rank(first_below: int, k_prev: int, floor: int) -> int:
    """The authors' new rank given the index of the first singular value below the cutoff (``k_prev`` when none
    is): a cut below half of ``k_prev`` stops at half (when half is above the floor), never below the floor,
    at least 1, never above ``k_prev`` (docs/methods/oialr.md#the-oialr-algorithm; written apart from
    :func:`alttrain.lowrank.linalg.truncation_rank` so that it checks it)."""
    if first_below >= k_prev:
        return k_prev
    if first_below < 0.5 * k_prev and 0.5 * k_prev > floor:
        rank = math.floor(0.5 * k_prev)
    else:
        rank = max(first_below, floor)
    return max(1, min(rank, k_prev))


def rule_ranks(spectrum: np.ndarray, k_prev: int, beta: float, floor: int) -> tuple[int, int]:
    """(lowest, highest) rank the authors' rule gives on ``spectrum`` with cutoff ``beta * spectrum[0]``, values
    within :data:`CUTOFF_ROUNDOFF` of the cutoff counted once below it (lowest) and once above it (highest)."""
    cutoff = beta * float(spectrum[0])
    ranks = []
    for threshold in (cutoff * (1 + CUTOFF_ROUNDOFF), cutoff * (1 - CUTOFF_ROUNDOFF)):
        below = np.flatnonzero(spectrum < threshold)
        ranks.append(authors_rank(int(below[0]) if below.size else len(spectrum), k_prev, floor))
    return ranks[0], ranks[1]


def rank_updates(curves: pd.DataFrame) -> pd.DataFrame:
    """The controller's truncation records (column ``rank_updates`` of the curves, JSON) in long form.

    Returns:
        Columns: identity, ``epoch`` (of the evaluation after the update), ``count``, ``check``, ``layer``,
        ``rank_before``, ``rank_chosen``, ``full_rank``, ``beta``, ``singular_values`` (space-separated, as the
        controller saw them), ``rule_rank_low`` / ``rule_rank_high`` (:func:`rule_ranks` with the configured
        beta and floor floor(min_dim_fraction * full_rank)) and ``rank_rule_ok`` (1 when the chosen rank lies
        between them, else 0).
    """
    columns = [*IDENTITY, "epoch", "count", "check", "layer", "rank_before", "rank_chosen", "full_rank", "beta",
               "singular_values", "rule_rank_low", "rule_rank_high", "rank_rule_ok"]
    if RANK_UPDATES not in curves.columns:
        return pd.DataFrame(columns=columns)
    rows = []
    ids = [c for c in [*IDENTITY, "epoch"] if c in curves.columns]
    for _, row in curves.dropna(subset=[RANK_UPDATES]).iterrows():
        for record in json.loads(row[RANK_UPDATES]):
            spectrum = np.array(record["singular_values"].split(), dtype=float)
            floor = math.floor(record["min_dim_fraction"] * record["full_rank"])
            low, high = rule_ranks(spectrum, record["rank_before"], record["beta"], floor)
            rows.append({
                **{c: row[c] for c in ids}, **{k: v for k, v in record.items() if k != "min_dim_fraction"},
                "rule_rank_low": low, "rule_rank_high": high,
                "rank_rule_ok": int(low <= record["rank_chosen"] <= high),
            })
    return pd.DataFrame(rows, columns=columns)


def stability_summary(stability: pd.DataFrame) -> pd.DataFrame:
    """First, minimum and final mean value per run and series (columns ``point``, ``epoch``, ``value``)."""
    means = stability[stability["layer"] == "mean"] if not stability.empty else stability
    rows = []
    keys = [c for c in (*IDENTITY, "measure", "every", "series") if c in means.columns]
    for values, group in means.groupby(keys) if not means.empty else []:
        group = group.sort_values("epoch")
        ident = dict(zip(keys, values, strict=True))
        lowest = group.loc[group["value"].idxmin()]
        for point, row in (("first", group.iloc[0]), ("minimum", lowest), ("final", group.iloc[-1])):
            rows.append({**ident, "point": point, "epoch": int(row["epoch"]), "value": float(row["value"])})
    return pd.DataFrame(rows, columns=[*IDENTITY, "measure", "every", "series", "point", "epoch", "value"])


def final_table(finals: pd.DataFrame, plan: list[dict[str, Any]]) -> pd.DataFrame:
    """Final rows with the table's derived columns (see the module docstring)."""
    if finals.empty:
        return pd.DataFrame(
            columns=[
                *IDENTITY,
                "title",
                "top1",
                "mse",
                "mae",
                "trainable_pct",
                "compression_pct",
                "train_time_s",
                "forward",
            ]
        )
    out = finals.copy()
    titles = {p["experiment"]: p["title"] for p in plan}
    out["title"] = out["experiment"].map(titles)
    nan = pd.Series(float("nan"), index=out.index)
    out["top1"] = out.get("final_test_acc", nan)
    out["mse"] = out.get("best_test_mse", nan)
    out["mae"] = out.get("best_test_mae", nan)
    out["trainable_pct"] = out.get("final_trainable_pct", nan)
    compression = out.get("final_compression_pct", nan)
    out["compression_pct"] = compression.where(out["run_id"] != "baseline", 100.0)  # nothing stored beyond W
    out["train_time_s"] = out["wall_time_s"]
    forwards = {
        (p["experiment"], variant): forward_mode(fields.get("lowrank"))
        for p in plan
        for variant, fields in p.get("variants", {}).items()
    }
    out["forward"] = [forwards.get(key, "") for key in zip(out["experiment"], out["run_id"], strict=True)]
    return out.drop(
        columns=[
            c for c in out.columns if c.startswith(("final_", "best_")) and ("/" in c or c.endswith(RANK_UPDATES))
        ]
    )


def forward_mode(lowrank: dict[str, Any] | None) -> str:
    """The low-rank forward of a variant's ``lowrank`` entry (``full rank`` when it trains no factors)."""
    if not lowrank or lowrank.get("mode", "oialr") != "oialr":
        return "full rank"
    return lowrank.get("forward", "auto")


def status_table(plan: list[dict[str, Any]], scale: str) -> pd.DataFrame:
    """One row per experiment of the paper (docs/methods/oialr.md#experiments)."""
    return pd.DataFrame(
        [
            {
                "experiment": p["experiment"],
                "title": p["title"],
                "status": p["status"],
                "reason": p["reason"],
                "dataset_name": p["dataset"],
                "model": p["model"],
                "seeds": ",".join(map(str, p["seeds"])),
                "variants": ",".join(p["variants"]),
                "note": p.get("note", ""),
                "scale": scale,
            }
            for p in plan
        ]
    )


def _schedule_text(schedule: dict[str, Any] | None) -> str:
    if not schedule:
        return "constant"
    rest = ", ".join(f"{k} {v}" for k, v in schedule.items() if k != "name")
    return f"{schedule['name']} ({rest})" if rest else schedule["name"]


def hparams_table(plan: list[dict[str, Any]], scale: str) -> pd.DataFrame:
    """Long form: experiment, variant, parameter, value (the run configs' settings)."""
    rows = []
    for p in plan:
        for variant, fields in p["variants"].items():
            optimizer = fields.get("optimizer", {})
            lowrank = fields.get("lowrank") or {}
            values = {
                "optimizer": optimizer.get("name"),
                "lr": optimizer.get("lr"),
                "weight decay": optimizer.get("weight_decay", 0),
                "schedule": _schedule_text(fields.get("schedule")),
                "epochs": fields.get("epochs"),
                "batch size": fields.get("batch_size"),
                "grad clip": fields.get("grad_clip"),
                "label smoothing": fields.get("label_smoothing", 0),
            }
            if lowrank.get("mode") == "oialr":
                values.update(
                    {
                        "d (delay)": lowrank.get("delay"),
                        "nu (frequency)": lowrank.get("stability_frequency"),
                        "beta (cutoff)": lowrank.get("sigma_cutoff_fraction"),
                        "p (layer step)": lowrank.get("network_layer_perc_step", 0.1),
                        "s (stable delay)": lowrank.get("stable_update_delay", 0),
                        "forward": forward_mode(lowrank),
                        "biases of converted layers": (
                            "frozen (authors)" if lowrank.get("freeze_converted_biases") else "trained"
                        ),
                    }
                )
            elif lowrank.get("mode") == "stability":
                values["stability snapshots (epochs)"] = "; ".join(
                    f"every {s['every']}" + (f" until {s['until']}" if s.get("until") else "")
                    for s in lowrank["series"]
                )
            for name, value in values.items():
                rows.append(
                    {
                        "experiment": p["experiment"],
                        "title": p["title"],
                        "variant": variant,
                        "parameter": name,
                        "value": "" if value is None else str(value),
                        "scale": scale,
                    }
                )
    return pd.DataFrame(rows, columns=["experiment", "title", "variant", "parameter", "value", "scale"])


def reference_autoformer(folder: Path) -> pd.DataFrame:
    """The authors' Autoformer/ETTm2 figure data in long form (horizon, step, series, mean, min, max)."""
    rows = []
    for horizon in (192, 720):
        frame = pd.read_csv(folder / f"af-{horizon}-mse.csv")
        for column, series in AF_SERIES.items():
            for _, row in frame.dropna(subset=[column]).iterrows():
                rows.append(
                    {
                        "horizon": horizon,
                        "step": int(row["Step"]),
                        "series": series,
                        "mean": row[column],
                        "min": row[f"{column}__MIN"],
                        "max": row[f"{column}__MAX"],
                        "source": f"authors' code OIALR@e9e885d analysis/af-{horizon}-mse.csv",
                    }
                )
    return pd.DataFrame(rows)


def reference_stability(folder: Path) -> pd.DataFrame:
    """Mean stability / R-similarity read from the authors' README figures (facts.yaml; about +-0.01)."""
    facts = yaml.safe_load((folder / "facts.yaml").read_text())
    rows = []
    for group in ("stability_figure_readings", "r_similarity_figure_readings"):
        for key, (experiment, model, measure) in READINGS.items():
            for epoch, value in facts[group].get(key, {}).items():
                rows.append(
                    {
                        "experiment": experiment,
                        "model": model,
                        "measure": measure,
                        "epoch": int(epoch),
                        "value": float(value),
                        "source": facts[group]["source"],
                    }
                )
    return pd.DataFrame(rows)


def collect(
    csvs: list[Path], plan: list[dict[str, Any]], scale: str, references: Path, outputs: dict[str, Path]
) -> None:
    """Write every output named in ``outputs`` (keys: final, curves, stability, rank_updates, stability_summary,
    status, hparams, reference_autoformer, reference_stability)."""
    finals = [_read(p) for p in csvs if not p.stem.endswith("_curves")]
    curves = _concat([_read(p) for p in csvs if p.stem.endswith("_curves")], IDENTITY + ["epoch"])
    stability = tidy_stability(curves, series_names(plan))
    titles = {p["experiment"]: p["title"] for p in plan}
    plain_curves = curves.drop(
        columns=[c for c in curves.columns if c.startswith(STABILITY_PREFIXES) or c == RANK_UPDATES]
    )
    if not plain_curves.empty:
        plain_curves["title"] = plain_curves["experiment"].map(titles)
    write_csv(outputs["final"], final_table(_concat(finals, IDENTITY), plan))
    write_csv(outputs["curves"], plain_curves)
    write_csv(outputs["stability"], stability)
    write_csv(outputs["rank_updates"], rank_updates(curves))
    write_csv(outputs["stability_summary"], stability_summary(stability))
    write_csv(outputs["status"], status_table(plan, scale))
    write_csv(outputs["hparams"], hparams_table(plan, scale))
    write_csv(outputs["reference_autoformer"], reference_autoformer(references))
    write_csv(outputs["reference_stability"], reference_stability(references))


def load_plan(text: str) -> list[dict[str, Any]]:
    """The plan passed on the command line as JSON."""
    return json.loads(text)


def main(argv: list[str]) -> int:
    """``oialr {collect,stability} ...`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="alttrain oialr")
    sub = parser.add_subparsers(dest="step", required=True)
    p_collect = sub.add_parser("collect", help="gather runs, plan and references into the paper's CSVs")
    p_collect.add_argument("--scale", required=True)
    p_collect.add_argument("--plan", required=True, help="experiment plan as JSON (alttrain.grids.oialr)")
    p_collect.add_argument(
        "--references",
        type=Path,
        nargs="+",
        required=True,
        help="the vendored facts.yaml, af-192-mse.csv and af-720-mse.csv (resources/oialr)",
    )
    outputs = ("final", "curves", "stability", "rank_updates", "stability_summary", "status", "hparams",
               "reference_autoformer", "reference_stability")
    for name in outputs:
        p_collect.add_argument(f"--{name.replace('_', '-')}", type=Path, required=True)
    p_collect.add_argument(
        "csvs", nargs="*", type=Path, help="aggregated <experiment>.csv and _curves.csv files"
    )
    p_stab = sub.add_parser("stability", help="stability from run curves or between two weight snapshots")
    p_stab.add_argument("curves", nargs="*", type=Path, help="metrics.csv or *_curves.csv files")
    p_stab.add_argument("--snapshots", nargs=2, type=Path, metavar=("BEFORE", "AFTER"))
    p_stab.add_argument("--definition", default="column_cosine", choices=("column_cosine", "abs_column_cosine"))
    p_stab.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    if args.step == "stability":
        return _stability(args)
    folders = {path.parent for path in args.references}
    needed = ("facts.yaml", "af-192-mse.csv", "af-720-mse.csv")
    if len(folders) != 1 or not all((next(iter(folders)) / name).is_file() for name in needed):
        raise UserError(f"--references must be {', '.join(needed)} of one folder (resources/oialr)")
    collect(
        args.csvs,
        load_plan(args.plan),
        args.scale,
        next(iter(folders)),
        {name: getattr(args, name) for name in outputs},
    )
    return 0


def _stability(args) -> int:
    """Tidy stability table from run curves, or stability between two weight snapshots."""
    if args.snapshots:
        table = _snapshot_stability(*args.snapshots, args.definition)
    elif args.curves:
        missing = [str(p) for p in args.curves if not p.is_file()]
        if missing:
            raise UserError(f"no such file(s): {', '.join(missing)}")
        table = tidy_stability(pd.concat([pd.read_csv(p) for p in args.curves], ignore_index=True))
    else:
        raise UserError("give curves CSV files or --snapshots BEFORE AFTER")
    if args.out:
        write_csv(args.out, table)
    else:
        print(table.to_string(index=False))
    return 0


def _snapshot_stability(before: Path, after: Path, definition: str):
    import torch

    from alttrain.lowrank.linalg import STABILITY_DEFINITIONS, polar_factor, r_factor, r_similarity

    states = []
    for path in (before, after):
        if not path.is_file():
            raise UserError(f"snapshot {path} does not exist")
        state = torch.load(path, map_location="cpu", weights_only=True)
        states.append(state.get("model", state) if isinstance(state, dict) else state)
    rows = []
    for name, weight in states[0].items():
        other = states[1].get(name)
        if weight.dim() < 2 or other is None or other.shape != weight.shape or not weight.is_floating_point():
            continue
        q_prev, q_now = polar_factor(weight), polar_factor(other)
        rows.append(
            {
                "parameter": name,
                "stability": STABILITY_DEFINITIONS[definition](q_prev, q_now),
                "r_similarity": r_similarity(r_factor(weight), r_factor(other)),
            }
        )
    if not rows:
        raise UserError(f"{before} and {after} share no weight with at least two dimensions")
    return pd.DataFrame(rows)
