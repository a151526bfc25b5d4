"""Read phenotype sheets and code case/control status.

A sheet is tab- or whitespace-separated text with a header. Samples are
identified by a ``sample_id`` column or by ``FID IID`` columns (PLINK style;
``#FID`` is accepted). The ID that joins the genotypes is ``sample_id`` or
``IID``; ``FID`` is dropped. Fields cannot be empty or contain spaces; write
``NA`` for a missing value.

Status is coded 0/1 (0 = control, 1 = case) or 1/2 (PLINK: 1 = control,
2 = case); the coding is detected from the values and logged. ``NA`` and the
PLINK missing code ``-9`` are missing, and samples with a missing status are
dropped and counted. Every other column is kept as a covariate and copied
into the store's ``samples.tsv``.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.errors import InputError

logger = logging.getLogger(__name__)

MISSING_TOKENS = ["NA", "nan", "NaN", "."]
STATUS_MISSING_CODE = -9


def code_status(values: pd.Series, source: str) -> tuple[np.ndarray, str]:
    """Code case/control values as 1 (case), 0 (control) or NaN (missing).

    Parameters
    ----------
    values : pandas.Series
        Raw status values: 0/1 or 1/2 coded numbers, ``NA`` or -9 for missing.
    source : str
        Description of the column for error messages.

    Returns
    -------
    status : numpy.ndarray, float64, shape (n_values,)
    coding : str
        The detected coding, for the log.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    text = values.astype("string")
    unreadable = numeric.isna() & values.notna() & ~text.isin(MISSING_TOKENS).fillna(False)
    if unreadable.any():
        examples = sorted({str(value) for value in values[unreadable]})[:5]
        raise InputError(
            f"{source}: values {examples} are not case/control codes; use 0/1 or 1/2, "
            "with NA for a missing status"
        )
    numeric = numeric.astype(np.float64).where(numeric != STATUS_MISSING_CODE)
    distinct = set(numeric.dropna().unique())
    if distinct <= {0.0, 1.0}:
        return numeric.to_numpy(dtype=np.float64), "0/1 (0 = control, 1 = case)"
    if distinct <= {1.0, 2.0}:
        return (numeric - 1.0).to_numpy(dtype=np.float64), "1/2 (1 = control, 2 = case)"
    raise InputError(
        f"{source}: values {', '.join(f'{value:g}' for value in sorted(distinct)[:6])} are "
        "not case/control codes; use 0/1 "
        "(0 = control, 1 = case) or 1/2 (1 = control, 2 = case), with NA for a missing status"
    )


def _id_columns(columns: list[str], path) -> tuple[str, list[str]]:
    """Return the sample ID column and every ID-related column to leave out of covariates."""
    if "sample_id" in columns:
        return "sample_id", ["sample_id"]
    upper = {column.upper().lstrip("#"): column for column in columns}
    if "IID" in upper:
        id_columns = [upper["IID"]]
        if "FID" in upper:
            id_columns.insert(0, upper["FID"])
        return upper["IID"], id_columns
    raise InputError(
        f"phenotype sheet {path} needs a 'sample_id' column or 'FID IID' columns; "
        f"its header is {columns[:6]}"
    )


def read_phenotype_sheet(
    path: str | Path, column: str | None = None
) -> tuple[pd.DataFrame, Counter, list[str]]:
    """Read a phenotype sheet into ``sample_id, status`` plus covariate columns.

    Parameters
    ----------
    path : str or Path
        Tab- or whitespace-separated sheet with a header line.
    column : str, optional
        Status column; default is the first column after the ID columns.

    Returns
    -------
    samples : pandas.DataFrame
        Columns ``sample_id`` (str), ``status`` (int 0/1), then covariates,
        in sheet order, without the samples whose status is missing.
    counts : collections.Counter
        ``phenotype_rows``, ``phenotype_status_missing_dropped``.
    dropped_ids : list of str
        IDs of the samples dropped for a missing status.

    Raises
    ------
    InputError
        If the sheet cannot be read, lacks the ID or status column, repeats
        a sample ID, or codes status other than 0/1 or 1/2.
    """
    try:
        sheet = pd.read_csv(
            path,
            sep=r"\s+",
            dtype=str,
            na_values=MISSING_TOKENS,
            keep_default_na=False,
        )
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read phenotype sheet {path}: {error}") from error
    columns = list(sheet.columns)
    id_column, id_columns = _id_columns(columns, path)
    if column is None:
        remaining = [name for name in columns if name not in id_columns]
        if not remaining:
            raise InputError(f"phenotype sheet {path} has no column after the sample IDs")
        column = remaining[0]
    elif column not in columns:
        raise InputError(
            f"phenotype column {column!r} not found in {path}; its columns are {columns}. "
            "Set the cohort sheet's 'phenotype_column' to one of them"
        )

    ids = sheet[id_column]
    if ids.isna().any():
        raise InputError(f"phenotype sheet {path}: column {id_column!r} has missing sample IDs")
    repeated = ids[ids.duplicated()].unique().tolist()
    if repeated:
        raise InputError(
            f"phenotype sheet {path} repeats the sample IDs {repeated[:5]}; "
            "each sample must appear once"
        )

    status, coding = code_status(sheet[column], f"column {column!r} of {path}")
    logger.info("%s: status column %r coded %s", path, column, coding)
    keep = ~np.isnan(status)
    counts: Counter = Counter(
        {
            "phenotype_rows": len(sheet),
            "phenotype_status_missing_dropped": int((~keep).sum()),
        }
    )
    dropped = ids[~keep].astype(str).tolist()
    if dropped:
        logger.warning(
            "%s: dropped %d samples with a missing status in column %r (e.g. %s)",
            path,
            counts["phenotype_status_missing_dropped"],
            column,
            ", ".join(dropped[:5]),
        )

    samples = pd.DataFrame({"sample_id": ids.astype(str), "status": status})
    for name in columns:
        if name in id_columns or name == column:
            continue
        converted = pd.to_numeric(sheet[name], errors="coerce")
        is_numeric = converted.notna().sum() == sheet[name].notna().sum()
        samples[name] = converted if is_numeric else sheet[name]
    samples = samples[keep].reset_index(drop=True)
    samples["status"] = samples["status"].astype(np.int64)
    return samples, counts, dropped
