"""Training runs of the f3 paper (filled in by the f3 pipeline)."""

from __future__ import annotations

from typing import Any

from alttrain.grids import Settings


def training_runs(section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Resolved run configs of every f3 training experiment in section (the scale file's f3 entry)."""
    return []
