"""Exhaustive pairwise interaction scan and the GA guide built from it.

For every pair of variants (A, B) the scan counts the 3 x 3 joint genotypes
by status (samples missing either call are left out) and computes the
likelihood-ratio (G) statistic of the interaction::

    G = 2 N * [I(AB; Y) - I(A; Y) - I(B; Y)]

(natural-log mutual information of the pair's joint genotype, and of each
single genotype, with the status Y, all on the pair's called samples). It is
the joint-genotype G statistic minus both single-variant G statistics, and
equals 2 N times the interaction information of A, B and Y. P-values treat
it as chi-squared with (levels(A) - 1) * (levels(B) - 1) degrees of freedom
(4 for two variants with all three genotypes observed).

NOTE: that distribution is an approximation. Variants in linkage
disequilibrium can push the statistic either way, so the scan is a screen
and its p-values rank pairs rather than give exact error rates.

Counts come from matrix products of genotype indicator matrices (float32,
exact up to 2**24 samples), a block of variants at a time, so memory stays
bounded by ``chunk_size`` pairs whatever the number of variants.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special

from fcsnet.errors import InputError

logger = logging.getLogger(__name__)

PAIR_COLUMNS = ["variant_a", "variant_b", "statistic", "df", "p_value", "log10_p", "rank"]
SCORE_COLUMNS = ["variant_id", "best_statistic", "best_log10_p", "best_partner", "guide_weight"]


@dataclass
class ScanResult:
    """Output of :func:`scan`.

    Attributes
    ----------
    pairs : pandas.DataFrame
        The ``n_top`` pairs with the smallest p-values, columns
        :data:`PAIR_COLUMNS`; ``log10_p`` is -log10(p), rank 1 is the strongest.
    variant_scores : pandas.DataFrame
        One row per variant: its strongest pair's statistic and -log10(p)
        and that pair's partner (columns variant_id, best_statistic,
        best_log10_p, best_partner).
    n_pairs : int
        Pairs tested.
    """

    pairs: pd.DataFrame
    variant_scores: pd.DataFrame
    n_pairs: int


def _stacked_indicators(dosages: np.ndarray, columns: np.ndarray, genotypes) -> np.ndarray:
    """Stack genotype indicator rows of the given samples, interleaved by variant.

    Returns
    -------
    numpy.ndarray, float32, shape (n_variants * len(genotypes), len(columns))
        Row ``j * len(genotypes) + g`` is 1 where variant j has genotype
        ``genotypes[g]``. Interleaving keeps the rows of variants start..end
        one contiguous slice, so a block of pairs is one matrix product.
    """
    block = np.asarray(dosages[:, columns])
    stacked = np.empty((block.shape[0], len(genotypes), block.shape[1]), dtype=np.float32)
    for position, genotype in enumerate(genotypes):
        stacked[:, position] = block == genotype
    return stacked.reshape(-1, block.shape[1])


def _genotype_counts(dosages: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Count genotypes 0, 1, 2 of each variant among the given samples, shape (3, n_variants)."""
    block = np.asarray(dosages[:, columns])
    return np.stack([(block == genotype).sum(axis=1) for genotype in (0, 1, 2)]).astype(np.int32)


def _neg_log10_chi2_sf(statistic: np.ndarray, df: np.ndarray) -> np.ndarray:
    """Compute -log10 of the chi-squared upper tail for df in {0, 1, 2, 4}, without underflow."""
    x = np.maximum(statistic, 0.0)
    # df 4 is by far the most common, so compute it everywhere and patch the rest.
    log_sf = np.log1p(x / 2.0)
    log_sf -= x / 2.0
    other = np.flatnonzero(np.asarray(df).ravel() != 4)
    if len(other):
        flat_x = x.ravel()[other]
        flat_df = np.asarray(df).ravel()[other]
        patched = np.zeros(len(other))
        one = flat_df == 1
        patched[one] = math.log(2.0) + special.log_ndtr(-np.sqrt(flat_x[one]))
        two = flat_df == 2
        patched[two] = -flat_x[two] / 2.0
        log_sf.ravel()[other] = patched
    log_sf *= -1.0 / math.log(10.0)
    return log_sf


class _XLogX:
    """x * log(x) of integer counts 0 .. n_samples, by table look-up."""

    def __init__(self, n_samples: int, dtype=np.float64):
        counts = np.arange(n_samples + 1, dtype=np.float64)
        self.table = special.xlogy(counts, counts).astype(dtype)

    def __call__(self, counts: np.ndarray) -> np.ndarray:
        return self.table[counts]


