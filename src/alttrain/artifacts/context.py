"""Provenance of a figure or table (scale, data sets, seeds) and the scale notes; no plotting imports."""

from __future__ import annotations

from dataclasses import dataclass

SCALE_NOTE = {
    "smoke": "smoke scale: tiny data, 1-2 epochs; tests the pipeline only, not comparable to the paper",
    "cpu": "cpu scale: scaled-down where stated; not comparable to the paper unless the settings match",
    "paper": "paper scale: the paper's settings",
}


@dataclass(frozen=True)
class Context:
    """Provenance of a figure or table: the scale, data sets and seeds of the rows it is drawn from."""

    scale: str
    datasets: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()

    @classmethod
    def from_frames(cls, scale: str, frames: dict) -> Context:
        datasets, seeds = set(), set()
        for frame in frames.values():
            if "dataset" in frame.columns:
                datasets.update(str(d) for d in frame["dataset"].dropna().unique())
            if "seed" in frame.columns:
                seeds.update(int(s) for s in frame["seed"].dropna().unique())
        return cls(scale, tuple(sorted(datasets)), tuple(sorted(seeds)))

    def footer(self) -> str:
        """One line: scale, data sets and seeds."""
        seeds = ", ".join(map(str, self.seeds)) if self.seeds else "n/a"
        data = "; ".join(self.datasets) if self.datasets else "n/a"
        return f"scale: {self.scale} | data: {data} | seeds: {seeds}"
