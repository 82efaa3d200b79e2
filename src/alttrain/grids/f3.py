"""Training runs of the f3 paper: the scale file's ``f3`` section expanded into resolved run configs.

Experiments (each one aggregated CSV ``results/metrics/f3/<experiment>.csv``):

* ``classification``: FC nets (tanh, sigmoid output, BCE vs one-hot) on MNIST / CIFAR-10 / Census Income. Its
  runs are the union of three blocks (deduplicated): ``methods`` (BP, shallow, DFA, DRTP, F3 per topology),
  ``error_info`` (the F3 variants with DRTP/DFA references) and ``feedback_init`` (the B initialisations).
  Labels ``in_<block>`` say which blocks a run belongs to.
* ``sgemm_depth``: FC regression on SGEMM over depths; ``wine``: FC regression on Wine Quality (v2);
* ``transformer``: the v2 Transformer on MNIST (cross-entropy on logits).

Seeds and data order (docs/methods/f3.md#seeds-and-random-streams): the authors call only ``torch.manual_seed(seed)``
(seeds 1..10) and build the Linear layers before drawing the feedback matrices; the loop does the same (seed,
build the model, then the estimator draws B), so forward weights and B follow the authors' order. The data
order does not: the loop batches pre-tensorised data by index with its own generator seeded ``seed``, not
the authors' per-sample DataLoader, so the shuffling stream differs (numerically identical preprocessing).

A benchmark given as ``{not_run: reason}`` makes no runs; its reason goes to ``not_run.csv`` so tables and
figures mark it explicitly. This module imports no torch (Snakemake imports it to build the DAG).
"""

from __future__ import annotations

import re
from typing import Any

from alttrain.errors import UserError
from alttrain.grids import Settings

EXPERIMENTS = ("classification", "sgemm_depth", "wine", "transformer")
TASKS = {
    "classification": "classification",
    "sgemm_depth": "regression",
    "wine": "regression",
    "transformer": "classification",
}
LOSSES = {"classification": "bce_onehot", "sgemm_depth": "mse", "wine": "mse", "transformer": "cross_entropy"}
# kept equal to alttrain.methods.feedback (a test checks it; importing that module here would import torch)
FEEDBACK_INITS = ("kaiming", "trinomial", "binomial", "pm_identity")
F3_ERROR_INFOS = (
    "delayed_error",
    "delayed_error_one_hot",
    "delayed_loss",
    "delayed_loss_one_hot",
    "delayed_error_softmax",
    "delayed_loss_softmax",
)
APPROACHES = ("bp", "llo", "dfa", "drtp", *(f"f3_{info}" for info in F3_ERROR_INFOS))
FEEDBACK_METHODS = ("dfa", "drtp", "f3")
TOPOLOGY = re.compile(r"^fc(\d+)-(\d+)$")
# Adam, PyTorch defaults, constant learning rate (authors' code f3@f90e380, f3/training.py)
ADAM = {"name": "adam", "betas": [0.9, 0.999], "eps": 1.0e-8, "weight_decay": 0.0}


def parse_topology(topology: str) -> tuple[int, int]:
    """``fc<D>-<W>`` -> (depth D, width W)."""
    match = TOPOLOGY.match(topology)
    if match is None:
        raise UserError(f"f3 topology {topology!r} is not of the form fc<depth>-<width> (e.g. fc1-500)")
    return int(match.group(1)), int(match.group(2))


def method_of(approach: str) -> tuple[str, str | None]:
    """Approach label -> (estimator name, F3 error information or None)."""
    if approach.startswith("f3_"):
        return "f3", approach[3:]
    return approach, None


def learning_rate(section: dict[str, Any], key: str, method: str, experiment: str, depth: int) -> float:
    """The Adam learning rate of ``method`` from the section's ``learning_rates`` table (README;
    docs/methods/f3.md#optimiser-learning-rates-and-epochs).

    For ``sgemm_depth`` the row is chosen by depth as the README groups it: ``<key>_d1``, ``<key>_d2``,
    ``<key>_d_ge10`` (depths 3..9 have no published rate and are refused).
    """
    table = section.get("learning_rates", {})
    if experiment == "sgemm_depth":
        if depth in (1, 2):
            key = f"{key}_d{depth}"
        elif depth >= 10:
            key = f"{key}_d_ge10"
        else:
            raise UserError(
                f"f3 sgemm_depth: no published learning rate for depth {depth} (README: 1, 2, >= 10)"
            )
    if key not in table or method not in table[key]:
        raise UserError(f"config key 'f3.learning_rates.{key}.{method}' is missing (needed by {experiment})")
    return float(table[key][method])


