"""Malformed published-numbers files are refused with a message naming the entry; the real files are valid."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from alttrain.errors import UserError
from alttrain.verification.published import load_published, validate_published
from alttrain.workflow.catalog import KnownExperiments
from conftest import REPO
from test_verify_statuses import PAPERS, entry, published

KNOWN = {"fc", "fc_curves"}


def refused(data, known=KNOWN) -> str:
    with pytest.raises(UserError) as err:
        validate_published(data, "fg.yaml", known)
    return str(err.value)


def test_a_valid_file_passes_and_gets_empty_lists():
    data = validate_published(published([entry()]), "fg.yaml", KNOWN)
    assert data["claims"] == [] and len(data["entries"]) == 1


def test_missing_id_names_the_entry_position():
    bad = entry()
    del bad["id"]
    message = refused(published([entry(id="ok"), bad]))
    assert "entries[1]" in message and "'id' is a required property" in message


def test_duplicate_id_names_the_id_and_the_first_use():
    message = refused(published([entry(id="same"), entry(id="other"), entry(id="same")]))
    assert "entry 'same' (entries[2])" in message and "duplicate id" in message and "entries[0]" in message


def test_duplicate_id_across_entries_and_claims():
    claim = {
        "id": "same",
        "sentence": "s",
        "source": "s",
        "scales": ["cpu"],
        "experiment": "fc",
        "check": {"kind": "threshold", "metric": "acc", "op": ">", "value": 1},
    }
    assert "duplicate id" in refused(published([entry(id="same")], [claim]))


@pytest.mark.parametrize("value", ["97.1", "97.1 %", [97.1], True])
def test_non_numeric_value_names_the_entry(value):
    message = refused(published([entry(id="fg_tab_x/bp/w256/test_acc", value=value)]))
    assert "entry 'fg_tab_x/bp/w256/test_acc'" in message and "'value'" in message


def test_unknown_experiment_names_the_entry_and_lists_the_known_ones():
    message = refused(published([entry(id="e1", experiment="fc_typo")]))
    assert (
        "entry 'e1'" in message and "unknown experiment 'fc_typo'" in message and "fc, fc_curves" in message
    )


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("tolerance", {"abs": -1.0}, "key 'tolerance.abs'"),
        ("tolerance", {"abs": 1.0, "rel": 0.1}, "key 'tolerance"),
        ("comparable_scales", ["laptop"], "'comparable_scales.0'"),
        ("reduce", "sum", "'reduce'"),
        ("version", "1", "'version'"),
        ("artifact", "oialr_tab_results", "not an id of paper 'fg'"),
    ],
)
def test_bad_fields_name_the_entry_and_key(field, value, expected):
    message = refused(published([entry(id="e1", **{field: value})]))
    assert "entry 'e1'" in message and expected in message


def test_claim_with_an_unknown_check_kind_names_the_claim():
    claim = {
        "id": "c1",
        "sentence": "s",
        "source": "s",
        "scales": ["cpu"],
        "experiment": "fc",
        "check": {"kind": "better", "metric": "acc"},
    }
    message = refused(published([], [claim]))
    assert "claim 'c1'" in message and "check.kind" in message


def test_claim_missing_a_key_of_its_check_kind():
    claim = {
        "id": "c1",
        "sentence": "s",
        "source": "s",
        "scales": ["cpu"],
        "experiment": "fc",
        "check": {"kind": "monotone", "x": "k", "y": "acc"},
    }
    message = refused(published([], [claim]))
    assert "claim 'c1'" in message and "'direction' is a required property" in message


def test_file_of_another_paper_and_bad_yaml(tmp_path):
    path = tmp_path / "oialr.yaml"
    path.write_text(yaml.safe_dump(published([entry()])))
    with pytest.raises(UserError, match="belongs to paper 'oialr'"):
        load_published(path, "oialr")
    path.write_text("entries: [unclosed")
    with pytest.raises(UserError, match="not valid YAML"):
        load_published(path, "oialr")


def test_an_empty_file_has_no_entries(tmp_path):
    path = tmp_path / "fg.yaml"
    path.write_text("")
    data = load_published(path, "fg")
    assert data["entries"] == [] and data["claims"] == [] and data["empty"]


@pytest.mark.parametrize("paper", PAPERS)
def test_the_real_published_files_are_valid(paper):
    data = load_published(REPO / "paper" / "published" / f"{paper}.yaml", paper, KnownExperiments(paper))
    for item in data["entries"]:
        # a published number needs its provenance; a null is a placeholder waiting for the PDF
        assert item["value"] is None or item["source"] != "paper (not transcribed)", item["id"]


def test_snakemake_refuses_a_malformed_published_file_before_any_job(tmp_path, env_with_venv):
    """A copy of the workflow whose fg file has a duplicate id: the dry run stops and names the entry."""
    copy = tmp_path / "repo"
    top = {".venv", ".git", ".snakemake", "results", "figures", ".pytest_cache", ".ruff_cache"}

    def skip(folder: str, names: list[str]) -> set[str]:  # outputs and caches, not src/alttrain/figures
        return {n for n in names if (folder == str(REPO) and n in top) or n in ("__pycache__", "generated")}

    shutil.copytree(REPO, copy, ignore=skip)
    bad = published([entry(id="fg_dup", experiment="fc"), entry(id="fg_dup", experiment="fc")])
    (copy / "paper" / "published" / "fg.yaml").write_text(yaml.safe_dump(bad))
    env = {**env_with_venv, "PYTHONPATH": str(copy / "src")}
    result = subprocess.run(
        [sys.executable, "-m", "snakemake", "-n", "--cores", "1", "--config", "scale=smoke"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode != 0
    assert "entry 'fg_dup' (entries[1])" in result.stdout + result.stderr
    assert "duplicate id" in result.stdout + result.stderr
    assert not (copy / "results").exists()
