"""Read PLINK 1 binary filesets (.bed/.bim/.fam) through bed-reader.

The dosage is the count of allele 1 (.bim column 5), stored as ``alt``.
Allele 2 (.bim column 6) is stored as ``ref``. PLINK 1.9 makes allele 1 the
minor allele unless run with ``--keep-allele-order``, so ``ref`` is not
always the reference genome's allele. Samples are named by their IID (.fam
column 2), which must be unique.
"""

from __future__ import annotations

import logging
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
from bed_reader import open_bed

from fcsnet.errors import InputError
from fcsnet.io import RawGenotypes, make_unique_ids, summarize_dosages

logger = logging.getLogger(__name__)

PLINK_STATUS_CODES = {"1": 0.0, "2": 1.0, "0": np.nan, "-9": np.nan}
"""PLINK 1 coding of .fam column 6: 1 = control, 2 = case, 0 or -9 = missing."""

_BED_MISSING = -127  # bed-reader's missing value for int8 output


def plink_prefix(path: str | Path) -> Path:
    """Return the fileset prefix of a .bed path or of a prefix."""
    path = Path(path)
    return path.with_suffix("") if path.suffix == ".bed" else path


def fam_status(values, fam_path) -> np.ndarray:
    """Convert .fam column 6 to status (1 case, 0 control, NaN missing).

    Raises
    ------
    InputError
        If any value is not 1, 2, 0 or -9, e.g. a quantitative trait.
    """
    values = [str(value).strip() for value in values]
    invalid = list(dict.fromkeys(value for value in values if value not in PLINK_STATUS_CODES))
    if invalid:
        raise InputError(
            f"column 6 of {fam_path} is not a case/control status in PLINK coding "
            f"(1 = control, 2 = case, 0 or -9 = missing); found values such as "
            f"{', '.join(invalid[:5])}. Give a phenotype sheet in the cohort sheet's "
            "'phenotypes' column instead"
        )
    return np.array([PLINK_STATUS_CODES[value] for value in values])


def read_fam_status(path: str | Path) -> np.ndarray:
    """Read .fam column 6 of the fileset at ``path`` as status; see :func:`fam_status`."""
    fam_path = Path(f"{plink_prefix(path)}.fam")
    fam = pd.read_csv(fam_path, sep=r"\s+", header=None, dtype=str, usecols=[5])
    return fam_status(fam[5].tolist(), fam_path)


def read_plink_samples(path: str | Path) -> list[str]:
    """Return the IIDs (.fam column 2) of the fileset at ``path``, in file order."""
    fam_path = Path(f"{plink_prefix(path)}.fam")
    if not fam_path.exists():
        raise InputError(f"PLINK fileset {plink_prefix(path)} is incomplete: {fam_path} not found")
    fam = pd.read_csv(fam_path, sep=r"\s+", header=None, dtype=str, usecols=[1])
    return fam[1].tolist()


def read_plink(
    path: str | Path, chunk_variants: int = 4096, sample_index: np.ndarray | None = None
) -> RawGenotypes:
    """Read a PLINK 1 binary fileset into an alt-allele dosage matrix.

    Parameters
    ----------
    path : str or Path
        The .bed file or the fileset prefix; the .bim and .fam files must
        share the prefix.
    chunk_variants : int
        Variants read at a time, to keep the transposition buffer small.
    sample_index : numpy.ndarray of int, optional
        Read only these samples (.fam row numbers, increasing).

    Returns
    -------
    RawGenotypes
        ``dosages`` int8, shape (n_variants, n_samples). ``status`` is
        .fam column 6 converted by :func:`fam_status`, or None when that
        column is not PLINK case/control coding. A phenotype sheet is then
        required, which :func:`fcsnet.ingest.ingest_cohort` checks.
    """
    prefix = plink_prefix(path)
    files = {suffix: Path(f"{prefix}.{suffix}") for suffix in ("bed", "bim", "fam")}
    absent = [str(file) for file in files.values() if not file.exists()]
    if absent:
        raise InputError(f"PLINK fileset {prefix} is incomplete: {', '.join(absent)} not found")
    try:
        with open_bed(files["bed"], bim_location=files["bim"], fam_location=files["fam"]) as bed:
            n_variants = bed.sid_count
            if sample_index is None:
                sample_index = np.arange(bed.iid_count)
            n_samples = len(sample_index)
            sample_ids = [str(bed.iid[index]) for index in sample_index]
            fam_pheno = [bed.pheno[index] for index in sample_index]
            variants = pd.DataFrame(
                {
                    "variant_id": [str(value) for value in bed.sid],
                    "chrom": [str(value) for value in bed.chromosome],
                    "pos": np.asarray(bed.bp_position, dtype=np.int64),
                    "ref": [str(value) for value in bed.allele_2],
                    "alt": [str(value) for value in bed.allele_1],
                }
            )
            dosages = np.empty((n_variants, n_samples), dtype=np.int8)
            for start in range(0, n_variants, chunk_variants):
                stop = min(start + chunk_variants, n_variants)
                block = bed.read(index=(sample_index, np.s_[start:stop]), dtype="int8", order="F")
                dosages[start:stop] = block.T
    except (ValueError, OSError) as error:
        raise InputError(f"cannot read PLINK fileset {prefix}: {error}") from error

    counts: Counter = Counter({"records_read": n_variants, "variants_written": n_variants})
    if n_samples == 0 or n_variants == 0:
        raise InputError(
            f"PLINK fileset {prefix} has {n_samples} samples and {n_variants} variants"
        )
    if len(set(sample_ids)) != n_samples:
        repeated = pd.Series(sample_ids)[pd.Series(sample_ids).duplicated()].unique()[:5]
        raise InputError(
            f"{files['fam']} repeats the IIDs {list(repeated)}; sample IDs must be unique"
        )
    dosages[dosages == _BED_MISSING] = -1
    counts["missing_calls"] = int((dosages < 0).sum())
    counts["diploid_calls"] = dosages.size - counts["missing_calls"]
    ids, counts["duplicate_variant_ids_renamed"] = make_unique_ids(variants["variant_id"].tolist())
    variants["variant_id"] = ids

    variants["alt_freq"], variants["call_rate"] = summarize_dosages(dosages)

    try:
        status = fam_status(fam_pheno, files["fam"])
    except InputError as error:
        # Only an error when no phenotype sheet is given; ingest_cohort raises it then.
        logger.debug("%s", error)
        status = None
    logger.info("%s: %d variants x %d samples", prefix, n_variants, n_samples)
    return RawGenotypes(dosages, variants, sample_ids, status, counts)
