# Figures and tables: one job per id, reading only aggregated CSVs (a style change never retrains). `code`: the
# figure's or table's module and every alttrain module it imports (alttrain.workflow.sources), so editing one redraws
# exactly the figures and tables made with it.
from alttrain.workflow import dag
from alttrain.workflow.provenance import labels_function, provenance_function


rule plot_figure:
    input:
        csvs=artifact_inputs,
        code=dag.artifact_code("figure"),
    output:
        pdf=report(
            "figures/{paper}/{artifact}.pdf",
            caption="../report/artifact.rst",
            category="{paper}",
            subcategory="figures",
            labels=labels_function(SCALE),
        ),
        png="figures/{paper}/{artifact}.png",
    log:
        "results/logs/figures/{paper}/{artifact}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        scale=SCALE,
        provenance=provenance_function(SCALE),
    shell:
        "python -m alttrain figure {wildcards.artifact} --scale {params.scale} --out {output.pdf} "
        "{input.csvs} > {log} 2>&1"


rule build_table:
    input:
        csvs=artifact_inputs,
        code=dag.artifact_code("table"),
    output:
        markdown=report(
            "results/tables/{paper}/{artifact}.md",
            caption="../report/artifact.rst",
            category="{paper}",
            subcategory="tables",
            labels=labels_function(SCALE),
        ),
        latex="paper/{paper}/generated/tables/{artifact}.tex",
    log:
        "results/logs/tables/{paper}/{artifact}.log",
    conda:
        "../../envs/plot.yaml"
    params:
        scale=SCALE,
        provenance=provenance_function(SCALE),
    shell:
        "python -m alttrain table {wildcards.artifact} --scale {params.scale} --markdown {output.markdown} "
        "--latex {output.latex} {input.csvs} > {log} 2>&1"
