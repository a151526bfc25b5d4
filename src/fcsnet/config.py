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
        if prop.get("type") == "object" and "properties" in prop and isinstance(defaults.get(key), dict):
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


def _format_default(value) -> str:
    return "`" + yaml.safe_dump(value, default_flow_style=True).strip().removesuffix("...").strip() + "`"


def _describe_properties(schema: dict, prefix: str, rows: list[str]) -> None:
    for key, prop in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        description = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        kind = prop.get("type", "")
        if isinstance(kind, list):
            kind = " or ".join(kind)
        if "enum" in prop:
            kind = ", ".join(f"`{value}`" for value in prop["enum"])
        nested = prop.get("type") == "object" and "properties" in prop
        default = "" if nested else _format_default(prop.get("default"))
        rows.append(f"| `{name}` | {kind} | {default} | {description} |")
        if nested:
            _describe_properties(prop, f"{name}.", rows)


def render_config_reference(schema_dir: str | Path | None = None) -> str:
    """Render the Markdown reference of every config key from the schemas.

    ``config/README.md`` is this text; a test keeps the two equal, so edit
    the schemas and regenerate with ``fcsnet config-reference``.
    """
    lines = [
        "# Configuration reference",
        "",
        "`config/config.yaml` sets the analysis; keys left out take the default",
        "below. This file is generated from the JSON schemas in `workflow/schemas/`",
        "by `fcsnet config-reference > config/README.md`; edit the schemas, not",
        "this file.",
        "",
    ]
    top = load_schema("config", schema_dir)
    lines += ["## Top-level keys", "", "| key | type | default | description |", "|---|---|---|---|"]
    _describe_properties(top, "", lines)
    cohorts = load_schema("cohorts", schema_dir)
    lines += [
        "",
        "## Cohort sheet",
        "",
        " ".join(str(cohorts.get("description", "")).split()),
        "Tab-separated, one row per cohort; empty cells take the default.",
        "",
        "| column | type | default | description |",
        "|---|---|---|---|",
    ]
    required = set(cohorts.get("required", []))
    for key, prop in cohorts["properties"].items():
        kind = prop.get("type", "")
        if isinstance(kind, list):
            kind = " or ".join(kind)
        if "enum" in prop:
            kind = ", ".join(f"`{value}`" for value in prop["enum"])
        default = "required" if key in required else _format_default(prop.get("default"))
        description = " ".join(str(prop.get("description", "")).split()).replace("|", "\\|")
        lines.append(f"| `{key}` | {kind} | {default} | {description} |")
    simulation = load_schema("simulation", schema_dir)
    sections = [("simulations.<name>", simulation)]
    sections += [(section, load_schema(section, schema_dir)) for section in SECTIONS]
    for name, schema in sections:
        lines += ["", f"## `{name}`", ""]
        summary = " ".join(str(schema.get("description", "")).split())
        if summary:
            lines += [summary, ""]
        lines += ["| key | type | default | description |", "|---|---|---|---|"]
        _describe_properties(schema, f"{name}.", lines)
    return "\n".join(lines) + "\n"
