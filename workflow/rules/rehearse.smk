# Paper-scale rehearsal and cost model (docs/cluster.md, "Before you book the cluster"); not part of `all`:
#   snakemake --cores 2 rehearse --config scale=paper      (or: make rehearse)


rule rehearse:
    input:
        profile="workflow/profiles/slurm/config.yaml",
        scale=f"config/scales/{SCALE}.yaml",
        throughput="resources/rehearsal/throughput.csv",
        code=module_sources(
            "alttrain.rehearsal.cli", "alttrain.data.synthetic", "alttrain.launch"
        ),
    output:
        md="results/rehearsal/cost.md",
        csv="results/rehearsal/cost.csv",
        runs="results/rehearsal/runs.csv",
        shapes="results/rehearsal/shapes.csv",
        figure="results/rehearsal/cost.pdf",
    log:
        "results/logs/rehearsal.log",
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=16000,
        runtime=60,
    params:
        scale=SCALE,
        papers=" ".join(PAPERS),
    shell:
        "python -m alttrain rehearse --scale {params.scale} --papers {params.papers} --out results/rehearsal "
        "--profile {input.profile} --throughput {input.throughput} > {log} 2>&1"
