"""Configuration defaults for running stages outside Snakemake.

The workflow's JSON schemas in ``workflow/schemas/`` are the single source of
every default. Snakemake fills them in when it validates the config; tests,
benchmarks and the in-process chain call :func:`default_config` to get the
same values.
"""

from __future__ import annotations

import copy
from pathlib import Path

import yaml

from fcsnet.errors import ConfigError

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "workflow" / "schemas"
SECTIONS = (
    "ingest",
    "qc",
    "split",
    "scan",
    "ga",
    "network",
    "communities",
    "crs",
    "subtypes",
    "attention",
    "report",
)


def _schema_defaults(schema: dict) -> dict:
    defaults = {}
    for key, prop in schema.get("properties", {}).items():
        if "default" in prop:
            defaults[key] = copy.deepcopy(prop["default"])
        elif prop.get("type") == "object" and "properties" in prop:
            defaults[key] = _schema_defaults(prop)
    for key, prop in schema.get("properties", {}).items():
        if (
            prop.get("type") == "object"
            and "properties" in prop
            and isinstance(defaults.get(key), dict)
        ):
            nested = _schema_defaults(prop)
            nested.update(defaults[key])
            defaults[key] = nested
    return defaults


def load_schema(section: str, schema_dir: str | Path | None = None) -> dict:
    """Load the JSON schema (YAML) of one config section."""
    path = Path(schema_dir or SCHEMA_DIR) / f"{section}.schema.yaml"
    if not path.exists():
        raise ConfigError(f"schema for config section {section!r} not found at {path}")
    with open(path) as stream:
        return yaml.safe_load(stream)


def default_config(overrides: dict | None = None, schema_dir: str | Path | None = None) -> dict:
    """Return every stage section with its schema defaults, updated by ``overrides``.

    ``overrides`` maps section names to dicts of keys; nested dicts are merged
    key by key. Unknown sections raise ConfigError.
    """
    config = {section: _schema_defaults(load_schema(section, schema_dir)) for section in SECTIONS}
    top = load_schema("config", schema_dir)
    config["seed"] = top["properties"]["seed"]["default"]
    for section, values in (overrides or {}).items():
        if section == "seed":
            config["seed"] = values
            continue
        if section not in config:
            raise ConfigError(f"unknown config section {section!r}; expected one of {SECTIONS}")
        _merge(config[section], values)
    return config


def _merge(target: dict, values: dict) -> None:
    for key, value in values.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = copy.deepcopy(value)
