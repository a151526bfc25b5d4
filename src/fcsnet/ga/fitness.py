"""Fitness evaluators: cross-validated ROC-AUC of a classifier on a variant subset.

Every evaluator scores a whole population in one call,
``evaluate(subsets) -> numpy.ndarray`` (float64, one fitness per subset), so
that batched models can process many subsets at once. All evaluators of one
cohort use the same stratified k-fold assignment of the training samples,
drawn once from their seed, so that fitness values of different subsets are
comparable.

Missing genotypes (-1) are handled as follows:

``cells``
    Missing is a genotype category of its own, so a cell is a combination of
    {missing, 0, 1, 2} codes.
``tree``, ``logistic``
    Missing dosages are replaced by the variant's mean dosage over the called
    training samples (mean imputation; no status is used).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence

import numpy as np

from fcsnet.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

EVALUATOR_NAMES = ("cells", "tree", "logistic", "nonlinear_gain", "attention")

# Raw cell codes are base-3 or base-4 numbers (one digit per variant);
# compact them before they could overflow int64 (4**31 = 2**62).
_MAX_DIGITS = 30


def stratified_folds(status: np.ndarray, n_folds: int, seed) -> np.ndarray:
    """Assign each sample to one of ``n_folds`` folds, stratified by status.

    The samples of each class are shuffled with ``seed`` and dealt round-robin,
    so every fold contains at least one case and one control when ``n_folds`` does
    not exceed either class count.

    Returns
    -------
    numpy.ndarray, int64, shape (n_samples,)
        Fold index of each sample, 0 .. n_folds - 1.
    """
    rng = np.random.default_rng(seed)
    folds = np.empty(len(status), dtype=np.int64)
    for label in (0, 1):
        members = np.flatnonzero(status == label)
        members = members[rng.permutation(len(members))]
        # Start each class at a random fold so that small folds are not
        # always the last ones.
        offset = int(rng.integers(n_folds))
        folds[members] = (np.arange(len(members)) + offset) % n_folds
    return folds


def validate_inputs(
    dosages: np.ndarray, status: np.ndarray, n_folds: int, n_folds_key: str = "ga.n_folds"
) -> np.ndarray:
    """Check the dosage matrix, status vector and fold count; return status as int8.

    ``n_folds_key`` is the config key named in the error for a bad fold count.
    """
    if dosages.ndim != 2:
        raise InputError(
            f"dosages must be a 2-D (n_variants, n_samples) matrix; found shape {dosages.shape}"
        )
    status = np.asarray(status)
    if status.ndim != 1 or len(status) != dosages.shape[1]:
        raise InputError(
            f"status has shape {status.shape}; expected one value per sample ({dosages.shape[1]})"
        )
    values = set(np.unique(status).tolist())
    if not values <= {0, 1}:
        raise InputError(
            f"status must be coded 0 (control) / 1 (case); found values {sorted(values)}"
        )
    n_cases = int((status == 1).sum())
    n_controls = int((status == 0).sum())
    if n_cases == 0 or n_controls == 0:
        raise InputError(
            f"fitness needs cases and controls in the training split; found {n_cases} cases "
            f"and {n_controls} controls"
        )
    if isinstance(n_folds, bool) or not isinstance(n_folds, int | np.integer) or n_folds < 2:
        raise ConfigError(f"{n_folds_key} must be an integer of at least 2; found {n_folds!r}")
    if n_folds > min(n_cases, n_controls):
        raise ConfigError(
            f"{n_folds_key} = {n_folds} exceeds the number of "
            f"{'cases' if n_cases < n_controls else 'controls'} in the training split "
            f"({min(n_cases, n_controls)}); lower {n_folds_key} so that each fold has both classes"
        )
    return status.astype(np.int8)


def normalise_subsets(subsets: Sequence[Sequence[int]], n_variants: int) -> list[tuple[int, ...]]:
    """Return each subset as a sorted tuple of ints; reject empty or out-of-range subsets."""
    normalised = []
    for subset in subsets:
        items = tuple(sorted(int(index) for index in subset))
        if not items:
            raise ValueError("subsets must not be empty")
        if items[0] < 0 or items[-1] >= n_variants:
            raise ValueError(f"subset {items} has a variant index outside 0 .. {n_variants - 1}")
        if len(set(items)) != len(items):
            raise ValueError(f"subset {items} repeats a variant index")
        normalised.append(items)
    return normalised


def rank_auc(
    scores: np.ndarray, labels: np.ndarray, groups: np.ndarray | None = None
) -> np.ndarray:
    """Compute the ROC-AUC of each row of ``scores`` (per group), ties counted as one half.

    Parameters
    ----------
    scores : numpy.ndarray, float64, shape (n_rows, n_samples)
        Values in [0, 1].
    labels : numpy.ndarray, shape (n_samples,)
        1 = case, 0 = control; both classes present in every group.
    groups : numpy.ndarray, int64, shape (n_samples,), optional
        Group of each sample (0 .. n_groups - 1, e.g. the test fold); the AUC
        is computed within each group. Default: one group.

    Returns
    -------
    numpy.ndarray, float64, shape (n_rows,) without groups, else (n_rows, n_groups)
    """
    n_rows = scores.shape[0]
    single = groups is None
    groups = np.zeros(len(labels), dtype=np.int64) if single else np.asarray(groups, dtype=np.int64)
    n_groups = int(groups.max()) + 1
    positive = labels == 1
    n_positive = np.bincount(groups[positive], minlength=n_groups)
    n_negative = np.bincount(groups[~positive], minlength=n_groups)
    # Shift each (row, group) by twice its number so that one flat sort keeps
    # every (row, group) block separate; equal scores in a block stay equal.
    block = 2.0 * (np.arange(n_rows)[:, None] * n_groups + groups[None, :])
    negative_keys = np.sort((scores + block)[:, ~positive].ravel())
    # Sorted queries make the binary searches cache-friendly; after sorting,
    # the positives of each block are still contiguous and in block order.
    positive_keys = np.sort((scores + block)[:, positive].ravel())
    below = np.searchsorted(negative_keys, positive_keys, side="left")
    not_above = np.searchsorted(negative_keys, positive_keys, side="right")
    block_negatives = np.tile(n_negative, n_rows)
    block_positives = np.tile(n_positive, n_rows)
    negative_start = np.concatenate(([0], np.cumsum(block_negatives)[:-1]))
    block_of_positive = np.repeat(np.arange(n_rows * n_groups), block_positives)
    wins = (below - negative_start[block_of_positive]) + 0.5 * (not_above - below)
    wins_per_block = np.bincount(block_of_positive, weights=wins, minlength=n_rows * n_groups)
    auc = (wins_per_block / (block_positives * block_negatives)).reshape(n_rows, n_groups)
    return auc[:, 0] if single else auc


class CellsEvaluator:
    """Cross-validated AUC of a saturated genotype-combination classifier.

    Each combination of genotype codes of the subset's variants is a cell.
    A sample's risk is its cell's case fraction among the training folds,
    smoothed towards the training case fraction:
    ``(cases + smoothing * prior) / (samples + smoothing)``. Cells unseen in
    training get the prior. The fitness is the mean ROC-AUC over the folds.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Training genotypes, -1 = missing (a category of its own).
    status : numpy.ndarray, shape (n_samples,)
        1 = case, 0 = control.
    n_folds : int
        Number of stratified folds.
    seed : int or numpy.random.SeedSequence
        Seed of the fold assignment.
    smoothing : float
        Pseudo-count that pulls a cell's risk towards the prior (default 1).
    """

    def __init__(self, dosages, status, *, n_folds, seed, smoothing: float = 1.0):
        self.status = validate_inputs(dosages, status, n_folds)
        if smoothing < 0:
            raise ConfigError(f"fitness option smoothing must be >= 0; found {smoothing}")
        self.dosages = dosages
        self.n_folds = n_folds
        self.smoothing = float(smoothing)
        self.folds = stratified_folds(self.status, n_folds, seed)
        self._is_case = self.status == 1
        n_cases_fold = np.bincount(self.folds[self._is_case], minlength=n_folds)
        n_fold = np.bincount(self.folds, minlength=n_folds)
        self._n_test_cases = n_cases_fold
        self._n_test_controls = n_fold - n_cases_fold
        # Prior of each held-out fold: the case fraction of the other folds.
        self._priors = (n_cases_fold.sum() - n_cases_fold) / (len(self.status) - n_fold)

    def evaluate(self, subsets: Sequence[Sequence[int]]) -> np.ndarray:
        subsets = normalise_subsets(subsets, self.dosages.shape[0])
        fitness = np.empty(len(subsets), dtype=np.float64)
        by_size: dict[int, list[int]] = {}
        for position, subset in enumerate(subsets):
            by_size.setdefault(len(subset), []).append(position)
        n_samples = self.dosages.shape[1]
        for size, positions in by_size.items():
            index = np.array([subsets[position] for position in positions], dtype=np.int64)
            # Evaluate a few subsets at a time so that the count arrays of a
            # chunk (subsets x cells x folds) stay small enough for the CPU cache.
            width = min(4**size, max(n_samples, 4096))
            step = max(1, min(2_000_000 // n_samples, 200_000 // (width * self.n_folds)))
            for start in range(0, len(positions), step):
                rows = index[start : start + step]
                fitness[positions[start : start + step]] = self._evaluate_same_size(rows)
        return fitness

    def cell_ids(self, index: np.ndarray) -> tuple[np.ndarray, int]:
        """Number the cells of each subset.

        Parameters
        ----------
        index : numpy.ndarray, int64, shape (n_subsets, size)

        Returns
        -------
        cells : numpy.ndarray, int64, shape (n_subsets, n_samples)
            Cell of each sample; subset r's cells lie in [r * width, (r + 1) * width).
        width : int
            Number of cell numbers reserved per subset.
        """
        n_subsets, size = index.shape
        n_samples = self.dosages.shape[1]
        genotypes = np.asarray(self.dosages[index.ravel()]).reshape(n_subsets, size, n_samples)
        # Codes 0 (missing), 1, 2, 3; without missing calls base 3 suffices,
        # which keeps the count arrays smaller.
        base = 4 if genotypes.min() < 0 else 3
        shift = 1 if base == 4 else 0
        cells = np.zeros((n_subsets, n_samples), dtype=np.int64)
        width = 1
        for column in range(size):
            if width * base > 4**_MAX_DIGITS:
                cells, width = _compact_rows(cells)
            cells = cells * base + (genotypes[:, column, :].astype(np.int64) + shift)
            width *= base
        if width > max(n_samples, 4096):
            cells, width = _compact_rows(cells)
        return cells + np.arange(n_subsets, dtype=np.int64)[:, None] * width, width

    def _evaluate_same_size(self, index: np.ndarray) -> np.ndarray:
        n_subsets = index.shape[0]
        n_folds = self.n_folds
        cells, width = self.cell_ids(index)

        # Case and sample counts of each (cell, fold) bin; only occupied bins
        # are kept, in (cell, fold) order.
        keys = cells * n_folds + self.folds[None, :]
        n_bins = n_subsets * width * n_folds
        totals = np.bincount(keys.ravel(), minlength=n_bins)
        cases = np.bincount(keys[:, self._is_case].ravel(), minlength=n_bins)
        occupied = np.flatnonzero(totals)
        test_totals = totals[occupied]
        test_cases = cases[occupied]
        cell = occupied // n_folds
        fold = occupied % n_folds

        # A bin's training counts are its cell's totals over all folds minus
        # its own fold; cells are contiguous runs of the occupied bins.
        cell_start = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
        run_length = np.diff(np.r_[cell_start, len(cell)])
        cell_totals = np.repeat(np.add.reduceat(test_totals, cell_start), run_length)
        cell_cases = np.repeat(np.add.reduceat(test_cases, cell_start), run_length)
        train_totals = cell_totals - test_totals
        train_cases = cell_cases - test_cases
        prior = self._priors[fold]
        with np.errstate(invalid="ignore", divide="ignore"):
            risk = (train_cases + self.smoothing * prior) / (train_totals + self.smoothing)
        # A cell unseen in training (possible only without smoothing) gets the prior.
        risk = np.where(train_totals > 0, risk, prior)

        block = (cell // width) * n_folds + fold
        return _binned_auc(
            risk,
            test_cases,
            test_totals - test_cases,
            block,
            self._n_test_cases,
            self._n_test_controls,
        ).mean(axis=1)


def _binned_auc(risk, positives, negatives, block, n_positive, n_negative) -> np.ndarray:
    """Compute the ROC-AUC of each (subset, fold) block from scored bins.

    Every bin contains ``positives`` cases and ``negatives`` controls that share
    the score ``risk``; ties between a case and a control count one half.

    Returns
    -------
    numpy.ndarray, float64, shape (n_subsets, n_folds)
    """
    n_folds = len(n_positive)
    n_blocks = int(block.max()) + 1
    n_blocks += (-n_blocks) % n_folds
    # Shift each block by twice its number so that one sort keeps blocks
    # apart; equal scores in a block stay exactly equal.
    order = np.argsort(risk + 2.0 * block, kind="stable")
    key = (risk + 2.0 * block)[order]
    positives = positives[order]
    negatives = negatives[order]
    block = block[order]

    # Bins with equal keys form one tie group.
    new_group = np.r_[True, key[1:] != key[:-1]]
    group = np.cumsum(new_group) - 1
    group_negatives = np.bincount(group, weights=negatives)
    group_block = block[new_group]
    # Controls scored below each tie group, within its block.
    below = np.cumsum(group_negatives) - group_negatives
    block_start = np.flatnonzero(np.r_[True, group_block[1:] != group_block[:-1]])
    block_runs = np.diff(np.r_[block_start, len(group_block)])
    below -= np.repeat(below[block_start], block_runs)

    wins = positives * (below[group] + 0.5 * group_negatives[group])
    wins_per_block = np.bincount(block, weights=wins, minlength=n_blocks).reshape(-1, n_folds)
    return wins_per_block / (n_positive * n_negative)[None, :]


def _compact_rows(cells: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber the values of each row to 0 .. (distinct values - 1)."""
    order = np.argsort(cells, axis=1, kind="stable")
    ordered = np.take_along_axis(cells, order, axis=1)
    starts = np.ones(ordered.shape, dtype=np.int64)
    starts[:, 1:] = ordered[:, 1:] != ordered[:, :-1]
    ranks = np.cumsum(starts, axis=1) - 1
    compact = np.empty_like(cells)
    np.put_along_axis(compact, order, ranks, axis=1)
    return compact, cells.shape[1]


