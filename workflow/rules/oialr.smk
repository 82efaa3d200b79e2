# oialr: one job beside the training runs. It gathers the aggregated CSVs of the oialr experiments of this scale,
# the experiment plan (what runs, what does not and why) and the authors' vendored reference data into the CSVs
# every oialr figure and table reads, so those exist at every scale.
from alttrain.grids import Settings  # noqa: E402
from alttrain.grids import oialr as oialr_grid  # noqa: E402

OIALR_PLAN = oialr_grid.experiment_plan(
    config.get("oialr", {}), Settings.from_config(config)
)
OIALR_CSVS = oialr_grid.experiment_csvs(RUNS)
OIALR_REFERENCES = [
    str(REPO / "resources" / "oialr" / name)
    for name in ("facts.yaml", "af-192-mse.csv", "af-720-mse.csv")
]


localrules:
    collect_oialr_results,


rule collect_oialr_results:
    input:
        csvs=OIALR_CSVS,
        references=OIALR_REFERENCES,
        code=step_sources("alttrain.pipelines.oialr", "collect", "load_plan"),
    output:
        final="results/metrics/oialr/collected_final.csv",
        curves="results/metrics/oialr/collected_curves.csv",
        stability="results/metrics/oialr/collected_stability.csv",
        rank_updates="results/metrics/oialr/collected_rank_updates.csv",
        stability_summary="results/metrics/oialr/stability_summary.csv",
        status="results/metrics/oialr/experiment_status.csv",
        hparams="results/metrics/oialr/hparams.csv",
        reference_autoformer="results/metrics/oialr/reference_autoformer.csv",
        reference_stability="results/metrics/oialr/reference_stability.csv",
    log:
        "results/logs/oialr/collect_results.log",
    conda:
        "../../envs/plot.yaml"
    params:
        plan=json.dumps(OIALR_PLAN, sort_keys=True),
        scale=SCALE,
    shell:
        "python -m alttrain oialr collect --scale {params.scale} --plan {params.plan:q} "
        "--references {input.references:q} --final {output.final} --curves {output.curves} "
        "--stability {output.stability} --rank-updates {output.rank_updates} "
        "--stability-summary {output.stability_summary} "
        "--status {output.status} --hparams {output.hparams} "
        "--reference-autoformer {output.reference_autoformer} "
        "--reference-stability {output.reference_stability} {input.csvs} > {log} 2>&1"
