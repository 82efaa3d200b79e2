# Configuration: merge the scale file, validate, expand the grids into runs; input functions for the rules.
import json
import shutil
import sys
from pathlib import Path

from snakemake.utils import validate

REPO = Path(
    workflow.basedir
)  # paths below are relative to the repository, so `--directory` works
sys.path.insert(
    0, str(REPO / "src")
)  # the package also works without `pip install -e .`

from alttrain.grids import training_runs  # noqa: E402
from alttrain.workflow import dag  # noqa: E402
from alttrain.workflow.sources import module_sources, step_sources  # noqa: E402
from alttrain.workflow import (
    artifacts,
    check_config,
    deep_merge,
    scale_settings,
)  # noqa: E402

# config/scales/paper.yaml holds the grids; smoke.yaml and cpu.yaml only what differs (command line wins)
config.update(deep_merge(scale_settings(config.get("scale"), REPO), config))
check_config(config, REPO / "config/schema/config.schema.yaml")
validate(config, "../../config/schema/config.schema.yaml")

SCALE = config["scale"]
PUBLISHED = [
    str(REPO / "paper" / "published" / f"{paper}.yaml") for paper in config["papers"]
]
PAPERS = list(config["papers"])
RUNS = training_runs(config)
TRAINING_EXPERIMENTS = sorted({key.split("/")[1] for key in RUNS})
ARTIFACTS = artifacts(config)


wildcard_constraints:
    paper="fg|oialr|f3",
    seed=r"\d+",


localrules:
    write_run_config,
    aggregate_runs,
    plot_figure,
    build_table,
    verify_results,
    write_results_page,


def run_config_json(wildcards):
    """The resolved config of one run, as JSON for `alttrain write-config`."""
    key = f"{wildcards.paper}/{wildcards.experiment}/{wildcards.run_id}/seed{wildcards.seed}"
    return json.dumps(RUNS[key], sort_keys=True)


def run_processes(wildcards):
    """Data-parallel processes of one run (its config's world_size; train_run gets that many GPUs)."""
    key = f"{wildcards.paper}/{wildcards.experiment}/{wildcards.run_id}/seed{wildcards.seed}"
    return int(RUNS[key].get("world_size", 1))


def experiment_summaries(wildcards):
    """summary.json of every run (all seeds) of one experiment."""
    prefix = f"{wildcards.paper}/{wildcards.experiment}/"
    return [
        f"results/runs/{key}/summary.json" for key in RUNS if key.startswith(prefix)
    ]


def artifact_inputs(wildcards):
    """Aggregated CSVs a figure or table is made from."""
    return [
        f"results/metrics/{wildcards.paper}/{name}"
        for name in ARTIFACTS[wildcards.artifact].inputs
    ]


def metric_csvs(wildcards):
    """Every aggregated CSV that a figure or table of the selected papers reads."""
    return sorted(
        {
            f"results/metrics/{a.paper}/{name}"
            for a in ARTIFACTS.values()
            for name in a.inputs
        }
    )


LATEXMK = shutil.which("latexmk")
paper_targets = dag.paper_targets(PAPERS, LATEXMK)


def all_targets(wildcards):
    """Every figure and table of the selected papers, the verification report, the results page, the papers."""
    targets = []
    for artifact_id, spec in ARTIFACTS.items():
        if spec.kind == "figure":
            targets.append(f"figures/{spec.paper}/{artifact_id}.pdf")
        else:
            targets.append(f"results/tables/{spec.paper}/{artifact_id}.md")
    targets += [
        "results/verification/report.json",
        "results/verification/report.md",
        "results/README.md",
    ]
    targets += paper_targets()
    return targets
