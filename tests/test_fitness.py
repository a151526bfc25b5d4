"""Fitness evaluators: cells against a slow reference, the cache, other evaluators."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from fcsnet.errors import ConfigError
from fcsnet.ga.fitness import CachedEvaluator, make_evaluator, rank_auc, stratified_folds


def load_gametes(path, seed=0):
    """Read a GAMETES table with its rows shuffled (the files are sorted by class)."""
    table = pd.read_csv(path, sep="\t").sample(frac=1, random_state=seed).reset_index(drop=True)
    status = table.pop("Class").to_numpy()
    return table.to_numpy().T.astype(np.int8), status, list(table.columns)


def slow_cells_auc(dosages, status, folds, subset, smoothing):
    """Cells fitness with dictionaries and scikit-learn's AUC, one sample at a time."""
    aucs = []
    for fold in np.unique(folds):
        train = np.flatnonzero(folds != fold)
        test = np.flatnonzero(folds == fold)
        prior = status[train].mean()
        counts = {}
        for sample in train:
            cell = tuple(dosages[list(subset), sample])
            cases, total = counts.get(cell, (0, 0))
            counts[cell] = (cases + status[sample], total + 1)
        risk = []
        for sample in test:
            cases, total = counts.get(tuple(dosages[list(subset), sample]), (0, 0))
            risk.append(
                prior
                if total + smoothing == 0
                else (cases + smoothing * prior) / (total + smoothing)
            )
        aucs.append(roc_auc_score(status[test], risk))
    return float(np.mean(aucs))


@pytest.mark.parametrize("smoothing", [1.0, 0.0, 5.0])
@pytest.mark.parametrize("missing", [True, False])
def test_cells_matches_slow_reference(smoothing, missing):
    rng = np.random.default_rng(3)
    low = -1 if missing else 0
    dosages = rng.integers(low, 3, size=(14, 180)).astype(np.int8)
    status = rng.integers(0, 2, 180)
    # A planted interaction so that some subsets score well above 0.5.
    status[(dosages[0] == 2) ^ (dosages[1] == 2)] = 1
    evaluator = make_evaluator("cells", dosages, status, n_folds=4, seed=5, smoothing=smoothing)
    subsets = [(0,), (0, 1), (1, 2), (3, 4, 5), (2, 7, 9, 11), tuple(range(12)), (13, 0)]
    fast = evaluator.evaluate(subsets)
    slow = [
        slow_cells_auc(dosages, status, evaluator.folds, subset, smoothing) for subset in subsets
    ]
    np.testing.assert_allclose(fast, slow, rtol=0, atol=1e-12)
    assert fast[1] > 0.7


def test_cells_wide_subsets_match_reference():
    # 16 variants: more than 30 base-4 digits never occur, but rows are
    # compacted once 4**16 codes exceed the direct range.
    rng = np.random.default_rng(4)
    dosages = rng.integers(-1, 3, size=(20, 120)).astype(np.int8)
    status = rng.integers(0, 2, 120)
    evaluator = make_evaluator("cells", dosages, status, n_folds=3, seed=1)
    subset = tuple(range(16))
    expected = slow_cells_auc(dosages, status, evaluator.folds, subset, 1.0)
    assert evaluator.evaluate([subset])[0] == pytest.approx(expected, abs=1e-12)


def test_rank_auc_matches_sklearn_with_ties():
    rng = np.random.default_rng(0)
    scores = rng.integers(0, 5, size=(6, 90)) / 4.0
    labels = rng.integers(0, 2, 90)
    expected = [roc_auc_score(labels, row) for row in scores]
    np.testing.assert_allclose(rank_auc(scores, labels), expected, atol=1e-12)
    groups = np.arange(90) % 3
    grouped = rank_auc(scores, labels, groups)
    for group in range(3):
        members = groups == group
        expected = [roc_auc_score(labels[members], row[members]) for row in scores]
        np.testing.assert_allclose(grouped[:, group], expected, atol=1e-12)


