"""alttrain.workflow configuration: the scale overrides, and bad values that stop the workflow with one message
naming the key.

``alttrain.workflow.check_config`` is what the Snakefile runs before building the DAG (the top-level keys are
also checked end to end through ``snakemake -n`` in ``test_workflow.py``). Here: the shared definitions every
paper schema uses (seeds, epochs, learning rate, tangents k, method, data set) and, for every paper whose
schema exists, the same faults planted into its real smoke-scale section.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import pytest
import yaml

from alttrain.errors import UserError
from alttrain.workflow import check_config, deep_merge, scale_settings

REPO = Path(__file__).resolve().parents[1]
SCHEMA = REPO / "config" / "schema"


@pytest.fixture(scope="module")
def defs_schema(tmp_path_factory) -> Path:
    """A schema whose keys use common.schema.yaml's definitions (next to a copy of that file)."""
    folder = tmp_path_factory.mktemp("schema")
    shutil.copy(SCHEMA / "common.schema.yaml", folder / "common.schema.yaml")
    keys = ["seeds", "epochs", "learning_rate", "tangents", "method", "dataset", "optimizer"]
    schema = {"type": "object", "additionalProperties": False,
              "properties": {k: {"$ref": f"common.schema.yaml#/$defs/{k}"} for k in keys}}
    (folder / "defs.schema.yaml").write_text(yaml.safe_dump(schema))
    return folder / "defs.schema.yaml"


GOOD = {"seeds": [0, 1], "epochs": 3, "learning_rate": 0.01, "tangents": 4, "method": "fg",
        "dataset": "mnist", "optimizer": {"name": "adam", "lr": 1e-3}}


@pytest.mark.parametrize("key, value, words", [
    ("seeds", [], ("'seeds'", "non-empty")),
    ("seeds", [-1], ("'seeds.0'", "minimum")),
    ("seeds", "0", ("'seeds'", "array")),
    ("epochs", 0, ("'epochs'", "minimum 1")),
    ("epochs", 2.5, ("'epochs'", "integer")),
    ("learning_rate", 0, ("'learning_rate'", "exclusiveMinimum")),
    ("learning_rate", -0.1, ("'learning_rate'", "exclusiveMinimum")),
    ("learning_rate", "fast", ("'learning_rate'", "number")),
    ("tangents", 0, ("'tangents'", "minimum 1")),
    ("method", "magic", ("'method'", "bp, fg")),
    ("dataset", "imagenet22k", ("'dataset'", "mnist")),
    ("optimizer", {"name": "lion", "lr": 0.1}, ("'optimizer.name'", "adam")),
    ("optimizer", {"name": "sgd"}, ("'optimizer'", "lr")),
    ("typo", 1, ("typo", "unexpected")),
])
def test_shared_definitions_reject_bad_values(defs_schema, key, value, words):
    check_config(GOOD, defs_schema)  # the good values pass
    with pytest.raises(UserError) as err:
        check_config({**GOOD, key: value}, defs_schema)
    message = str(err.value)
    assert message.startswith("config key ") and "\n" not in message
    for word in words:
        assert word in message, message


# ---------------------------------------------------------------- paper sections of the smoke scale

MUTATIONS = {  # key name in a paper section -> a bad value of the kind the shared definitions forbid
    "seeds": [], "epochs": 0, "lr": 0, "learning_rate": -1.0, "k": 0, "tangents": 0, "batch_size": 0,
}


def smoke_config() -> dict:
    top = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    top["scale"] = "smoke"
    return deep_merge(scale_settings("smoke", REPO), top)


def paper_sections() -> list[str]:
    """Papers whose schema is written (more than the placeholder) and whose smoke section is non-empty."""
    config = smoke_config()
    return [p for p in ("fg", "oialr", "f3")
            if len((SCHEMA / f"{p}.schema.yaml").read_text().splitlines()) > 10 and config.get(p)]


def planted_faults(section: dict, path: tuple = ()) -> list[tuple[tuple, object]]:
    """(path, bad value) for the first occurrence of every key of MUTATIONS in a section."""
    found, seen = [], set()

    def walk(node, where):
        if isinstance(node, dict):
            for key, value in node.items():
                if key in MUTATIONS and key not in seen and isinstance(value, int | float | list):
                    seen.add(key)
                    found.append(((*where, key), MUTATIONS[key]))
                walk(value, (*where, key))
        elif isinstance(node, list):
            for i, item in enumerate(node):
                walk(item, (*where, i))

    walk(section, path)
    return found


