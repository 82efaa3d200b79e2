"""Documents written from the verification report: the regenerated papers' LaTeX parts and the results page.

* ``python -m alttrain paper-sources --paper P --out-dir paper/P/generated`` (rule ``write_paper_sources``):
  :mod:`.latex`;
* ``python -m alttrain results-page --out results/README.md`` (rule ``write_results_page``): :mod:`.results_page`.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def paper_sources_main(argv: list[str]) -> int:
    """``paper-sources --paper P --out-dir paper/P/generated``: numbers, includes, verification .tex."""
    from alttrain.writeup.latex import write_paper_sources

    parser = argparse.ArgumentParser(prog="alttrain paper-sources")
    parser.add_argument("--paper", required=True, choices=("fg", "oialr", "f3"))
    parser.add_argument("--report", type=Path, default=Path("results/verification/report.json"))
    parser.add_argument("--out-dir", type=Path, required=True)
    parser.add_argument("--metrics-dir", type=Path, default=Path("results/metrics"))
    parser.add_argument("--figures-dir", type=Path, default=Path("figures"))
    args = parser.parse_args(argv)
    report = json.loads(args.report.read_text())
    for path in write_paper_sources(report, args.paper, args.out_dir, args.metrics_dir, args.figures_dir):
        print(path)
    return 0


def results_page_main(argv: list[str]) -> int:
    """``results-page [--out results/README.md]``: the results page from the verification JSON."""
    from alttrain.writeup.results_page import write_results_page

    parser = argparse.ArgumentParser(prog="alttrain results-page")
    parser.add_argument("--report", type=Path, default=Path("results/verification/report.json"))
    parser.add_argument("--benchmarks", type=Path, default=Path("results/benchmarks"))
    parser.add_argument("--out", type=Path, default=Path("results/README.md"))
    args = parser.parse_args(argv)
    write_results_page(args.out, args.report, args.benchmarks)
    print(f"wrote {args.out}")
    return 0
