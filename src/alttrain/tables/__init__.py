"""Tables: one module per table id (``<paper>_tab_<name>.py``), each with ``SPEC`` and ``build``.

A table module defines ``SPEC`` (an :class:`alttrain.figures.ArtifactSpec`) and::

    def build(frames: dict[str, pd.DataFrame], context: Context) -> pd.DataFrame

returning the table as printed (string cells such as ``"97.1 ± 0.2"``; the first columns are the row labels).
:mod:`alttrain.tables.render` turns it into Markdown and LaTeX (booktabs) with a caption that names scale,
data set and seeds.
"""

from __future__ import annotations

from alttrain.errors import UserError
from alttrain.figures import _discover


def table_modules() -> dict[str, object]:
    """Table id -> module, for every table module of this package."""
    return _discover("alttrain.tables")


def get_table(table_id: str):
    """The module of ``table_id``; an unknown id is a :class:`UserError` listing the known ones."""
    modules = table_modules()
    if table_id not in modules:
        raise UserError(f"unknown table {table_id!r}; known: {', '.join(sorted(modules))}")
    return modules[table_id]
