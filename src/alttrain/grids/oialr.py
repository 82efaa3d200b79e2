"""Training runs of the oialr paper (filled in by the oialr pipeline)."""

from __future__ import annotations

from typing import Any

from alttrain.grids import Settings


def training_runs(section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Resolved run configs of every oialr training experiment in section (the scale file's oialr entry)."""
    return []
