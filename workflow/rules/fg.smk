# fg: jobs beside the training runs: closed-form sweeps (one per function, every dimension, approach and seed
# vectorised in one process), approximation quality, custom-angle tangents, and the authors' learning-rate tables.
FG_SECTION = config.get("fg", {})
FG_RESOURCES = REPO / "resources" / "fg"
FG_FUNCTIONS = ["sphere", "rosenbrock", "styblinski_tang"]
# the paper-scale approximation-quality study draws the full k x n tangents (up to 1024 x 65536) on a GPU
FG_APPROX_GPU = 1 if SCALE == "paper" else 0
FG_APPROX_RUNTIME = 720 if SCALE == "paper" else 30


localrules:
    export_fg_lr_tables,


rule run_fg_closed_form:
    input:
        lrs=str(FG_RESOURCES / "lrs_math.csv"),
    output:
        final="results/metrics/fg/closed_form_{function}.csv",
        curves="results/metrics/fg/closed_form_{function}_curves.csv",
    log:
        "results/logs/fg/closed_form_{function}.log",
    benchmark:
        "results/benchmarks/fg/closed_form_{function}.tsv"
    wildcard_constraints:
        function="|".join(FG_FUNCTIONS),
    priority: 1  # the Rosenbrock sweep is the longest fg job: start it first
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=json.dumps(FG_SECTION.get("closed_form", {}), sort_keys=True),
    shell:
        "python -m alttrain fg closed-form --function {wildcards.function} --settings {params.settings:q} "
        "--out {output.final} --curves {output.curves} > {log} 2>&1"


rule run_fg_approx_quality:
    output:
        "results/metrics/fg/approx_quality.csv",
    log:
        "results/logs/fg/approx_quality.log",
    benchmark:
        "results/benchmarks/fg/approx_quality.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=8000,
        runtime=FG_APPROX_RUNTIME,
        gpu=FG_APPROX_GPU,
    params:
        settings=json.dumps(FG_SECTION.get("approx_quality", {}), sort_keys=True),
    shell:
        "python -m alttrain fg approx-quality --settings {params.settings:q} --out {output} > {log} 2>&1"


rule run_fg_custom_angle:
    input:
        lrs=str(FG_RESOURCES / "lrs_math_custom_tangents.csv"),
    output:
        approx="results/metrics/fg/custom_angle_approx.csv",
        opt="results/metrics/fg/custom_angle_opt.csv",
        curves="results/metrics/fg/custom_angle_opt_curves.csv",
    log:
        "results/logs/fg/custom_angle.log",
    benchmark:
        "results/benchmarks/fg/custom_angle.tsv"
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=json.dumps(FG_SECTION.get("custom_angle", {}), sort_keys=True),
    shell:
        "python -m alttrain fg custom-angle --settings {params.settings:q} --approx {output.approx} "
        "--opt {output.opt} --curves {output.curves} > {log} 2>&1"


rule export_fg_lr_tables:
    input:
        nn=str(FG_RESOURCES / "lrs_nn.csv"),
        math=str(FG_RESOURCES / "lrs_math.csv"),
        custom=str(FG_RESOURCES / "lrs_math_custom_tangents.csv"),
    output:
        nn="results/metrics/fg/lrs_nn.csv",
        math="results/metrics/fg/lrs_math.csv",
        custom="results/metrics/fg/lrs_custom.csv",
    log:
        "results/logs/fg/lr_tables.log",
    conda:
        "../../envs/plot.yaml"
    shell:
        "python -m alttrain fg export-lrs --sources {input.nn} {input.math} {input.custom} "
        "--nn {output.nn} --math {output.math} --custom {output.custom} > {log} 2>&1"
