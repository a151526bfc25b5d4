import math
import os
import re
from pathlib import Path

import pandas as pd
from jsonschema.exceptions import ValidationError
from snakemake.exceptions import WorkflowError
from snakemake.utils import min_version, validate

min_version("9.0")

# The conda environments' post-deploy scripts (envs/*.post-deploy.sh) install
# the fcsnet package from this repository; they read its path from here.
os.environ.setdefault("FCSNET_REPOSITORY", str(Path(workflow.basedir).parent))


def validate_or_explain(data, schema, where):
    """Validate ``data`` against ``schema``; on failure raise one short message.

    Snakemake's own message prints the whole schema after the error; this one
    names the offending key (or sheet row and column), the problem and where
    the allowed values are described.
    """
    try:
        validate(data, schema)
    except WorkflowError as error:
        cause = error.__cause__ or error.__context__
        if not isinstance(cause, ValidationError):
            raise
        row = re.search(r"row (\d+)", str(error.args[0]))
        location = ".".join(str(part) for part in cause.absolute_path)
        if row:
            where = f"{where}, data row {int(row.group(1)) + 1}"
        if location:
            where = f"{where}: key {location!r}"
        raise WorkflowError(
            f"invalid {where}: {cause.message}. The keys, allowed values and "
            "defaults are listed in config/README.md."
        ) from None


# Configuration: the top-level keys first, then one schema per stage, so
# that each stage's keys are described (with their defaults) beside the
# stage's name. Validation fills in every default before any rule runs.
validate_or_explain(config, "../schemas/config.schema.yaml", "config")

CONFIG_SECTIONS = [
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
]
for section in CONFIG_SECTIONS:
    config.setdefault(section, {})
    validate_or_explain(
        config[section],
        f"../schemas/{section}.schema.yaml",
        f"config section {section!r}",
    )

for name, simulation in config.get("simulations", {}).items():
    validate_or_explain(
        simulation, "../schemas/simulation.schema.yaml", f"config 'simulations.{name}'"
    )


# Cohort sheet: one row per cohort, analysed independently.
def read_cohort_sheet(path):
    if not Path(path).exists():
        raise ValueError(
            f"cohort sheet {path} (config key 'cohorts') not found; "
            "point 'cohorts' at a tab-separated sheet as described in config/README.md"
        )
    sheet = pd.read_csv(path, sep="\t", dtype=str, comment="#", keep_default_na=False)
    sheet.columns = [column.strip() for column in sheet.columns]
    sheet = sheet.map(lambda value: value.strip() if isinstance(value, str) else value)
    # Empty cells mean "not given": drop them so that schema defaults apply.
    sheet = sheet.replace({"": None})
    validate_or_explain(sheet, "../schemas/cohorts.schema.yaml", f"cohort sheet {path}")
    duplicated = sheet["cohort"][sheet["cohort"].duplicated()].tolist()
    if duplicated:
        raise ValueError(
            f"cohort sheet {path}: cohort names must be unique; repeated: {duplicated}"
        )
    for row in sheet.itertuples(index=False):
        problem = cohort_row_problem(row._asdict())
        if problem:
            raise WorkflowError(
                f"cohort sheet {path}, cohort {row.cohort!r}: {problem}"
            )
    return sheet.set_index("cohort", drop=False)


VCF_SUFFIXES = (".vcf", ".vcf.gz", ".vcf.bgz", ".bcf")
PLINK_SUFFIXES = (".bed", ".bim", ".fam")


def missing_input(path, genotype_format, column):
    """Return the first file of a sheet cell that does not exist, or None.

    Paths under results/ are made by the workflow itself (the simulated
    example) and are not checked.
    """
    if not path or Path(path).parts[:1] == ("results",):
        return None
    if column in ("genotypes", "case_only_genotypes") and genotype_format == "plink":
        prefix = path[: -len(".bed")] if path.endswith(".bed") else path
        paths = [f"{prefix}{suffix}" for suffix in PLINK_SUFFIXES]
    else:
        paths = [path]
    return next(
        (candidate for candidate in paths if not Path(candidate).exists()), None
    )


