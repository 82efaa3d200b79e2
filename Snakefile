# Reproducibility artifact: fg (arXiv 2410.17764), oialr (arXiv 2401.08505), f3 (arXiv 2304.13372).
# `snakemake --cores all` runs the default scale (config/config.yaml); `--config scale=smoke|cpu|paper` picks another.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config/config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/train.smk"
include: "workflow/rules/fg.smk"
include: "workflow/rules/oialr.smk"
include: "workflow/rules/f3.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/verify.smk"
include: "workflow/rules/paper.smk"
include: "workflow/rules/rehearse.smk"


rule all:
    default_target: True
    input:
        all_targets,
