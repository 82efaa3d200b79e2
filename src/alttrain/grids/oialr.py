"""Training runs of the oialr paper, and the plan of every experiment of the paper (run or not,
and why; docs/methods/oialr.md#experiments).

The scale file's ``oialr:`` section lists experiments by their stable keys:

* ``e1_vit``: mini-ViT on CIFAR-10 (paper scale; smaller ViTs on substitute data at the lower scales),
  variants ``baseline`` (full rank; with ``stability`` set it also records the basis-stability analysis S1),
  ``oialr`` and ``oialr_tuned`` (present when ``tuned`` is given);
* ``e2_vit_b16``, ``e3_resnetrs101``: ImageNet-2012 (need ``data.imagenet``);
* ``e4_autoformer``: Autoformer, one experiment per horizon (``e4_autoformer_192``, ``e4_autoformer_720``),
  variants ``baseline`` and ``oialr``.

An experiment missing from the section, or whose data is not available, is not run; :func:`experiment_plan`
records the reason, so every figure and table can say "not run at this scale: <reason>".
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from alttrain.errors import UserError
from alttrain.grids import Settings
from alttrain.workflow import deep_merge

# key -> (title as the paper names it, reason when absent from a scale file)
EXPERIMENTS: dict[str, tuple[str, str]] = {
    "e1_vit": ("E1 ViT (paper: mini-ViT, CIFAR-10)", "not configured at this scale"),
    "e2_vit_b16": (
        "E2 ViT-B/16, ImageNet-2012",
        "needs ImageNet-2012 (~150 GB) and hundreds of GPU-hours; configured at the paper scale only",
    ),
    "e3_resnetrs101": (
        "E3 ResNet-RS 101, ImageNet-2012",
        "needs ImageNet-2012 (~150 GB) and hundreds of GPU-hours; configured at the paper scale only",
    ),
    "e4_autoformer": ("E4 Autoformer (paper: ETTm2)", "not configured at this scale"),
}
IMAGENET_EXPERIMENTS = ("e2_vit_b16", "e3_resnetrs101")
RUN_KEYS = (
    "epochs",
    "batch_size",
    "eval_batch_size",
    "optimizer",
    "schedule",
    "grad_clip",
    "label_smoothing",
    "early_stopping",
    "loss",
    "eval_splits",
    "checkpoint_every",
    "divergence_threshold",
    "world_size",
)


def _file_available(name: str, settings: Settings) -> bool:
    """Whether ``name`` or ``name.gz`` is in the data root or a search path (or their ``ett/`` folders)."""
    folders = [Path(settings.data_root), *(Path(p) for p in settings.data_search_paths)]
    return any(
        (folder / sub / candidate).is_file()
        for folder in folders
        for sub in ("", "ett")
        for candidate in (name, name + ".gz")
    )


def _expanded(section: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(experiment id, spec key, settings) with the Autoformer expanded per horizon."""
    out = []
    for key in EXPERIMENTS:
        if key not in section:
            continue
        spec = section[key]
        if key == "e4_autoformer":
            for horizon in spec["horizons"]:
                one = copy.deepcopy(spec)
                one["dataset"] = {**spec["dataset"], "pred_len": horizon}
                one["labels"] = {"horizon": horizon}
                out.append((f"{key}_{horizon}", key, one))
        else:
            out.append((key, key, spec))
    return out


def _not_run_reason(key: str, spec: dict[str, Any], settings: Settings) -> str | None:
    if key in IMAGENET_EXPERIMENTS and not settings.imagenet:
        return "data.imagenet is not configured (set it to an ImageNet-2012 folder in ImageFolder layout)"
    required = spec.get("requires_file")
    if required and not _file_available(required, settings):
        places = ", ".join([settings.data_root, *settings.data_search_paths])
        return f"{required}(.gz) not found in data.root or data.search_paths ({places})"
    return None


