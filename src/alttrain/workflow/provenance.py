"""Captions and labels of the Snakemake report (``snakemake --report results/report.html``).

Data sets, seeds and the verification status of a figure or table are known only after the run, so they are
read from ``results/verification/report.json`` when the report is built:
- :func:`labels_function` gives the ``labels=`` of ``report()`` in ``figures.smk`` (called at report time);
- :func:`provenance_function` gives a ``params:`` entry whose value reads the JSON lazily, when the caption
  template (``workflow/report/artifact.rst``) accesses it. Its value is not a plain type, so Snakemake does
  not track it as a parameter: a new verification report never triggers a rerun of the figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

REPORT_JSON = Path("results/verification/report.json")
_RST_SPECIAL = str.maketrans({c: "\\" + c for c in "*`_|\\[]<>"})


def rst_escape(text: Any) -> str:
    """Text with reStructuredText markup characters escaped (captions come from Python strings)."""
    return " ".join(str(text).split()).translate(_RST_SPECIAL)


class ArtifactProvenance:
    """Scale, data sets, seeds and verification status of one figure or table, read on first use."""

    def __init__(self, paper: str, artifact: str, scale: str, report_json: Path = REPORT_JSON) -> None:
        self.paper, self.artifact, self.scale = paper, artifact, scale
        self.report_json = Path(report_json)

    def __repr__(self) -> str:  # stable: params are compared by repr
        return f"ArtifactProvenance({self.paper!r}, {self.artifact!r}, {self.scale!r})"

    @cached_property
    def _record(self) -> dict[str, Any]:
        if not self.report_json.is_file():
            return {}
        report = json.loads(self.report_json.read_text())
        record = dict(report.get("artifacts", {}).get(self.artifact, {}))
        record["title"] = report.get("papers", {}).get(self.paper, {}).get("title", "")
        record["report_scale"] = report.get("scale")
        return record

    @property
    def kind(self) -> str:
        return self._record.get("kind", "figure or table")

    @property
    def title(self) -> str:
        return rst_escape(self._record.get("title") or self.paper)

    @property
    def caption(self) -> str:
        return rst_escape(self._record.get("caption", ""))

    @property
    def datasets(self) -> str:
        return rst_escape(", ".join(self._record.get("datasets", [])) or "unknown (run the verify rule)")

    @property
    def seeds(self) -> str:
        return ", ".join(map(str, self._record.get("seeds", []))) or "unknown"

    @property
    def status(self) -> str:
        if not self._record:
            return "unknown (results/verification/report.json missing)"
        if self._record.get("report_scale") != self.scale:
            return f"unknown (the verification report is of scale {self._record.get('report_scale')})"
        return rst_escape(self._record.get("status", "no published numbers"))

    def labels(self) -> dict[str, str]:
        """Columns of the report's result table."""
        return {
            "paper": self.paper,
            "id": self.artifact,
            "scale": self.scale,
            "data set": self._record.get("datasets") and ", ".join(self._record["datasets"]) or "unknown",
            "seeds": self.seeds,
            "verification": self._record.get("status", "unknown"),
        }


def provenance_function(scale: str) -> Callable[[Any], ArtifactProvenance]:
    """``params: provenance=provenance_function(SCALE)`` of the figure and table rules."""

    def artifact_provenance(wildcards) -> ArtifactProvenance:
        return ArtifactProvenance(wildcards.paper, wildcards.artifact, scale)

    return artifact_provenance


def labels_function(scale: str) -> Callable[[Any], dict[str, str]]:
    """``report(..., labels=labels_function(SCALE))``: Snakemake calls the result when the report is built."""

    def artifact_labels(wildcards) -> dict[str, str]:
        return ArtifactProvenance(wildcards.paper, wildcards.artifact, scale).labels()

    return artifact_labels
