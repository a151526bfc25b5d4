"""Communities of the co-selection network and their significance.

Detection runs one algorithm (Leiden, Louvain or greedy modularity) with
several seeds and takes a consensus: two variants share a consensus
community when at least ``consensus_threshold`` of the runs put them
together (connected components of that co-assignment graph). A variant's
stability is the fraction of runs whose community of that variant equals
its consensus community exactly.

A candidate community becomes a finding only after three checks, because
the network of a cohort without signal still has small noise communities
(two rare variants selected together once or twice already pass the edge
test, and the GA finds the training split's chance optima again and again):

1. Weak members: in a community of three or more, a member whose summed
   edge weight to the other members is below ``min_relative_strength`` of
   the strongest member's is dropped. A noise variant that the GA added to
   a real group now and then hangs on a few light edges.
2. Pruning: while removing one variant does not lower the community's
   score by more than ``prune_tolerance``, the variant whose removal leaves
   the highest score is removed. With ``prune_on: training`` (the default)
   the score is the cross-validated training fitness. With ``validation``
   it is the validation AUC of a genotype-cell model fitted on the training
   split. That score is free of the GA's selection bias, but the
   significance test below then reuses the split it was pruned on.
3. Significance (``significance: combined``, the default): the smaller of
   two one-sided p-values, doubled (Bonferroni), then Benjamini-Hochberg
   over the candidates, must be at most ``alpha``. One p-value comes from
   the validation split, which the GA and the network never see: a
   genotype-cell model of the community fitted on the training split must
   separate validation cases from controls (Mann-Whitney test of AUC >
   0.5). The other is the community's cross-validated training fitness
   against 0.5, multiplied by the number of subsets of its size among all
   variants, which covers the GA having picked it on the same data. The
   validation test alone lacks power for a weak group when the validation
   split is small; the training test alone is conservative for larger
   groups and cohorts.

Communities of fewer than ``min_size`` variants are not tested.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fcsnet.errors import ConfigError

logger = logging.getLogger(__name__)

METHODS = ("leiden", "louvain", "greedy")
SIGNIFICANCE_TESTS = ("combined", "validation", "training", "none")
COMMUNITY_COLUMNS = [
    "variant_id",
    "community",
    "stability",
    "community_size",
    "validation_auc",
    "p_value",
    "q_value",
]


@dataclass
class CommunityResult:
    """Communities of one network.

    Attributes
    ----------
    communities : pandas.DataFrame
        Reported communities, one row per variant, columns
        :data:`COMMUNITY_COLUMNS`; communities numbered 1.. by size (largest
        first, ties by the best q-value).
    candidates : pandas.DataFrame
        Every consensus community: ``candidate, variant_ids, n_variants,
        pruned_variant_ids, validation_auc, p_value, q_value, community,
        reported, reason``.
    """

    communities: pd.DataFrame
    candidates: pd.DataFrame


def _partition(graph, method: str, resolution: float, seed: int) -> np.ndarray:
    """Return one membership vector of ``graph`` (igraph.Graph with a 'weight' edge attribute)."""
    n_nodes = graph.vcount()
    if graph.ecount() == 0:
        return np.arange(n_nodes)
    if method == "leiden":
        import leidenalg

        partition = leidenalg.find_partition(
            graph,
            leidenalg.RBConfigurationVertexPartition,
            weights="weight",
            resolution_parameter=resolution,
            seed=seed,
            n_iterations=-1,
        )
        return np.asarray(partition.membership)
    if method == "louvain":
        import random

        import igraph

        # igraph's multilevel uses igraph's own random generator; seed it from
        # a local Random instance so that no global state is touched.
        igraph.set_random_number_generator(random.Random(seed))
        try:
            clustering = graph.community_multilevel(weights="weight", resolution=resolution)
        finally:
            igraph.set_random_number_generator(random)
        return np.asarray(clustering.membership)
    import networkx as nx

    nx_graph = nx.Graph()
    nx_graph.add_nodes_from(range(n_nodes))
    nx_graph.add_weighted_edges_from(
        (edge.source, edge.target, edge["weight"]) for edge in graph.es
    )
    # Greedy modularity is deterministic; shuffling node order with the seed
    # breaks ties differently between consensus runs.
    order = np.random.default_rng(seed).permutation(n_nodes)
    relabelled = nx.relabel_nodes(
        nx_graph, {int(node): int(position) for position, node in enumerate(order)}
    )
    groups = nx.community.greedy_modularity_communities(
        relabelled, weight="weight", resolution=resolution
    )
    membership = np.empty(n_nodes, dtype=np.int64)
    for label, group in enumerate(groups):
        for position in group:
            membership[order[position]] = label
    return membership


def consensus_partition(
    nodes: list[str], edges: pd.DataFrame, params: dict, *, seed
) -> pd.DataFrame:
    """Detect communities with several seeds and return their consensus.

    Parameters
    ----------
    nodes : list of str
        Variant ids of the network's nodes.
    edges : pandas.DataFrame
        Kept edges with ``variant_a, variant_b, weight``; weights must be
        positive (modularity reads them as connection strengths).
    params : dict
        The ``communities`` config section: ``method``, ``resolution``
        (higher gives more, smaller communities), ``n_seeds``,
        ``consensus_threshold``.
    seed : int or numpy.random.SeedSequence
        Seeds of the individual runs are drawn from it.

    Returns
    -------
    pandas.DataFrame
        ``variant_id, candidate, stability``; candidates numbered 0.. by
        decreasing size.
    """
    import igraph

    method = params["method"]
    if method not in METHODS:
        raise ConfigError(f"communities.method must be one of {METHODS}; got {method!r}")
    n_seeds = params["n_seeds"]
    if n_seeds < 1:
        raise ConfigError(f"communities.n_seeds must be at least 1; got {n_seeds}")
    n_nodes = len(nodes)
    if n_nodes == 0:
        logger.warning("communities: the network has no nodes; no communities")
        return pd.DataFrame(
            {
                "variant_id": pd.Series(dtype=str),
                "candidate": pd.Series(dtype=int),
                "stability": pd.Series(dtype=float),
            }
        )
    position = {name: index for index, name in enumerate(nodes)}
    graph = igraph.Graph(n=n_nodes)
    graph.add_edges(
        [
            (position[a], position[b])
            for a, b in zip(edges["variant_a"], edges["variant_b"], strict=True)
        ]
    )
    graph.es["weight"] = edges["weight"].astype(float).tolist()
    if graph.ecount() == 0:
        logger.warning(
            "communities: the network has no edges; each of the %d variants is its own community",
            n_nodes,
        )

    run_seeds = np.random.SeedSequence(
        seed if not isinstance(seed, np.random.SeedSequence) else seed.entropy
    ).generate_state(n_seeds)
    memberships = np.array(
        [_partition(graph, method, params["resolution"], int(run_seed)) for run_seed in run_seeds]
    )
    # together[r, i, j]: run r put nodes i and j in one community.
    together = memberships[:, :, None] == memberships[:, None, :]
    co_assignment = together.mean(axis=0)

    import scipy.sparse
    import scipy.sparse.csgraph

    linked = scipy.sparse.csr_matrix(co_assignment >= params["consensus_threshold"])
    _, consensus = scipy.sparse.csgraph.connected_components(linked, directed=False)
    consensus_together = consensus[:, None] == consensus[None, :]
    agrees = (together == consensus_together[None, :, :]).all(axis=2)
    stability = agrees.mean(axis=0)

    sizes = np.bincount(consensus)
    order = sorted(
        range(len(sizes)),
        key=lambda label: (-sizes[label], min(np.flatnonzero(consensus == label))),
    )
    renumber = {label: rank for rank, label in enumerate(order)}
    table = pd.DataFrame(
        {
            "variant_id": nodes,
            "candidate": [renumber[label] for label in consensus],
            "stability": stability,
        }
    )
    logger.info(
        "communities: %s with %d seeds found %d consensus communities (sizes %s)",
        method,
        n_seeds,
        len(sizes),
        sorted(sizes.tolist(), reverse=True),
    )
    return table.sort_values(["candidate", "variant_id"]).reset_index(drop=True)


def weak_members(
    members: list[str], edges: pd.DataFrame, min_relative_strength: float
) -> list[str]:
    """Return the members whose within-community strength is below ``min_relative_strength`` of the strongest.

    A member's strength is the summed weight of its edges to other members.
    A noise variant that the GA added to a real group now and then is tied
    to it by a few light edges, while each member of the group carries the
    group's heavy edges.
    """
    if len(members) < 3 or min_relative_strength <= 0:
        return []
    inside = edges[edges["variant_a"].isin(members) & edges["variant_b"].isin(members)]
    strength = (
        pd.concat(
            [
                inside.groupby("variant_a")["weight"].sum(),
                inside.groupby("variant_b")["weight"].sum(),
            ]
        )
        .groupby(level=0)
        .sum()
    )
    strength = strength.reindex(members, fill_value=0.0)
    return strength[strength < min_relative_strength * strength.max()].index.tolist()


def prune_community(members: list[int], evaluate, tolerance: float) -> tuple[list[int], list[int]]:
    """Remove variants that the community's score does not need.

    Parameters
    ----------
    members : list of int
        Variant positions (rows of the training dosage matrix).
    evaluate : callable
        Score (training fitness or validation AUC) of a list of
        variant-position tuples.
    tolerance : float
        A variant is removed while the fitness without it is at least the
        current fitness minus ``tolerance``.

    Returns
    -------
    kept, removed : lists of int
    """
    kept = sorted(members)
    removed: list[int] = []
    current = float(evaluate([tuple(kept)])[0])
    while len(kept) > 1:
        reduced = [tuple(v for v in kept if v != drop) for drop in kept]
        scores = np.asarray(evaluate(reduced), dtype=float)
        best = int(np.argmax(scores))
        if scores[best] < current - tolerance:
            break
        removed.append(kept[best])
        kept = list(reduced[best])
        current = float(scores[best])
    return kept, removed


def validation_auc(
    members_list: list[tuple[int, ...]],
    training: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
) -> np.ndarray:
    """Return the validation AUC of a cells model of each variant subset, fitted on training."""
    from fcsnet.crs import CellsClassifier
    from fcsnet.ga.fitness import rank_auc

    train_dosages, train_status = training
    valid_dosages, valid_status = validation
    scores = np.empty((len(members_list), valid_dosages.shape[1]))
    for row, members in enumerate(members_list):
        members = list(members)
        model = CellsClassifier().fit(train_dosages[members].T, train_status)
        scores[row] = model.predict_proba(valid_dosages[members].T)[:, 1]
    return rank_auc(scores, np.asarray(valid_status))


def search_corrected_test(
    members: list[int], evaluate, training_status: np.ndarray, *, n_variants: int
) -> tuple[float, float]:
    """Return the training fitness of ``members`` and its search-corrected p-value.

    The one-sided p-value of the AUC against 0.5 uses the Mann-Whitney null
    variance ``(n + 1) / (12 n_cases n_controls)``, then is multiplied by
    the number of subsets of that size among all ``n_variants`` (Bonferroni
    over every subset a search could have picked), which covers the GA's
    selection of the community on the same training data.
    """
    from math import comb

    from scipy.stats import norm

    fitness = float(np.asarray(evaluate([tuple(members)]), dtype=float)[0])
    n_cases = int((training_status == 1).sum())
    n_controls = len(training_status) - n_cases
    standard_error = np.sqrt((len(training_status) + 1) / (12.0 * n_cases * n_controls))
    p_value = float(norm.sf((fitness - 0.5) / standard_error)) * comb(n_variants, len(members))
    return fitness, min(1.0, p_value)


def validation_test(
    members: list[int],
    training: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray],
) -> tuple[float, float]:
    """Return the validation AUC of a cells model of ``members`` and its one-sided p-value.

    ``training`` and ``validation`` are ``(dosages, status)`` pairs with
    dosages of shape (n_variants, n_samples).
    """
    from scipy.stats import mannwhitneyu

    from fcsnet.crs import CellsClassifier

    train_dosages, train_status = training
    valid_dosages, valid_status = validation
    model = CellsClassifier().fit(train_dosages[members].T, train_status)
    scores = model.predict_proba(valid_dosages[members].T)[:, 1]
    cases = scores[valid_status == 1]
    controls = scores[valid_status == 0]
    if len(cases) == 0 or len(controls) == 0:
        return float("nan"), float("nan")
    statistic, p_value = mannwhitneyu(cases, controls, alternative="greater")
    return float(statistic / (len(cases) * len(controls))), float(p_value)


def find_communities(
    network,
    variant_ids,
    params: dict,
    *,
    seed,
    training: tuple[np.ndarray, np.ndarray],
    validation: tuple[np.ndarray, np.ndarray] | None,
    evaluate=None,
) -> CommunityResult:
    """Detect, prune and test the communities of ``network``.

    Parameters
    ----------
    network : fcsnet.network.Network
    variant_ids : sequence of str
        Variant ids of the rows of the dosage matrices.
    params : dict
        The ``communities`` config section.
    seed : int or numpy.random.SeedSequence
    training, validation : tuple of (dosages, status)
        Genotypes (int8, shape (n_variants, n_samples)) and status of the two
        splits. Without a validation split (``None``) or with
        ``significance: none`` every community of at least ``min_size``
        variants is reported untested, with a warning.
    evaluate : callable, optional
        Training-split fitness of variant-position tuples; needed when
        pruning on the training split.
    """
    from fcsnet.network import benjamini_hochberg

    known = pd.Index([str(name) for name in variant_ids])
    partition = consensus_partition(
        network.nodes["variant_id"].astype(str).tolist(), network.edges, params, seed=seed
    )
    prune_on = params["prune_on"]
    if prune_on not in ("validation", "training"):
        raise ConfigError(
            f"communities.prune_on must be 'validation' or 'training'; got {prune_on!r}"
        )
    if prune_on == "validation" and validation is None:
        logger.warning("communities: no validation split; pruning on the training fitness instead")
        prune_on = "training"
    if prune_on == "validation":
        prune_score = lambda subsets: validation_auc(subsets, training, validation)  # noqa: E731
    else:
        prune_score = evaluate
    if params["prune"] and prune_score is None:
        raise ConfigError(
            "communities.prune_on 'training' needs a fitness evaluator on the training split"
        )
    significance = params["significance"]
    if significance not in SIGNIFICANCE_TESTS:
        raise ConfigError(
            f"communities.significance must be one of {SIGNIFICANCE_TESTS}; got {significance!r}"
        )
    if significance in ("combined", "validation") and validation is None:
        logger.warning(
            "communities: no validation split; testing communities on the training split only"
        )
        significance = "training"
    if significance == "training" and evaluate is None:
        raise ConfigError(
            "communities.significance 'training' needs a fitness evaluator on the training split"
        )

    rows = []
    for candidate, group in partition.groupby("candidate", sort=True):
        members = sorted(known.get_indexer(group["variant_id"]).tolist())
        row = {
            "candidate": int(candidate),
            "variant_ids": ",".join(known[members]),
            "n_variants": len(members),
            "pruned_variant_ids": "",
            "validation_auc": np.nan,
            "training_auc": np.nan,
            "p_value": np.nan,
        }
        weak = weak_members(
            group["variant_id"].tolist(), network.edges, params["min_relative_strength"]
        )
        if weak:
            logger.info("communities: candidate %d loses weakly tied %s", candidate, ",".join(weak))
        removed = known.get_indexer(weak).tolist()
        members = [v for v in members if v not in removed]
        if len(members) > 1 and params["prune"]:
            kept, pruned = prune_community(members, prune_score, params["prune_tolerance"])
            removed += pruned
            if removed:
                logger.info(
                    "communities: candidate %d loses %s in pruning",
                    candidate,
                    ",".join(known[removed]),
                )
            members = kept
            row["pruned_variant_ids"] = ",".join(known[removed])
            row["variant_ids"] = ",".join(known[members])
            row["n_variants"] = len(members)
        if len(members) < params["min_size"]:
            row["reason"] = f"fewer than {params['min_size']} variants"
            if len(members) == 1:
                logger.info(
                    "communities: %s forms a single-variant community; not reported",
                    known[members[0]],
                )
        elif significance != "none":
            p_values = []
            if significance in ("combined", "validation"):
                row["validation_auc"], validation_p = validation_test(members, training, validation)
                p_values.append(validation_p)
            if significance in ("combined", "training"):
                row["training_auc"], training_p = search_corrected_test(
                    members, evaluate, training[1], n_variants=len(known)
                )
                p_values.append(training_p)
            # Several tests of one hypothesis: Bonferroni over them.
            row["p_value"] = min(1.0, len(p_values) * min(p_values))
            row["reason"] = ""
        else:
            row["reason"] = "untested"
        rows.append(row)
    candidates = pd.DataFrame(
        rows,
        columns=[
            "candidate",
            "variant_ids",
            "n_variants",
            "pruned_variant_ids",
            "validation_auc",
            "training_auc",
            "p_value",
            "reason",
        ],
    )
    tested = candidates["p_value"].notna()
    candidates["q_value"] = np.nan
    candidates.loc[tested, "q_value"] = benjamini_hochberg(
        candidates.loc[tested, "p_value"].to_numpy()
    )
    failed = tested & (candidates["q_value"] > params["alpha"])
    candidates.loc[failed, "reason"] = candidates.loc[failed, "q_value"].map(
        lambda q: f"q_value {q:.3g} above alpha {params['alpha']}"
    )
    candidates["reported"] = (candidates["reason"] == "") | (candidates["reason"] == "untested")
    for row in candidates[failed].itertuples():
        logger.info(
            "communities: candidate {%s} not significant by the %s test (%s)",
            row.variant_ids,
            significance,
            row.reason,
        )

    reported = candidates[candidates["reported"]].sort_values(
        ["n_variants", "q_value", "candidate"], ascending=[False, True, True]
    )
    candidates["community"] = 0
    community_rows = []
    stability = dict(zip(partition["variant_id"], partition["stability"], strict=True))
    for number, row in enumerate(reported.itertuples(), start=1):
        candidates.loc[candidates["candidate"] == row.candidate, "community"] = number
        for variant in row.variant_ids.split(","):
            community_rows.append(
                {
                    "variant_id": variant,
                    "community": number,
                    "stability": stability[variant],
                    "community_size": row.n_variants,
                    "validation_auc": row.validation_auc,
                    "p_value": row.p_value,
                    "q_value": row.q_value,
                }
            )
    communities = pd.DataFrame(community_rows, columns=COMMUNITY_COLUMNS)
    if communities.empty:
        logger.warning(
            "communities: no community passed the size and significance checks; nothing to score"
        )
    else:
        logger.info(
            "communities: %d reported: %s", len(reported), "; ".join(reported["variant_ids"])
        )
    return CommunityResult(communities, candidates)
