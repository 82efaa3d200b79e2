"""The shared layer of figures and tables: what every figure module and table module builds on.

A figure is a module ``alttrain/figures/<id>.py`` with ``SPEC`` and ``draw(frames, context) -> Figure``; a
table is a module ``alttrain/tables/<id>.py`` with ``SPEC`` and ``build(frames, context) -> DataFrame`` (string
cells, the first columns are the row labels). ``inputs`` are CSV names under ``results/metrics/<paper>/`` and
``frames`` maps each name to its DataFrame; both kinds read only aggregated CSVs and import no torch. Both are
found through :data:`FIGURES` and :data:`TABLES` (one :class:`alttrain.registry.Registry` each).

Modules of this package:

* :mod:`.context`: scale, data sets and seeds of a figure or table (:class:`Context`), the scale notes;
* :mod:`.cells`: row selection and the one status-aware table cell (:func:`~.cells.format_cell`);
* :mod:`.style`: matplotlib style, provenance footer, writing PDF and PNG;
* :mod:`.render`: a table as Markdown and LaTeX;
* :mod:`.fg`, :mod:`.oialr`, :mod:`.f3`: each paper's labels, orders and colours (no plotting);
* :mod:`.oialr_plot`, :mod:`.f3_plot`: drawing helpers shared by one paper's figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from alttrain.registry import Registry


@dataclass(frozen=True)
class ArtifactSpec:
    """What a figure or table is made from and how it is described.

    Attributes:
        id: the stable id of the paper's figure or table (e.g. ``fg_fig_closed_form``; listed in
            docs/methods/<paper>.md#figures-and-tables); the module's file name.
        paper: ``fg``, ``oialr`` or ``f3``.
        inputs: CSV names under ``results/metrics/<paper>/``.
        caption: one-paragraph description; scale, data set and seeds are appended automatically.
        scales: scales at which it is produced (default: all).
        experiments: the experiments it draws, when its CSVs hold several (``experiment`` column); only
            those rows count for the data sets and seeds it states. Empty: every row.
    """

    id: str
    paper: str
    inputs: tuple[str, ...]
    caption: str
    scales: tuple[str, ...] = ("smoke", "cpu", "paper")
    experiments: tuple[str, ...] = ()

    def own_rows(self, frames: dict):
        """``frames`` restricted to the rows of :attr:`experiments` (frames without that column are kept)."""
        if not self.experiments:
            return dict(frames)
        return {
            name: frame[frame["experiment"].isin(self.experiments)] if "experiment" in frame.columns else frame
            for name, frame in frames.items()
        }


FIGURES = Registry("figure", "alttrain.figures", module_attribute="SPEC")
TABLES = Registry("table", "alttrain.tables", module_attribute="SPEC")
KINDS = {"figure": FIGURES, "table": TABLES}
