# f3: jobs beside the training runs: the settings CSVs (learning rates, what is not run at this scale and why),
# header-only CSVs for experiments without runs at this scale, and the gap reduction of F3 vs the baselines.
from alttrain.grids import Settings  # noqa: E402
from alttrain.grids import f3 as f3_grid  # noqa: E402

F3_SECTION = config.get("f3", {})
F3_EMPTY = f3_grid.empty_experiments(F3_SECTION, Settings.from_config(config))


localrules:
    write_f3_settings,
    write_f3_empty_experiment,
    compute_f3_gap_reduction,


rule write_f3_settings:
    input:
        code=step_sources("alttrain.pipelines.f3", "settings_frames"),
    output:
        lrs="results/metrics/f3/lrs.csv",
        not_run="results/metrics/f3/not_run.csv",
    log:
        "results/logs/f3/settings.log",
    conda:
        "../../envs/plot.yaml"
    params:
        section=json.dumps(F3_SECTION, sort_keys=True),
        scale=SCALE,
    shell:
        "python -m alttrain f3 settings --section {params.section:q} --scale {params.scale} "
        "--lrs {output.lrs} --not-run {output.not_run} > {log} 2>&1"


rule write_f3_empty_experiment:
    input:
        code=step_sources("alttrain.pipelines.f3"),
    output:
        final="results/metrics/f3/{experiment}.csv",
        curves="results/metrics/f3/{experiment}_curves.csv",
        alignment="results/metrics/f3/{experiment}_alignment.csv",
    log:
        "results/logs/f3/{experiment}.empty.log",
    wildcard_constraints:
        experiment="|".join(F3_EMPTY) or "no-empty-experiment",
    conda:
        "../../envs/plot.yaml"
    shell:
        "python -m alttrain f3 empty {output.final} {output.curves} {output.alignment} > {log} 2>&1"


rule compute_f3_gap_reduction:
    input:
        csvs=expand(
            "results/metrics/f3/{experiment}.csv", experiment=f3_grid.EXPERIMENTS
        ),
        code=step_sources("alttrain.pipelines.f3", "gap_reductions", "_read"),
    output:
        "results/metrics/f3/gap_reduction.csv",
    log:
        "results/logs/f3/gap_reduction.log",
    conda:
        "../../envs/train.yaml"
    params:
        scale=SCALE,
    shell:
        "python -m alttrain f3 gap-reduction --scale {params.scale} --out {output} {input.csvs} > {log} 2>&1"
