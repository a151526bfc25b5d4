"""Tests of the co-selection network: subset choice, edge null, weights, outputs."""

import logging

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from scipy.stats import false_discovery_control

from fcsnet.config import default_config
from fcsnet.errors import ConfigError, InputError
from fcsnet.network import (
    benjamini_hochberg,
    build_network,
    counted_subsets,
    curveball_null,
    curveball_trades,
    hypergeometric_null,
    pairwise_interaction_information,
    subset_synergy,
    write_network,
)

VARIANTS = [f"v{i}" for i in range(12)]


def network_params(**overrides):
    params = default_config()["network"]
    params.update(overrides)
    return params


def selections_table(subsets, fitness=None):
    """One run per subset, rank 1, size limit = subset size."""
    rows = []
    for run, subset in enumerate(subsets):
        rows.append(
            {
                "run": run,
                "size_limit": len(subset),
                "rank": 1,
                "variant_ids": ",".join(subset),
                "n_variants": len(subset),
                "fitness": 0.6 if fitness is None else fitness[run],
            }
        )
    return pd.DataFrame(rows)


def planted_selections(n_runs=60, seed=0):
    """Subsets that hold the pair v0, v1 in half the runs; other members random."""
    rng = np.random.default_rng(seed)
    subsets = []
    for run in range(n_runs):
        size = int(rng.integers(2, 5))
        if run % 2 == 0:
            others = rng.choice(np.arange(2, 12), size - 2, replace=False)
            members = [0, 1, *others.tolist()]
        else:
            members = rng.choice(np.arange(2, 12), size, replace=False).tolist()
        subsets.append([VARIANTS[i] for i in members])
    return selections_table(subsets)


def test_counted_subsets_modes():
    selections = pd.DataFrame(
        {
            "run": [0, 0, 0, 1, 1],
            "size_limit": [2, 2, 2, 2, 2],
            "rank": [1, 2, 3, 1, 2],
            "variant_ids": ["v0,v1", "v0,v2", "v3", "v1,v2", "v4"],
            "n_variants": [2, 2, 1, 2, 1],
            "fitness": [0.9, 0.8, 0.5, 0.7, 0.6],
        }
    )
    assert counted_subsets(selections, mode="best")["variant_ids"].tolist() == ["v0,v1", "v1,v2"]
    assert len(counted_subsets(selections, mode="top_n", top_n=2)) == 4
    assert (
        counted_subsets(selections, mode="quantile", fitness_quantile=0.75)["fitness"].min() >= 0.8
    )
    with pytest.raises(ConfigError, match="network.subsets"):
        counted_subsets(selections, mode="everything")


def test_curveball_trades_keep_margins():
    rng = np.random.default_rng(1)
    incidence = rng.random((30, 12)) < 0.3
    matrices = np.repeat(incidence[None], 8, axis=0)
    curveball_trades(matrices, rng, 200)
    for matrix in matrices:
        np.testing.assert_array_equal(matrix.sum(axis=1), incidence.sum(axis=1))
        np.testing.assert_array_equal(matrix.sum(axis=0), incidence.sum(axis=0))
    assert any((matrix != incidence).any() for matrix in matrices)


def test_curveball_null_separates_planted_pair():
    rng = np.random.default_rng(2)
    incidence = rng.random((80, 10)) < 0.25
    incidence[:40, 0] = True
    incidence[:40, 1] = True
    incidence[40:, 0] = False
    incidence[40:, 1] = False
    pairs = np.array([[0, 1], [2, 3], [4, 5]])
    p_value, expected = curveball_null(incidence, pairs, n_permutations=300, seed=0)
    assert p_value[0] == pytest.approx(1 / 301)
    assert p_value[1] > 0.05
    assert expected[0] < 40


def test_hypergeometric_null_is_conservative():
    rng = np.random.default_rng(3)
    incidence = np.zeros((60, 8), dtype=bool)
    for row in incidence:
        row[rng.choice(8, 3, replace=False)] = True
    pairs = np.array([[0, 1], [2, 3], [5, 7], [1, 6]])
    curveball_p, curveball_expected = curveball_null(incidence, pairs, n_permutations=1000, seed=1)
    hypergeometric_p, exact_expected = hypergeometric_null(incidence, pairs)
    # Fixed subset sizes make two variants compete for slots, which the
    # hypergeometric test ignores: it expects more co-selections.
    assert (curveball_expected < exact_expected).all()
    assert (curveball_p <= hypergeometric_p + 0.02).all()


