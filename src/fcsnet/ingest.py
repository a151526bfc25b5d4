"""Ingest one cohort's genotypes and phenotypes into the genotype store.

:func:`ingest_cohort` reads a VCF/BCF file, a PLINK 1 fileset or a
GAMETES/PMLB table, attaches case/control status from a phenotype sheet (or
from the genotype file itself: PLINK .fam column 6, a table's label
column), and writes the store described in :mod:`fcsnet.store` together
with ``ingest_summary.tsv``, a table of the counts of everything read,
skipped, recoded or dropped.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.config import load_schema
from fcsnet.errors import ConfigError, InputError
from fcsnet.io import RawGenotypes, summarize_dosages
from fcsnet.io.phenotypes import read_phenotype_sheet
from fcsnet.io.plink import read_fam_status, read_plink, read_plink_samples
from fcsnet.io.table import read_table_genotypes
from fcsnet.io.vcf import read_vcf, read_vcf_samples
from fcsnet.store import GenotypeStore, write_store, write_table

logger = logging.getLogger(__name__)

FORMATS = ("vcf", "plink", "table")
SUMMARY_FILE = "ingest_summary.tsv"
N_IDS_LOGGED = 5


def read_genotypes(
    path,
    genotype_format: str,
    options: dict,
    keep: np.ndarray | None = None,
    table_sample_prefix: str = "row",
    threads: int = 1,
) -> RawGenotypes:
    """Read a genotype file of the given format with the ``ingest`` options.

    ``keep`` (sample positions in file order, increasing) restricts a VCF or
    PLINK read to those samples; a table is always read whole, its samples
    named ``table_sample_prefix`` plus the 0-based data row number.
    ``threads`` is the number of worker processes that read a VCF in parts.
    """
    if genotype_format == "vcf":
        samples = None
        if keep is not None:
            all_samples = read_vcf_samples(path)
            samples = [all_samples[index] for index in keep]
        return read_vcf(
            path,
            region=options["region"],
            multiallelic=options["multiallelic"],
            haploid=options["haploid"],
            chunk_variants=options["chunk_variants"],
            threads=threads,
            samples=samples,
        )
    if genotype_format == "plink":
        return read_plink(path, sample_index=keep)
    if genotype_format == "table":
        return read_table_genotypes(
            path, label_column=options["label_column"], sample_prefix=table_sample_prefix
        )
    raise ConfigError(f"genotype format {genotype_format!r} is not one of {FORMATS}")


def genotype_sample_ids(path, genotype_format: str) -> list[str]:
    """Return the sample IDs of a VCF/BCF header or a .fam file, in file order."""
    if genotype_format == "vcf":
        return read_vcf_samples(path)
    return read_plink_samples(path)


def _log_ids(message: str, ids: list[str]) -> None:
    if ids:
        shown = ", ".join(ids[:N_IDS_LOGGED])
        more = f" and {len(ids) - N_IDS_LOGGED} more" if len(ids) > N_IDS_LOGGED else ""
        logger.warning("%d %s: %s%s", len(ids), message, shown, more)


def _attach_sheet(sample_ids: list[str], phenotypes, phenotype_column, counts: Counter):
    """Join the phenotype sheet; return the genotype column indices kept and the sample table."""
    sheet, sheet_counts, dropped_ids = read_phenotype_sheet(phenotypes, phenotype_column)
    counts.update(sheet_counts)
    genotyped = pd.Index(sample_ids)
    dropped = set(dropped_ids)
    in_sheet = set(sheet["sample_id"]) | dropped
    without_row = [sample for sample in sample_ids if sample not in in_sheet]
    genotyped_set = set(sample_ids)
    not_genotyped = [sample for sample in sheet["sample_id"] if sample not in genotyped_set]
    counts["genotyped_samples_without_phenotype_row"] = len(without_row)
    counts["genotyped_samples_status_missing"] = sum(sample in dropped for sample in genotyped)
    counts["phenotyped_samples_not_genotyped"] = len(not_genotyped)
    _log_ids(f"genotyped samples have no row in {phenotypes}", without_row)
    _log_ids(f"samples of {phenotypes} are not in the genotype file", not_genotyped)

    sheet = sheet.set_index("sample_id", drop=False)
    keep = np.flatnonzero(genotyped.isin(sheet.index))
    if len(keep) == 0:
        raise InputError(
            f"no sample is in both the genotype file and the phenotype sheet {phenotypes}: "
            f"genotype IDs start with {sample_ids[:3]}, sheet IDs with "
            f"{sheet['sample_id'].tolist()[:3]}. The sheet's sample_id (or IID) column must "
            "use the genotype file's sample names"
        )
    samples = sheet.loc[genotyped[keep]].reset_index(drop=True)
    return keep, samples


def _attach_file_status(
    sample_ids: list[str], table_status, genotypes, genotype_format, counts: Counter
):
    """Use the status carried by the genotype file; return the kept indices and the sample table.

    ``table_status`` is the label column of a table (None for other formats).
    """
    if genotype_format == "vcf":
        raise InputError(
            f"VCF cohort {genotypes} has no phenotype sheet; give one in the cohort sheet's "
            "'phenotypes' column"
        )
    if genotype_format == "plink":
        status = read_fam_status(genotypes)  # raises InputError naming invalid values
    else:
        status = table_status
    if status is None:
        raise InputError(
            f"genotype table {genotypes} has no label column; set ingest.label_column or give "
            "a phenotype sheet"
        )
    missing = np.isnan(status)
    counts["genotyped_samples_status_missing"] = int(missing.sum())
    _log_ids(
        f"samples of {genotypes} have a missing status and are dropped",
        [sample for sample, absent in zip(sample_ids, missing, strict=True) if absent],
    )
    keep = np.flatnonzero(~missing)
    samples = pd.DataFrame(
        {
            "sample_id": [sample_ids[index] for index in keep],
            "status": status[keep].astype(np.int64),
        }
    )
    return keep, samples


def _case_only_samples(
    sample_ids: list[str], table_status, genotypes, genotype_format, counts: Counter
):
    """Keep the cases of a case-only file; return the kept indices and the sample table.

    A table's label column or a .fam column 6 that codes a status drops the
    controls (status 0) with a warning; samples with a missing status stay.
    Without a status (a VCF, a table without the label column, a .fam of
    only missing or non-status codes) every sample is a case.
    """
    status = table_status
    if genotype_format == "plink":
        try:
            status = read_fam_status(genotypes)
        except InputError as error:
            logger.info("case-only %s: .fam column 6 is not used (%s)", genotypes, error)
            status = None
    keep = np.arange(len(sample_ids))
    if status is not None:
        controls = status == 0
        counts["case_only_controls_dropped"] = int(controls.sum())
        if controls.any():
            logger.warning(
                "case-only genotypes %s contain %d controls (status 0) among %d samples; the "
                "controls are dropped and only the cases are kept",
                genotypes,
                int(controls.sum()),
                len(sample_ids),
            )
            keep = np.flatnonzero(~controls)
        if len(keep) == 0:
            raise InputError(
                f"case-only genotypes {genotypes} contain no cases: every sample has control "
                "status. Give a file of cases in the cohort sheet's 'case_only_genotypes' column"
            )
    samples = pd.DataFrame({"sample_id": [sample_ids[index] for index in keep], "status": 1})
    return keep, samples


def _has_column(path, column: str) -> bool:
    try:
        header = pd.read_csv(path, sep="\t", nrows=0)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read genotype table {path}: {error}") from error
    return column in [str(name).strip() for name in header.columns]


def _check_unique(sample_ids: list[str], genotypes) -> None:
    repeated = pd.Index(sample_ids)[pd.Index(sample_ids).duplicated()].unique().tolist()
    if repeated:
        raise InputError(
            f"{genotypes} repeats the sample IDs {repeated[:5]}; sample IDs must be unique"
        )


def _check_classes(samples: pd.DataFrame, source) -> None:
    n_cases = int((samples["status"] == 1).sum())
    n_controls = int((samples["status"] == 0).sum())
    if n_cases == 0 or n_controls == 0:
        raise InputError(
            f"cohort {source} has {n_cases} cases and {n_controls} controls after joining "
            "genotypes and phenotypes; case/control analysis needs both classes. Check the "
            "phenotype column and its coding (0/1 or 1/2)"
        )


def ingest_cohort(
    genotypes,
    genotype_format: str,
    output_dir,
    phenotypes=None,
    phenotype_column: str | None = None,
    options: dict | None = None,
    case_only: bool = False,
    threads: int = 1,
) -> GenotypeStore:
    """Read one cohort and write its genotype store and ``ingest_summary.tsv``.

    Parameters
    ----------
    genotypes : str or Path
        Genotype file: VCF/BCF, PLINK .bed or fileset prefix, or table.
    genotype_format : {"vcf", "plink", "table"}
    output_dir : str or Path
        Store directory (e.g. ``results/<cohort>/genotypes``).
    phenotypes : str or Path, optional
        Phenotype sheet; without it the status comes from the genotype file
        (PLINK .fam column 6 or a table's label column).
    phenotype_column : str, optional
        Status column of the sheet; default is its first non-ID column.
    options : dict, optional
        The ``ingest`` config section; missing keys take the defaults of
        ``workflow/schemas/ingest.schema.yaml``.
    case_only : bool
        Genotypes of cases only: no phenotype sheet is read and every sample
        kept gets status 1. When the file carries a status (a table's label
        column, PLINK .fam column 6), its controls are dropped, counted as
        ``case_only_controls_dropped`` and logged as a WARNING; samples with
        a missing status are kept. A file without a status (a VCF, a table
        without the label column) makes every sample a case.
    threads : int
        Worker processes that read a plain or bgzipped VCF in parts (see
        :func:`fcsnet.io.vcf.read_vcf`); other formats ignore it.

    Returns
    -------
    GenotypeStore
        The store as written.
    """
    # Load only the ingest schema, because parsing all twelve with PyYAML took about 0.09 s.
    defaults = {key: value["default"] for key, value in load_schema("ingest")["properties"].items()}
    options = {**defaults, **(options or {})}
    if genotype_format not in FORMATS:
        raise ConfigError(f"genotype format {genotype_format!r} is not one of {FORMATS}")
    logger.info("ingesting %s (%s) into %s", genotypes, genotype_format, output_dir)
    # Samples are chosen before the genotypes are read, so that a VCF or
    # PLINK read keeps only those columns and never keeps a second matrix in memory.
    table = None
    if genotype_format == "table":
        if case_only and not _has_column(genotypes, options["label_column"]):
            # Case-only tables need no label column; every sample is a case.
            options = {**options, "label_column": None}
        # Case-only table rows get their own names, apart from the main cohort's row<i>.
        prefix = "case_only_row" if case_only else "row"
        table = read_genotypes(genotypes, genotype_format, options, table_sample_prefix=prefix)
        sample_ids = table.sample_ids
    else:
        sample_ids = genotype_sample_ids(genotypes, genotype_format)
    _check_unique(sample_ids, genotypes)
    counts: Counter = Counter({"genotyped_samples": len(sample_ids)})

    if case_only:
        if phenotypes is not None:
            logger.warning("case-only genotypes: ignoring the phenotype sheet %s", phenotypes)
        table_status = None if table is None else table.status
        keep, samples = _case_only_samples(
            sample_ids, table_status, genotypes, genotype_format, counts
        )
    elif phenotypes is not None:
        keep, samples = _attach_sheet(sample_ids, phenotypes, phenotype_column, counts)
    else:
        table_status = None if table is None else table.status
        keep, samples = _attach_file_status(
            sample_ids, table_status, genotypes, genotype_format, counts
        )
    if not case_only:
        _check_classes(samples, genotypes)

    subset = None if len(keep) == len(sample_ids) else keep
    if table is None:
        raw = read_genotypes(genotypes, genotype_format, options, keep=subset, threads=threads)
        if raw.sample_ids != samples["sample_id"].tolist():
            raise InputError(
                f"the samples read from {genotypes} differ from the samples in its header; "
                "was the file replaced during the run?"
            )
    else:
        raw = table
        if subset is not None:
            raw.dosages = np.ascontiguousarray(raw.dosages[:, subset])
            raw.variants["alt_freq"], raw.variants["call_rate"] = summarize_dosages(raw.dosages)
    counts.update(raw.counts)
    variants = raw.variants
    dosages = raw.dosages
    counts["samples_written"] = len(samples)
    counts["cases_written"] = int((samples["status"] == 1).sum())
    counts["controls_written"] = int((samples["status"] == 0).sum())
    logger.info(
        "writing %d variants x %d samples (%d cases, %d controls) to %s",
        dosages.shape[0],
        dosages.shape[1],
        counts["cases_written"],
        counts["controls_written"],
        output_dir,
    )
    store = GenotypeStore(dosages, variants, samples)
    write_store(store, output_dir)
    write_summary(counts, Path(output_dir) / SUMMARY_FILE)
    return store


def write_summary(counts: Counter, path) -> None:
    """Write the counts as a two-column ``item, count`` table in a fixed order."""
    rows = [(name, int(value)) for name, value in sorted(counts.items())]
    write_table(pd.DataFrame(rows, columns=["item", "count"]), path)
