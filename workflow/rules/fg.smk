# fg: jobs beside the training runs: closed-form sweeps (one per function, every dimension, approach and seed
# vectorised in one process), approximation quality, custom-angle tangents, and the authors' learning-rate tables.
from alttrain.grids.fg import closed_form_parts

FG_SECTION = config.get("fg", {})
FG_RESOURCES = REPO / "resources" / "fg"
FG_FUNCTIONS = ["sphere", "rosenbrock", "styblinski_tang"]
# the paper-scale approximation-quality study draws the full k x n tangents (up to 1024 x 65536) on a GPU
FG_APPROX_GPU = 1 if SCALE == "paper" else 0
FG_APPROX_RUNTIME = 720 if SCALE == "paper" else 30


localrules:
    export_fg_lr_tables,


# The Rosenbrock sweep runs in parts of a few seeds and a merge job (alttrain.grids.fg.closed_form_parts).
FG_SWEEP_PARTS = {
    f: closed_form_parts(FG_SECTION.get("closed_form", {}).get("seeds", []), f)
    for f in FG_FUNCTIONS
}
FG_SPLIT_FUNCTIONS = [f for f in FG_FUNCTIONS if len(FG_SWEEP_PARTS[f]) > 1]
FG_WHOLE_FUNCTIONS = [f for f in FG_FUNCTIONS if f not in FG_SPLIT_FUNCTIONS]


rule run_fg_closed_form_part:
    input:
        lrs=str(FG_RESOURCES / "lrs_math.csv"),
        code=step_sources("alttrain.pipelines.fg", "sweep", "seed_subset"),
    output:
        final=temp("results/metrics/fg/closed_form_parts/{function}_{part}.csv"),
        curves=temp("results/metrics/fg/closed_form_parts/{function}_{part}_curves.csv"),
    log:
        "results/logs/fg/closed_form_{function}_{part}.log",
    benchmark:
        "results/benchmarks/fg/closed_form_{function}_{part}.tsv"
    wildcard_constraints:
        function="|".join(FG_SPLIT_FUNCTIONS) or "no-split-function",
        part=r"\d+",
    priority: 1  # the longest fg jobs: start them first
    conda:
        "../../envs/train.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    params:
        settings=json.dumps(FG_SECTION.get("closed_form", {}), sort_keys=True),
        seeds=lambda wc: FG_SWEEP_PARTS[wc.function][int(wc.part)],
    shell:
        "python -m alttrain fg closed-form --function {wildcards.function} --settings {params.settings:q} "
        "--seeds {params.seeds} --out {output.final} --curves {output.curves} > {log} 2>&1"


rule merge_fg_closed_form:
    input:
        finals=lambda wc: [
            f"results/metrics/fg/closed_form_parts/{wc.function}_{i}.csv"
            for i in range(len(FG_SWEEP_PARTS[wc.function]))
        ],
        curves=lambda wc: [
            f"results/metrics/fg/closed_form_parts/{wc.function}_{i}_curves.csv"
            for i in range(len(FG_SWEEP_PARTS[wc.function]))
        ],
        code=step_sources("alttrain.pipelines.fg", "merge_parts"),
    output:
        final="results/metrics/fg/closed_form_{function}.csv",
        curves="results/metrics/fg/closed_form_{function}_curves.csv",
    log:
        "results/logs/fg/closed_form_{function}_merge.log",
    wildcard_constraints:
        function="|".join(FG_SPLIT_FUNCTIONS) or "no-split-function",
    conda:
        "../../envs/train.yaml"
    params:
        settings=json.dumps(FG_SECTION.get("closed_form", {}), sort_keys=True),
    shell:
        "python -m alttrain fg closed-form-merge --settings {params.settings:q} --parts {input.finals} "
        "--part-curves {input.curves} --out {output.final} --curves {output.curves} > {log} 2>&1"


rule run_fg_closed_form:
    input:
        lrs=str(FG_RESOURCES / "lrs_math.csv"),
        code=step_sources("alttrain.pipelines.fg", "sweep", "seed_subset"),
    output:
        final="results/metrics/fg/closed_form_{function}.csv",
        curves="results/metrics/fg/closed_form_{function}_curves.csv",
    log:
        "results/logs/fg/closed_form_{function}.log",
    benchmark:
        "results/benchmarks/fg/closed_form_{function}.tsv"
    wildcard_constraints:
        function="|".join(FG_WHOLE_FUNCTIONS) or "no-whole-function",
    priority: 1
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
    input:
        code=step_sources("alttrain.pipelines.fg", "_approx_quality"),
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
        code=step_sources("alttrain.pipelines.fg", "custom_angle"),
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
        code=step_sources("alttrain.pipelines.fg", "export_lrs"),
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
