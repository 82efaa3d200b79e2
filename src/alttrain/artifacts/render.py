"""Render a table DataFrame as Markdown and as a LaTeX booktabs table with a provenance caption."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from alttrain.artifacts.context import SCALE_NOTE
from alttrain.atomic import write_text

LATEX_ESCAPES = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
                 "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "±": r"$\pm$",
                 "|": r"\textbar{}", "<": r"\textless{}", ">": r"\textgreater{}"}


def latex_escape(text: str) -> str:
    """Escape LaTeX special characters (and typeset ± in math mode)."""
    return "".join(LATEX_ESCAPES.get(ch, ch) for ch in str(text))


def to_markdown(table: pd.DataFrame) -> str:
    """GitHub-flavoured Markdown table (no extra dependency)."""
    header = "| " + " | ".join(map(str, table.columns)) + " |"
    rule = "|" + "|".join("---" for _ in table.columns) + "|"
    rows = [
        "| " + " | ".join("" if pd.isna(v) else str(v) for v in row) + " |" for row in table.itertuples(index=False)
    ]
    return "\n".join([header, rule, *rows])


def to_latex(table: pd.DataFrame, caption: str, label: str) -> str:
    """booktabs table environment; cells escaped."""
    spec = "l" * len(table.columns)
    lines = [r"\begin{table}[htbp]", r"\centering", r"\small", rf"\caption{{{latex_escape(caption)}}}",
             rf"\label{{tab:{label}}}", r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%",
             rf"\begin{{tabular}}{{{spec}}}", r"\toprule",
             " & ".join(latex_escape(c) for c in table.columns) + r" \\", r"\midrule"]
    for row in table.itertuples(index=False):
        lines.append(" & ".join("" if pd.isna(v) else latex_escape(v) for v in row) + r" \\")
    lines += [r"\bottomrule", r"\end{tabular}}", r"\end{table}", ""]
    return "\n".join(lines)


def caption_of(spec, context) -> str:
    """The table's caption plus scale, data set and seeds."""
    return f"{spec.caption} [{context.footer()}; {SCALE_NOTE.get(context.scale, context.scale)}]"


def write_table(table: pd.DataFrame, context, spec, markdown: Path, latex: Path) -> None:
    """Write the Markdown (with a caption line) and the LaTeX files atomically."""
    caption = caption_of(spec, context)
    write_text(markdown, f"**{spec.id}**: {caption}\n\n{to_markdown(table)}\n")
    write_text(latex, to_latex(table, caption, spec.id))
