# Verification: published numbers and claims (paper/published/<paper>.yaml) against the aggregated CSVs.
# The published files are validated while the DAG is built, so a malformed one stops Snakemake before any job.
# Input functions come from alttrain.workflow.dag (rule files hold rules only).
from alttrain.workflow import dag

# the per-paper rules above write only CSVs the experiment catalog knows
dag.check_pipeline_csvs(workflow.rules)
PUBLISHED_DATA = dag.load_all_published(PAPERS, PUBLISHED, RUNS)
PUBLISHED_SCHEMA = str(REPO / "config/schema/published.schema.yaml")
verification_csvs = dag.verification_csvs(ARTIFACTS, RUNS, PUBLISHED_DATA, metric_csvs)
artifact_files = dag.artifact_files(ARTIFACTS)


rule verify_results:
    input:
        csvs=verification_csvs,
        published=PUBLISHED,
        schema=PUBLISHED_SCHEMA,
        artifacts=artifact_files,
        code=module_sources("alttrain.verify"),
    output:
        json="results/verification/report.json",
        markdown="results/verification/report.md",
        html="results/verification/report.html",
        summary="results/verification/summary.txt",
    log:
        "results/logs/verify.log",
    conda:
        "../../envs/plot.yaml"
    params:
        scale=SCALE,
        papers=PAPERS,
    shell:
        "python -m alttrain verify --scale {params.scale} --papers {params.papers} "
        "--published {input.published} --json {output.json} --markdown {output.markdown} "
        "--html {output.html} --summary {output.summary} {input.csvs} > {log} 2>&1"


# The results page: results/README.md (README.md links to it; a run never modifies a tracked file). It also reads
# the Snakemake benchmark files of the jobs before it (results/benchmarks/, best effort: not declared as inputs).
rule write_results_page:
    input:
        report="results/verification/report.json",
        code=module_sources("alttrain.writeup.results_page"),
    output:
        "results/README.md",
    log:
        "results/logs/results_page.log",
    conda:
        "../../envs/plot.yaml"
    shell:
        "python -m alttrain results-page --report {input.report} --benchmarks results/benchmarks "
        "--out {output} > {log} 2>&1"


onsuccess:
    dag.show_verification_summary()
