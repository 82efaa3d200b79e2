"""Build the verification report (a JSON-ready dict) and render it as Markdown and as a one-screen summary.

Results first: the headline counts are *result checks* (reproduced numbers, the papers' claims and the
rank-calibration test per function); *configuration checks* (settings equal to the authors', e.g. learning
rates) and *sanity checks* (claims that hold by construction) are counted apart.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Container, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alttrain.verification.checks import (
    CLAIM_STATUSES,
    ENTRY_STATUSES,
    FAIL,
    NOT_RUN,
    PASS,
    evaluate_claim,
    evaluate_entry,
    provenance,
)
from alttrain.verification.published import load_published
from alttrain.verification.ranks import calibration, pit_intervals

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
    "gap_to",
    "note",
)
CLAIM_KEYS = ("id", "sentence", "source", "scales", "experiment", "select", "check", "note")
CALIBRATION_THRESHOLD = 0.01  # a function's rank calibration fails when its p-value is below this
CALIBRATION_MIN_REFERENCES = 5  # fewer compared references: the calibration test is not run
# The calibration's null draws one seed per block of cells that share a seed's random numbers (ranks.calibration).
# Cells of one seed list form one block, except that cells differing in these selected columns use disjoint random
# numbers and are separate blocks: the closed-form sweep gives each dimension n its own segment of a seed's tangent
# block and starts from a deterministic point (fg_math/sweep.py); the authors restart a generator at seed 0 for every
# (n, approach), so their cells of one n share tangents like ours, and different n draw tangent matrices of
# different shapes (dependence assumed negligible). With one block the null has only N + 1 outcomes (p >= 1/21).
CALIBRATION_INDEPENDENT_BY = {
    "closed_form_sphere": ("n",),
    "closed_form_rosenbrock": ("n",),
    "closed_form_styblinski_tang": ("n",),
}
SANITY = "sanity check (holds by construction)"


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


def tolerance_text(entry: dict, tolerance_abs: float | None, result: dict | None = None) -> str:
    """Human-readable tolerance rule (and its absolute size, or the rank band, when known)."""
    rule = entry["tolerance"]
    if "rank" in rule:
        result = result or {}
        if result.get("band") and result.get("n"):
            low, high = result["band"]
            return (
                f"rank in [{low}, {high}] of 0..{result['n']} (false alarm {100 * result['alpha']:.1f} %, "
                f"stated {100 * rule['rank']:g} %)"
            )
        return f"rank rule, false alarm {100 * rule['rank']:g} %"
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
    from alttrain.artifacts import FIGURES, TABLES

    found = {}
    for kind, registry in (("figure", FIGURES), ("table", TABLES)):
        for artifact_id, module in registry.items():
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
            row["tolerance_text"] = tolerance_text(entry, result["tolerance_abs"], result)
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
    report["calibration"] = calibrations(report["entries"])
    report["counts"] = counts(report)
    report["artifacts"] = (
        _artifacts(scale, papers, store, report["entries"], Path(figures_dir)) if with_artifacts else {}
    )
    report["csvs"] = store.read()
    return report


def calibrations(entries: list[dict]) -> list[dict[str, Any]]:
    """One rank-calibration test per paper, experiment (function) and metric over its compared rank entries.

    Distance D of the references' mean non-randomized PIT CDF from the uniform CDF, p-value from the simulated
    permutation null (:func:`.ranks.calibration`); status
    ``fail`` below :data:`CALIBRATION_THRESHOLD`, ``not run`` with fewer than
    :data:`CALIBRATION_MIN_REFERENCES` compared references.
    """
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for e in entries:
        if e.get("rule") == "rank" and e["status"] in (PASS, FAIL):
            groups.setdefault((e["paper"], e["experiment"], e["metric"]), []).append(e)
    out = []
    for (paper, experiment, metric), items in groups.items():
        record: dict[str, Any] = {
            "paper": paper, "experiment": experiment, "metric": metric, "references": len(items),
            "seeds": sorted({e["n"] for e in items}), "threshold": CALIBRATION_THRESHOLD,
            "pit_intervals": pit_intervals(
                [e["rank"] for e in items], [e["rank_ties"] for e in items], [e["n"] for e in items]
            ).tolist(),
            "cell_failures": sum(e["status"] == FAIL for e in items),
            "expected_cell_failures": sum(e["alpha"] for e in items),
            "datasets": sorted({d for e in items for d in e.get("datasets") or []}),
            "scale": items[0]["scale"],
        }
        if len(items) < CALIBRATION_MIN_REFERENCES:
            record.update(statistic=None, p_value=None, draws=None, mc_error=None, status=NOT_RUN)
        else:
            # references whose cells list the same seeds share the null's drawn seed (ranks.calibration)
            blocks = [calibration_block(e) for e in items]
            test = calibration([e["null_ranks"] for e in items], blocks)
            record.update(
                statistic=test.statistic, p_value=test.p_value, draws=test.draws, mc_error=test.mc_error,
                status=PASS if test.p_value >= CALIBRATION_THRESHOLD else FAIL,
            )
        out.append(record)
    return out


def calibration_block(entry: dict) -> tuple:
    """The block of cells whose null draws share one seed (:data:`CALIBRATION_INDEPENDENT_BY`): the seed list
    and the selected values of the experiment's independent columns; an entry without seed ids is its own block."""
    if not entry.get("null_seeds"):
        return ("entry", entry["id"])
    columns = CALIBRATION_INDEPENDENT_BY.get(entry["experiment"], ())
    return (tuple(entry["null_seeds"]), *(str((entry.get("select") or {}).get(c)) for c in columns))


