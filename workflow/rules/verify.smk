# Verification: published numbers and claims against the aggregated CSVs.


rule verify_results:
    input:
        csvs=metric_csvs,
        published=expand(PUBLISHED + "/{paper}.yaml", paper=PAPERS),
    output:
        json="results/verification/report.json",
        markdown="results/verification/report.md",
    params:
        scale=SCALE,
        papers=PAPERS,
        published=PUBLISHED,
    log:
        "results/logs/verify.log",
    shell:
        "python -m alttrain verify --scale {params.scale} --papers {params.papers} --published-dir {params.published} "
        "--json {output.json} --markdown {output.markdown} {input.csvs} > {log} 2>&1"
