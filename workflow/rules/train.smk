# Generic training jobs: write the resolved config, train, aggregate an experiment's runs into tidy CSVs.


rule write_run_config:
    output:
        "results/runs/{paper}/{experiment}/{run_id}/seed{seed}/config.yaml",
    params:
        cfg=run_config_json,
    log:
        "results/logs/runs/{paper}/{experiment}/{run_id}/seed{seed}.config.log",
    shell:
        "python -m alttrain write-config {params.cfg:q} {output} > {log} 2>&1"


rule train_run:
    input:
        "results/runs/{paper}/{experiment}/{run_id}/seed{seed}/config.yaml",
    output:
        metrics="results/runs/{paper}/{experiment}/{run_id}/seed{seed}/metrics.csv",
        alignment="results/runs/{paper}/{experiment}/{run_id}/seed{seed}/alignment.csv",
        summary="results/runs/{paper}/{experiment}/{run_id}/seed{seed}/summary.json",
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    benchmark:
        "results/benchmarks/{paper}/{experiment}/{run_id}/seed{seed}.tsv"
    log:
        "results/logs/runs/{paper}/{experiment}/{run_id}/seed{seed}.log",
    shell:
        "python -m alttrain train {input} --no-progress > {log} 2>&1"


rule aggregate_runs:
    wildcard_constraints:
        experiment="|".join(TRAINING_EXPERIMENTS) or "no-training-experiment",
    input:
        experiment_summaries,
    output:
        final="results/metrics/{paper}/{experiment}.csv",
        curves="results/metrics/{paper}/{experiment}_curves.csv",
        alignment="results/metrics/{paper}/{experiment}_alignment.csv",
    log:
        "results/logs/aggregate/{paper}/{experiment}.log",
    shell:
        "python -m alttrain aggregate --final {output.final} --curves {output.curves} "
        "--alignment {output.alignment} {input} > {log} 2>&1"
