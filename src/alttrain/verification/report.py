"""Build the verification report (a JSON-ready dict) and render it as Markdown and as a one-screen summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from alttrain.verification.checks import (
    CLAIM_STATUSES,
    ENTRY_STATUSES,
    FAIL,
    evaluate_claim,
    evaluate_entry,
    provenance,
)
from alttrain.verification.published import load_published

ENTRY_KEYS = (
    "id",
    "version",
    "artifact",
    "row",
    "column",
    "experiment",
    "metric",
    "select",
    "reduce",
    "source",
    "comparable_scales",
    "tolerance",
    "note",
)
CLAIM_KEYS = ("id", "sentence", "source", "scales", "experiment", "select", "check", "note")


class CsvStore:
    """Aggregated CSVs by (paper, experiment), each read once.

    With ``paths`` (the CSVs the workflow built at this scale) only those are read, so a CSV left over from a
    run at another scale is never mixed in; without, any ``<metrics_dir>/<paper>/<experiment>.csv`` is read.
    """

    def __init__(self, metrics_dir: Path, paths: Iterable[str | Path] = ()) -> None:
        self.metrics_dir = Path(metrics_dir)
        self.paths = {(Path(p).parent.name, Path(p).stem): Path(p) for p in paths}
        self._frames: dict[tuple[str, str], pd.DataFrame | None] = {}

    def path(self, paper: str, experiment: str) -> Path:
        return self.paths.get((paper, experiment), self.metrics_dir / paper / f"{experiment}.csv")

    def frame(self, paper: str, experiment: str) -> pd.DataFrame | None:
        """The CSV as a DataFrame; None if it does not exist (or is not listed); an empty file is empty."""
        ident = (paper, experiment)
        if ident not in self._frames:
            path = self.path(paper, experiment)
            if not path.is_file() or (self.paths and ident not in self.paths):
                self._frames[ident] = None
            else:
                try:
                    self._frames[ident] = pd.read_csv(path)
                except pd.errors.EmptyDataError:
                    self._frames[ident] = pd.DataFrame()
        return self._frames[ident]

    def read(self) -> list[str]:
        """The CSV files read so far."""
        return sorted(str(self.path(*ident)) for ident, frame in self._frames.items() if frame is not None)


def tolerance_text(entry: dict, tolerance_abs: float | None) -> str:
    """Human-readable tolerance rule (and its absolute size when known)."""
    rule = entry["tolerance"]
    if "abs" in rule:
        return f"±{rule['abs']:g}"
    size = f" = ±{tolerance_abs:.3g}" if tolerance_abs is not None else ""
    if "rel" in rule:
        return f"±{100 * rule['rel']:g}%{size}"
    floor = f", ≥{rule['abs_floor']:g}" if rule.get("abs_floor") else ""
    return f"±{rule['std']:g}·std{floor}{size}"


def _artifact_status(entries: list[dict]) -> str:
    if not entries:
        return "no published numbers"
    counts = Counter(e["status"] for e in entries)
    return ", ".join(f"{counts[s]} {s}" for s in ENTRY_STATUSES if counts[s])


def _artifacts(
    scale: str, papers: list[str], store: CsvStore, entries: list[dict], figures_dir: Path
) -> dict[str, dict]:
    """Every figure and table of the papers: produced here?, data sets, seeds, verification status."""
    from alttrain.figures import figure_modules
    from alttrain.tables import table_modules

    found = {}
    for kind, modules in (("figure", figure_modules()), ("table", table_modules())):
        for artifact_id, module in sorted(modules.items()):
            spec = module.SPEC
            if spec.paper not in papers:
                continue
            frames = {name: store.frame(spec.paper, Path(name).stem) for name in spec.inputs}
            frames = spec.own_rows({n: f for n, f in frames.items() if f is not None and not f.empty})
            frames = [f for f in frames.values() if not f.empty]
            prov = provenance(pd.concat(frames, ignore_index=True) if frames else None)
            mine = [e for e in entries if e["paper"] == spec.paper and e["artifact"] == artifact_id]
            png = figures_dir / spec.paper / f"{artifact_id}.png"
            found[artifact_id] = {
                "paper": spec.paper,
                "kind": kind,
                "caption": spec.caption,
                "scales": list(spec.scales),
                "produced": scale in spec.scales,
                "inputs": list(spec.inputs),
                **prov,
                "status": _artifact_status(mine),
                "png": str(png) if kind == "figure" else None,
            }
    return found


def build_report(
    scale: str,
    papers: list[str],
    published: Path | dict[str, Path],
    store: CsvStore,
    known: dict[str, Container[str]] | None = None,
    figures_dir: Path = Path("figures"),
    with_artifacts: bool = True,
) -> dict[str, Any]:
    """Evaluate every entry and claim of the papers' published files at this scale.

    Args:
        scale: the workflow's scale.
        papers: paper ids.
        published: folder of ``<paper>.yaml``, or the file of each paper.
        store: the aggregated CSVs.
        known: per paper, the experiments the workflow can produce (None skips that check).
        figures_dir: where ``<paper>/<id>.png`` figures are.
        with_artifacts: also list figures and tables (imports the figure modules).
    """
    report: dict[str, Any] = {"scale": scale, "papers": {}, "entries": [], "claims": []}
    for paper in papers:
        data = load_published(
            published[paper] if isinstance(published, dict) else Path(published) / f"{paper}.yaml",
            paper,
            None if known is None else known[paper],
        )
        report["papers"][paper] = {k: data.get(k, "") for k in ("title", "arxiv", "code", "tolerance_rule")}
        report["papers"][paper]["empty"] = bool(data.get("empty"))
        for entry in data["entries"]:
            result = evaluate_entry(entry, store.frame(paper, entry["experiment"]), scale)
            row = {
                "paper": paper,
                **{k: entry.get(k) for k in ENTRY_KEYS},
                "published": entry["value"],
                "published_std": entry.get("std"),
                **result,
            }
            row["reduce"] = row["reduce"] or "mean"
            row["tolerance_text"] = tolerance_text(entry, result["tolerance_abs"])
            row["csv"] = str(store.path(paper, entry["experiment"]))
            report["entries"].append(row)
        for claim in data["claims"]:
            result = evaluate_claim(claim, store.frame(paper, claim["experiment"]), scale)
            report["claims"].append(
                {
                    "paper": paper,
                    **{k: claim.get(k) for k in CLAIM_KEYS},
                    **result,
                    "csv": str(store.path(paper, claim["experiment"])),
                }
            )
    report["counts"] = counts(report)
    report["artifacts"] = (
        _artifacts(scale, papers, store, report["entries"], Path(figures_dir)) if with_artifacts else {}
    )
    report["csvs"] = store.read()
    return report


def counts(report: dict[str, Any]) -> dict[str, Any]:
    """Status counts of entries and claims, overall and per paper."""
    out: dict[str, Any] = {}
    for name, statuses in (("entries", ENTRY_STATUSES), ("claims", CLAIM_STATUSES)):
        for paper in [*report["papers"], "total"]:
            items = [i for i in report[name] if paper in ("total", i["paper"])]
            tally = Counter(i["status"] for i in items)
            out.setdefault(paper, {})[name] = {s: tally[s] for s in statuses}
    return out


def fmt(value: Any, std: Any = None) -> str:
    """A number with 4 significant digits (and ± std); a dash for missing."""
    if value is None:
        return "–"
    text = f"{value:.4g}" if isinstance(value, int | float) else str(value)
    return f"{text} ± {std:.2g}" if isinstance(std, int | float) else text


def data_label(item: dict) -> str:
    """Data set(s) of an entry or claim, or a dash."""
    return ", ".join(item.get("datasets") or []) or "–"


def check_text(check: dict) -> str:
    """A claim's check in one line."""
    kind = check["kind"]
    group = f" per {', '.join(check['group_by'])}" if check.get("group_by") else ""
    if kind == "monotone":
        return f"{check['y']} {check['direction']} in {check['x']}{group}"
    better = ">" if check.get("higher_is_better", True) else "<"
    if kind == "ordering":
        return f"{check['metric']}: {f' {better} '.join(map(str, check['order']))} (by {check['by']}){group}"
    if kind == "at_least":
        margin = check.get("margin", 0)
        return f"{check['metric']}: {check['better']} {better} {check['worse']} by ≥ {margin}{group}"
    return f"{check.get('reduce', 'mean')}({check['metric']}) {check['op']} {check['value']}{group}"


