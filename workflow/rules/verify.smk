# Verification: published numbers and claims against the aggregated CSVs.


rule verify_results:
    input:
        csvs=metric_csvs,
        published=PUBLISHED,
    output:
        json="results/verification/report.json",
        markdown="results/verification/report.md",
    log:
        "results/logs/verify.log",
    conda:
        "../../envs/plot.yaml"
    params:
        scale=SCALE,
        papers=PAPERS,
    shell:
        "python -m alttrain verify --scale {params.scale} --papers {params.papers} "
        "--published {input.published} "
        "--json {output.json} --markdown {output.markdown} {input.csvs} > {log} 2>&1"