def cohort_row_problem(row):
    """Return what is wrong with one cohort sheet row, or None.

    Checks what can be checked before any job runs: the format against the
    genotype path, a phenotype sheet for VCF cohorts and the phenotype
    column in a sheet that already exists. Paths are relative to the
    directory Snakemake runs in; files that a rule makes may not exist yet.
    """
    # Empty cells read as None or NaN.
    row = {key: None if pd.isna(value) else value for key, value in row.items()}
    genotypes, genotype_format = row["genotypes"], row["format"]
    if genotype_format == "vcf":
        if genotypes.endswith(PLINK_SUFFIXES) or Path(f"{genotypes}.bed").exists():
            return (
                f"genotypes {genotypes} looks like a PLINK fileset but format is 'vcf'; "
                "set format to 'plink'"
            )
        if not row.get("phenotypes"):
            return (
                "a VCF carries no case/control status; give a phenotype sheet in the "
                "'phenotypes' column"
            )
    if genotype_format == "plink" and genotypes.endswith(VCF_SUFFIXES):
        return f"genotypes {genotypes} looks like a VCF but format is 'plink'; set format to 'vcf'"
    for column in ("genotypes", "phenotypes", "case_only_genotypes", "truth"):
        missing = missing_input(row.get(column), genotype_format, column)
        if missing:
            return (
                f"{column} file {missing} not found (relative paths are read from "
                f"{os.getcwd()}); correct the '{column}' column"
            )
    phenotypes, column = row.get("phenotypes"), row.get("phenotype_column")
    if phenotypes and column and Path(phenotypes).is_file():
        try:
            header = list(
                pd.read_csv(phenotypes, sep=r"\s+", nrows=0, dtype=str).columns
            )
        except (ValueError, OSError, UnicodeDecodeError):
            return None  # the ingest rule reports an unreadable sheet
        if column not in header:
            return (
                f"phenotype column {column!r} not found in {phenotypes}, whose columns "
                f"are {header}; set 'phenotype_column' to one of them"
            )
    return None


cohorts = read_cohort_sheet(config["cohorts"])
COHORTS = cohorts["cohort"].tolist()


wildcard_constraints:
    cohort="|".join(re.escape(name) for name in COHORTS) or "(?!)",
    simulation="[A-Za-z0-9_.-]+",
    size_limit=r"\d+",
    batch=r"\d+",


def cohort_value(cohort, column):
    """Return a cohort sheet cell, or None where it is empty."""
    value = cohorts.loc[cohort].get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return value


def genotype_files(path, genotype_format):
    """Return the files that make up one genotype input."""
    if genotype_format == "plink":
        prefix = path[: -len(".bed")] if path.endswith(".bed") else path
        return {
            "bed": f"{prefix}.bed",
            "bim": f"{prefix}.bim",
            "fam": f"{prefix}.fam",
        }
    return {"genotypes": path}


def cohort_genotype_files(wildcards):
    return genotype_files(
        cohort_value(wildcards.cohort, "genotypes"),
        cohort_value(wildcards.cohort, "format"),
    )


def cohort_phenotype_files(wildcards):
    path = cohort_value(wildcards.cohort, "phenotypes")
    return {"phenotypes": path} if path else {}


def has_case_only(cohort):
    return cohort_value(cohort, "case_only_genotypes") is not None


def has_truth(cohort):
    return cohort_value(cohort, "truth") is not None


def size_limits():
    limits = config["ga"]["size_limits"]
    return limits if isinstance(limits, list) else [limits]


def n_ga_batches():
    return math.ceil(config["ga"]["n_runs"] / config["ga"]["runs_per_job"])