def _md(text: Any) -> str:
    return str(text if text is not None else "").replace("|", "\\|").replace("\n", " ")


def render_markdown(report: dict[str, Any]) -> str:
    """The full report as Markdown: a summary table, then per paper its claims and published numbers."""
    lines = [
        f"# Verification report (scale {report['scale']})",
        "",
        "Published numbers (`paper/published/<paper>.yaml`) and claims, checked against the aggregated CSVs "
        "(`results/metrics/<paper>/`). A number is compared only at the scales its entry lists; elsewhere "
        "it is "
        "*not comparable at this scale*.",
        "",
        "## Summary",
        "",
        "| paper | " + " | ".join([*ENTRY_STATUSES, *(f"claims {s}" for s in CLAIM_STATUSES)]) + " |",
        "|---" * (1 + len(ENTRY_STATUSES) + len(CLAIM_STATUSES)) + "|",
    ]
    for paper, tally in report["counts"].items():
        cells = [tally["entries"][s] for s in ENTRY_STATUSES] + [tally["claims"][s] for s in CLAIM_STATUSES]
        lines.append(f"| {paper} | " + " | ".join(map(str, cells)) + " |")
    for paper, meta in report["papers"].items():
        lines += ["", f"## {paper}: {meta['title']} (arXiv {meta['arxiv']})", ""]
        if meta.get("empty"):
            lines += ["*The published-numbers file of this paper is empty.*", ""]
        if meta.get("tolerance_rule"):
            lines += [f"Tolerance rule: {_md(meta['tolerance_rule'])}", ""]
        claims = [c for c in report["claims"] if c["paper"] == paper]
        lines += [
            "### Claims",
            "",
            "| id | sentence | check | scale | data set | status | detail |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {c['id']} | {_md(c['sentence'])} | {_md(check_text(c['check']))} | {c['scale']} | "
            f"{_md(data_label(c))} | **{c['status']}** | {_md(c['detail'])} |"
            for c in claims
        ]
        entries = [e for e in report["entries"] if e["paper"] == paper]
        lines += [
            "",
            "### Published numbers",
            "",
            "| id | artifact | row | column | scale | data set | seeds | published | reproduced | tolerance "
            "| status | source | detail |",
            "|---" * 13 + "|",
        ]
        lines += [
            f"| {e['id']} | {e['artifact']} | {_md(e['row'])} | {_md(e['column'])} | {e['scale']} | "
            f"{_md(data_label(e))} | {len(e['seeds']) or '–'} | {fmt(e['published'], e['published_std'])} | "
            f"{fmt(e['reproduced'], e['reproduced_std'])} | {e['tolerance_text']} | **{e['status']}** | "
            f"{_md(e['source'])} | {_md(e['detail'])} |"
            for e in entries
        ]
    return "\n".join(lines) + "\n"


