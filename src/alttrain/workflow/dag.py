"""Input functions and handlers of ``workflow/rules/verify.smk`` and ``paper.smk``.

They live here, not in the rule files, so that rule files hold rules only (``snakemake --lint``); each factory
takes the Snakefile's globals (ARTIFACTS, RUNS, ...) and returns the function a rule calls with its wildcards.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from alttrain.errors import UserError
from alttrain.verification.published import load_published, referenced_experiments
from alttrain.workflow.catalog import KnownExperiments, rule_experiments
from alttrain.workflow.sources import module_sources

PAPER_SOURCES = ("numbers.tex", "includes.tex", "verification.tex")


def _run_experiments(runs: dict[str, Any], paper: str) -> set[str]:
    """Training experiments of one paper among the run keys ``<paper>/<experiment>/<run_id>/seed<n>``."""
    return {key.split("/")[1] for key in runs if key.split("/")[0] == paper}


def load_all_published(papers: list[str], paths: list[str], runs: dict[str, Any]) -> dict[str, dict]:
    """Validate every selected paper's published file while the DAG is built (a fault stops Snakemake)."""
    return {
        paper: load_published(path, paper, KnownExperiments(paper, _run_experiments(runs, paper)))
        for paper, path in zip(papers, paths, strict=True)
    }


def check_pipeline_csvs(rules) -> None:
    """While the DAG is built: every ``results/metrics/<paper>/<name>.csv`` a rule writes under a literal name is
    listed in ``CSVS`` of :mod:`alttrain.pipelines.<paper>` (the catalog that checks the published files reads it
    from there; Snakemake's parsed rules are read, not the rule files)."""
    for rule in rules:
        for path in rule.output:
            match = re.fullmatch(r"results/metrics/(fg|oialr|f3)/([^/{}]+)\.csv", str(path))
            if match is None:
                continue
            paper, name = match.groups()
            if name not in importlib.import_module(f"alttrain.pipelines.{paper}").CSVS:
                raise UserError(
                    f"rule {rule.name} writes results/metrics/{paper}/{name}.csv, which CSVS of "
                    f"alttrain.pipelines.{paper} does not list; add it there"
                )


def producible_csvs(artifacts: dict[str, Any], runs: dict[str, Any]) -> set[tuple[str, str]]:
    """(paper, CSV stem) pairs this scale's DAG can build: the figures' and tables' inputs, the training
    experiments and the CSVs the papers' own steps write (``CSVS`` of :mod:`alttrain.pipelines.<paper>`)."""
    pairs = {(a.paper, Path(name).stem) for a in artifacts.values() for name in a.inputs}
    for key in runs:
        paper, experiment = key.split("/")[:2]
        pairs |= {(paper, experiment + suffix) for suffix in ("", "_curves", "_alignment")}
    papers = {paper for paper, _ in pairs}
    return pairs | {(paper, name) for paper in papers for name in rule_experiments(paper)}


def verification_csvs(
    artifacts: dict[str, Any], runs: dict[str, Any], published: dict[str, dict], metric_csvs: Callable
) -> Callable[[Any], list[str]]:
    """Input function: the figures' and tables' CSVs, and those entries and claims read (if built here)."""
    wanted = {(paper, name) for paper, data in published.items() for name in referenced_experiments(data)}
    extra = {f"results/metrics/{p}/{e}.csv" for p, e in wanted & producible_csvs(artifacts, runs)}

    def inputs(wildcards) -> list[str]:
        return sorted(set(metric_csvs(wildcards)) | extra)

    return inputs


def artifact_code(kind: str) -> Callable[[Any], list[str]]:
    """Input function: the source files a figure (``kind="figure"``) or table job runs: its module, the module
    that writes the files (style or render) and every alttrain module they import."""
    package, writer = {"figure": ("alttrain.figures", "alttrain.artifacts.style"),
                       "table": ("alttrain.tables", "alttrain.artifacts.render")}[kind]

    def inputs(wildcards) -> list[str]:
        return module_sources(f"{package}.{wildcards.artifact}", writer)

    return inputs


def artifact_files(artifacts: dict[str, Any]) -> Callable[[Any], list[str]]:
    """Input function: figure PNGs and Markdown tables (shown in the HTML report)."""
    files = [
        f"figures/{a.paper}/{i}.png" if a.kind == "figure" else f"results/tables/{a.paper}/{i}.md"
        for i, a in artifacts.items()
    ]

    def inputs(wildcards) -> list[str]:
        return files

    return inputs


def paper_artifacts(artifacts: dict[str, Any]) -> Callable[[Any], list[str]]:
    """Input function: figure PDFs and LaTeX tables of one paper (what its includes.tex lists)."""

    def inputs(wildcards) -> list[str]:
        return [
            f"figures/{a.paper}/{i}.pdf"
            if a.kind == "figure"
            else f"paper/{a.paper}/generated/tables/{i}.tex"
            for i, a in artifacts.items()
            if a.paper == wildcards.paper
        ]

    return inputs


def paper_targets(papers: list[str], latexmk: str | None) -> Callable[[], list[str]]:
    """``paper_targets()`` of ``all_targets``: generated LaTeX parts, and the PDFs where latexmk exists."""

    def targets() -> list[str]:
        files = [f"paper/{p}/generated/{name}" for p in papers for name in PAPER_SOURCES]
        return files + ([f"paper/{p}/main.pdf" for p in papers] if latexmk else [])

    return targets


def main_tex(repo: Path) -> Callable[[Any], str]:
    """Param function: the absolute path of a paper's main.tex (latexmk runs in another folder)."""

    def path(wildcards) -> str:
        return str(Path(repo) / "paper" / wildcards.paper / "main.tex")

    return path


def show_verification_summary() -> None:
    """``onsuccess``: print the one-screen verification summary (the full page: results/README.md)."""
    summary = Path("results/verification/summary.txt")
    if summary.is_file():
        print("\n" + summary.read_text(), flush=True)