def counts(report: dict[str, Any]) -> dict[str, Any]:
    """Status counts per paper and in total.

    ``entries``: result entries (the headline); ``configuration``: configuration entries; ``claims``: the papers'
    claims; ``sanity``: claims that hold by construction; ``calibration``: rank-calibration tests.
    """
    out: dict[str, Any] = {}
    parts = (
        ("entries", "entries", ENTRY_STATUSES, lambda i: i.get("kind", "result") == "result"),
        ("configuration", "entries", ENTRY_STATUSES, lambda i: i.get("kind") == "configuration"),
        ("claims", "claims", CLAIM_STATUSES, lambda i: i.get("kind", "claim") == "claim"),
        ("sanity", "claims", CLAIM_STATUSES, lambda i: i.get("kind") == "sanity"),
        ("calibration", "calibration", (PASS, FAIL, NOT_RUN), lambda i: True),
    )
    for name, source, statuses, wanted in parts:
        for paper in [*report["papers"], "total"]:
            items = [i for i in report.get(source, []) if paper in ("total", i["paper"]) and wanted(i)]
            tally = Counter(i["status"] for i in items)
            out.setdefault(paper, {})[name] = {s: tally[s] for s in statuses}
    return out


def reproduced_text(e: dict[str, Any]) -> str:
    """The reproduced distribution of an entry: rank rule: median [min, max] over the seeds, diverged count and
    the reference's rank; else mean ± std (diverged count)."""
    n, diverged = e.get("n") or 0, e.get("n_diverged") or 0
    if e.get("rule") == "rank" and e.get("band"):
        gap = " (gap f - f*)" if e.get("gap_to") else ""
        ties = f" (+{e['rank_ties']} tied)" if e.get("rank_ties") else ""
        return (
            f"median {fmt(e['median'])} [{fmt(e['min'])}, {fmt(e['max'])}]{gap} over {n} seeds, {diverged} "
            f"diverged; reference rank {e['rank']}{ties} of 0..{n}"
        )
    text = fmt(e.get("reproduced"), e.get("reproduced_std"))
    return text + (f" ({diverged}/{n} diverged)" if diverged else "")


def published_text(e: dict[str, Any]) -> str:
    """The published value (and its gap to the minimum when the entry compares gaps)."""
    text = fmt(e["published"], e.get("published_std"))
    if e.get("gap_to") and e.get("published_gap") is not None and e["published"] is not None:
        text += f" (gap {fmt(e['published_gap'])})"
    return text


def claim_status(c: dict[str, Any]) -> str:
    """A claim's status, labelled as a sanity check when it holds by construction."""
    return f"{c['status']} ({SANITY})" if c.get("kind") == "sanity" else c["status"]


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


RANK_RULE_TEXT = (
    "Rank rule (single-draw references): the authors' value is one run, so if the implementation matches it is "
    "one more draw from the distribution of our N seeds and its rank r (the number of our values below it; "
    "diverged seeds rank worst) is uniform on 0..N. A reference fails when r lies outside [a, N - a], "
    "a = floor(alpha (N + 1) / 2) for the stated per-cell false-alarm rate alpha; the rate achieved is "
    "2a / (N + 1). Values equal within float round-off (1e-6 relative + 1e-9) are ties and may take any rank. "
    "Calibration: per function, D = max |mean PIT CDF - uniform CDF|, each reference contributing the uniform "
    "distribution on its PIT interval [r / (N + 1), (r + ties + 1) / (N + 1)] (non-randomized PIT, no random "
    "tie-breaking); p-value from 20,000 draws of the permutation null (the reference is one more seed: one "
    "uniformly drawn seed of the N + 1, shared by the cells with the same seeds; fixed seed, Monte Carlo "
    "standard error 0.0007 at p = 0.01); it fails below "
    f"p = {CALIBRATION_THRESHOLD}."
)


