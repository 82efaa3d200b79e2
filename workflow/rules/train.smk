# Generic training jobs: write the resolved config, train, aggregate an experiment's runs into tidy CSVs.

# GPUs per training job: at the paper scale one per data-parallel process (the run's world_size; `--resources
# gpu=N` caps the jobs on a workstation with N GPUs); smoke and cpu runs are small and share a GPU if any.
TRAIN_GPUS = 1 if SCALE == "paper" else 0


rule write_run_config:
    output:
        "results/runs/{paper}/{experiment}/{run_id}/seed{seed}/config.yaml",
    log:
        "results/logs/runs/{paper}/{experiment}/{run_id}/seed{seed}.config.log",
    conda:
        "../../envs/train.yaml"
    params:
        cfg=run_config_json,
    shell:
        "python -m alttrain write-config {params.cfg:q} {output} > {log} 2>&1"


rule train_run:
    input:
        "results/runs/{paper}/{experiment}/{run_id}/seed{seed}/config.yaml",
    output:
        metrics="results/runs/{paper}/{experiment}/{run_id}/seed{seed}/metrics.csv",
        alignment="results/runs/{paper}/{experiment}/{run_id}/seed{seed}/alignment.csv",
        summary="results/runs/{paper}/{experiment}/{run_id}/seed{seed}/summary.json",
    log:
        "results/logs/runs/{paper}/{experiment}/{run_id}/seed{seed}.log",
    benchmark:
        "results/benchmarks/{paper}/{experiment}/{run_id}/seed{seed}.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
        gpu=lambda wc: TRAIN_GPUS * run_processes(wc),
        # a run on N > 1 processes gets N tasks, one per GPU; on a cluster the job is marked mpi, so
        # `alttrain launch` starts the tasks itself (srun); elsewhere it starts them with torchrun
        tasks=run_processes,
        tasks_per_gpu=1,
        mpi=lambda wc: "srun" if run_processes(wc) > 1 else "",
    shell:
        "python -m alttrain launch {input} > {log} 2>&1"


rule aggregate_runs:
    input:
        summaries=experiment_summaries,
        code=module_sources("alttrain.results"),
    output:
        final="results/metrics/{paper}/{experiment}.csv",
        curves="results/metrics/{paper}/{experiment}_curves.csv",
        alignment="results/metrics/{paper}/{experiment}_alignment.csv",
    log:
        "results/logs/aggregate/{paper}/{experiment}.log",
    wildcard_constraints:
        experiment="|".join(TRAINING_EXPERIMENTS) or "no-training-experiment",
    conda:
        "../../envs/train.yaml"
    shell:
        "python -m alttrain aggregate --final {output.final} --curves {output.curves} "
        "--alignment {output.alignment} {input.summaries} > {log} 2>&1"
