"""Packaging: pins agree across pyproject, environment.yml and envs/*.yaml; the README's two commands; CI."""

from __future__ import annotations

import re
import tomllib

import yaml

from conftest import REPO


def _pins(requirements: list[str]) -> dict[str, str]:
    pins = {}
    for req in requirements:
        match = re.fullmatch(r"\s*([A-Za-z0-9_.\-]+)==([^\s;#]+).*", req)
        if match:
            pins[match.group(1).lower().replace("_", "-")] = match.group(2)
    return pins


def _pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def test_runtime_dependencies_are_pinned():
    deps = _pyproject()["project"]["dependencies"]
    unpinned = [d for d in deps if "==" not in d]
    assert not unpinned, f"unpinned runtime dependencies: {unpinned}"
    pins = _pins(deps)
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"
    assert pins["snakemake"].startswith("9.")
    for needed in ("timm", "matplotlib", "seaborn", "pandas", "scikit-learn", "tqdm", "pyyaml", "mlxtend",
                   "snakemake-executor-plugin-slurm"):
        assert needed in pins, needed


def test_environment_yml_installs_the_package_with_python_311():
    env = yaml.safe_load((REPO / "environment.yml").read_text())
    deps = env["dependencies"]
    assert "python=3.11" in deps
    pip = next(d["pip"] for d in deps if isinstance(d, dict) and "pip" in d)
    assert any(line.startswith("-e .") for line in pip), "environment.yml must pip-install this package"


def test_rule_environments_use_the_same_pins():
    project = _pins(_pyproject()["project"]["dependencies"])
    for path in sorted((REPO / "envs").glob("*.yaml")):
        env = yaml.safe_load(path.read_text())
        for dep in env["dependencies"]:
            if isinstance(dep, dict):
                for name, version in _pins(dep.get("pip", [])).items():
                    assert project.get(name) == version, f"{path.name}: {name}=={version} vs pyproject"


def test_readme_quick_start_shows_the_two_commands_first():
    readme = (REPO / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    commands = re.findall(r"^(make \w+)$", quick, flags=re.M)
    assert commands[:2] == ["make reproduce", "make test"]


def test_ci_runs_the_readme_test_command():
    script = (REPO / ".ci/run").read_text()
    assert re.search(r"^make test$", script, flags=re.M)