class _SklearnEvaluator:
    """Cross-validated AUC of a scikit-learn classifier on mean-imputed dosages."""

    def __init__(self, dosages, status, *, n_folds, seed):
        self.status = validate_inputs(dosages, status, n_folds)
        self.dosages = dosages
        self.n_folds = n_folds
        self.folds = stratified_folds(self.status, n_folds, seed)
        self.model_seed = int(np.random.default_rng(seed).integers(2**31 - 1))

    def make_model(self):
        raise NotImplementedError

    def features(self, subset: tuple[int, ...]) -> np.ndarray:
        """Return the subset's dosages, shape (n_samples, size), missing mean-imputed."""
        genotypes = np.asarray(self.dosages[list(subset)], dtype=np.float64).T
        missing = genotypes < 0
        if missing.any():
            called = np.where(missing, 0.0, genotypes)
            n_called = (~missing).sum(axis=0)
            means = np.divide(
                called.sum(axis=0), n_called, out=np.zeros(genotypes.shape[1]), where=n_called > 0
            )
            genotypes = np.where(missing, means[None, :], genotypes)
        return genotypes

    def evaluate(self, subsets: Sequence[Sequence[int]]) -> np.ndarray:
        from sklearn.metrics import roc_auc_score

        subsets = normalise_subsets(subsets, self.dosages.shape[0])
        fitness = np.empty(len(subsets), dtype=np.float64)
        for position, subset in enumerate(subsets):
            features = self.features(subset)
            scores = []
            for fold in range(self.n_folds):
                test = self.folds == fold
                model = self.make_model().fit(features[~test], self.status[~test])
                probability = model.predict_proba(features[test])[:, 1]
                scores.append(roc_auc_score(self.status[test], probability))
            fitness[position] = float(np.mean(scores))
        return fitness