def tally_text(counts: dict[str, int]) -> str:
    """``3 pass, 1 fail`` (statuses with a count), or ``none``."""
    return ", ".join(f"{n} {s}" for s, n in counts.items() if n) or "none"


HISTOGRAM_BINS = 21  # bins of the rank histogram (= the ranks 0..20 of the cpu scale's 20 seeds)


def rank_histogram(record: dict[str, Any]) -> list[float]:
    """Fractional counts of the references' PIT intervals [rank / (N + 1), (rank + ties + 1) / (N + 1)] in equal
    bins of [0, 1): each reference adds the fraction of its interval that falls in a bin (a tie spreads one count
    over the ranks it may take; Czado, Gneiting and Held 2009). With one N and N + 1 <= :data:`HISTOGRAM_BINS` the
    bins are the ranks 0..N; with more seeds (or several N) they group neighbouring ranks. Under H0 every bin
    expects the same count."""
    n_values = max(record["seeds"]) + 1 if record["seeds"] else 1
    bins = n_values if len(record["seeds"]) == 1 and n_values <= HISTOGRAM_BINS else HISTOGRAM_BINS
    edges = np.linspace(0.0, 1.0, bins + 1)
    counts = np.zeros(bins)
    for low, high in record["pit_intervals"]:
        counts += np.clip(np.minimum(edges[1:], high) - np.maximum(edges[:-1], low), 0.0, None) / (high - low)
    return [round(float(c), 6) for c in counts]


def rank_histogram_text(record: dict[str, Any]) -> str:
    """:func:`rank_histogram` in one line (lowest ranks first; one decimal)."""
    return " ".join(f"{c:.1f}" for c in rank_histogram(record))


def render_markdown(report: dict[str, Any]) -> str:
    """The full report as Markdown: headline result checks, calibration, then per paper its claims, result
    entries, sanity checks and configuration entries."""
    lines = [
        f"# Verification report (scale {report['scale']})",
        "",
        "Published numbers (`paper/published/<paper>.yaml`) and claims, checked against the aggregated CSVs "
        "(`results/metrics/<paper>/`). A number is compared only at the scales its entry lists; elsewhere it is "
        "*not comparable at this scale*.",
        "",
        "## Result checks (headline)",
        "",
        "Reproduced numbers, the papers' claims and the rank calibration per function. Configuration checks "
        "(settings equal to the authors') and sanity checks (claims that hold by construction) are counted "
        "below, apart.",
        "",
        "| paper | numbers: " + " | ".join(ENTRY_STATUSES) + " | claims: " + " | ".join(CLAIM_STATUSES)
        + " | calibration pass | calibration fail |",
        "|---" * (3 + len(ENTRY_STATUSES) + len(CLAIM_STATUSES)) + "|",
    ]
    for paper, tally in report["counts"].items():
        cells = [tally["entries"][s] for s in ENTRY_STATUSES] + [tally["claims"][s] for s in CLAIM_STATUSES]
        cells += [tally["calibration"][PASS], tally["calibration"][FAIL]]
        lines.append(f"| {paper} | " + " | ".join(map(str, cells)) + " |")
    lines += ["", "## Configuration and sanity checks", "", "| paper | configuration | sanity checks |",
              "|---|---|---|"]
    for paper, tally in report["counts"].items():
        lines.append(f"| {paper} | {tally_text(tally['configuration'])} | {tally_text(tally['sanity'])} |")
    lines += ["", "## Rank calibration", "", RANK_RULE_TEXT, ""]
    if report.get("calibration"):
        lines += [
            "| paper | experiment | metric | scale | data set | references | seeds N | D | p-value | "
            "status | cell failures (expected by chance) | rank histogram, best first (counts per bin) |",
            "|---" * 12 + "|",
        ]
        for r in report["calibration"]:
            lines.append(
                f"| {r['paper']} | {r['experiment']} | {r['metric']} | {r['scale']} | "
                f"{_md(', '.join(r['datasets']) or '–')} | {r['references']} | "
                f"{', '.join(map(str, r['seeds']))} | {fmt(r['statistic'])} | {fmt(r['p_value'])} | "
                f"**{r['status']}** | {r['cell_failures']} ({r['expected_cell_failures']:.1f}) | "
                f"{rank_histogram_text(r)} |"
            )
    else:
        lines.append("No rank-rule reference was compared at this scale.")
    for paper, meta in report["papers"].items():
        lines += ["", f"## {paper}: {meta['title']} (arXiv {meta['arxiv']})", ""]
        if meta.get("empty"):
            lines += ["*The published-numbers file of this paper is empty.*", ""]
        if meta.get("tolerance_rule"):
            lines += [f"Tolerance rule: {_md(meta['tolerance_rule'])}", ""]
        claims = [c for c in report["claims"] if c["paper"] == paper]
        for title, kind in (("Claims", "claim"), ("Sanity checks (hold by construction)", "sanity")):
            mine = [c for c in claims if c.get("kind", "claim") == kind]
            if not mine:
                continue
            lines += [
                f"### {title}",
                "",
                "| id | sentence | check | scale | data set | status | detail |",
                "|---|---|---|---|---|---|---|",
            ]
            lines += [
                f"| {c['id']} | {_md(c['sentence'])} | {_md(check_text(c['check']))} | {c['scale']} | "
                f"{_md(data_label(c))} | **{claim_status(c)}** | {_md(c['detail'])} |"
                for c in mine
            ]
            lines.append("")
        entries = [e for e in report["entries"] if e["paper"] == paper]
        for title, kind in (("Published numbers (result checks)", "result"),
                            ("Configuration checks", "configuration")):
            mine = [e for e in entries if e.get("kind", "result") == kind]
            if not mine:
                continue
            lines += [
                f"### {title}",
                "",
                "| id | artifact | row | column | scale | data set | seeds | published | reproduced | rule "
                "| status | source | detail |",
                "|---" * 13 + "|",
            ]
            lines += [
                f"| {e['id']} | {e['artifact']} | {_md(e['row'])} | {_md(e['column'])} | {e['scale']} | "
                f"{_md(data_label(e))} | {len(e['seeds']) or '–'} | {_md(published_text(e))} | "
                f"{_md(reproduced_text(e))} | {_md(e['tolerance_text'])} | **{e['status']}** | "
                f"{_md(e['source'])} | {_md(e['detail'])} |"
                for e in mine
            ]
            lines.append("")
    return "\n".join(lines) + "\n"


