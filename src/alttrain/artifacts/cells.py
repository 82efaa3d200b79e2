"""Table cells and row selection shared by every figure and table (pandas only, no plotting).

* :func:`has_rows`: a frame exists, has rows and the named columns;
* :func:`select`: the rows whose columns equal given values;
* :func:`format_cell`: the one table cell over seeds, status-aware (never prints a diverged run's number,
  never drops one);
* :func:`sig`, :func:`fmt_float`: one number.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from alttrain.results import diverged_mask


def has_rows(frame: pd.DataFrame | None, *columns: str) -> bool:
    """True when ``frame`` exists, has rows and has every column in ``columns``."""
    return frame is not None and not frame.empty and all(c in frame.columns for c in columns)


def select(frame: pd.DataFrame | None, **equal: object) -> pd.DataFrame:
    """Rows whose columns equal the given values; booleans are compared as booleans also when the CSV was read
    as strings. A missing frame gives an empty frame, a missing column no rows."""
    if frame is None:
        return pd.DataFrame()
    mask = pd.Series(True, index=frame.index)
    for column, value in equal.items():
        if column not in frame.columns:
            return frame.iloc[0:0]
        series = frame[column]
        if isinstance(value, bool):
            mask &= series.astype(str).str.lower() == str(value).lower()
        else:
            mask &= series == value
    return frame[mask]


def _epoch_label(rows: pd.DataFrame) -> str:
    """``epoch 3`` / ``epochs 2, 5`` from the ``diverged_epoch`` column of diverged rows ('' if unknown)."""
    if "diverged_epoch" not in rows.columns:
        return ""
    epochs = pd.to_numeric(rows["diverged_epoch"], errors="coerce").dropna()
    known = sorted({int(e) for e in epochs})
    if not known:
        return ""
    return f"epoch{'s' if len(known) > 1 else ''} {', '.join(map(str, known))}"


def format_cell(
    rows: pd.DataFrame,
    metric: str,
    *,
    digits: int = 2,
    scale: float = 1.0,
    missing: str = "–",
    significant: bool = False,
) -> str:
    """The one table cell over seeds, status-aware: never prints a diverged run's number, never drops one.

    Args:
        rows: one row per seed (an aggregated CSV's rows of one table cell); read are ``metric`` and, when
            present, ``status`` (training runs), ``diverged`` (closed-form sweeps) and ``diverged_epoch``.
        metric: the column to summarise.
        digits: decimals of mean and std (with ``significant``: significant digits, for values spanning many
            orders of magnitude such as closed-form function values). scale: factor applied to the values (e.g.
            100 for percent).
        missing: the cell when no row has a value.

    Returns:
        ``"97.10 ± 0.20"`` (mean and sample std, ddof=1, of the runs that did not diverge; one run prints its
        value alone); ``"97.10 ± 0.20 (1/3 diverged)"`` when some seeds diverged; ``"diverged (epoch 3)"``
        (or ``"diverged (epochs 2, 5)"``) when all did; a seed that neither diverged nor has a finite value
        is counted too: ``"97.10 (1/2 no value)"``. A run counts as diverged by its ``status``, its
        ``diverged`` flag or an infinite value.
    """
    if rows is None or rows.empty or metric not in rows.columns:
        return missing
    values = pd.to_numeric(rows[metric], errors="coerce").astype(float)
    diverged = diverged_mask(rows, values)
    valid = values[~diverged & np.isfinite(values)] * scale
    total, n_diverged = len(rows), int(diverged.sum())
    n_missing = total - n_diverged - len(valid)
    notes = [f"{n_diverged}/{total} diverged"] if n_diverged and len(valid) else []
    notes += [f"{n_missing}/{total} no value"] if n_missing and (len(valid) or n_diverged) else []
    if valid.empty:
        if not n_diverged:
            return missing
        label = _epoch_label(rows[diverged])
        if n_missing:
            label = ", ".join(filter(None, [f"{n_diverged}/{total}", label, f"{n_missing}/{total} no value"]))
        return f"diverged ({label})" if label else "diverged"
    style = "g" if significant else "f"
    cell = f"{valid.mean():.{digits}{style}}"
    if len(valid) > 1:
        cell += f" ± {valid.std(ddof=1):.{digits}{style}}"
    return cell + (f" ({'; '.join(notes)})" if notes else "")


def sig(value: float | None, digits: int = 4) -> str:
    """A number with ``digits`` significant digits (``"–"`` for a missing value)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    return f"{value:.{digits}g}"


def fmt_float(value: float | None, digits: int = 3) -> str:
    """A number with ``digits`` decimals, or an empty cell for a missing value."""
    return "" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.{digits}f}"