class TreeEvaluator(_SklearnEvaluator):
    """Cross-validated AUC of a class-balanced scikit-learn decision tree.

    ``min_samples_split`` (default 0.05, a fraction of the training samples)
    is the setting of the original FCS-Net evaluator.
    """

    def __init__(self, dosages, status, *, n_folds, seed, min_samples_split=0.05, max_depth=None):
        super().__init__(dosages, status, n_folds=n_folds, seed=seed)
        self.min_samples_split = min_samples_split
        self.max_depth = max_depth

    def make_model(self):
        from sklearn.tree import DecisionTreeClassifier

        return DecisionTreeClassifier(
            class_weight="balanced",
            min_samples_split=self.min_samples_split,
            max_depth=self.max_depth,
            random_state=self.model_seed,
        )


class LogisticEvaluator(_SklearnEvaluator):
    """Cross-validated AUC of an additive (allele-count) logistic regression."""

    def __init__(self, dosages, status, *, n_folds, seed, C=1.0):
        super().__init__(dosages, status, n_folds=n_folds, seed=seed)
        self.C = C

    def make_model(self):
        from sklearn.linear_model import LogisticRegression

        return LogisticRegression(C=self.C, max_iter=500)


class NonlinearGainEvaluator:
    """Non-linear AUC minus logistic AUC: rewards what an additive model cannot see.

    ``base`` names the non-linear evaluator (``cells`` or ``tree``); both
    evaluators use the same folds.
    """

    def __init__(self, dosages, status, *, n_folds, seed, base="cells", **options):
        if base not in ("cells", "tree"):
            raise ConfigError(f"fitness option base must be 'cells' or 'tree'; found {base!r}")
        self.nonlinear = make_evaluator(
            base, dosages, status, n_folds=n_folds, seed=seed, **options
        )
        self.linear = LogisticEvaluator(dosages, status, n_folds=n_folds, seed=seed)

    def evaluate(self, subsets: Sequence[Sequence[int]]) -> np.ndarray:
        return self.nonlinear.evaluate(subsets) - self.linear.evaluate(subsets)