def failures(report: dict[str, Any]) -> list[str]:
    """One line per failed result check (entry, claim, calibration), then per failed configuration or sanity
    check."""
    lines, later = [], []
    for e in report["entries"]:
        if e["status"] == FAIL:
            target = lines if e.get("kind", "result") == "result" else later
            what = "" if e.get("kind", "result") == "result" else "configuration "
            target.append(
                f"{e['paper']:<5} {what}{e['id']}: reproduced {reproduced_text(e)} vs published "
                f"{published_text(e)} ({e['tolerance_text']}; scale {e['scale']}, data {data_label(e)})"
            )
    for c in report["claims"]:
        if c["status"] == FAIL:
            target = lines if c.get("kind", "claim") == "claim" else later
            what = "claim" if c.get("kind", "claim") == "claim" else "sanity check"
            target.append(f"{c['paper']:<5} {what} {c['id']}: {check_text(c['check'])}: {c['detail']}")
    for r in report.get("calibration", []):
        if r["status"] == FAIL:
            lines.append(
                f"{r['paper']:<5} calibration {r['experiment']}/{r['metric']}: p = {r['p_value']:.2g} < "
                f"{r['threshold']} over {r['references']} references (N = {', '.join(map(str, r['seeds']))})"
            )
    return lines + later


def render_summary(
    report: dict[str, Any], html: str = "results/verification/report.html", max_failures: int = 10
) -> str:
    """The one-screen summary printed at the end of the workflow (fits 90 columns): result checks first."""
    short = {
        "not comparable at this scale": "not compar.",
        "not transcribed": "not transcr.",
        "not applicable at this scale": "not applic.",
    }
    lines = [f"=== verification, scale {report['scale']} " + "=" * 50, "RESULT CHECKS (headline)"]
    for name, part, statuses in (
        ("published numbers", "entries", ENTRY_STATUSES),
        ("claims", "claims", CLAIM_STATUSES),
    ):
        lines.append(f"{name:<18}" + "".join(f"{short.get(s, s):>13}" for s in statuses))
        for paper, tally in report["counts"].items():
            lines.append(f"  {paper:<16}" + "".join(f"{tally[part][s]:>13}" for s in statuses))
    for r in report.get("calibration", []):
        p_value = "–" if r["p_value"] is None else f"{r['p_value']:.3g}"
        lines.append(
            f"rank calibration {r['paper']} {r['experiment']}: {r['status']} (p = {p_value}, "
            f"{r['references']} references, N = {', '.join(map(str, r['seeds']))} seeds; cell failures "
            f"{r['cell_failures']}, {r['expected_cell_failures']:.1f} expected by chance)"
        )
    lines.append("(not compar. = not comparable at this scale; not applic. = not applicable at this scale)")
    total = report["counts"]["total"]
    lines.append(f"configuration checks (settings equal to the authors'): {tally_text(total['configuration'])}")
    lines.append(f"sanity checks (hold by construction): {tally_text(total['sanity'])}")
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
