"""RunConfig: validation when loaded, unknown keys, fingerprints."""

import pytest
import yaml

from alttrain.config import RunConfig, load_run_config
from alttrain.errors import UserError
from conftest import tiny_run


def test_roundtrip_through_yaml(tmp_path):
    cfg = RunConfig.from_dict(tiny_run())
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(cfg.to_dict()))
    assert load_run_config(path) == cfg
    assert load_run_config(path).fingerprint() == cfg.fingerprint()


@pytest.mark.parametrize(
    ("override", "fragment"),
    [
        ({"epochs": -1}, "epochs must be a non-negative integer"),
        ({"batch_size": 0}, "batch_size must be a positive integer"),
        ({"optimizer": {"name": "sgd", "lr": 0.0}}, "optimizer.lr must be a positive number"),
        ({"loss": "hinge"}, "loss must be one of"),
        ({"model": {"hidden": [4]}}, "model needs a 'name'"),
    ],
)
def test_invalid_values_are_named(override, fragment):
    with pytest.raises(UserError, match=fragment):
        RunConfig.from_dict(tiny_run(**override))


def test_unknown_and_missing_keys():
    with pytest.raises(UserError, match=r"unknown run-config key\(s\) \['learning_rate'\]"):
        RunConfig.from_dict(tiny_run(learning_rate=0.1))
    raw = tiny_run()
    del raw["seed"]
    with pytest.raises(UserError, match=r"missing required key\(s\) \['seed'\]"):
        RunConfig.from_dict(raw)


def test_fingerprint_changes_with_any_setting():
    a = RunConfig.from_dict(tiny_run())
    b = RunConfig.from_dict(tiny_run(seed=1))
    c = RunConfig.from_dict(tiny_run(optimizer={"name": "sgd", "lr": 0.2}))
    assert len({a.fingerprint(), b.fingerprint(), c.fingerprint()}) == 3


def test_missing_and_malformed_files(tmp_path):
    with pytest.raises(UserError, match="does not exist"):
        load_run_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("epochs: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_run_config(bad)
