"""Documents written from the verification report: the regenerated papers' LaTeX parts and the results page.

* ``python -m alttrain paper-sources --paper P --out-dir paper/P/generated`` (rule ``write_paper_sources``):
  :mod:`.latex`;
* ``python -m alttrain results-readme``: :mod:`.readme`.
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


def results_readme_main(argv: list[str]) -> int:
    """``results-readme [--readme README.md]``: rewrite README's results block from the verification JSON."""
    from alttrain.writeup.readme import update_readme

    parser = argparse.ArgumentParser(prog="alttrain results-readme")
    parser.add_argument("--readme", type=Path, default=Path("README.md"))
    parser.add_argument("--report", type=Path, default=Path("results/verification/report.json"))
    parser.add_argument("--benchmarks", type=Path, default=Path("results/benchmarks"))
    args = parser.parse_args(argv)
    update_readme(args.readme, args.report, args.benchmarks)
    print(f"updated the results block of {args.readme}")
    return 0