def _block_members(spec: dict[str, Any]) -> dict[tuple[str, str, str], set[str]]:
    """(topology, approach, init) -> names of the blocks containing it; BP and shallow get init ``none``."""
    members: dict[tuple[str, str, str], set[str]] = {}
    for block, grid in spec.get("blocks", {}).items():
        for topology in grid["topologies"]:
            if topology != "transformer":
                parse_topology(topology)  # a malformed topology stops the DAG with the key named
            for approach in grid["approaches"]:
                if approach not in APPROACHES:
                    raise UserError(f"f3 approach {approach!r} is unknown; known: {', '.join(APPROACHES)}")
                inits = grid["feedback_inits"] if method_of(approach)[0] in FEEDBACK_METHODS else ["none"]
                for init in inits:
                    members.setdefault((topology, approach, init), set()).add(block)
    return members


def _model(experiment: str, spec: dict[str, Any], topology: str) -> tuple[dict[str, Any], int, int]:
    if experiment == "transformer":
        options = dict(spec.get("model", {}))
        return {"name": "f3_transformer", **options}, options.get("depth", 5), options.get("hidden_dim", 512)
    depth, width = parse_topology(topology)
    return {"name": "f3_fc", "depth": depth, "width": width}, depth, width


def experiment_runs(experiment: str, section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Resolved runs of one experiment (every run benchmark x block member x seed)."""
    spec = section.get(experiment, {})
    seeds = spec.get("seeds", section.get("seeds", [1]))
    blocks = sorted(spec.get("blocks", {}))
    runs = []
    for benchmark, bench in spec.get("benchmarks", {}).items():
        if "not_run" in bench:
            continue
        for (topology, approach, init), member_of in sorted(_block_members(spec).items()):
            if topology in spec.get("topologies_not_run", {}):
                continue
            model, depth, width = _model(experiment, spec, topology)
            name, error_info = method_of(approach)
            method: dict[str, Any] = {"name": name}
            if name in FEEDBACK_METHODS:
                method["feedback_init"] = init
            if error_info is not None:
                method["error_info"] = error_info
            if name == "dfa":
                method["extra_forward"] = section.get("dfa_extra_forward", True)
            lr = learning_rate(section, bench["lr"], name, experiment, depth)
            run_id = f"{benchmark}_{topology}_{approach}" + (f"_{init}" if init != "none" else "")
            labels = {
                "benchmark": benchmark,
                "task": TASKS[experiment],
                "topology": topology,
                "depth": depth,
                "width": width,
                "approach": approach,
                "error_info": error_info or "none",
                "feedback_init": init,
                **{f"in_{block}": block in member_of for block in blocks},
            }
            for seed in seeds:
                runs.append(
                    settings.run(
                        paper="f3",
                        experiment=experiment,
                        run_id=run_id,
                        seed=seed,
                        dataset=dict(bench["dataset"]),
                        model=model,
                        method=method,
                        optimizer={**ADAM, "lr": lr},
                        epochs=bench["epochs"],
                        batch_size=bench["batch_size"],
                        eval_batch_size=bench.get("eval_batch_size", 1000),
                        loss=LOSSES[experiment],
                        eval_splits=list(section.get("eval_splits", ["train", "test"])),
                        alignment={"enabled": True, "probe_size": section.get("alignment_probe", 64)},
                        labels=labels,
                    )
                )
    return runs


def training_runs(section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Resolved run configs of every f3 training experiment in section (the scale file's f3 entry)."""
    return [run for experiment in EXPERIMENTS for run in experiment_runs(experiment, section, settings)]


def not_run(section: dict[str, Any]) -> list[dict[str, str]]:
    """Rows ``{experiment, benchmark, topology, reason}`` for everything of the paper not run at this
    scale."""
    rows = []
    for experiment in EXPERIMENTS:
        spec = section.get(experiment, {})
        for benchmark, bench in spec.get("benchmarks", {}).items():
            if "not_run" in bench:
                rows.append(
                    {
                        "experiment": experiment,
                        "benchmark": benchmark,
                        "topology": "",
                        "reason": bench["not_run"],
                    }
                )
            else:
                for topology, reason in spec.get("topologies_not_run", {}).items():
                    rows.append(
                        {
                            "experiment": experiment,
                            "benchmark": benchmark,
                            "topology": topology,
                            "reason": reason,
                        }
                    )
    return rows


def empty_experiments(section: dict[str, Any], settings: Settings) -> list[str]:
    """Experiments without any run at this scale (their CSVs are written header-only, with the reason
    elsewhere)."""
    return [e for e in EXPERIMENTS if not experiment_runs(e, section, settings)]