def _variants(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Per variant: the run-config fields that differ (lowrank, schedule, optimizer)."""
    base = {k: copy.deepcopy(spec[k]) for k in RUN_KEYS if k in spec}
    everies = [s["every"] for s in (spec.get("stability") or {}).get("series", [])]
    if len(set(everies)) != len(everies):
        raise UserError(f"oialr stability.series: each 'every' may appear once, got {everies}")
    variants = {
        "baseline": dict(
            base, lowrank=({"mode": "stability", **spec["stability"]} if spec.get("stability") else None)
        )
    }
    variants["oialr"] = dict(base, lowrank={"mode": "oialr", **spec["oialr"]})
    tuned = spec.get("tuned")
    if tuned:
        merged = deep_merge(base, {k: v for k, v in tuned.items() if k != "oialr"})
        variants["oialr_tuned"] = dict(
            merged, lowrank={"mode": "oialr", **spec["oialr"], **tuned.get("oialr", {})}
        )
    return variants


def experiment_plan(section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Every experiment of the paper: id, title, status (``run`` / ``not run``), reason, data set, variants."""
    plan = []
    configured = {key for key in EXPERIMENTS if key in section}
    for key, (title, absent_reason) in EXPERIMENTS.items():
        if key in configured:
            continue
        ids = ["e4_autoformer_192", "e4_autoformer_720"] if key == "e4_autoformer" else [key]
        suffixes = [", horizon 192", ", horizon 720"] if key == "e4_autoformer" else [""]
        for exp_id, suffix in zip(ids, suffixes, strict=True):
            plan.append(
                {
                    "experiment": exp_id,
                    "title": title + suffix,
                    "status": "not run",
                    "reason": f"not run at the {settings.scale} scale: {absent_reason}",
                    "dataset": "",
                    "model": "",
                    "seeds": [],
                    "variants": {},
                }
            )
    for exp_id, key, spec in _expanded(section):
        reason = _not_run_reason(key, spec, settings)
        title = EXPERIMENTS[key][0] + (f", horizon {spec['labels']['horizon']}" if "labels" in spec else "")
        plan.append(
            {
                "experiment": exp_id,
                "title": title,
                "status": "run" if reason is None else "not run",
                "reason": "" if reason is None else f"not run at the {settings.scale} scale: {reason}",
                "dataset": spec["dataset"]["name"],
                "model": spec["model"]["name"],
                "seeds": list(spec.get("seeds", section.get("seeds", [0]))),
                "variants": _variants(spec),
                "note": spec.get("note", ""),
            }
        )
    order = {
        exp: i
        for i, exp in enumerate(
            ["e1_vit", "e2_vit_b16", "e3_resnetrs101", "e4_autoformer_192", "e4_autoformer_720"]
        )
    }
    return sorted(plan, key=lambda p: order.get(p["experiment"], 99))


def training_runs(section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Resolved run configs of every oialr training experiment in section (the scale file's oialr entry)."""
    runs = []
    specs = {exp_id: spec for exp_id, _, spec in _expanded(section)}
    for entry in experiment_plan(section, settings):
        if entry["status"] != "run":
            continue
        spec = specs[entry["experiment"]]
        dataset = dict(spec["dataset"])
        if entry["experiment"] in IMAGENET_EXPERIMENTS:
            dataset["path"] = settings.imagenet
        for variant, fields in entry["variants"].items():
            for seed in entry["seeds"]:
                runs.append(
                    settings.run(
                        paper="oialr",
                        experiment=entry["experiment"],
                        run_id=variant,
                        seed=seed,
                        dataset=dataset,
                        model=dict(spec["model"]),
                        method={"name": spec.get("method", "bp")},
                        labels={"variant": variant, **spec.get("labels", {})},
                        **{k: v for k, v in fields.items() if v is not None or k == "lowrank"},
                    )
                )
    return runs


def experiment_csvs(run_keys: list[str] | dict[str, Any]) -> list[str]:
    """Aggregated final and curves CSVs of the oialr training experiments among ``run_keys`` (``RUNS``)."""
    experiments = sorted({key.split("/")[1] for key in run_keys if key.startswith("oialr/")})
    return [f"results/metrics/oialr/{e}{suffix}.csv" for e in experiments for suffix in ("", "_curves")]
