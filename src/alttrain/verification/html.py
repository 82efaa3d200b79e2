"""The verification report as one self-contained HTML page (inline CSS, figures as base64 PNGs)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path
from typing import Any

from alttrain.verification.checks import CLAIM_STATUSES, ENTRY_STATUSES
from alttrain.verification.report import (
    RANK_RULE_TEXT,
    check_text,
    data_label,
    fmt,
    published_text,
    rank_histogram,
    reproduced_text,
    tally_text,
)

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1300px;
color:#222;padding:0 1em}
h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:2em}h3{margin-top:1.5em}
table{border-collapse:collapse;margin:.5em 0 1em;font-size:.85em}
th,td{border:1px solid #ccc;padding:.25em .5em;vertical-align:top;text-align:left}
th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.s{font-weight:600;white-space:nowrap;border-radius:3px;padding:.05em .4em}
.pass{background:#c8ecc9;color:#145a17}.fail{background:#f8c4c4;color:#8a1010}
.not-comparable-at-this-scale,.not-applicable-at-this-scale{background:#dde6f3;color:#244a78}
.not-transcribed{background:#eee;color:#555}.not-run{background:#fbe5bd;color:#7a4b00}
figure{margin:1em 0;padding:.5em;border:1px solid #ddd;background:#fafafa}
figure img{max-width:100%;height:auto;background:white}figcaption{font-size:.85em;color:#333;margin-top:.4em}
.meta{color:#555;font-size:.9em}.filter{margin:.3em 0}.small{font-size:.8em;color:#666}
"""

# filt: the status filter of the entry tables. On load the page records on <body> how many images it has and how
# many did not decode (data-images, data-broken-images), which the headless-browser test reads.
SCRIPT = """
function filt(sel){var t=document.getElementById(sel.dataset.table);var v=sel.value;
for(var r of t.tBodies[0].rows){r.style.display=(v==='all'||r.dataset.status===v)?'':'none';}}
window.addEventListener('load',function(){var b=0;for(var i of document.images){if(!i.complete||i.naturalWidth===0)
{b++;}}document.body.setAttribute('data-images',document.images.length);
document.body.setAttribute('data-broken-images',b);});
"""


def _cls(status: str) -> str:
    return status.replace(" ", "-")


def badge(status: str) -> str:
    """A status coloured by its class."""
    return f'<span class="s {_cls(status)}">{escape(status)}</span>'


def _table(
    head: list[str], rows: list[list[str]], table_id: str = "", statuses: list[str] | None = None
) -> str:
    """An HTML table; cells are HTML already; rows carry data-status for the filter."""
    ident = f' id="{table_id}"' if table_id else ""
    body = []
    for index, row in enumerate(rows):
        status = f' data-status="{escape(statuses[index])}"' if statuses else ""
        body.append(f"<tr{status}>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>")
    return (
        f"<table{ident}><thead><tr>"
        + "".join(f"<th>{escape(h)}</th>" for h in head)
        + "</tr></thead><tbody>"
        + "".join(body)
        + "</tbody></table>"
    )


def _filter(table_id: str, statuses: tuple[str, ...]) -> str:
    options = "".join(f'<option value="{escape(s)}">{escape(s)}</option>' for s in ("all", *statuses))
    return (
        f'<div class="filter">show: <select data-table="{table_id}" onchange="filt(this)">{options}'
        "</select></div>"
    )


def _png(path: Path) -> str | None:
    if not path.is_file():
        return None
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode("ascii")


def markdown_table_html(path: Path) -> str | None:
    """A table written by :mod:`alttrain.artifacts.render` (caption line, blank line, pipe table) as HTML."""
    if not path.is_file():
        return None
    lines = path.read_text().splitlines()
    caption = " ".join(line for line in lines if line and not line.startswith("|"))
    rows = [[c.strip() for c in line.strip().strip("|").split("|")] for line in lines if line.startswith("|")]
    rows = [r for r in rows if not all(set(c) <= set("-: ") for c in r)]  # drop the |---| rule
    if not rows:
        return f"<p>{escape(caption)}</p>"
    return f"<p class='small'>{escape(caption.replace('**', ''))}</p>" + _table(
        rows[0], [[escape(c) for c in r] for r in rows[1:]]
    )


def _provenance(item: dict[str, Any]) -> str:
    seeds = ", ".join(map(str, item.get("seeds") or [])) or "–"
    scale = escape(str(item.get("scale") or "–"))
    return f"scale {scale}; data {escape(data_label(item))}; seeds {escape(seeds)}"


