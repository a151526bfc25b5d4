"""Schema completeness and the defaults read from the schemas."""

import yaml

from fcsnet.config import SECTIONS, default_config, load_schema


def _properties_without_description(schema, prefix=""):
    missing = []
    for key, prop in schema.get("properties", {}).items():
        if not str(prop.get("description", "")).strip():
            missing.append(prefix + key)
        missing += _properties_without_description(prop, f"{prefix}{key}.")
    return missing


def _properties_without_default(schema, prefix=""):
    missing = []
    for key, prop in schema.get("properties", {}).items():
        nested = prop.get("type") == "object" and "properties" in prop
        if "default" not in prop and not nested:
            missing.append(prefix + key)
        missing += _properties_without_default(prop, f"{prefix}{key}.")
    return missing


def test_every_schema_property_documented():
    for section in (*SECTIONS, "config", "simulation", "cohorts"):
        schema = load_schema(section)
        assert _properties_without_description(schema) == [], section


def test_every_config_key_has_default():
    for section in (*SECTIONS, "config", "simulation"):
        schema = load_schema(section)
        assert _properties_without_default(schema) == [], section


def test_default_config_keeps_example_valid(repository):
    config = yaml.safe_load((repository / "config" / "config.yaml").read_text())
    overrides = {section: config.get(section) or {} for section in SECTIONS}
    merged = default_config(overrides)
    assert merged["ga"]["n_runs"] >= 1
    assert merged["scan"]["enabled"] in (True, False)