def failures(report: dict[str, Any]) -> list[str]:
    """One line per failed entry or claim: reproduced vs published."""
    lines = []
    for e in report["entries"]:
        if e["status"] == FAIL:
            lines.append(
                f"{e['paper']:<5} {e['id']}: reproduced {fmt(e['reproduced'])} vs published "
                f"{fmt(e['published'])} (tolerance {e['tolerance_text']}; scale {e['scale']}, "
                f"data {data_label(e)})"
            )
    for c in report["claims"]:
        if c["status"] == FAIL:
            lines.append(f"{c['paper']:<5} claim {c['id']}: {check_text(c['check'])}: {c['detail']}")
    return lines


def render_summary(
    report: dict[str, Any], html: str = "results/verification/report.html", max_failures: int = 10
) -> str:
    """The one-screen summary printed at the end of the workflow (fits 90 columns)."""
    short = {
        "not comparable at this scale": "not compar.",
        "not transcribed": "not transcr.",
        "not applicable at this scale": "not applic.",
    }
    lines = [f"=== verification, scale {report['scale']} " + "=" * 50]
    for name, part, statuses in (
        ("published numbers", "entries", ENTRY_STATUSES),
        ("claims", "claims", CLAIM_STATUSES),
    ):
        lines.append(f"{name:<18}" + "".join(f"{short.get(s, s):>13}" for s in statuses))
        for paper, tally in report["counts"].items():
            lines.append(f"  {paper:<16}" + "".join(f"{tally[part][s]:>13}" for s in statuses))
    lines.append("(not compar. = not comparable at this scale; not applic. = not applicable at this scale)")
    failed = failures(report)
    if failed:
        lines.append(f"failed ({len(failed)}):")
        lines += ["  " + line for line in failed[:max_failures]]
        if len(failed) > max_failures:
            lines.append(f"  ... and {len(failed) - max_failures} more")
    else:
        lines.append("failed: none")
    lines.append(f"full report: {html} (also report.md, report.json)")
    return "\n".join(lines) + "\n"