def _artifact_block(artifact_id: str, art: dict[str, Any], scale: str, tables_dir: Path) -> str:
    where = (
        f"{art['kind']} <b>{escape(artifact_id)}</b> · scale {escape(scale)} · data "
        f"{escape(', '.join(art['datasets']) or '–')} · seeds "
        f"{escape(', '.join(map(str, art['seeds'])) or '–')}"
        f" · verification: {escape(art['status'])}"
    )
    if not art["produced"]:
        scales = escape(", ".join(art["scales"]))
        return f"<p class='small'>{where}: not produced at this scale (scales: {scales})</p>"
    if art["kind"] == "figure":
        src = _png(Path(art["png"]))
        body = (
            f'<img alt="{escape(artifact_id)}" src="{src}">' if src else "<p><i>figure file not found</i></p>"
        )
    else:
        body = (
            markdown_table_html(tables_dir / art["paper"] / f"{artifact_id}.md")
            or "<p><i>table not found</i></p>"
        )
    return f"<figure>{body}<figcaption>{where}<br>{escape(art['caption'])}</figcaption></figure>"


def _binomial_band(trials: int, p: float, level: float = 0.99) -> tuple[int, int]:
    """Central ``level`` interval of a Binomial(trials, p) count."""
    from scipy import stats

    dist = stats.binom(trials, p)
    return int(dist.ppf((1 - level) / 2)), int(dist.ppf(1 - (1 - level) / 2))


def rank_histogram_svg(records: list[dict[str, Any]]) -> str:
    """Inline SVG, one panel per function: the references' rank histogram (:func:`rank_histogram`, lowest ranks =
    references better than our seeds on the left) against the uniform expectation (dashed) and its 99 %
    binomial band (grey; the band of randomized counts, which vary more than the fractional counts shown); bars
    outside the band are red."""
    panels = []
    width, height, pad, top_pad = 300, 170, 28, 40
    for r in records:
        counts = rank_histogram(r)
        bins, total = len(counts), round(sum(counts))
        low, high = _binomial_band(total, 1 / bins)
        top = max([*counts, high, 1])
        bar = (width - 2 * pad) / bins

        def y(count: float, top: float = top) -> float:
            return height - pad - (height - pad - top_pad) * count / top

        expected = total / bins
        shapes = [
            f'<rect x="{pad}" y="{y(high):.1f}" width="{width - 2 * pad}" height="{y(low) - y(high):.1f}" '
            'fill="#ddd"/>',
            f'<line x1="{pad}" x2="{width - pad}" y1="{y(expected):.1f}" y2="{y(expected):.1f}" '
            'stroke="#555" stroke-dasharray="3,2"/>',
        ]
        for index, count in enumerate(counts):
            colour = "#c0392b" if count > high or count < low else "#2e6da4"
            shapes.append(
                f'<rect x="{pad + index * bar + 1:.1f}" y="{y(count):.1f}" width="{max(bar - 2, 1):.1f}" '
                f'height="{height - pad - y(count):.1f}" fill="{colour}"><title>bin {index}: {count:.1f}</title></rect>'
            )
        p_value = "–" if r["p_value"] is None else f"{r['p_value']:.3g}"
        seeds = ", ".join(map(str, r["seeds"]))
        shapes += [
            f'<text x="{pad}" y="14" font-size="11">{escape(r["experiment"])}</text>',
            f'<text x="{pad}" y="28" font-size="10">{total} references, N = {seeds}; p = {p_value} '
            f"({escape(r['status'])})</text>",
            f'<text x="{pad}" y="{height - 10}" font-size="10">rank 0 (reference best)</text>',
            f'<text x="{width - pad}" y="{height - 10}" font-size="10" text-anchor="end">worst</text>',
        ]
        panels.append(
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
            f'aria-label="rank histogram {escape(r["experiment"])}">' + "".join(shapes) + "</svg>"
        )
    return "".join(panels)


def _calibration_block(report: dict[str, Any], paper: str) -> str:
    records = [r for r in report.get("calibration", []) if r["paper"] == paper]
    if not records:
        return ""
    rows = [
        [
            escape(r["experiment"]), escape(r["metric"]), escape(str(r["scale"])),
            escape(", ".join(r["datasets"]) or "–"), str(r["references"]), escape(", ".join(map(str, r["seeds"]))),
            fmt(r["statistic"]), fmt(r["p_value"]), badge(r["status"]),
            f"{r['cell_failures']} ({r['expected_cell_failures']:.1f} expected)",
        ]
        for r in records
    ]
    head = ["experiment", "metric", "scale", "data set", "references", "seeds N", "D", "p-value",
            "status", "cell failures"]
    caption = (
        f"Rank histograms ({escape(paper)}, scale {escape(str(records[0]['scale']))}): where each reference "
        "lies among our N seeds (fractional counts: a reference tied with seeds spreads one count over the ranks it "
        "may take; bins of equal probability; with N = 20 one bin per rank); "
        "bars outside the grey 99 % binomial band of a uniform histogram are red; the dashed line is the "
        "uniform expectation."
    )
    return (
        "<h3>Rank calibration</h3>" + f"<p class='small'>{escape(RANK_RULE_TEXT)}</p>" + _table(head, rows)
        + f"<figure>{rank_histogram_svg(records)}<figcaption>{caption}</figcaption></figure>"
    )


