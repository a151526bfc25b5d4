"""Lint and format checks of the workflow and the Python code."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

BIN = Path(sys.executable).parent


def run_tool(command: list[str], repository: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        command, cwd=repository, capture_output=True, text=True, timeout=300, check=False
    )


def test_snakemake_lint_clean(repository):
    result = run_tool([str(BIN / "snakemake"), "--lint", "--cores", "1"], repository)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert "Lints for" not in output, output[-4000:]


def test_snakefmt_check_clean(repository):
    result = run_tool([str(BIN / "snakefmt"), "--check", "workflow/"], repository)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


def test_ruff_check_clean(repository):
    result = run_tool([str(BIN / "ruff"), "check", "."], repository)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]


@pytest.mark.parametrize("env", ["genotypes", "selection", "network", "attention", "report"])
def test_conda_env_installs_fcsnet(repository, env):
    """Every rule group's env pins its packages and installs fcsnet after creation."""
    env_file = repository / "envs" / f"{env}.yaml"
    assert env_file.exists(), f"{env_file} is missing"
    spec = yaml.safe_load(env_file.read_text())
    assert spec["channels"][0] == "conda-forge"
    conda_packages = [item for item in spec["dependencies"] if isinstance(item, str)]
    unpinned = [item for item in conda_packages if "=" not in item]
    assert unpinned == [], f"{env_file}: unpinned packages {unpinned}"
    assert any(item.startswith("pip=") for item in conda_packages), f"{env_file} lacks pip"
    deploy = repository / "envs" / f"{env}.post-deploy.sh"
    assert "pip install --no-deps --editable" in deploy.read_text()


def rule_blocks(repository: Path) -> dict[str, tuple[Path, str]]:
    """Return the text of every rule (not ``all``) of the workflow, by name."""
    blocks = {}
    for path in sorted((repository / "workflow" / "rules").glob("*.smk")):
        lines = path.read_text().splitlines()
        starts = [
            index for index, line in enumerate(lines) if re.match(r"(rule|checkpoint) \w+:", line)
        ]
        for start in starts:
            end = start + 1
            while end < len(lines) and (not lines[end] or lines[end][0].isspace()):
                end += 1
            name = re.match(r"(?:rule|checkpoint) (\w+):", lines[start]).group(1)
            blocks[name] = (path, "\n".join(lines[start:end]))
    return blocks


def test_rules_declare_logs_resources_and_env(repository):
    blocks = rule_blocks(repository)
    assert "report_done" in blocks
    problems = []
    for name, (path, text) in blocks.items():
        for directive in ("log:", "benchmark:", "threads:", "resources:", "conda:"):
            if f"    {directive}" not in text:
                problems.append(f"{path.name}: rule {name} lacks {directive}")
        for resource in ("mem_mb=", "runtime="):
            if resource not in text:
                problems.append(f"{path.name}: rule {name} lacks the resource {resource[:-1]}")
        env = re.search(r"conda:\s*\n\s*\"([^\"]+)\"", text)
        if env and not (path.parent / env.group(1)).resolve().exists():
            problems.append(f"{path.name}: rule {name} names the missing env {env.group(1)}")
    assert problems == []


def test_rule_scripts_log_through_rule_logging(repository):
    """Every rule script runs inside rule_logging, so a failure names the rule and its input."""
    scripts = sorted((repository / "scripts").glob("*.py"))
    assert len(scripts) >= 10
    without = [
        path.name for path in scripts if "with rule_logging(snakemake)" not in path.read_text()
    ]
    assert without == []


def test_config_readme_lists_every_key(repository):
    """config/README.md carries the key tables generated from the current schemas."""
    from fcsnet.configdoc import render_key_tables

    readme = (repository / "config" / "README.md").read_text()
    assert render_key_tables() in readme, (
        "config/README.md is out of date; run: python -m fcsnet.configdoc --write config/README.md"
    )