def test_benjamini_hochberg_matches_scipy():
    p_values = np.random.default_rng(4).random(50) ** 3
    np.testing.assert_allclose(benjamini_hochberg(p_values), false_discovery_control(p_values))


def test_interaction_information_of_xor_pair():
    rng = np.random.default_rng(5)
    dosages = rng.integers(0, 2, size=(3, 4000)).astype(np.int8)
    status = (dosages[0] ^ dosages[1]).astype(int)
    dosages[2, :10] = -1
    values = pairwise_interaction_information(dosages, status, np.array([[0, 1], [0, 2]]))
    assert values[0] == pytest.approx(1.0, abs=0.01)
    assert abs(values[1]) < 0.01


def test_subset_synergy_credits_only_the_interacting_pair():
    # f is 0.8 for any subset holding both 0 and 1, 0.5 otherwise.
    def evaluate(subsets):
        return np.array([0.8 if {0, 1} <= set(subset) else 0.5 for subset in subsets])

    pairs = np.array([[0, 1], [0, 2], [1, 2]])
    synergy = subset_synergy([[0, 1, 2], [0, 1]], evaluate, pairs, {0: 0, 1: 1, 2: 2})
    np.testing.assert_allclose(synergy, [0.6, 0.0, 0.0])


def test_build_network_keeps_planted_edge_only():
    selections = planted_selections()
    params = network_params(weighting="count", n_permutations=500)
    network = build_network(selections, VARIANTS, params, seed=0)
    kept = set(zip(network.edges["variant_a"], network.edges["variant_b"], strict=True))
    assert ("v0", "v1") in kept
    assert len(kept) <= 2
    assert (network.candidate_edges["q_value"] >= network.candidate_edges["p_value"]).all()
    assert network.nodes.set_index("variant_id").loc["v0", "selection_frequency"] == pytest.approx(
        0.5
    )


@pytest.mark.parametrize(
    "weighting",
    ["count", "cosine", "jaccard", "interaction_information", "interaction_information_x_count"],
)
def test_build_network_weightings(weighting):
    rng = np.random.default_rng(6)
    dosages = rng.integers(0, 3, size=(12, 300)).astype(np.int8)
    status = rng.integers(0, 2, 300)
    params = network_params(weighting=weighting, n_permutations=200)
    network = build_network(
        planted_selections(), VARIANTS, params, seed=0, dosages=dosages, status=status
    )
    candidate = network.candidate_edges.set_index(["variant_a", "variant_b"])
    assert candidate.loc[("v0", "v1"), "co_selections"] == 30
    assert candidate.loc[("v0", "v1"), "cosine"] == pytest.approx(1.0)
    assert candidate.loc[("v0", "v1"), "jaccard"] == pytest.approx(1.0)
    assert np.isfinite(candidate["weight"]).all()


def test_synergy_weighting_needs_an_evaluator():
    with pytest.raises(ConfigError, match="synergy"):
        build_network(planted_selections(), VARIANTS, network_params(weighting="synergy"), seed=0)


def test_selections_with_unknown_variant_rejected():
    selections = selections_table([["v0", "x9"]])
    with pytest.raises(InputError, match="x9"):
        build_network(selections, VARIANTS, network_params(weighting="count"), seed=0)


def test_network_without_edges_logged(caplog):
    selections = selections_table([["v0"], ["v0"], ["v1"], ["v1"]])
    with caplog.at_level(logging.WARNING, logger="fcsnet.network"):
        network = build_network(selections, VARIANTS, network_params(weighting="count"), seed=0)
    assert network.edges.empty
    assert len(network.nodes) == 2
    assert "no two variants were selected together" in caplog.text


def test_network_files_readable(tmp_path):
    network = build_network(
        planted_selections(),
        VARIANTS,
        network_params(weighting="count", n_permutations=200),
        seed=0,
    )
    write_network(network, tmp_path)
    graph = nx.read_graphml(tmp_path / "network.graphml")
    assert set(graph.nodes) == set(network.nodes["variant_id"])
    assert graph.number_of_edges() == len(network.edges)
    for _, _, attributes in graph.edges(data=True):
        assert all(isinstance(value, int | float | str) for value in attributes.values())
    edges = pd.read_csv(tmp_path / "edges.tsv", sep="\t")
    assert {"variant_a", "variant_b", "weight", "p_value", "q_value"} <= set(edges.columns)


def test_network_same_seed_same_result():
    params = network_params(weighting="count", n_permutations=200)
    first = build_network(planted_selections(), VARIANTS, params, seed=0)
    second = build_network(planted_selections(), VARIANTS, params, seed=0)
    pd.testing.assert_frame_equal(first.candidate_edges, second.candidate_edges)