def all_targets():
    targets = []
    for cohort in COHORTS:
        targets += [
            f"results/{cohort}/qc/qc_summary.tsv",
            f"results/{cohort}/ga/selections.tsv",
            f"results/{cohort}/network/network.graphml",
            f"results/{cohort}/communities/communities.tsv",
            f"results/{cohort}/crs/community_stats.tsv",
            f"results/{cohort}/subtypes/subtypes.tsv",
            f"results/{cohort}/plots/done.txt",
        ]
        if config["scan"]["enabled"]:
            targets.append(f"results/{cohort}/scan/pairs.tsv")
        if config["attention"]["enabled"]:
            targets.append(f"results/{cohort}/interactions/interactions.tsv")
    return targets


def input_mb(input):
    """Return the size of a job's input files in MiB, 0 for files not yet made.

    Used in place of input.size_mb, which makes Snakemake 9 warn about a
    coroutine never awaited when snakemake --report evaluates resources.
    """
    return sum(os.path.getsize(path) for path in input if os.path.exists(path)) / 2**20


# Report stage (rules/report.smk).
def report_mem_mb(wildcards, input):
    # pandas holds a TSV in a few times its size on disk; matplotlib needs about 300 MB.
    return 1000 + 10 * int(input_mb(input))


def report_runtime(wildcards, input):
    return 10 + int(input_mb(input)) // 50


def report_files(wildcards):
    plots = f"results/{wildcards.cohort}/plots"
    files = [
        f"{plots}/qc_counts.png",
        f"{plots}/ga_convergence.png",
        f"{plots}/selection_frequency.png",
        f"{plots}/coselection_network.png",
        f"{plots}/crs_distributions.png",
        f"{plots}/crs_roc.png",
        f"{plots}/subtype_profiles.png",
        f"{plots}/community_stats.html",
        f"{plots}/communities.html",
    ]
    if config["attention"]["enabled"]:
        files += [f"{plots}/interaction_heatmaps.png", f"{plots}/interactions.html"]
    return files


# Ingest and qc stages (rules/ingest.smk, rules/qc.smk).
def case_only_genotype_files(wildcards):
    return genotype_files(
        cohort_value(wildcards.cohort, "case_only_genotypes"),
        cohort_value(wildcards.cohort, "format"),
    )


def ingest_mem_mb(wildcards, input):
    # Estimate: a GT-only bgzipped VCF takes about 0.3 bytes per genotype call
    # (bench/ingest_benchmark.py), the int8 matrix 1 byte, and ingestion peaks
    # near 1.5 matrices above the interpreter. Richer VCFs get a larger margin.
    return 1000 + 6 * int(input_mb(input))


def ingest_runtime(wildcards, input):
    return 10 + int(input_mb(input)) // 20


def genotype_store_mb(wildcards, input):
    return max(1, int(input_mb(input)))


# Network, communities, crs and subtypes stages (rules/network.smk, rules/crs.smk).
def qc_store_files(wildcards):
    return {
        name: f"results/{wildcards.cohort}/qc/{name}.{extension}"
        for name, extension in (
            ("dosages", "npy"),
            ("variants", "tsv"),
            ("samples", "tsv"),
        )
    }


def dosages_mb(wildcards, input):
    return max(1, int(Path(input.dosages).stat().st_size / 1e6))


def crs_inputs(wildcards):
    inputs = qc_store_files(wildcards)
    inputs["split"] = f"results/{wildcards.cohort}/split/samples.tsv"
    inputs["communities"] = f"results/{wildcards.cohort}/communities/communities.tsv"
    if has_case_only(wildcards.cohort):
        inputs["case_only"] = (
            f"results/{wildcards.cohort}/case_only/genotypes/dosages.npy"
        )
        inputs["case_only_variants"] = (
            f"results/{wildcards.cohort}/case_only/genotypes/variants.tsv"
        )
        inputs["case_only_samples"] = (
            f"results/{wildcards.cohort}/case_only/genotypes/samples.tsv"
        )
    return inputs


def subtypes_inputs(wildcards):
    inputs = {
        "crs": f"results/{wildcards.cohort}/crs/crs.tsv",
        "communities": f"results/{wildcards.cohort}/communities/communities.tsv",
    }
    if has_truth(wildcards.cohort):
        inputs["truth"] = cohort_value(wildcards.cohort, "truth")
    return inputs
