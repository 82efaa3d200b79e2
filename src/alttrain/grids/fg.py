"""Training runs of the fg paper (filled in by the fg pipeline)."""

from __future__ import annotations

from typing import Any

from alttrain.grids import Settings


def training_runs(section: dict[str, Any], settings: Settings) -> list[dict[str, Any]]:
    """Resolved run configs of every fg training experiment in section (the scale file's fg entry)."""
    return []
