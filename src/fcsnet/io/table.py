"""Read GAMETES/PMLB genotype tables.

A table is tab-separated text (gzip allowed), one row per sample and one
column per SNP, with genotypes coded 0/1/2 (minor-allele counts), ``NA`` for
a missing call and a label column of case/control status (default
``Class``). Tables carry no sample IDs, so each sample is named ``row<i>``
after its 0-based data row number, which joins results back to the input
rows; a case-only table's samples are named ``case_only_row<i>``, so that
they differ from the main cohort's. Tables carry no positions either: ``chrom``, ``ref`` and ``alt`` are
``NA`` and ``pos`` is 0. Repeated column names are renamed like repeated VCF and PLINK
variant IDs (``_2``, ``_3``, ... appended), counted as
``duplicate_variant_ids_renamed`` and logged as a warning.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.errors import InputError
from fcsnet.io import RawGenotypes, make_unique_ids, summarize_dosages
from fcsnet.io.phenotypes import code_status

logger = logging.getLogger(__name__)

MISSING_TOKENS = ["NA"]


def read_table_genotypes(
    path: str | Path, label_column: str | None = "Class", sample_prefix: str = "row"
) -> RawGenotypes:
    """Read a 0/1/2 genotype table.

    Parameters
    ----------
    path : str or Path
        Tab-separated table, optionally gzipped.
    label_column : str or None
        Column of case/control status (0/1 or 1/2), excluded from the
        genotypes. None reads every column as a SNP and returns no status.
    sample_prefix : str
        Sample IDs are this prefix followed by the 0-based data row number:
        ``row0``, ``row1``, ... for a cohort, ``case_only_row0``, ... for a
        case-only table, so that the two never share an ID.

    Returns
    -------
    RawGenotypes
        ``dosages`` int8, shape (n_variants, n_samples); ``status`` from the
        label column.

    Raises
    ------
    InputError
        If the label column is absent, a genotype is not 0, 1, 2 or ``NA``,
        or the table has no rows or no SNP columns.
    """
    try:
        # pandas renames repeated names (N0, N0.1), so the names come from the raw header line.
        header = pd.read_csv(path, sep="\t", header=None, nrows=1, dtype=str, keep_default_na=False)
        names = [str(name).strip() for name in header.iloc[0]]
        names, n_renamed = make_unique_ids(names)
        table = pd.read_csv(
            path,
            sep="\t",
            header=0,
            names=names,
            na_values=MISSING_TOKENS,
            keep_default_na=False,
        )
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read genotype table {path}: {error}") from error
    if n_renamed:
        logger.warning(
            "%s: %d repeated column names renamed with _2, _3, ... suffixes (e.g. %s); "
            "give each SNP a unique name to keep the names of the input",
            path,
            n_renamed,
            next(name for name in names if name not in set(header.iloc[0].str.strip())),
        )

    status = None
    if label_column is not None:
        if label_column not in table.columns:
            raise InputError(
                f"genotype table {path} has no label column {label_column!r}; set "
                "ingest.label_column to the column of case/control status "
                f"(columns start with {list(table.columns[:5])})"
            )
        status, coding = code_status(table[label_column], f"column {label_column!r} of {path}")
        logger.info("%s: status coded %s in column %r", path, coding, label_column)
        table = table.drop(columns=[label_column])
    if table.shape[0] == 0 or table.shape[1] == 0:
        raise InputError(
            f"genotype table {path} has {table.shape[0]} rows and {table.shape[1]} SNP columns"
        )

    text_columns = [column for column in table.columns if table[column].dtype.kind not in "iuf"]
    if text_columns:
        column = text_columns[0]
        numeric = pd.to_numeric(table[column], errors="coerce")
        row = int(np.flatnonzero(numeric.isna() & table[column].notna())[0])
        raise InputError(
            f"genotype table {path}: value {table[column].iloc[row]!r} in column {column!r}, "
            f"{_row_text(row)} is not 0, 1, 2 or NA"
        )
    values = table.to_numpy(dtype=np.float64)
    called = ~np.isnan(values)
    invalid = called & ~np.isin(values, (0.0, 1.0, 2.0))
    if invalid.any():
        row, column = (int(index[0]) for index in np.nonzero(invalid))
        raise InputError(
            f"genotype table {path}: value {values[row, column]:g} in column "
            f"{table.columns[column]!r}, {_row_text(row)} is not 0, 1, 2 or NA"
        )
    dosages = np.where(called, values, -1).astype(np.int8)
    dosages = np.ascontiguousarray(dosages.T)

    n_variants, n_samples = dosages.shape
    alt_freq, call_rate = summarize_dosages(dosages)
    n_missing = int((dosages < 0).sum())
    variants = pd.DataFrame(
        {
            "variant_id": list(table.columns),
            "chrom": "NA",
            "pos": 0,
            "ref": "NA",
            "alt": "NA",
            "alt_freq": alt_freq,
            "call_rate": call_rate,
        }
    )
    counts: Counter = Counter(
        {
            "records_read": n_variants,
            "variants_written": n_variants,
            "missing_calls": n_missing,
            "diploid_calls": dosages.size - n_missing,
            "duplicate_variant_ids_renamed": n_renamed,
        }
    )
    sample_ids = [f"{sample_prefix}{index}" for index in range(n_samples)]
    logger.info("%s: %d SNPs x %d samples", path, n_variants, n_samples)
    return RawGenotypes(dosages, variants, sample_ids, status, counts)


def _row_text(row: int) -> str:
    """Describe 0-based data row ``row`` as a 1-based data row and a file line number."""
    # Line 1 is the header.
    return f"data row {row + 1} (line {row + 2} of the file)"
