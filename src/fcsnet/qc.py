"""Quality control of a genotype store.

:func:`run_qc` applies the filters below in this order, each one to what the
previous ones kept, and records every removal in a summary table
(``qc_summary.tsv``: step, unit, threshold, removed, remaining):

1. ``all_missing``: variants without a single call.
2. ``variant_call_rate``: variants called in fewer than
   ``min_variant_call_rate`` of the samples.
3. ``sample_call_rate``: samples called at fewer than
   ``min_sample_call_rate`` of the remaining variants.
4. ``constant``: variants whose called genotypes are all the same dosage
   (including all-heterozygous variants), counted on the remaining samples,
   and variants that the sample filter left without a call.
5. ``maf``: variants with minor-allele frequency below ``min_maf``.
6. ``hwe``: variants whose Hardy-Weinberg exact test p-value in controls is
   below ``hwe_min_p`` (0 disables the filter).
7. ``ld_prune`` (when ``ld_prune.enabled``): pairwise LD pruning in sliding
   windows, in the style of ``plink --indep-pairwise``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.special import gammaln

from fcsnet.config import default_config
from fcsnet.errors import ConfigError, InputError
from fcsnet.io import summarize_dosages
from fcsnet.store import GenotypeStore, read_store, write_store, write_table

logger = logging.getLogger(__name__)

SUMMARY_FILE = "qc_summary.tsv"
SUMMARY_COLUMNS = ["step", "unit", "threshold", "removed", "remaining"]

# Relative tolerance when comparing configuration probabilities with the
# observed one, so that ties lost to floating-point rounding still count.
_HWE_TIE_TOLERANCE = 1e-7


def hwe_exact_p(n_het: int, n_hom1: int, n_hom2: int) -> float:
    """Compute the Hardy-Weinberg exact test p-value of one biallelic variant.

    The test of Wigginton, Cutler and Abecasis (2005, Am J Hum Genet
    76:887-893): conditional on the allele counts, the p-value is the total
    probability of all heterozygote counts that are at most as likely as the
    observed one. Each probability is computed in log space from factorials,
    so large samples do not overflow.

    Parameters
    ----------
    n_het, n_hom1, n_hom2 : int
        Counts of heterozygotes and of the two homozygotes.

    Returns
    -------
    float
        The p-value in [0, 1]; 1.0 for a monomorphic variant or no samples.
    """
    if min(n_het, n_hom1, n_hom2) < 0:
        raise ValueError(f"genotype counts must be non-negative; got {(n_het, n_hom1, n_hom2)}")
    n = n_het + n_hom1 + n_hom2
    n_rare = 2 * min(n_hom1, n_hom2) + n_het
    if n == 0 or n_rare == 0:
        return 1.0
    hets = np.arange(n_rare % 2, n_rare + 1, 2)
    rare_homs = (n_rare - hets) // 2
    common_homs = n - hets - rare_homs
    valid = common_homs >= 0
    hets, rare_homs, common_homs = hets[valid], rare_homs[valid], common_homs[valid]
    log_prob = (
        gammaln(n + 1)
        - gammaln(rare_homs + 1)
        - gammaln(hets + 1)
        - gammaln(common_homs + 1)
        + hets * np.log(2.0)
        + gammaln(n_rare + 1)
        + gammaln(2 * n - n_rare + 1)
        - gammaln(2 * n + 1)
    )
    prob = np.exp(log_prob - log_prob.max())
    prob /= prob.sum()
    observed = prob[hets == n_het][0]
    p_value = prob[prob <= observed * (1 + _HWE_TIE_TOLERANCE)].sum()
    return float(min(1.0, p_value))


def genotype_counts(dosages: np.ndarray) -> np.ndarray:
    """Count dosages 0, 1 and 2 per variant.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)

    Returns
    -------
    numpy.ndarray, int64, shape (n_variants, 3)
    """
    return np.stack([(dosages == code).sum(axis=1) for code in (0, 1, 2)], axis=1)


def hwe_pvalues(dosages: np.ndarray) -> np.ndarray:
    """Compute the Hardy-Weinberg exact p-value of every variant (rows of ``dosages``).

    Variants with the same genotype counts share one computation.
    """
    counts = genotype_counts(dosages)
    unique, inverse = np.unique(counts, axis=0, return_inverse=True)
    p_unique = np.array(
        [hwe_exact_p(int(het), int(hom_ref), int(hom_alt)) for hom_ref, het, hom_alt in unique]
    )
    return p_unique[inverse.ravel()]


def ld_prune(
    dosages: np.ndarray,
    chrom: np.ndarray,
    maf: np.ndarray,
    window: int,
    step: int,
    r2_max: float,
) -> np.ndarray:
    """Select variants so that no pair in a sliding window has r² above ``r2_max``.

    Windows of ``window`` consecutive variants of one chromosome move by
    ``step`` variants. Within a window, each pair above the threshold loses
    its variant with the lower MAF (the later one on a tie), as
    ``plink --indep-pairwise`` does. r² is the squared Pearson correlation of
    dosages with missing calls replaced by the variant's mean dosage, which
    pulls r² towards 0 when many calls are missing.

    Returns
    -------
    numpy.ndarray, bool, shape (n_variants,)
        True for the variants kept.
    """
    keep = np.ones(len(dosages), dtype=bool)
    for name in pd.unique(chrom):
        indices = np.flatnonzero(chrom == name)
        for start in range(0, len(indices), step):
            members = indices[start : start + window]
            members = members[keep[members]]
            if len(members) < 2:
                continue
            r2 = _squared_correlation(dosages[members])
            for i, j in np.argwhere(np.triu(r2 > r2_max, k=1)):
                if keep[members[i]] and keep[members[j]]:
                    loser = members[i] if maf[members[i]] < maf[members[j]] else members[j]
                    keep[loser] = False
            if start + window >= len(indices):
                break
    return keep


def _squared_correlation(block: np.ndarray) -> np.ndarray:
    """Return the r² matrix of the rows of ``block`` (int8 dosages, -1 missing), mean-imputed."""
    values = block.astype(np.float64)
    called = block >= 0
    n_called = np.maximum(called.sum(axis=1, keepdims=True), 1)
    means = np.where(called, values, 0.0).sum(axis=1, keepdims=True) / n_called
    centered = np.where(called, values - means, 0.0)
    norms = np.linalg.norm(centered, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    standardized = centered / norms
    return (standardized @ standardized.T) ** 2


def _check_options(options: dict) -> dict:
    defaults = default_config()["qc"]
    merged = {**defaults, **options}
    merged["ld_prune"] = {**defaults["ld_prune"], **(options.get("ld_prune") or {})}
    for key in ("min_variant_call_rate", "min_sample_call_rate", "hwe_min_p"):
        if not 0.0 <= merged[key] <= 1.0:
            raise ConfigError(f"qc.{key} is {merged[key]}; expected a value in [0, 1]")
    if not 0.0 <= merged["min_maf"] <= 0.5:
        raise ConfigError(f"qc.min_maf is {merged['min_maf']}; expected a value in [0, 0.5]")
    prune = merged["ld_prune"]
    if prune["window"] < 2 or prune["step"] < 1:
        raise ConfigError(
            f"qc.ld_prune window {prune['window']} and step {prune['step']}: expected "
            "window >= 2 and step >= 1"
        )
    if not 0.0 < prune["r2"] <= 1.0:
        raise ConfigError(f"qc.ld_prune.r2 is {prune['r2']}; expected a value in (0, 1]")
    return merged


class _Summary:
    def __init__(self, n_variants: int, n_samples: int):
        self.rows = [
            ("input", "variants", "", 0, n_variants),
            ("input", "samples", "", 0, n_samples),
        ]

    def add(self, step: str, unit: str, threshold, removed: int, remaining: int) -> None:
        self.rows.append((step, unit, threshold, int(removed), int(remaining)))
        logger.info(
            "qc %s (%s): removed %d %s, %d remain", step, threshold, removed, unit, remaining
        )

    def table(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=SUMMARY_COLUMNS)


def run_qc(store: GenotypeStore, options: dict | None = None) -> tuple[GenotypeStore, pd.DataFrame]:
    """Apply the QC filters of this module to ``store``.

    Parameters
    ----------
    store : GenotypeStore
    options : dict, optional
        The ``qc`` config section; missing keys take the defaults of
        ``workflow/schemas/qc.schema.yaml``.

    Returns
    -------
    GenotypeStore
        The filtered store, with ``alt_freq`` and ``call_rate`` recomputed
        on the samples kept.
    pandas.DataFrame
        The summary, one row per filter (columns :data:`SUMMARY_COLUMNS`).

    Raises
    ------
    InputError
        If a filter leaves no variant, no sample, or a single class.
    """
    options = _check_options(options or {})
    dosages = np.asarray(store.dosages)
    status = store.samples["status"].to_numpy()
    variant_index = np.arange(dosages.shape[0])
    sample_index = np.arange(dosages.shape[1])
    summary = _Summary(len(variant_index), len(sample_index))

    def drop_variants(step: str, threshold, keep: np.ndarray) -> None:
        nonlocal variant_index
        variant_index = variant_index[keep]
        summary.add(step, "variants", threshold, (~keep).sum(), len(variant_index))
        if len(variant_index) == 0:
            raise InputError(
                f"QC step {step} ({threshold}) removed every remaining variant; relax the "
                "threshold in the qc config section"
            )

    def current() -> np.ndarray:
        return dosages[np.ix_(variant_index, sample_index)]

    n_called = (dosages >= 0).sum(axis=1)
    drop_variants("all_missing", "no calls", n_called > 0)

    call_rate = n_called[variant_index] / len(sample_index)
    threshold = options["min_variant_call_rate"]
    drop_variants("variant_call_rate", f"< {threshold}", call_rate >= threshold)

    sample_rate = (current() >= 0).mean(axis=0)
    threshold = options["min_sample_call_rate"]
    keep_samples = sample_rate >= threshold
    sample_index = sample_index[keep_samples]
    summary.add(
        "sample_call_rate", "samples", f"< {threshold}", (~keep_samples).sum(), len(sample_index)
    )
    _check_samples(status[sample_index], threshold)

    block = current()
    called = block >= 0
    high = np.where(called, block, -128).max(axis=1)
    low = np.where(called, block, 127).min(axis=1)
    # A variant left without calls by the sample filter has high < low and goes here too.
    drop_variants("constant", "one distinct called dosage or no call", high > low)

    alt_freq, _ = summarize_dosages(current())
    maf = np.minimum(alt_freq, 1.0 - alt_freq)
    threshold = options["min_maf"]
    drop_variants("maf", f"< {threshold}", maf >= threshold)
    maf = maf[maf >= threshold]

    threshold = options["hwe_min_p"]
    if threshold > 0:
        controls = sample_index[status[sample_index] == 0]
        p_values = hwe_pvalues(dosages[np.ix_(variant_index, controls)])
        keep = p_values >= threshold
        drop_variants("hwe", f"p < {threshold} in {len(controls)} controls", keep)
        maf = maf[keep]
    else:
        summary.add("hwe", "variants", "disabled", 0, len(variant_index))

    prune = options["ld_prune"]
    if prune["enabled"]:
        chrom = store.variants["chrom"].astype(str).to_numpy()[variant_index]
        keep = ld_prune(current(), chrom, maf, prune["window"], prune["step"], prune["r2"])
        drop_variants(
            "ld_prune", f"r2 > {prune['r2']} (window {prune['window']}, step {prune['step']})", keep
        )
    else:
        summary.add("ld_prune", "variants", "disabled", 0, len(variant_index))

    result = store.subset(variant_index, sample_index)
    result.variants["alt_freq"], result.variants["call_rate"] = summarize_dosages(result.dosages)
    summary.add("output", "variants", "", 0, result.n_variants)
    summary.add("output", "samples", "", 0, result.n_samples)
    return result, summary.table()


def _check_samples(status: np.ndarray, threshold: float) -> None:
    n_cases, n_controls = int((status == 1).sum()), int((status == 0).sum())
    if n_cases == 0 or n_controls == 0:
        raise InputError(
            f"after the sample call-rate filter (< {threshold}) {n_cases} cases and "
            f"{n_controls} controls remain; lower qc.min_sample_call_rate or check the "
            "genotype missingness"
        )


def qc_cohort(input_dir, output_dir, options: dict | None = None) -> GenotypeStore:
    """Read the store in ``input_dir``, filter it and write the result and ``qc_summary.tsv``."""
    store = read_store(input_dir, mmap=False)
    result, summary = run_qc(store, options)
    write_store(result, output_dir)
    write_table(summary, Path(output_dir) / SUMMARY_FILE)
    return result
