"""Verification: compare reproduced numbers with ``paper/published/<paper>.yaml`` and write the report.

``python -m alttrain verify --scale S --papers fg oialr f3 --json J --markdown M [CSV...]`` reads the
published files (validated against ``config/schema/published.schema.yaml``) and the aggregated CSVs, evaluates
every entry and claim (see :mod:`alttrain.verification.checks`) and writes ``report.json``, ``report.md``,
``report.html`` (self-contained, figures inline) and ``summary.txt`` (the one-screen summary the workflow
prints at its end).
Filling a ``value: null`` of a published file with the number from the PDF is all it takes to have it
compared.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from alttrain.atomic import write_text
from alttrain.verification.published import load_published

__all__ = ["load_published", "main", "run_verification"]


def run_verification(
    scale: str,
    papers: list[str],
    published: Path | dict[str, Path],
    metrics_dir: Path,
    csvs: list[str] = (),
    figures_dir: Path = Path("figures"),
    tables_dir: Path = Path("results/tables"),
    check_experiments: bool = True,
    out_dir: Path = Path("results/verification"),
    paths: dict[str, Path] | None = None,
) -> dict:
    """Build the report and write its four files; return the report dict.

    Args:
        published: folder of ``<paper>.yaml`` files, or the file of each paper.
        paths: file per output (``json``, ``markdown``, ``html``, ``summary``); missing ones go to ``out_dir``
            as report.json, report.md, report.html and summary.txt.
    """
    from alttrain.verification.html import render_html
    from alttrain.verification.report import CsvStore, build_report, render_markdown, render_summary
    from alttrain.workflow.catalog import KnownExperiments

    known = {paper: KnownExperiments(paper) for paper in papers} if check_experiments else None
    store = CsvStore(metrics_dir, csvs)
    report = build_report(scale, papers, published, store, known, figures_dir)
    names = {"json": "report.json", "markdown": "report.md", "html": "report.html", "summary": "summary.txt"}
    paths = {k: Path((paths or {}).get(k) or Path(out_dir) / name) for k, name in names.items()}
    # keep the insertion order (papers as given, statuses in fixed order); write_json would sort the keys
    write_text(paths["json"], json.dumps(report, indent=2, default=str) + "\n")
    write_text(paths["markdown"], render_markdown(report))
    write_text(paths["html"], render_html(report, tables_dir))
    write_text(paths["summary"], render_summary(report, str(paths["html"])))
    return report


def main(argv: list[str]) -> int:
    """``verify --scale S --papers P... --json J --markdown M [options] [CSV...]``."""
    parser = argparse.ArgumentParser(prog="alttrain verify", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", required=True)
    parser.add_argument("--papers", nargs="+", required=True)
    parser.add_argument(
        "--published", type=Path, nargs="+", default=[], help="paper/published/<paper>.yaml files"
    )
    parser.add_argument(
        "--published-dir", type=Path, default=Path("paper/published"), help="for papers not in --published"
    )
    parser.add_argument("--json", type=Path, required=True, help="report.json (the other files go beside it)")
    parser.add_argument("--markdown", type=Path, required=True)
    parser.add_argument("--html", type=Path, default=None, help="default: report.html beside --json")
    parser.add_argument("--summary", type=Path, default=None, help="default: summary.txt beside --json")
    parser.add_argument("--metrics-dir", type=Path, default=Path("results/metrics"))
    parser.add_argument("--figures-dir", type=Path, default=Path("figures"))
    parser.add_argument("--tables-dir", type=Path, default=Path("results/tables"))
    parser.add_argument(
        "--no-experiment-check",
        action="store_true",
        help="do not refuse experiments that no scale of the workflow produces",
    )
    parser.add_argument("csvs", nargs="*", help="aggregated CSVs (default: looked up under --metrics-dir)")
    args = parser.parse_args(argv)
    paths = {"json": args.json, "markdown": args.markdown, "html": args.html, "summary": args.summary}
    given = {path.stem: path for path in args.published}
    published = {paper: given.get(paper, args.published_dir / f"{paper}.yaml") for paper in args.papers}
    run_verification(
        args.scale,
        args.papers,
        published,
        args.metrics_dir,
        args.csvs,
        args.figures_dir,
        args.tables_dir,
        not args.no_experiment_check,
        args.json.parent,
        paths,
    )
    print((args.summary or args.json.parent / "summary.txt").read_text(), end="")
    return 0
