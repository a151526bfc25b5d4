"""Pairwise interaction scan against a slow reference, and the GA guide."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from fcsnet.errors import InputError
from fcsnet.scan import guide_weights, scan, scan_pairs


def load_gametes(path, seed=0):
    """Read a GAMETES table with its rows shuffled (the files are sorted by class)."""
    table = pd.read_csv(path, sep="\t").sample(frac=1, random_state=seed).reset_index(drop=True)
    status = table.pop("Class").to_numpy()
    return table.to_numpy().T.astype(np.int8), status, list(table.columns)


def g_statistic(table):
    """G statistic of independence of a contingency table, empty rows and columns dropped."""
    table = table[table.sum(axis=1) > 0][:, table.sum(axis=0) > 0]
    if min(table.shape) < 2:
        return 0.0
    return stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]


def slow_interaction(a, b, status):
    """Joint-genotype G minus the two single-variant G statistics, on samples called at both."""
    called = (a >= 0) & (b >= 0)
    a, b, status = a[called], b[called], status[called]
    joint = np.zeros((9, 2))
    np.add.at(joint, (a * 3 + b, status), 1)
    single_a = np.zeros((3, 2))
    np.add.at(single_a, (a, status), 1)
    single_b = np.zeros((3, 2))
    np.add.at(single_b, (b, status), 1)
    statistic = max(g_statistic(joint) - g_statistic(single_a) - g_statistic(single_b), 0.0)
    df = (len(np.unique(a)) - 1) * (len(np.unique(b)) - 1)
    return statistic, df, stats.chi2.sf(statistic, df) if df > 0 else 1.0


@pytest.mark.parametrize("missing", [True, False])
def test_scan_matches_slow_reference(missing):
    rng = np.random.default_rng(11)
    n_variants, n_samples = 12, 150
    dosages = rng.integers(-1 if missing else 0, 3, size=(n_variants, n_samples)).astype(np.int8)
    dosages[4] = np.where(dosages[4] == 2, 1, dosages[4])  # two genotype levels: df 2
    status = rng.integers(0, 2, n_samples)
    status[(dosages[0] == 1) ^ (dosages[1] == 1)] = 1
    names = [f"v{index}" for index in range(n_variants)]
    n_pairs = n_variants * (n_variants - 1) // 2
    result = scan(dosages, status, names, chunk_size=20, n_top=n_pairs)
    assert len(result.pairs) == n_pairs
    assert result.n_pairs == n_pairs
    for row in result.pairs.itertuples():
        a, b = names.index(row.variant_a), names.index(row.variant_b)
        statistic, df, p_value = slow_interaction(dosages[a], dosages[b], status)
        assert row.statistic == pytest.approx(statistic, abs=1e-6)
        assert row.df == df
        assert row.p_value == pytest.approx(p_value, rel=1e-6)
    assert set(result.pairs.iloc[0][["variant_a", "variant_b"]]) == {"v0", "v1"}
    assert result.pairs["rank"].tolist() == list(range(1, n_pairs + 1))
    assert result.pairs["p_value"].is_monotonic_increasing
    # Each variant's best pair is its smallest p-value among the pairs.
    for variant in names:
        own = result.pairs[
            (result.pairs["variant_a"] == variant) | (result.pairs["variant_b"] == variant)
        ]
        score = result.variant_scores.set_index("variant_id").loc[variant]
        assert score["best_log10_p"] == pytest.approx(own["log10_p"].max(), abs=1e-3)


def test_chunk_size_does_not_change_result():
    rng = np.random.default_rng(12)
    dosages = rng.integers(0, 3, size=(30, 100)).astype(np.int8)
    status = rng.integers(0, 2, 100)
    names = [f"v{index}" for index in range(30)]
    whole = scan(dosages, status, names, chunk_size=10_000, n_top=50)
    pieces = scan(dosages, status, names, chunk_size=31, n_top=50)
    pd.testing.assert_frame_equal(whole.pairs, pieces.pairs)
    pd.testing.assert_frame_equal(whole.variant_scores, pieces.variant_scores)


@pytest.mark.parametrize("n_snps", [100, 1000])
def test_true_pair_ranked_first(shared_data, n_snps):
    path = shared_data / "gametes" / "many_snps" / f"epi2_a{n_snps}_01.tsv.gz"
    dosages, status, names = load_gametes(path)
    pairs = scan_pairs(dosages, status, names, n_top=10)
    assert {pairs.iloc[0]["variant_a"], pairs.iloc[0]["variant_b"]} == {"M0P0", "M0P1"}
    assert pairs.iloc[0]["p_value"] < 1e-30
    assert pairs.iloc[1]["p_value"] > 1e-8


def test_heterogeneity_pairs_ranked_first(shared_data):
    path = shared_data / "gametes" / "heterogeneity_r50" / "het_r50_01.tsv.gz"
    dosages, status, names = load_gametes(path)
    pairs = scan_pairs(dosages, status, names, n_top=5)
    top = {
        frozenset(pair)
        for pair in pairs[["variant_a", "variant_b"]].head(2).itertuples(index=False)
    }
    assert top == {frozenset({"M0P0", "M0P1"}), frozenset({"M1P0", "M1P1"})}


def test_guide_weights_concentrate_on_significant_variants(shared_data):
    path = shared_data / "gametes" / "many_snps" / "epi2_a100_01.tsv.gz"
    dosages, status, names = load_gametes(path)
    weights = guide_weights(scan(dosages, status, names).variant_scores, guide_mass=0.6)
    assert weights.sum() == pytest.approx(1.0)
    assert weights.min() == pytest.approx(0.4 / len(names))
    top = {names[index] for index in np.argsort(-weights)[:2]}
    assert top == {"M0P0", "M0P1"}
    assert weights[names.index("M0P0")] > 0.2


def test_guide_weights_uniform_without_signal():
    rng = np.random.default_rng(13)
    dosages = rng.integers(0, 3, size=(20, 300)).astype(np.int8)
    status = rng.integers(0, 2, 300)
    weights = guide_weights(scan(dosages, status, [f"v{i}" for i in range(20)]).variant_scores)
    np.testing.assert_allclose(weights, 1 / 20)


def test_scan_rejects_mismatched_inputs():
    dosages = np.zeros((3, 10), dtype=np.int8)
    with pytest.raises(InputError, match="variant IDs"):
        scan(dosages, np.zeros(10), ["a", "b"])
    with pytest.raises(InputError, match="at least 2 variants"):
        scan(dosages[:1], np.zeros(10), ["a"])
