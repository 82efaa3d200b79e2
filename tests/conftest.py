"""Shared test fixtures: repository paths, the vendored reference facts (tests/reference), a tiny run config."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent

torch.set_num_threads(1)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def reference() -> Path:
    """``tests/reference``: unchanged copies of the authors' tables and facts (provenance in its README)."""
    return REPO / "tests" / "reference"


@pytest.fixture(scope="session")
def env_with_venv() -> dict[str, str]:
    """Environment whose PATH starts with this interpreter's bin folder (Snakemake jobs call `python`)."""
    env = dict(os.environ)
    env["PATH"] = f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def tiny_run(**overrides) -> dict:
    """A complete, fast run config (sklearn digits, small MLP, backprop)."""
    base = {
        "paper": "fg",
        "experiment": "unit",
        "run_id": "mlp_bp",
        "seed": 0,
        "scale": "smoke",
        "dataset": {"name": "digits"},
        "model": {"name": "mlp", "hidden": [16]},
        "method": {"name": "bp"},
        "optimizer": {"name": "sgd", "lr": 0.1},
        "epochs": 2,
        "batch_size": 64,
    }
    base.update(overrides)
    return base
