"""Schema completeness and the defaults read from the schemas."""

import subprocess

import pytest
import yaml
from example_workflow import SNAKEMAKE

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


def _objects_without_closed_keys(schema, prefix=""):
    open_objects = []
    if "properties" in schema and schema.get("additionalProperties") is not False:
        open_objects.append(prefix or "(top level)")
    for key, prop in schema.get("properties", {}).items():
        open_objects += _objects_without_closed_keys(prop, f"{prefix}{key}.")
    return open_objects


def test_misspelt_keys_rejected_by_schemas():
    for section in (*SECTIONS, "config", "simulation", "cohorts"):
        schema = load_schema(section)
        assert _objects_without_closed_keys(schema) == [], section


def dry_run(repository, tmp_path, settings):
    """Dry-run the workflow with ``settings`` over the default config; return the result and output."""
    extra = tmp_path / "extra.yaml"
    extra.write_text(yaml.safe_dump(settings))
    command = [
        SNAKEMAKE,
        "--snakefile",
        str(repository / "workflow" / "Snakefile"),
        "--directory",
        str(repository),
        "--configfile",
        str(repository / "config" / "config.yaml"),
        str(extra),
        "--dry-run",
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    return result, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        ({"ga": {"n_run": 6}}, "invalid config section 'ga': Additional properties"),
        ({"ga": {"crossover_rate": 2}}, "key 'crossover_rate': 2 is greater than the maximum of 1"),
        ({"seed": -1}, "key 'seed': -1 is less than the minimum of 0"),
    ],
)
def test_invalid_config_named_in_short_message(repository, tmp_path, settings, expected):
    result, output = dry_run(repository, tmp_path, settings)
    assert result.returncode != 0
    assert expected in output
    assert "config/README.md" in output
    assert "Failed validating" not in output


@pytest.mark.parametrize(
    ("row", "expected"),
    [
        (
            "{plink}\tvcf\t{phenotypes}\tY1",
            "looks like a PLINK fileset but format is 'vcf'; set format to 'plink'",
        ),
        ("{vcf}\tplink\t\t", "looks like a VCF but format is 'plink'; set format to 'vcf'"),
        ("{vcf}\tvcf\t\t", "a VCF carries no case/control status"),
        (
            "{plink}\tplink\t{phenotypes}\tY3",
            "phenotype column 'Y3' not found in",
        ),
    ],
    ids=["plink-as-vcf", "vcf-as-plink", "vcf-without-phenotypes", "unknown-column"],
)
def test_cohort_sheet_mistakes_named_before_jobs(repository, shared_data, tmp_path, row, expected):
    sheet = tmp_path / "cohorts.tsv"
    filled = row.format(
        plink=shared_data / "plink" / "example",
        vcf=shared_data / "vcf" / "test.vcf.gz",
        phenotypes=shared_data / "plink" / "phenotype_bin.txt",
    )
    sheet.write_text(f"cohort\tgenotypes\tformat\tphenotypes\tphenotype_column\nmine\t{filled}\n")
    result, output = dry_run(repository, tmp_path, {"cohorts": str(sheet)})
    assert result.returncode != 0
    assert f"cohort sheet {sheet}, cohort 'mine': " in output
    assert expected in output


def test_missing_genotype_file_named_before_jobs(repository, shared_data, tmp_path):
    sheet = tmp_path / "cohorts.tsv"
    sheet.write_text(
        "cohort\tgenotypes\tformat\tphenotypes\tphenotype_column\n"
        f"mine\t{shared_data / 'plink' / 'exmple'}\tplink\t"
        f"{shared_data / 'plink' / 'phenotype_bin.txt'}\tY1\n"
    )
    result, output = dry_run(repository, tmp_path, {"cohorts": str(sheet)})
    assert result.returncode != 0
    assert f"genotypes file {shared_data / 'plink' / 'exmple.bed'} not found" in output
    assert "correct the 'genotypes' column" in output
