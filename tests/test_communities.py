"""Tests of community detection, consensus, pruning and significance."""

import logging

import numpy as np
import pandas as pd
import pytest

from fcsnet.communities import consensus_partition, find_communities, weak_members
from fcsnet.config import default_config
from fcsnet.errors import ConfigError
from fcsnet.ga.fitness import make_evaluator
from fcsnet.network import Network


def community_params(**overrides):
    params = default_config()["communities"]
    params.update(overrides)
    return params


def two_cliques():
    """Nodes a0..a3 and b0..b2, heavy edges inside each clique, one light bridge."""
    a = [f"a{i}" for i in range(4)]
    b = [f"b{i}" for i in range(3)]
    rows = [(x, y, 5.0) for group in (a, b) for i, x in enumerate(group) for y in group[i + 1 :]]
    rows.append(("a0", "b0", 0.2))
    edges = pd.DataFrame(rows, columns=["variant_a", "variant_b", "weight"])
    return a + b + ["lonely"], edges


@pytest.mark.parametrize("method", ["leiden", "louvain", "greedy"])
def test_consensus_finds_two_cliques(method):
    nodes, edges = two_cliques()
    table = consensus_partition(nodes, edges, community_params(method=method, n_seeds=5), seed=0)
    by_variant = table.set_index("variant_id")["candidate"]
    assert len({by_variant[f"a{i}"] for i in range(4)}) == 1
    assert len({by_variant[f"b{i}"] for i in range(3)}) == 1
    assert by_variant["a0"] != by_variant["b0"]
    # Numbered by size: the four-clique first, the lonely node last.
    assert by_variant["a0"] == 0
    assert by_variant["b0"] == 1
    assert by_variant["lonely"] == 2
    assert (table["stability"] == 1.0).all()


def test_consensus_rejects_unknown_method():
    nodes, edges = two_cliques()
    with pytest.raises(ConfigError, match="communities.method"):
        consensus_partition(nodes, edges, community_params(method="spectral"), seed=0)


def test_no_edges_gives_singletons(caplog):
    edges = pd.DataFrame(columns=["variant_a", "variant_b", "weight"])
    with caplog.at_level(logging.WARNING, logger="fcsnet.communities"):
        table = consensus_partition(["x", "y"], edges, community_params(), seed=0)
    assert sorted(table["candidate"]) == [0, 1]
    assert "no edges" in caplog.text


def test_weak_members_drops_lightly_tied_node():
    edges = pd.DataFrame(
        [("a", "b", 10.0), ("b", "c", 10.0), ("a", "c", 10.0), ("c", "n", 0.5)],
        columns=["variant_a", "variant_b", "weight"],
    )
    assert weak_members(["a", "b", "c", "n"], edges, 0.2) == ["n"]
    assert weak_members(["a", "b", "c", "n"], edges, 0.0) == []


def xor_cohort(n_samples=1200, seed=0):
    """Eight variants; status is the XOR of variants 0 and 1 (with 10 % label noise)."""
    rng = np.random.default_rng(seed)
    dosages = rng.integers(0, 2, size=(8, n_samples)).astype(np.int8)
    status = (dosages[0] ^ dosages[1]).astype(int)
    flip = rng.random(n_samples) < 0.1
    status[flip] = 1 - status[flip]
    return dosages, status


def network_of(edges, variants):
    nodes = pd.DataFrame({"variant_id": variants, "n_selections": 5, "selection_frequency": 0.5})
    edges = pd.DataFrame(edges, columns=["variant_a", "variant_b", "weight"])
    return Network(nodes, edges, edges, 10)


def test_real_pair_reported_and_noise_pair_rejected(caplog):
    dosages, status = xor_cohort()
    variants = [f"v{i}" for i in range(8)]
    training, validation = np.arange(900), np.arange(900, 1200)
    evaluate = make_evaluator(
        "cells", dosages[:, training], status[training].astype(np.int8), n_folds=5, seed=0
    ).evaluate
    network = network_of([("v0", "v1", 3.0), ("v4", "v5", 3.0), ("v6", "v7", 0.0001)], variants)
    with caplog.at_level(logging.INFO, logger="fcsnet.communities"):
        result = find_communities(
            network,
            variants,
            community_params(n_seeds=3, prune=False),
            seed=0,
            training=(dosages[:, training], status[training]),
            validation=(dosages[:, validation], status[validation]),
            evaluate=evaluate,
        )
    assert result.communities["variant_id"].tolist() == ["v0", "v1"]
    assert (result.communities["community"] == 1).all()
    assert result.communities["q_value"].iloc[0] < 1e-6
    rejected = result.candidates[~result.candidates["reported"]]
    assert "v4,v5" in rejected["variant_ids"].tolist()
    assert "not significant" in caplog.text
    assert "single-variant community" in caplog.text


def test_pruning_removes_noise_member():
    dosages, status = xor_cohort(seed=1)
    variants = [f"v{i}" for i in range(8)]
    training, validation = np.arange(900), np.arange(900, 1200)
    evaluate = make_evaluator(
        "cells", dosages[:, training], status[training].astype(np.int8), n_folds=5, seed=0
    ).evaluate
    network = network_of([("v0", "v1", 3.0), ("v1", "v2", 3.0), ("v0", "v2", 3.0)], variants)
    result = find_communities(
        network,
        variants,
        community_params(n_seeds=3),
        seed=0,
        training=(dosages[:, training], status[training]),
        validation=(dosages[:, validation], status[validation]),
        evaluate=evaluate,
    )
    assert sorted(result.communities["variant_id"]) == ["v0", "v1"]
    assert result.candidates.loc[0, "pruned_variant_ids"] == "v2"


def test_empty_network_reports_nothing(caplog):
    dosages, status = xor_cohort()
    variants = [f"v{i}" for i in range(8)]
    with caplog.at_level(logging.WARNING, logger="fcsnet.communities"):
        result = find_communities(
            network_of([], []),
            variants,
            community_params(),
            seed=0,
            training=(dosages, status),
            validation=None,
            evaluate=lambda subsets: np.full(len(subsets), 0.5),
        )
    assert result.communities.empty
    assert "no nodes" in caplog.text
