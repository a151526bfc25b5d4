"""Readers of genotype and phenotype files.

Each genotype reader returns :class:`RawGenotypes`: the int8 dosage matrix in
the layout of :mod:`fcsnet.store`, the variant table, the sample IDs in file
order, an optional status that the file itself carries (PLINK ``.fam``
column 6, a table's label column) and counters of everything the reader
skipped or recoded. :func:`fcsnet.ingest.ingest_cohort` joins them with the
phenotype sheet and writes the store.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class RawGenotypes:
    """Genotypes read from one file, before phenotypes are attached.

    Attributes
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Alternate-allele counts, -1 for a missing call.
    variants : pandas.DataFrame
        One row per variant with the columns of
        :data:`fcsnet.store.VARIANT_COLUMNS`.
    sample_ids : list of str, length n_samples
    status : numpy.ndarray of float, shape (n_samples,), or None
        Case/control status carried by the genotype file (1 case, 0 control,
        NaN missing), or None when the file carries none.
    counts : collections.Counter
        Named counts of records read, skipped and recoded, written to
        ``ingest_summary.tsv``.
    """

    dosages: np.ndarray
    variants: pd.DataFrame
    sample_ids: list[str]
    status: np.ndarray | None = None
    counts: Counter = field(default_factory=Counter)


def make_unique_ids(ids: list[str]) -> tuple[list[str], int]:
    """Append ``_2``, ``_3``, ... to repeated IDs; return the new IDs and the number renamed."""
    seen: Counter = Counter()
    taken = set(ids)
    unique = []
    n_renamed = 0
    for identifier in ids:
        seen[identifier] += 1
        if seen[identifier] == 1:
            unique.append(identifier)
            continue
        suffix = seen[identifier]
        candidate = f"{identifier}_{suffix}"
        while candidate in taken:
            suffix += 1
            candidate = f"{identifier}_{suffix}"
        taken.add(candidate)
        unique.append(candidate)
        n_renamed += 1
    return unique, n_renamed


def summarize_dosages(
    dosages: np.ndarray, chunk_variants: int = 4096
) -> tuple[np.ndarray, np.ndarray]:
    """Compute per-variant alternate-allele frequency and call rate, a block at a time.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
    chunk_variants : int
        Rows per block; the temporaries stay near ``chunk_variants * n_samples`` bytes.

    Returns
    -------
    alt_freq : numpy.ndarray, float64, shape (n_variants,)
        NaN for a variant with no calls.
    call_rate : numpy.ndarray, float64, shape (n_variants,)
    """
    n_variants, n_samples = dosages.shape
    alt_freq = np.full(n_variants, np.nan)
    call_rate = np.zeros(n_variants)
    for start in range(0, n_variants, chunk_variants):
        block = np.asarray(dosages[start : start + chunk_variants])
        n_missing = (block < 0).sum(axis=1)
        n_called = n_samples - n_missing
        # Each missing call (-1) lowers the row sum by one.
        allele_count = block.sum(axis=1, dtype=np.int64) + n_missing
        with np.errstate(invalid="ignore", divide="ignore"):
            alt_freq[start : start + len(block)] = np.where(
                n_called > 0, allele_count / (2.0 * n_called), np.nan
            )
        call_rate[start : start + len(block)] = n_called / n_samples if n_samples else 0.0
    return alt_freq, call_rate