def render_html(report: dict[str, Any], tables_dir: Path = Path("results/tables")) -> str:
    """The whole report as a single HTML page."""
    scale = report["scale"]
    parts = [
        f"<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>Verification report ({scale})"
        f"</title><style>{CSS}</style><script>{SCRIPT}</script></head><body>",
        f"<h1>Verification report — scale <code>{escape(scale)}</code></h1>",
        "<p class='meta'>Published numbers (<code>paper/published/&lt;paper&gt;.yaml</code>) and claims "
        "checked against the aggregated CSVs (<code>results/metrics/&lt;paper&gt;/</code>). A number is "
        "compared only at "
        "the scales its entry lists; a scaled-down result is never presented as comparable to the paper.</p>",
        "<h2>Result checks (headline)</h2>",
        "<p class='meta'>Reproduced numbers, the papers' claims and the rank calibration per function. "
        "Configuration checks (settings equal to the authors') and sanity checks (claims that hold by "
        "construction) are counted apart, below the table.</p>",
    ]
    head = ["paper", *ENTRY_STATUSES, *(f"claims: {s}" for s in CLAIM_STATUSES), "calibration"]
    rows = [
        [
            escape(p),
            *(f"{badge(s) if t['entries'][s] else ''} {t['entries'][s]}" for s in ENTRY_STATUSES),
            *(f"{badge(s) if t['claims'][s] else ''} {t['claims'][s]}" for s in CLAIM_STATUSES),
            escape(tally_text(t["calibration"])),
        ]
        for p, t in report["counts"].items()
    ]
    parts.append(_table(head, rows))
    parts.append(
        _table(
            ["paper", "configuration checks", "sanity checks (hold by construction)"],
            [[escape(p), escape(tally_text(t["configuration"])), escape(tally_text(t["sanity"]))]
             for p, t in report["counts"].items()],
        )
    )
    for paper, meta in report["papers"].items():
        parts.append(f"<h2 id='{paper}'>{escape(paper)}: {escape(meta['title'])}</h2>")
        parts.append(
            f"<p class='meta'>arXiv {escape(meta['arxiv'])} · authors' code {escape(meta['code'] or '–')}</p>"
        )
        if meta.get("empty"):
            parts.append("<p><i>The published-numbers file of this paper is empty.</i></p>")
        if meta.get("tolerance_rule"):
            parts.append(f"<p><b>Tolerance rule.</b> {escape(meta['tolerance_rule'])}</p>")
        claims = [c for c in report["claims"] if c["paper"] == paper]
        parts.append("<h3>Claims</h3>")
        parts.append(
            _table(
                ["id", "sentence", "check", "provenance", "status", "detail"],
                [
                    [
                        escape(c["id"]),
                        escape(c["sentence"]),
                        escape(check_text(c["check"])),
                        _provenance(c),
                        badge(c["status"]) + (" <i>sanity check (holds by construction)</i>"
                                              if c.get("kind") == "sanity" else ""),
                        escape(c["detail"]),
                    ]
                    for c in claims
                ],
            )
        )
        parts.append(_calibration_block(report, paper))
        arts = {k: a for k, a in report.get("artifacts", {}).items() if a["paper"] == paper}
        if arts:
            parts.append("<h3>Figures and tables</h3>")
            parts += [_artifact_block(k, a, scale, tables_dir) for k, a in arts.items()]
        entries = [e for e in report["entries"] if e["paper"] == paper]
        table_id = f"entries-{paper}"
        parts.append(f"<h3>Published numbers ({len(entries)})</h3>")
        parts.append(_filter(table_id, ENTRY_STATUSES))
        parts.append(
            _table(
                [
                    "id",
                    "row",
                    "column",
                    "provenance",
                    "published",
                    "reproduced",
                    "rule",
                    "status",
                    "source",
                    "detail",
                ],
                [
                    [
                        escape(e["id"]) + (" <i>(configuration check)</i>"
                                           if e.get("kind") == "configuration" else ""),
                        escape(str(e["row"])),
                        escape(str(e["column"])),
                        _provenance(e),
                        escape(published_text(e)),
                        escape(reproduced_text(e)),
                        escape(e["tolerance_text"]),
                        badge(e["status"]),
                        escape(e["source"]),
                        escape(e["detail"]),
                    ]
                    for e in entries
                ],
                table_id,
                [e["status"] for e in entries],
            )
        )
    parts.append("</body></html>")
    return "\n".join(parts)