def _pair_statistics(
    cases: np.ndarray, controls: np.ndarray, xlogx, margin_terms: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Compute the interaction G statistic and its df from joint genotype counts.

    Parameters
    ----------
    cases, controls : numpy.ndarray, int32, shape (3, 3, ...)
        Counts of genotype a (axis 0) by genotype b (axis 1).
    xlogx : callable
        Elementwise x * log(x) of integer counts.
    margin_terms : numpy.ndarray, shape (...), optional
        The x log x terms of the margins. Without missing calls they are
        per-variant constants that the caller passes in; when None they are
        computed from the table.

    Returns
    -------
    statistic : numpy.ndarray, float64, shape (...)
    df : numpy.ndarray, int64, shape (...)
    """
    joint = cases + controls
    a_total, b_total = joint.sum(axis=1), joint.sum(axis=0)
    # 2 N times the interaction information, expanded into x log x terms of
    # the 3-way table, its 2-way margins and its 1-way margins.
    value = (
        xlogx(cases).sum(axis=(0, 1), dtype=np.float64)
        + xlogx(controls).sum(axis=(0, 1), dtype=np.float64)
        - xlogx(joint).sum(axis=(0, 1), dtype=np.float64)
    )
    if margin_terms is None:
        a_cases, b_cases = cases.sum(axis=1), cases.sum(axis=0)
        a_controls, b_controls = controls.sum(axis=1), controls.sum(axis=0)
        n_cases = a_cases.sum(axis=0)
        n_controls = a_controls.sum(axis=0)
        margin_terms = (
            -xlogx(a_cases).sum(axis=0, dtype=np.float64)
            - xlogx(a_controls).sum(axis=0, dtype=np.float64)
            - xlogx(b_cases).sum(axis=0, dtype=np.float64)
            - xlogx(b_controls).sum(axis=0, dtype=np.float64)
            + xlogx(a_total).sum(axis=0, dtype=np.float64)
            + xlogx(b_total).sum(axis=0, dtype=np.float64)
            + xlogx(n_cases)
            + xlogx(n_controls)
            - xlogx(n_cases + n_controls)
        )
    # Rounding leaves tiny negative values where the true value is 0.
    statistic = np.maximum(2.0 * (value + margin_terms), 0.0)
    df = ((a_total > 0).sum(axis=0) - 1).clip(0) * ((b_total > 0).sum(axis=0) - 1).clip(0)
    return statistic, df


def _cell_terms(n_cases: int, n_controls: int) -> np.ndarray:
    """Tabulate x log x(c) + x log x(d) - x log x(c + d) for c cases and d controls in a cell.

    Returns
    -------
    numpy.ndarray, float32, shape ((n_cases + 1) * (n_controls + 1),)
        Entry c * (n_controls + 1) + d.
    """
    cases = np.arange(n_cases + 1, dtype=np.float64)[:, None]
    controls = np.arange(n_controls + 1, dtype=np.float64)[None, :]
    terms = special.xlogy(cases, cases) + special.xlogy(controls, controls)
    terms -= special.xlogy(cases + controls, cases + controls)
    return terms.astype(np.float32).ravel()


def _variant_margin_terms(case_counts, control_counts, xlogx) -> tuple[np.ndarray, float]:
    """Return each variant's single-locus x log x terms and the status term (complete data).

    ``case_counts`` and ``control_counts`` are genotype counts, shape (3, n_variants).
    """
    per_variant = (
        xlogx(case_counts + control_counts).sum(axis=0, dtype=np.float64)
        - xlogx(case_counts).sum(axis=0, dtype=np.float64)
        - xlogx(control_counts).sum(axis=0, dtype=np.float64)
    )
    n_cases = int(case_counts[:, 0].sum())
    n_controls = int(control_counts[:, 0].sum())
    status_term = float(xlogx(n_cases) + xlogx(n_controls) - xlogx(n_cases + n_controls))
    return per_variant, status_term


def _count_block(
    stacked: np.ndarray,
    genotype_counts: np.ndarray,
    start: int,
    stop: int,
    complete: bool,
    sample_weights: np.ndarray | None = None,
) -> np.ndarray:
    """Count joint genotypes of pairs (i, j) with start <= i < stop and start <= j.

    The counts are over the samples of ``stacked`` (one class), or weighted
    sums when ``sample_weights`` is given.

    Parameters
    ----------
    stacked : numpy.ndarray, float32
        :func:`_stacked_indicators` of the class: genotypes (1, 2) when
        ``complete`` (no missing calls), else (0, 1, 2).
    genotype_counts : numpy.ndarray, int, shape (3, n_variants)
        :func:`_genotype_counts` of the class (used when ``complete``),
        weighted like the samples when ``sample_weights`` is given.
    sample_weights : numpy.ndarray, float32, shape (n_samples,), optional
        Weight of each sample's count (default 1).

    Returns
    -------
    numpy.ndarray, float32, shape (3, 3, stop - start, n_variants - start)
    """
    n_levels = 2 if complete else 3
    n_rows = stop - start
    n_columns = stacked.shape[0] // n_levels - start
    # One product gives every (genotype a, genotype b) table of the block.
    left = stacked[n_levels * start : n_levels * stop]
    if sample_weights is not None:
        left = left * sample_weights[None, :]
    product = left @ stacked[n_levels * start :].T
    product = product.reshape(n_rows, n_levels, n_columns, n_levels)
    table = np.empty((3, 3, n_rows, n_columns), dtype=np.float32)
    first = 3 - n_levels
    for a in range(n_levels):
        for b in range(n_levels):
            table[first + a, first + b] = product[:, a, :, b]
    if not complete:
        return table
    # Without missing calls, genotype 0 counts follow from the others and
    # the per-variant genotype totals.
    row_totals = genotype_counts[:, start:stop, None].astype(np.float32)
    column_totals = genotype_counts[:, None, start:].astype(np.float32)
    for a in (1, 2):
        table[a, 0] = row_totals[a] - table[a, 1] - table[a, 2]
    for b in range(3):
        table[0, b] = column_totals[b] - table[1, b] - table[2, b]
    return table


def scan(
    dosages: np.ndarray,
    status: np.ndarray,
    variant_ids,
    *,
    chunk_size: int = 1_000_000,
    n_top: int = 1000,
) -> ScanResult:
    """Test every pair of variants for interaction with the status.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Genotypes, -1 = missing (the sample is left out of that pair).
    status : numpy.ndarray, shape (n_samples,)
        1 = case, 0 = control.
    variant_ids : sequence of str, length n_variants
    chunk_size : int
        Approximate number of pairs counted at once; memory grows with it
        (about 200 bytes per pair).
    n_top : int
        Pairs kept in :attr:`ScanResult.pairs`.
    """
    n_variants, n_samples = dosages.shape
    variant_ids = [str(variant) for variant in variant_ids]
    status = np.asarray(status)
    if len(variant_ids) != n_variants or len(status) != n_samples:
        raise InputError(
            f"scan needs {n_variants} variant IDs and {n_samples} status values; "
            f"found {len(variant_ids)} and {len(status)}"
        )
    if n_variants < 2:
        raise InputError(f"the pairwise scan needs at least 2 variants; found {n_variants}")
    if chunk_size < 1 or n_top < 1:
        raise ValueError(f"chunk_size and n_top must be positive; found {chunk_size}, {n_top}")
    started = time.perf_counter()
    is_case = np.asarray(status) == 1
    complete = bool((np.asarray(dosages) >= 0).all())
    class_columns = [np.flatnonzero(is_case), np.flatnonzero(~is_case)]
    genotype_counts = [_genotype_counts(dosages, columns) for columns in class_columns]
    xlogx = _XLogX(n_samples)
    # The scan itself sums float32 terms (G within about 0.01); the kept
    # pairs are recounted in float64 for the output table.
    xlogx_fast = _XLogX(n_samples, np.float32)
    n_cases = int(is_case.sum())
    n_controls = n_samples - n_cases
    cell_table = None
    if complete:
        variant_terms, status_term = _variant_margin_terms(*genotype_counts, xlogx)
        levels = genotype_counts[0] + genotype_counts[1]
        variant_df = ((levels > 0).sum(axis=0) - 1).clip(0)
        if (n_cases + 1) * (n_controls + 1) <= 4_000_000:
            cell_table = _cell_terms(n_cases, n_controls)
    if cell_table is not None:
        # Weighting cases by (n_controls + 1) makes one product over all
        # samples return the cell-table index cases * (n_controls + 1) +
        # controls of every cell directly. float32 holds these integers
        # exactly because they stay below 4,000,000 < 2**24.
        sample_weights = np.where(is_case, n_controls + 1, 1).astype(np.float32)
        stacked = [_stacked_indicators(dosages, np.arange(n_samples), (1, 2))]
        weighted_counts = (n_controls + 1) * genotype_counts[0] + genotype_counts[1]
    else:
        genotypes = (1, 2) if complete else (0, 1, 2)
        stacked = [_stacked_indicators(dosages, columns, genotypes) for columns in class_columns]
    best_log10_p = np.zeros(n_variants)
    best_statistic = np.zeros(n_variants)
    best_partner = np.full(n_variants, -1, dtype=np.int64)
    top_a = np.empty(0, dtype=np.int64)
    top_b = np.empty(0, dtype=np.int64)
    top_score = np.empty(0)
    n_pairs = n_variants * (n_variants - 1) // 2
    rows_per_block = max(1, min(n_variants, chunk_size // n_variants))

    for start in range(0, n_variants - 1, rows_per_block):
        stop = min(start + rows_per_block, n_variants - 1)
        # Pairs (i, j) with start <= i < stop and i < j < n_variants.
        if cell_table is not None:
            index = _count_block(stacked[0], weighted_counts, start, stop, True, sample_weights)
            # One look-up per cell of x log x (cases) + (controls) - (sum).
            value = cell_table[index.astype(np.int32)].sum(axis=(0, 1), dtype=np.float64)
            value += variant_terms[start:stop, None] + variant_terms[None, start:] + status_term
            statistic = np.maximum(2.0 * value, 0.0)
            df = variant_df[start:stop, None] * variant_df[None, start:]
        else:
            case_counts = _count_block(stacked[0], genotype_counts[0], start, stop, complete)
            control_counts = _count_block(stacked[1], genotype_counts[1], start, stop, complete)
            margin_terms = None
            if complete:
                margin_terms = (
                    variant_terms[start:stop, None] + variant_terms[None, start:] + status_term
                )
            statistic, df = _pair_statistics(
                case_counts.astype(np.int32),
                control_counts.astype(np.int32),
                xlogx_fast,
                margin_terms,
            )
        log10_p = _neg_log10_chi2_sf(statistic, df)
        # Column c of the block is variant start + c: drop pairs (i, j) with j <= i.
        n_rows = stop - start
        log10_p[np.tril_indices(n_rows, m=n_variants - start)] = -1.0

        # Best pair of each variant, as first and as second member.
        row_best = np.argmax(log10_p, axis=1)
        row_value = log10_p[np.arange(n_rows), row_best]
        better = row_value > best_log10_p[start:stop]
        best_log10_p[start:stop][better] = row_value[better]
        best_statistic[start:stop][better] = statistic[np.arange(n_rows), row_best][better]
        best_partner[start:stop][better] = row_best[better] + start
        column_best = np.argmax(log10_p, axis=0)
        column_value = log10_p[column_best, np.arange(n_variants - start)]
        better = column_value > best_log10_p[start:]
        best_log10_p[start:][better] = column_value[better]
        best_statistic[start:][better] = statistic[column_best, np.arange(n_variants - start)][
            better
        ]
        best_partner[start:][better] = column_best[better] + start

        # Keep the n_top strongest pairs seen so far.
        flat = log10_p.ravel()
        n_valid = n_rows * (n_variants - start) - n_rows * (n_rows + 1) // 2
        keep = min(n_top, n_valid)
        candidates = (
            np.argpartition(-flat, keep - 1)[:keep] if keep < flat.size else np.arange(flat.size)
        )
        candidates = candidates[flat[candidates] >= 0]
        top_a = np.concatenate([top_a, candidates // (n_variants - start) + start])
        top_b = np.concatenate([top_b, candidates % (n_variants - start) + start])
        top_score = np.concatenate([top_score, flat[candidates]])
        if len(top_score) > n_top:
            keep_top = np.argpartition(-top_score, n_top - 1)[:n_top]
            top_a, top_b, top_score = top_a[keep_top], top_b[keep_top], top_score[keep_top]
        logger.debug("scanned variants %d-%d of %d", start, stop - 1, n_variants)

    pairs = _top_pairs_table(dosages, is_case, top_a, top_b, top_score, variant_ids, xlogx)
    scores = pd.DataFrame(
        {
            "variant_id": variant_ids,
            "best_statistic": best_statistic,
            "best_log10_p": best_log10_p,
            "best_partner": [
                variant_ids[partner] if partner >= 0 else "NA" for partner in best_partner
            ],
        }
    )
    logger.info(
        "scanned %d pairs of %d variants x %d samples in %.1f s",
        n_pairs,
        n_variants,
        n_samples,
        time.perf_counter() - started,
    )
    return ScanResult(pairs=pairs, variant_scores=scores, n_pairs=n_pairs)


def _top_pairs_table(dosages, is_case, top_a, top_b, top_score, variant_ids, xlogx) -> pd.DataFrame:
    """Recount the kept pairs from the dosages and tabulate them, strongest first."""
    order = np.lexsort((top_b, top_a, -top_score))
    top_a, top_b = top_a[order], top_b[order]
    first = np.asarray(dosages[top_a])
    second = np.asarray(dosages[top_b])
    counts = []
    for members in (is_case, ~is_case):
        table = np.empty((3, 3, len(top_a)), dtype=np.int32)
        for a in range(3):
            for b in range(3):
                table[a, b] = ((first == a) & (second == b) & members).sum(axis=1)
        counts.append(table)
    statistic, df = _pair_statistics(counts[0], counts[1], xlogx)
    log10_p = _neg_log10_chi2_sf(statistic, df)
    return pd.DataFrame(
        {
            "variant_a": [variant_ids[index] for index in top_a],
            "variant_b": [variant_ids[index] for index in top_b],
            "statistic": statistic,
            "df": df,
            "p_value": 10.0 ** (-log10_p),
            "log10_p": log10_p,
            "rank": np.arange(1, len(top_a) + 1),
        },
        columns=PAIR_COLUMNS,
    )


def scan_pairs(
    dosages: np.ndarray,
    status: np.ndarray,
    variant_ids,
    *,
    chunk_size: int = 1_000_000,
    n_top: int = 1000,
) -> pd.DataFrame:
    """Return the ``n_top`` strongest interacting pairs (see :func:`scan`)."""
    return scan(dosages, status, variant_ids, chunk_size=chunk_size, n_top=n_top).pairs


def guide_weights(
    variant_scores: pd.DataFrame, *, guide_mass: float = 0.5, alpha: float = 0.05
) -> np.ndarray:
    """Turn per-variant scan scores into GA inclusion probabilities.

    A variant's excess is how far its best pair's -log10(p) lies above the
    Bonferroni threshold -log10(alpha / n_pairs), and variants at or below
    it get no excess. The weights mix two parts. ``1 - guide_mass`` is
    spread evenly over all variants, so nothing is ruled out and
    higher-order groups without pairwise signal stay reachable.
    ``guide_mass`` is spread in proportion to the excess. Without any
    excess the weights are uniform.

    Parameters
    ----------
    variant_scores : pandas.DataFrame
        :attr:`ScanResult.variant_scores` (column ``best_log10_p``).
    guide_mass : float
        Share of the probability given to the scan's significant variants, in [0, 1].
    alpha : float
        Family-wise significance level of the threshold, in (0, 1).

    Returns
    -------
    numpy.ndarray, float64, shape (n_variants,)
        Non-negative, sums to 1.
    """
    if not 0 <= guide_mass <= 1:
        raise ValueError(f"guide_mass must be in [0, 1]; found {guide_mass}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1); found {alpha}")
    n_variants = len(variant_scores)
    n_pairs = max(1, n_variants * (n_variants - 1) // 2)
    threshold = -math.log10(alpha / n_pairs)
    excess = np.clip(variant_scores["best_log10_p"].to_numpy(dtype=np.float64) - threshold, 0, None)
    uniform = np.full(n_variants, 1.0 / n_variants)
    if excess.sum() <= 0:
        return uniform
    return (1 - guide_mass) * uniform + guide_mass * excess / excess.sum()


def scan_files(qc_dir, split_path, pairs_path, variant_scores_path, options: dict) -> None:
    """Scan the training samples of a QC store; write pairs.tsv and variant_scores.tsv.

    ``options`` is the 'scan' config section (n_top_pairs, chunk_size,
    guide_mass, guide_alpha).
    """
    from fcsnet.ga.runs import load_training
    from fcsnet.store import write_table

    dosages, status, variant_ids = load_training(qc_dir, split_path)
    logger.info(
        "scanning %d variant pairs of %d training samples",
        len(variant_ids) * (len(variant_ids) - 1) // 2,
        dosages.shape[1],
    )
    result = scan(
        dosages,
        status,
        variant_ids,
        chunk_size=options.get("chunk_size", 1_000_000),
        n_top=options.get("n_top_pairs", 1000),
    )
    scores = result.variant_scores
    scores["guide_weight"] = guide_weights(
        scores, guide_mass=options.get("guide_mass", 0.5), alpha=options.get("guide_alpha", 0.05)
    )
    threshold = -math.log10(options.get("guide_alpha", 0.05) / max(1, result.n_pairs))
    logger.info(
        "strongest pair %s; %d variants pass the guide threshold -log10(p) > %.2f",
        "none" if result.pairs.empty else f"{result.pairs.iloc[0, 0]} x {result.pairs.iloc[0, 1]}",
        int((scores["best_log10_p"] > threshold).sum()),
        threshold,
    )
    write_table(result.pairs, pairs_path)
    write_table(scores[SCORE_COLUMNS], variant_scores_path)
