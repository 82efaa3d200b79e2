"""``python -m alttrain fg <step>``: the fg jobs beside the training runs (the rules of ``workflow/rules/fg.smk``).

* ``closed-form --function F --settings JSON --out CSV --curves CSV`` (rule ``run_fg_closed_form``): gradient
  descent on one function for every dimension, approach and seed (docs/methods/fg.md#closed-form-functions);
  step sizes from ``resources/fg/lrs_math.csv``. ``--seeds 0,1,2`` runs a part (a subset of the seeds; rule
  ``run_fg_closed_form_part``).
* ``closed-form-merge --settings JSON --parts CSV... --part-curves CSV... --out CSV --curves CSV`` (rule
  ``merge_fg_closed_form``): the parts of a sweep split by seeds, joined into the files of one sweep of all seeds.
* ``approx-quality --settings JSON --out CSV`` (rule ``run_fg_approx_quality``): approximation quality vs n and
  k (docs/methods/fg.md#approximation-quality).
* ``custom-angle --settings JSON --approx CSV --opt CSV --curves CSV`` (rule ``run_fg_custom_angle``):
  fixed-angle tangents (docs/methods/fg.md#fixed-angle-tangents): approximation quality and Styblinski-Tang
  optimisation.
* ``export-lrs --sources NN MATH CUSTOM --nn CSV --math CSV --custom CSV`` (rule ``export_fg_lr_tables``): the
  authors' learning-rate tables as metrics CSVs (for the appendix tables and the verification).

``--settings`` is the JSON of the scale file's ``fg.<experiment>`` section (validated by the schema before).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from alttrain.errors import UserError

FUNCTION_LABEL = {"sphere": "Sphere", "rosenbrock": "Rosenbrock", "styblinski_tang": "Styblinski-Tang"}
# CSVs (under results/metrics/fg/) the steps write whatever the scale; closed-form sweeps add
# closed_form_<function>.csv and _curves.csv
CSVS = ("approx_quality", "custom_angle_approx", "custom_angle_opt", "custom_angle_opt_curves", "lrs_custom",
        "lrs_math", "lrs_nn")


def _settings(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise UserError(f"--settings is not valid JSON: {err}") from err
    if not isinstance(value, dict):
        raise UserError("--settings must be a JSON object")
    return value


def _torch_setup() -> None:
    import warnings

    import torch

    torch.set_num_threads(1)  # small-matrix work: one thread per job, several jobs side by side
    warnings.filterwarnings("ignore", category=FutureWarning)  # first forward-AD call (torch internals)


def _dtype(name: str):
    import torch

    return {"float32": torch.float32, "float64": torch.float64}[name]


def sweep(function: str, settings: dict[str, Any]):
    """Run the closed-form sweep of one function; returns (final rows, curve rows, seconds)."""
    from alttrain.fg_math.sweep import Approach, curve_rows, final_rows, parse_approach, run_sweep
    from alttrain.grids.fg import math_learning_rate

    dims = list(settings["dims"])
    approaches = [Approach(name, *parse_approach(name)) for name in settings["approaches"]]
    lrs = [[math_learning_rate(function, n, a.name) for n in dims] for a in approaches]
    started = time.perf_counter()
    result = run_sweep(
        function,
        dims,
        approaches,
        lrs,
        list(settings["seeds"]),
        patiences=(settings["patience"], settings["search_patience"]),
        max_steps=settings.get("max_steps"),
        dtype=_dtype(settings.get("dtype", "float32")),
        jvp_mode=settings.get("jvp_mode", "simulated"),
        gram_solver=settings.get("gram_solver", "cholesky"),
    )
    seconds = time.perf_counter() - started
    final = final_rows(result, settings["patience"], settings["search_patience"])
    curves = curve_rows(
        result, settings["patience"], settings.get("curve_points", 100), settings.get("curve_dims")
    )
    return final, curves, seconds


def seed_subset(settings: dict[str, Any], text: str | None) -> dict[str, Any]:
    """``settings`` restricted to the seeds in ``text`` (comma-separated; None: all of them)."""
    if text is None:
        return settings
    try:
        seeds = [int(seed) for seed in text.split(",")]
    except ValueError as err:
        raise UserError(f"--seeds must be comma-separated integers, not {text!r}") from err
    unknown = sorted(set(seeds) - set(settings["seeds"]))
    if unknown:
        raise UserError(f"--seeds {unknown} are not among the settings' seeds {settings['seeds']}")
    return {**settings, "seeds": seeds}


def merge_parts(settings: dict[str, Any], finals, curves):
    """One sweep's final and curve rows from its parts (sweeps of disjoint seed subsets), in the row order of
    the sweep of all seeds at once (each seed has its own tangent stream, so the rows themselves are the same).
    """
    import pandas as pd

    order = {
        "approach": {name: i for i, name in enumerate(settings["approaches"])},
        "seed": {seed: i for i, seed in enumerate(settings["seeds"])},
        "n": {n: i for i, n in enumerate(settings["dims"])},
    }

    def ordered(frame, keys):
        rank = pd.DataFrame({key: frame[key].map(order[key]) for key in keys})
        return frame.iloc[rank.sort_values(keys, kind="stable").index].reset_index(drop=True)

    final = ordered(pd.concat(finals, ignore_index=True), ["approach", "seed"])
    curve = ordered(pd.concat(curves, ignore_index=True), ["n", "approach", "seed"])
    return final, curve


def custom_angle(settings: dict[str, Any]):
    """Custom-tangent experiment: (approximation-quality rows, optimisation rows, curve rows)."""
    from alttrain.fg_math.approx_quality import custom_angle_quality
    from alttrain.fg_math.sweep import Approach, curve_rows, final_rows, run_sweep
    from alttrain.grids.fg import custom_learning_rate

    n, function = settings["dim"], settings.get("function", "styblinski_tang")
    approx = custom_angle_quality(
        n,
        list(settings["approx_tangents"]),
        list(settings["angles"]),
        settings["samples"],
        seed=settings.get("seed", 0),
    )
    approaches, lrs = [], []
    for combination in ("mean", "orthogonal_projection"):
        label = "fg_mean" if combination == "mean" else "frog"
        for k in settings["opt_tangents"]:
            for angle in settings["angles"]:
                approaches.append(
                    Approach(f"{label}_k{k}_a{angle:g}", combination, k, "specific_angle", angle)
                )
                lrs.append([custom_learning_rate(function, n, combination, k, angle)])
    search = settings.get("search_patience", 100)
    result = run_sweep(
        function,
        [n],
        approaches,
        lrs,
        list(settings["seeds"]),
        patiences=(settings["patience"], search),
        max_steps=settings.get("max_steps"),
        gram_solver="qr",
    )
    opt = final_rows(result, settings["patience"], search)
    opt.insert(
        3,
        "approach_family",
        [a.name.rsplit("_a", 1)[0] for a in approaches for _ in range(len(result.seeds))],
    )
    curves = curve_rows(result, settings["patience"], settings.get("curve_points", 100))
    return approx, opt, curves


def export_lrs(sources: list[Path] | None = None):
    """The three learning-rate tables (networks, closed-form, custom tangents) as DataFrames.

    Args:
        sources: the three CSV files (default: ``resources/fg/lrs_nn.csv``, ``lrs_math.csv``,
            ``lrs_math_custom_tangents.csv``).
    """
    import pandas as pd

    from alttrain.grids.fg import resource

    names = ("lrs_nn.csv", "lrs_math.csv", "lrs_math_custom_tangents.csv")
    return tuple(pd.read_csv(path) for path in (sources or [resource(name) for name in names]))


def main(argv: list[str]) -> int:
    """``fg {closed-form,approx-quality,custom-angle,export-lrs} ...`` (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="alttrain fg")
    sub = parser.add_subparsers(dest="step", required=True)
    p_sweep = sub.add_parser("closed-form", help="closed-form sweep of one function")
    p_sweep.add_argument("--function", required=True, choices=sorted(FUNCTION_LABEL))
    p_sweep.add_argument("--settings", required=True)
    p_sweep.add_argument("--out", type=Path, required=True)
    p_sweep.add_argument("--curves", type=Path, required=True)
    p_sweep.add_argument("--seeds", default=None, help="comma-separated subset of the settings' seeds (a part)")
    p_merge = sub.add_parser("closed-form-merge", help="join the parts of a closed-form sweep split by seeds")
    p_merge.add_argument("--settings", required=True)
    p_merge.add_argument("--parts", type=Path, nargs="+", required=True, help="final CSVs of the parts")
    p_merge.add_argument("--part-curves", type=Path, nargs="+", required=True, help="their curve CSVs")
    p_merge.add_argument("--out", type=Path, required=True)
    p_merge.add_argument("--curves", type=Path, required=True)
    p_approx = sub.add_parser("approx-quality", help="approximation quality vs n and k")
    p_approx.add_argument("--settings", required=True)
    p_approx.add_argument("--out", type=Path, required=True)
    p_custom = sub.add_parser("custom-angle", help="fixed-angle tangents: approximation and optimisation")
    p_custom.add_argument("--settings", required=True)
    p_custom.add_argument("--approx", type=Path, required=True)
    p_custom.add_argument("--opt", type=Path, required=True)
    p_custom.add_argument("--curves", type=Path, required=True)
    p_lrs = sub.add_parser("export-lrs", help="the authors' learning-rate tables as metrics CSVs")
    p_lrs.add_argument("--sources", type=Path, nargs=3, required=True, help="nn, math and custom LR files")
    for name in ("--nn", "--math", "--custom"):
        p_lrs.add_argument(name, type=Path, required=True)
    args = parser.parse_args(argv)
    from alttrain.atomic import write_csv

    if args.step == "export-lrs":
        for frame, path in zip(export_lrs(args.sources), (args.nn, args.math, args.custom), strict=True):
            write_csv(path, frame.assign(dataset="learning-rate tables (authors' code frog@7beb8cb)"))
        return 0
    if args.step == "closed-form-merge":
        import pandas as pd

        final, curves = merge_parts(_settings(args.settings), [pd.read_csv(p) for p in args.parts],
                                    [pd.read_csv(p) for p in args.part_curves])
        write_csv(args.out, final)
        write_csv(args.curves, curves)
        return 0
    _torch_setup()
    settings = _settings(args.settings)
    if args.step == "approx-quality":
        return _approx_quality(settings, args.out)
    if args.step == "closed-form":
        final, curves, seconds = sweep(args.function, seed_subset(settings, args.seeds))
        dataset = f"closed form: {FUNCTION_LABEL[args.function]}"
        write_csv(args.out, final.assign(dataset=dataset))
        write_csv(args.curves, curves.assign(dataset=dataset))
        print(json.dumps({"function": args.function, "runs": len(final), "seconds": round(seconds, 2)}))
        return 0
    approx, opt, curves = custom_angle(settings)
    dataset = f"closed form: Styblinski-Tang n={settings['dim']}, fixed-angle tangents"
    write_csv(
        args.approx,
        approx.assign(dataset=f"synthetic gradient (ones), n={settings['dim']}, fixed-angle unit tangents"),
    )
    write_csv(args.opt, opt.assign(dataset=dataset))
    write_csv(args.curves, curves.assign(dataset=dataset))
    return 0


def _approx_quality(settings: dict[str, Any], out: Path) -> int:
    """The approximation-quality summary table (one row per n, k and variant)."""
    from alttrain.atomic import write_csv
    from alttrain.fg_math.approx_quality import approximation_quality

    dims = list(settings["dims"])
    samples = {
        n: (
            settings.get("large_dims_samples", settings["samples"])
            if n in settings.get("large_dims", [])
            else settings["samples"]
        )
        for n in dims
    }
    started = time.perf_counter()
    import torch

    device = "cuda" if torch.cuda.is_available() else "cpu"  # the direct sampler at paper scale wants a GPU
    frame = approximation_quality(
        dims,
        list(settings["tangents"]),
        samples,
        seed=settings.get("seed", 0),
        method=settings.get("method", "reduced"),
        device=device,
    )
    description = "synthetic gradient (ones), Gaussian tangents"
    write_csv(out, frame.assign(dataset=description))
    print(json.dumps({"cells": len(frame), "seconds": round(time.perf_counter() - started, 2)}))
    return 0