def test_folds_are_stratified_and_seeded():
    status = np.r_[np.ones(23), np.zeros(57)].astype(int)
    folds = stratified_folds(status, 5, seed=0)
    for fold in range(5):
        assert status[folds == fold].sum() in (4, 5)
    np.testing.assert_array_equal(folds, stratified_folds(status, 5, seed=0))
    assert not np.array_equal(folds, stratified_folds(status, 5, seed=1))


def test_cache_never_changes_fitness():
    rng = np.random.default_rng(1)
    dosages = rng.integers(0, 3, size=(10, 200)).astype(np.int8)
    status = rng.integers(0, 2, 200)
    direct = make_evaluator("cells", dosages, status, n_folds=5, seed=2)
    cached = CachedEvaluator(make_evaluator("cells", dosages, status, n_folds=5, seed=2))
    population = [(0, 1), (1, 0), (2,), (3, 4, 5), (0, 1), (2,)]
    first = cached.evaluate(population)
    second = cached.evaluate(list(reversed(population)))
    np.testing.assert_array_equal(first, direct.evaluate(population))
    np.testing.assert_array_equal(second, first[::-1])
    assert cached.n_evaluations == 3
    assert cached.n_hits == 9


def test_population_order_does_not_change_fitness():
    rng = np.random.default_rng(2)
    dosages = rng.integers(0, 3, size=(10, 200)).astype(np.int8)
    status = rng.integers(0, 2, 200)
    evaluator = make_evaluator("cells", dosages, status, n_folds=5, seed=2)
    population = [(0, 1), (2,), (3, 4, 5), (6, 7), (8, 9, 0, 1)]
    alone = [evaluator.evaluate([subset])[0] for subset in population]
    np.testing.assert_array_equal(evaluator.evaluate(population), alone)


def test_more_folds_than_cases_names_key():
    dosages = np.zeros((3, 40), dtype=np.int8)
    status = np.r_[np.ones(4), np.zeros(36)].astype(int)
    with pytest.raises(ConfigError, match="ga.n_folds"):
        make_evaluator("cells", dosages, status, n_folds=5, seed=0)


def test_unknown_evaluator_names_key():
    dosages = np.zeros((3, 40), dtype=np.int8)
    status = np.r_[np.ones(20), np.zeros(20)].astype(int)
    with pytest.raises(ConfigError, match="ga.fitness"):
        make_evaluator("forest", dosages, status, n_folds=5, seed=0)


def test_empty_subset_rejected():
    dosages = np.zeros((3, 40), dtype=np.int8)
    status = np.r_[np.ones(20), np.zeros(20)].astype(int)
    with pytest.raises(ValueError, match="empty"):
        make_evaluator("cells", dosages, status, n_folds=5, seed=0).evaluate([()])


def test_evaluators_on_pure_epistasis(shared_data):
    path = shared_data / "gametes" / "heterogeneity_r50" / "het_r50_01.tsv.gz"
    dosages, status, names = load_gametes(path)
    index = {name: position for position, name in enumerate(names)}
    pair = (index["M0P0"], index["M0P1"])
    noise = (index["N0"], index["N1"])
    fitness = {}
    for name in ("cells", "tree", "logistic", "nonlinear_gain"):
        evaluator = make_evaluator(name, dosages, status, n_folds=5, seed=0)
        fitness[name] = evaluator.evaluate([pair, noise])
    assert fitness["cells"][0] > 0.65
    assert fitness["tree"][0] > 0.65
    # No marginal effect, so an additive model finds no signal.
    assert fitness["logistic"][0] < 0.56
    assert fitness["nonlinear_gain"][0] > 0.12
    for name in ("cells", "tree", "logistic"):
        assert fitness[name][1] < 0.56, name
    assert abs(fitness["cells"][0] - fitness["tree"][0]) < 0.03