def test_smoke_configuration_is_valid():
    check_config(smoke_config(), SCHEMA / "config.schema.yaml")


@pytest.mark.parametrize("paper", ["fg", "oialr", "f3"])
def test_faults_planted_in_a_paper_section_are_named(paper):
    if paper not in paper_sections():
        pytest.skip(f"the {paper} schema or smoke section is not written yet")
    full = smoke_config()
    config = {"scale": "smoke", "papers": [paper], paper: full[paper]}  # only this paper: faster to check
    faults = planted_faults(config[paper], (paper,))
    faults.append(((paper, "no_such_option"), 1))
    for path, value in faults:
        broken = copy.deepcopy(config)
        node = broken
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        with pytest.raises(UserError) as err:
            check_config(broken, SCHEMA / "config.schema.yaml")
        message = str(err.value)
        assert message.startswith(f"config key '{paper}"), f"{path}: {message}"
        assert str(path[-1]) in message or "should be" in message or "is less than" in message, message


def _repeated(paper: dict, override: dict, where: str = "") -> list[str]:
    """Dotted keys of ``override`` whose value equals the one ``paper`` already has (mappings compared key by key)."""
    found = []
    for key, value in override.items():
        if key in paper and isinstance(value, dict) and isinstance(paper[key], dict):
            found += _repeated(paper[key], value, f"{where}{key}.")
        elif key in paper and paper[key] == value:
            found.append(where + key)
    return found


@pytest.mark.parametrize("scale", ["smoke", "cpu"])
def test_scale_files_hold_only_what_differs_from_the_paper_grids(scale):
    """The grids are written once (paper.yaml); smoke.yaml and cpu.yaml repeat none of its values."""
    paper = yaml.safe_load((REPO / "config" / "scales" / "paper.yaml").read_text())
    override = yaml.safe_load((REPO / "config" / "scales" / f"{scale}.yaml").read_text())
    for dotted in override.pop("unset", []):
        *parents, last = dotted.split(".")
        node = paper
        for key in parents:
            node = node[key]
        del node[last]
    assert _repeated(paper, override) == []


def test_a_scale_that_unsets_an_unknown_key_is_refused(tmp_path):
    scales = tmp_path / "config" / "scales"
    scales.mkdir(parents=True)
    shutil.copy(REPO / "config" / "scales" / "paper.yaml", scales / "paper.yaml")
    (scales / "cpu.yaml").write_text("unset: [fg.closed_form.no_such_key]\n")
    with pytest.raises(UserError, match=r"'unset' names 'fg.closed_form.no_such_key'"):
        scale_settings("cpu", tmp_path)


def test_a_rule_writing_a_csv_the_catalog_does_not_know_stops_the_dag():
    """The experiment catalog reads each paper's CSVs from alttrain.pipelines.<paper>.CSVS; a rule output missing
    there stops the DAG while it is built (literal names only: wildcard outputs are training experiments)."""
    from types import SimpleNamespace

    from alttrain.workflow.dag import check_pipeline_csvs

    def rule(*outputs):
        return SimpleNamespace(name="r", output=list(outputs))

    check_pipeline_csvs([rule("results/metrics/f3/gap_reduction.csv", "results/metrics/f3/{experiment}.csv"),
                         rule("results/logs/x.log")])
    with pytest.raises(UserError, match=r"results/metrics/fg/no_such\.csv, which CSVS of alttrain.pipelines.fg"):
        check_pipeline_csvs([rule("results/metrics/fg/no_such.csv")])


@pytest.mark.parametrize(("definition", "registered", "not_in_grids"), [
    ("method", "alttrain.methods:list_methods", set()),
    ("dataset", "alttrain.data:list_datasets", {"synthetic"}),  # the rehearsal's stand-in, never in a grid
])
def test_the_schema_accepts_exactly_the_registered_names(definition, registered, not_in_grids):
    """Adding a method or data set to its registry without the schema (or the reverse) is caught here."""
    import importlib

    module, function = registered.split(":")
    names = set(getattr(importlib.import_module(module), function)())
    common = yaml.safe_load((SCHEMA / "common.schema.yaml").read_text())["$defs"][definition]
    enum = common["enum"] if "enum" in common else common["properties"]["name"]["enum"]
    assert set(enum) == names - not_in_grids
