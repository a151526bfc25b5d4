"""The canonical on-disk genotype store of one cohort.

A store is a directory with three files:

``dosages.npy``
    NumPy ``.npy`` array, dtype int8, shape (n_variants, n_samples): the
    number of alternate alleles (0, 1 or 2) of each sample at each variant,
    or :data:`MISSING` (-1) where the call is missing. Variant-major order
    keeps the genotypes of one variant contiguous, so a subset of variants is
    read with one slice. Open it with ``numpy.load(path, mmap_mode="r")`` to
    memory-map it.
``variants.tsv``
    One row per variant, in matrix row order, with at least the columns
    ``variant_id, chrom, pos, ref, alt, alt_freq, call_rate``. ``alt_freq`` is
    the alternate-allele frequency among called genotypes, ``call_rate`` the
    fraction of samples with a call. Tables without positions use ``chrom``
    ``NA`` and ``pos`` 0.
``samples.tsv``
    One row per sample, in matrix column order, with at least the columns
    ``sample_id, status`` (1 = case, 0 = control), then covariates.

Every file is written under a temporary name and renamed into place, so an
interrupted write never leaves a file that looks complete.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.errors import InputError

MISSING = -1
"""Dosage code of a missing genotype call."""

DOSAGE_DTYPE = np.int8
VARIANT_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "alt_freq", "call_rate"]
SAMPLE_COLUMNS = ["sample_id", "status"]
DOSAGES_FILE = "dosages.npy"
VARIANTS_FILE = "variants.tsv"
SAMPLES_FILE = "samples.tsv"


@dataclass
class GenotypeStore:
    """Genotypes of one cohort with their variant and sample tables.

    Attributes
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Alternate-allele counts, :data:`MISSING` for a missing call.
    variants : pandas.DataFrame
        One row per variant, columns :data:`VARIANT_COLUMNS` first.
    samples : pandas.DataFrame
        One row per sample, columns :data:`SAMPLE_COLUMNS` first.
    """

    dosages: np.ndarray
    variants: pd.DataFrame
    samples: pd.DataFrame

    @property
    def n_variants(self) -> int:
        return self.dosages.shape[0]

    @property
    def n_samples(self) -> int:
        return self.dosages.shape[1]

    def validate(self) -> None:
        """Raise InputError unless the matrix and the two tables agree."""
        if self.dosages.ndim != 2:
            raise InputError(f"expected a 2-D dosage matrix; found {self.dosages.ndim} dimensions")
        if self.dosages.dtype != DOSAGE_DTYPE:
            raise InputError(f"expected int8 dosages; found dtype {self.dosages.dtype}")
        if len(self.variants) != self.n_variants:
            raise InputError(
                f"variants table has {len(self.variants)} rows; "
                f"the dosage matrix has {self.n_variants} variants"
            )
        if len(self.samples) != self.n_samples:
            raise InputError(
                f"samples table has {len(self.samples)} rows; "
                f"the dosage matrix has {self.n_samples} samples"
            )
        for table, columns, name in (
            (self.variants, VARIANT_COLUMNS, "variants"),
            (self.samples, SAMPLE_COLUMNS, "samples"),
        ):
            missing = [column for column in columns if column not in table.columns]
            if missing:
                raise InputError(f"{name} table lacks the columns {missing}")

    def subset(self, variant_index=None, sample_index=None) -> GenotypeStore:
        """Return a copy restricted to the given variant and sample indices."""
        variant_index = np.arange(self.n_variants) if variant_index is None else variant_index
        sample_index = np.arange(self.n_samples) if sample_index is None else sample_index
        dosages = np.ascontiguousarray(
            np.asarray(self.dosages)[np.ix_(variant_index, sample_index)]
        )
        variants = self.variants.iloc[variant_index].reset_index(drop=True)
        samples = self.samples.iloc[sample_index].reset_index(drop=True)
        return GenotypeStore(dosages, variants, samples)


def _atomic_target(path: Path) -> tuple[int, str]:
    return tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)


def write_table(table: pd.DataFrame, path: str | Path) -> None:
    """Write ``table`` as tab-separated text, atomically (``NA`` for missing values)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _atomic_target(path)
    try:
        with os.fdopen(handle, "w") as stream:
            table.to_csv(stream, sep="\t", index=False, na_rep="NA")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_array(array: np.ndarray, path: str | Path) -> None:
    """Write ``array`` as a ``.npy`` file, atomically."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = _atomic_target(path)
    try:
        with os.fdopen(handle, "wb") as stream:
            np.save(stream, array)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_store(store: GenotypeStore, directory: str | Path) -> None:
    """Write ``store`` to ``directory`` in the format described in this module."""
    store.validate()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_array(np.ascontiguousarray(store.dosages, dtype=DOSAGE_DTYPE), directory / DOSAGES_FILE)
    write_table(store.variants, directory / VARIANTS_FILE)
    write_table(store.samples, directory / SAMPLES_FILE)


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a tab-separated table written by :func:`write_table`."""
    return pd.read_csv(path, sep="\t", na_values=["NA"], keep_default_na=False)


def read_store(directory: str | Path, mmap: bool = True) -> GenotypeStore:
    """Read the store in ``directory``; memory-map the dosages when ``mmap``."""
    directory = Path(directory)
    for name in (DOSAGES_FILE, VARIANTS_FILE, SAMPLES_FILE):
        if not (directory / name).exists():
            raise InputError(f"genotype store {directory} lacks {name}; rerun the ingest step")
    dosages = np.load(directory / DOSAGES_FILE, mmap_mode="r" if mmap else None)
    variants = read_table(directory / VARIANTS_FILE)
    variants["variant_id"] = variants["variant_id"].astype(str)
    variants["chrom"] = variants["chrom"].astype(str)
    samples = read_table(directory / SAMPLES_FILE)
    samples["sample_id"] = samples["sample_id"].astype(str)
    store = GenotypeStore(dosages, variants, samples)
    store.validate()
    return store


def variant_summary(dosages: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute per-variant alternate-allele frequency and call rate.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)

    Returns
    -------
    alt_freq : numpy.ndarray, float64, shape (n_variants,)
        NaN for a variant with no calls.
    call_rate : numpy.ndarray, float64, shape (n_variants,)
    """
    called = dosages >= 0
    n_called = called.sum(axis=1)
    allele_count = np.where(called, dosages, 0).sum(axis=1, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        alt_freq = np.where(n_called > 0, allele_count / (2.0 * n_called), np.nan)
    n_samples = dosages.shape[1]
    call_rate = n_called / n_samples if n_samples else np.zeros(len(n_called))
    return alt_freq, call_rate
