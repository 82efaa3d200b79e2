# Regenerated papers: paper/<paper>/generated/{numbers,includes,verification}.tex from the verification report,
# and, where latexmk is installed, paper/<paper>/main.pdf (paper/<paper>/main.tex inputs the generated parts).
from alttrain.workflow import dag

paper_artifacts = dag.paper_artifacts(ARTIFACTS)
main_tex = dag.main_tex(REPO)


localrules:
    write_paper_sources,
    compile_paper,


rule write_paper_sources:
    input:
        report="results/verification/report.json",
        artifacts=paper_artifacts,
        code=module_sources("alttrain.writeup"),
    output:
        numbers="paper/{paper}/generated/numbers.tex",
        includes="paper/{paper}/generated/includes.tex",
        verification="paper/{paper}/generated/verification.tex",
    log:
        "results/logs/paper/{paper}_sources.log",
    conda:
        "../../envs/plot.yaml"
    shell:
        "python -m alttrain paper-sources --paper {wildcards.paper} --report {input.report} "
        "--out-dir paper/{wildcards.paper}/generated > {log} 2>&1"


# latexmk runs in paper/<paper>/ of the working directory (generated parts, figures) and finds main.tex and the
# shared preamble in the repository through TEXINPUTS, so `--directory` elsewhere works too.
rule compile_paper:
    input:
        main=str(REPO / "paper/{paper}/main.tex"),
        preamble=str(REPO / "paper/preamble.tex"),
        sources=rules.write_paper_sources.output,
    output:
        "paper/{paper}/main.pdf",
    log:
        "results/logs/paper/{paper}_latexmk.log",
    conda:
        "../../envs/latex.yaml"
    params:
        main=main_tex,
        texinputs=f"{REPO / 'paper'}:",
    shell:
        "root=$PWD; cd paper/{wildcards.paper} && TEXINPUTS={params.texinputs:q} latexmk -pdf "
        "-interaction=nonstopmode -halt-on-error -outdir=generated/latex {params.main:q} > $root/{log} 2>&1 "
        "&& cp generated/latex/main.pdf main.pdf"