class CachedEvaluator:
    """Wrap an evaluator so that no subset is evaluated twice.

    Subsets are keyed by their sorted variant indices; a population's unseen
    subsets go to the wrapped evaluator in one call. ``n_evaluations`` counts
    subsets actually evaluated, ``n_hits`` those returned from the cache.
    """

    def __init__(self, evaluator):
        self.evaluator = evaluator
        self.cache: dict[tuple[int, ...], float] = {}
        self.n_evaluations = 0
        self.n_hits = 0

    def evaluate(self, subsets: Sequence[Sequence[int]]) -> np.ndarray:
        keys = [tuple(sorted(int(index) for index in subset)) for subset in subsets]
        unseen = list(dict.fromkeys(key for key in keys if key not in self.cache))
        if unseen:
            values = np.asarray(self.evaluator.evaluate(unseen), dtype=np.float64)
            if values.shape != (len(unseen),):
                raise ValueError(
                    f"evaluator returned shape {values.shape}; expected ({len(unseen)},)"
                )
            self.cache.update(zip(unseen, values.tolist(), strict=True))
        self.n_evaluations += len(unseen)
        self.n_hits += len(keys) - len(unseen)
        return np.array([self.cache[key] for key in keys], dtype=np.float64)


def make_evaluator(name: str, dosages, status, *, n_folds: int, seed, **options):
    """Build the fitness evaluator called ``name``.

    Parameters
    ----------
    name : {'cells', 'tree', 'logistic', 'nonlinear_gain', 'attention'}
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Training-split genotypes, -1 = missing.
    status : numpy.ndarray, shape (n_samples,)
        1 = case, 0 = control.
    n_folds : int
        Stratified folds of the cross-validation (at least 2, at most the
        smaller class count).
    seed : int or numpy.random.SeedSequence
        Seed of the fold assignment and of any model randomness.
    **options
        Evaluator-specific keyword arguments (config key ``ga.fitness_options``).

    Returns
    -------
    An object whose ``evaluate(subsets)`` returns one float64 fitness per subset.
    """
    if name == "cells":
        return CellsEvaluator(dosages, status, n_folds=n_folds, seed=seed, **options)
    if name == "tree":
        return TreeEvaluator(dosages, status, n_folds=n_folds, seed=seed, **options)
    if name == "logistic":
        return LogisticEvaluator(dosages, status, n_folds=n_folds, seed=seed, **options)
    if name == "nonlinear_gain":
        return NonlinearGainEvaluator(dosages, status, n_folds=n_folds, seed=seed, **options)
    if name == "attention":
        module = importlib.import_module("fcsnet.attention.fitness")
        return module.AttentionEvaluator(dosages, status, n_folds=n_folds, seed=seed, **options)
    raise ConfigError(f"ga.fitness must be one of {', '.join(EVALUATOR_NAMES)}; found {name!r}")
