"""Co-selection network of the variants chosen by repeated GA runs.

Nodes are the variants selected at least ``min_selections`` times. A pair of
nodes is a candidate edge when some counted subset contains both. Each
candidate edge gets

* a co-selection count and its significance against a null that keeps every
  subset's size and every variant's selection count (curveball randomisation
  of the subset x variant incidence matrix, or a hypergeometric test),
  with a Benjamini-Hochberg q-value over all candidate edges;
* a weight (see :data:`WEIGHTINGS`).

Only significant edges with a weight above ``min_weight`` are kept in the
network.

NOTE: the test conditions on the GA's selections, not on the data. The GA
finds chance optima of the training split again and again, so on cohorts
without signal (labels permuted) a few edges still pass; the community
tests of :mod:`fcsnet.communities` are what rejects them.

When the GA finds the same subsets in nearly every run, the null has no room:
two variants that are in 179 of 180 subsets are co-selected 178 times under
the null too, so the strongest group of a cohort can fail the test. A pair is
therefore also significant when it is *nested* (at least ``containment``,
default 90 %, of the subsets holding the rarer variant hold the other) and
the rarer variant's own selection count
is significant against selection by chance (binomial test with the mean
subset size over the number of variants as the rate; Benjamini-Hochberg over
the nodes).

The default weighting, ``synergy``, credits each counted subset's
higher-order synergy to its edges: for a pair ``(a, b)`` inside a selected
subset ``S`` it adds the interaction contrast of the fitness function

    f(S) - f(S \\ {a}) - f(S \\ {b}) + f(S \\ {a, b})

(clipped at zero), where ``f`` is the cross-validated fitness on the
training split and ``f`` of the empty set is 0.5 (the AUC of a constant
prediction). The contrast is large for two variants that matter only
together in the context of ``S`` (a pair, or two members of a pure
three-way group, whose pairwise interaction information is near zero), and
near zero for a noise variant or for two variants from independent
heterogeneity pairs that are selected together, which co-selection counts
cannot tell apart.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from itertools import combinations

import networkx as nx
import numpy as np
import pandas as pd

from fcsnet.errors import ConfigError, InputError
from fcsnet.store import MISSING

logger = logging.getLogger(__name__)

WEIGHTINGS = (
    "count",
    "cosine",
    "jaccard",
    "interaction_information",
    "interaction_information_x_count",
    "synergy",
)
SUBSET_MODES = ("best", "top_n", "quantile")
NULL_MODELS = ("curveball", "hypergeometric")
NODE_COLUMNS = ["variant_id", "n_selections", "selection_frequency"]
EDGE_COLUMNS = [
    "variant_a",
    "variant_b",
    "weight",
    "co_selections",
    "expected_co_selections",
    "p_value",
    "q_value",
    "cosine",
    "jaccard",
    "interaction_information",
    "synergy",
    "nested",
    "selection_q_value",
]


@dataclass
class Network:
    """Co-selection network.

    Attributes
    ----------
    nodes : pandas.DataFrame
        One row per node: ``variant_id, n_selections, selection_frequency``
        (fraction of counted subsets that contain the variant).
    edges : pandas.DataFrame
        One row per kept edge, columns :data:`EDGE_COLUMNS`.
    candidate_edges : pandas.DataFrame
        Every candidate edge with the same columns plus ``kept``.
    n_subsets : int
        Number of counted subsets.
    """

    nodes: pd.DataFrame
    edges: pd.DataFrame
    candidate_edges: pd.DataFrame
    n_subsets: int

    def to_networkx(self) -> nx.Graph:
        """Return the network as a networkx graph with str/int/float attributes only."""
        graph = nx.Graph()
        for row in self.nodes.itertuples(index=False):
            graph.add_node(
                str(row.variant_id),
                label=str(row.variant_id),
                n_selections=int(row.n_selections),
                selection_frequency=float(row.selection_frequency),
            )
        for row in self.edges.itertuples(index=False):
            attributes = {}
            for column in EDGE_COLUMNS[2:]:
                value = getattr(row, column)
                if column == "co_selections":
                    attributes[column] = int(value)
                elif column == "nested":
                    attributes[column] = int(bool(value))
                elif not np.isnan(value):
                    # GraphML readers differ on NaN, so an unset score is left out.
                    attributes[column] = float(value)
            graph.add_edge(str(row.variant_a), str(row.variant_b), **attributes)
        return graph


def counted_subsets(
    selections: pd.DataFrame, *, mode: str = "best", top_n: int = 1, fitness_quantile: float = 0.9
) -> pd.DataFrame:
    """Select the subsets of ``selections`` that count towards the network.

    Parameters
    ----------
    selections : pandas.DataFrame
        GA selections with columns ``run, size_limit, rank, variant_ids,
        fitness``; ``rank`` 1 is the best subset of a run.
    mode : {'best', 'top_n', 'quantile'}
        ``best``: the best subset of each run (of each size limit);
        ``top_n``: the ``top_n`` best of each run; ``quantile``: every subset
        whose fitness is at least the ``fitness_quantile`` quantile of all.
    """
    required = ["run", "size_limit", "rank", "variant_ids", "fitness"]
    missing = [column for column in required if column not in selections.columns]
    if missing:
        raise InputError(f"selections table lacks the columns {missing}; rerun the GA step")
    if mode == "best":
        chosen = selections[
            selections["rank"] == selections.groupby(["run", "size_limit"])["rank"].transform("min")
        ]
    elif mode == "top_n":
        if top_n < 1:
            raise ConfigError(f"network.top_n must be at least 1; got {top_n}")
        order = selections.groupby(["run", "size_limit"])["rank"].rank(method="first")
        chosen = selections[order <= top_n]
    elif mode == "quantile":
        if not 0 <= fitness_quantile <= 1:
            raise ConfigError(f"network.fitness_quantile must be in [0, 1]; got {fitness_quantile}")
        threshold = selections["fitness"].quantile(fitness_quantile)
        chosen = selections[selections["fitness"] >= threshold]
    else:
        raise ConfigError(f"network.subsets must be one of {SUBSET_MODES}; got {mode!r}")
    return chosen.reset_index(drop=True)


def parse_subsets(variant_ids: pd.Series, known: pd.Index) -> list[list[int]]:
    """Turn comma-separated variant ids into lists of positions in ``known``.

    Raises InputError for a variant that ``known`` lacks (selections made on
    another store).
    """
    subsets = []
    for text in variant_ids.astype(str):
        names = [name for name in text.split(",") if name]
        positions = known.get_indexer(names)
        if (positions < 0).any():
            unknown = [
                name for name, position in zip(names, positions, strict=True) if position < 0
            ]
            raise InputError(
                f"selections name variants {unknown[:5]} that the QC'd genotype store lacks; "
                "rerun the GA step on the same store"
            )
        subsets.append(sorted(set(positions.tolist())))
    return subsets


def curveball_null(
    incidence: np.ndarray,
    pairs: np.ndarray,
    *,
    n_permutations: int,
    seed,
    n_trades: int | None = None,
    batch_size: int = 250,
) -> tuple[np.ndarray, np.ndarray]:
    """Compute permutation p-values of co-selection counts with the curveball algorithm.

    Each permutation is an independent curveball chain (Strona et al. 2014,
    Nature Communications 5:4114) started from the observed matrix; a trade
    between two rows swaps a random part of the columns that only one of them
    holds, which keeps every row sum (subset size) and every column sum
    (selection count). The chains run side by side in one array.

    Parameters
    ----------
    incidence : numpy.ndarray, bool, shape (n_subsets, n_nodes)
    pairs : numpy.ndarray, int, shape (n_pairs, 2)
        Node positions of the tested pairs.
    n_permutations : int
    seed : int or numpy.random.SeedSequence
    n_trades : int, optional
        Trades per chain; default five per row, enough for a chain to forget
        its start on matrices of this size.
    batch_size : int
        Chains run at once; bounds memory at about
        ``batch_size * n_subsets * n_nodes`` bytes.

    Returns
    -------
    p_value : numpy.ndarray, float64, shape (n_pairs,)
        ``(1 + #{null count >= observed}) / (1 + n_permutations)``.
    expected : numpy.ndarray, float64, shape (n_pairs,)
        Mean null co-selection count.
    """
    n_rows, n_nodes = incidence.shape
    rng = np.random.default_rng(seed)
    observed = (incidence[:, pairs[:, 0]] & incidence[:, pairs[:, 1]]).sum(axis=0)
    at_least = np.zeros(len(pairs), dtype=np.int64)
    total = np.zeros(len(pairs), dtype=np.float64)
    if n_rows < 2 or len(pairs) == 0:
        return np.ones(len(pairs)), observed.astype(float)
    n_trades = 5 * n_rows if n_trades is None else n_trades
    done = 0
    while done < n_permutations:
        n_chains = min(batch_size, n_permutations - done)
        matrices = np.repeat(incidence[None, :, :], n_chains, axis=0)
        curveball_trades(matrices, rng, n_trades)
        counts = (matrices[:, :, pairs[:, 0]] & matrices[:, :, pairs[:, 1]]).sum(axis=1)
        at_least += (counts >= observed[None, :]).sum(axis=0)
        total += counts.sum(axis=0)
        done += n_chains
        logger.info("edge null: %d of %d curveball permutations done", done, n_permutations)
    return (1 + at_least) / (1 + n_permutations), total / n_permutations


def curveball_trades(matrices: np.ndarray, rng: np.random.Generator, n_trades: int) -> None:
    """Apply ``n_trades`` curveball trades to each matrix of a stack, in place.

    Parameters
    ----------
    matrices : numpy.ndarray, bool, shape (n_chains, n_rows, n_columns)
        Row and column sums of each matrix are kept.
    """
    n_chains, n_rows, n_columns = matrices.shape
    chains = np.arange(n_chains)
    for _ in range(n_trades):
        first = rng.integers(0, n_rows, n_chains)
        second = (first + rng.integers(1, n_rows, n_chains)) % n_rows
        row_a = matrices[chains, first]
        row_b = matrices[chains, second]
        shared = row_a & row_b
        only_a = row_a & ~row_b
        pool = only_a | (row_b & ~row_a)
        n_a = only_a.sum(axis=1)
        # Deal the pooled columns at random: the n_a lowest random keys go to row a.
        keys = np.where(pool, rng.random((n_chains, n_columns)), np.inf)
        ranks = keys.argsort(axis=1).argsort(axis=1)
        to_a = pool & (ranks < n_a[:, None])
        matrices[chains, first] = shared | to_a
        matrices[chains, second] = shared | (pool & ~to_a)


def hypergeometric_null(incidence: np.ndarray, pairs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Compute hypergeometric upper-tail p-values of co-selection counts.

    The test keeps each variant's selection count but ignores subset sizes:
    two variants in small subsets compete for few slots, which lowers their
    chance co-selection below the hypergeometric expectation, so the test
    is conservative for GA subsets.
    """
    from scipy.stats import hypergeom

    n_rows = incidence.shape[0]
    counts = incidence.sum(axis=0)
    observed = (incidence[:, pairs[:, 0]] & incidence[:, pairs[:, 1]]).sum(axis=0)
    n_a = counts[pairs[:, 0]]
    n_b = counts[pairs[:, 1]]
    p_value = hypergeom.sf(observed - 1, n_rows, n_a, n_b)
    return np.clip(p_value, 0.0, 1.0), n_a * n_b / max(n_rows, 1)


def selection_q_values(subsets: list[list[int]], n_variants: int) -> np.ndarray:
    """Return each variant's BH q-value for being selected more often than by chance.

    Under the null every subset is a uniform random draw of its size from
    all ``n_variants`` variants, so a variant's count is binomial with the
    mean subset size over ``n_variants`` as the rate.
    """
    from scipy.stats import binom

    counts = np.zeros(n_variants, dtype=np.int64)
    for subset in subsets:
        counts[subset] += 1
    if not subsets:
        return np.ones(n_variants)
    rate = min(1.0, float(np.mean([len(subset) for subset in subsets])) / n_variants)
    return benjamini_hochberg(binom.sf(counts - 1, len(subsets), rate))


def benjamini_hochberg(p_values: np.ndarray) -> np.ndarray:
    """Return Benjamini-Hochberg q-values of ``p_values``."""
    p_values = np.asarray(p_values, dtype=float)
    n = len(p_values)
    if n == 0:
        return p_values.copy()
    order = np.argsort(p_values)
    scaled = p_values[order] * n / np.arange(1, n + 1)
    q_sorted = np.minimum.accumulate(scaled[::-1])[::-1]
    q_values = np.empty(n)
    q_values[order] = np.minimum(q_sorted, 1.0)
    return q_values


def pairwise_interaction_information(
    dosages: np.ndarray, status: np.ndarray, pairs: np.ndarray
) -> np.ndarray:
    """Compute the interaction information I(a; b; y) in bits of each pair with the status.

    ``I(a, b; y) - I(a; y) - I(b; y)``; positive for synergy. Samples with a
    missing call at either variant are left out of that pair.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
    status : numpy.ndarray, int, shape (n_samples,)
    pairs : numpy.ndarray, int, shape (n_pairs, 2)
    """
    status = np.asarray(status, dtype=np.int64)
    values = np.empty(len(pairs))
    for index, (a, b) in enumerate(pairs):
        genotype_a = dosages[a].astype(np.int64)
        genotype_b = dosages[b].astype(np.int64)
        called = (genotype_a != MISSING) & (genotype_b != MISSING)
        cell = genotype_a[called] * 3 + genotype_b[called]
        label = status[called]
        joint = _mutual_information(cell, label, 9)
        values[index] = (
            joint
            - _mutual_information(genotype_a[called], label, 3)
            - _mutual_information(genotype_b[called], label, 3)
        )
    return values


def _mutual_information(codes: np.ndarray, label: np.ndarray, n_codes: int) -> float:
    if len(codes) == 0:
        return 0.0
    table = np.zeros((n_codes, 2))
    np.add.at(table, (codes, label), 1.0)
    table /= table.sum()
    row = table.sum(axis=1, keepdims=True)
    column = table.sum(axis=0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = table * np.log2(table / (row * column))
    return float(np.nansum(terms))


def subset_synergy(
    subsets: list[list[int]], evaluate, pairs: np.ndarray, node_of_variant: dict[int, int]
) -> np.ndarray:
    """Sum each pair's interaction contrast of the fitness over the subsets holding it.

    Parameters
    ----------
    subsets : list of lists of int
        Variant positions (rows of the dosage matrix) of each counted subset.
    evaluate : callable
        Maps a list of variant-position tuples to an array of fitness values
        (for example ``make_evaluator(...).evaluate``).
    pairs : numpy.ndarray, int, shape (n_pairs, 2)
        Node positions of the pairs to score.
    node_of_variant : dict
        Node position of each variant position.

    Returns
    -------
    numpy.ndarray, float64, shape (n_pairs,)
        Sum over subsets containing the pair of
        ``max(0, f(S) - f(S - a) - f(S - b) + f(S - a - b))``.
    """
    needed: set[tuple[int, ...]] = set()
    for subset in subsets:
        members = tuple(subset)
        needed.add(members)
        for a, b in combinations(members, 2):
            needed.add(tuple(v for v in members if v != a))
            needed.add(tuple(v for v in members if v != b))
            needed.add(tuple(v for v in members if v not in (a, b)))
    keys = sorted(subset for subset in needed if subset)
    fitness = {(): 0.5}
    if keys:
        fitness.update(zip(keys, np.asarray(evaluate(keys), dtype=float), strict=True))
    logger.info("synergy weights: %d distinct subsets evaluated", len(keys))
    pair_index = {(int(a), int(b)): index for index, (a, b) in enumerate(pairs)}
    total = np.zeros(len(pairs))
    for subset in subsets:
        members = tuple(subset)
        for a, b in combinations(members, 2):
            node_a, node_b = node_of_variant.get(a), node_of_variant.get(b)
            if node_a is None or node_b is None:
                continue
            key = (min(node_a, node_b), max(node_a, node_b))
            if key not in pair_index:
                continue
            contrast = (
                fitness[members]
                - fitness[tuple(v for v in members if v != a)]
                - fitness[tuple(v for v in members if v != b)]
                + fitness[tuple(v for v in members if v not in (a, b))]
            )
            total[pair_index[key]] += max(contrast, 0.0)
    return total


def build_network(
    selections: pd.DataFrame,
    variant_ids,
    params: dict,
    *,
    seed,
    dosages: np.ndarray | None = None,
    status: np.ndarray | None = None,
    evaluate=None,
) -> Network:
    """Build the co-selection network.

    Parameters
    ----------
    selections : pandas.DataFrame
        GA selections (see :func:`counted_subsets`).
    variant_ids : sequence of str
        Variant ids of the rows of ``dosages`` (the QC'd store).
    params : dict
        The ``network`` config section.
    seed : int or numpy.random.SeedSequence
        Seed of the permutation null.
    dosages : numpy.ndarray, int8, shape (n_variants, n_training_samples), optional
        Training-split genotypes; needed by the interaction-information weightings.
    status : numpy.ndarray, shape (n_training_samples,), optional
        Training-split status, 1 = case.
    evaluate : callable, optional
        Fitness of a list of variant-position tuples on the training split;
        needed by the ``synergy`` weighting.
    """
    weighting = params["weighting"]
    if weighting not in WEIGHTINGS:
        raise ConfigError(f"network.weighting must be one of {WEIGHTINGS}; got {weighting!r}")
    null_model = params["null_model"]
    if null_model not in NULL_MODELS:
        raise ConfigError(f"network.null_model must be one of {NULL_MODELS}; got {null_model!r}")
    if weighting.startswith("interaction_information") and (dosages is None or status is None):
        raise ConfigError(
            f"network.weighting {weighting!r} needs the training genotypes and status"
        )
    if weighting == "synergy" and evaluate is None:
        raise ConfigError(
            "network.weighting 'synergy' needs a fitness evaluator on the training split"
        )

    known = pd.Index([str(name) for name in variant_ids])
    chosen = counted_subsets(
        selections,
        mode=params["subsets"],
        top_n=params["top_n"],
        fitness_quantile=params["fitness_quantile"],
    )
    subsets = parse_subsets(chosen["variant_ids"], known)
    n_subsets = len(subsets)
    logger.info(
        "network: %d of %d selected subsets counted (mode %s)",
        n_subsets,
        len(selections),
        params["subsets"],
    )

    selection_counts = np.zeros(len(known), dtype=np.int64)
    for subset in subsets:
        selection_counts[subset] += 1
    node_variants = np.flatnonzero(selection_counts >= params["min_selections"])
    nodes = pd.DataFrame(
        {
            "variant_id": known[node_variants].astype(str),
            "n_selections": selection_counts[node_variants],
            "selection_frequency": selection_counts[node_variants] / max(n_subsets, 1),
        }
    )
    logger.info(
        "network: %d variants selected at least %d times", len(nodes), params["min_selections"]
    )
    node_of_variant = {int(variant): node for node, variant in enumerate(node_variants)}

    incidence = np.zeros((n_subsets, len(node_variants)), dtype=bool)
    for row, subset in enumerate(subsets):
        columns = [node_of_variant[v] for v in subset if v in node_of_variant]
        incidence[row, columns] = True
    co_selections = incidence.T.astype(np.int64) @ incidence.astype(np.int64)
    upper_a, upper_b = np.triu_indices(len(node_variants), k=1)
    observed = co_selections[upper_a, upper_b]
    pairs = np.column_stack([upper_a[observed > 0], upper_b[observed > 0]]).astype(np.int64)
    observed = observed[observed > 0]
    if len(pairs) == 0:
        logger.warning("network: no two variants were selected together; the network has no edges")
        empty = pd.DataFrame({column: pd.Series(dtype=float) for column in EDGE_COLUMNS})
        empty["variant_a"] = empty["variant_a"].astype(str)
        empty["variant_b"] = empty["variant_b"].astype(str)
        return Network(nodes, empty, empty.assign(kept=pd.Series(dtype=bool)), n_subsets)

    if null_model == "curveball":
        p_value, expected = curveball_null(
            incidence, pairs, n_permutations=params["n_permutations"], seed=seed
        )
    else:
        p_value, expected = hypergeometric_null(incidence, pairs)
    q_value = benjamini_hochberg(p_value)

    counts = selection_counts[node_variants]
    count_a, count_b = counts[pairs[:, 0]], counts[pairs[:, 1]]
    nested = observed >= params["containment"] * np.minimum(count_a, count_b)
    selection_q = selection_q_values(subsets, len(known))[node_variants]
    rarer = np.where(count_a <= count_b, pairs[:, 0], pairs[:, 1])
    cosine = observed / np.sqrt(count_a * count_b)
    jaccard = observed / (count_a + count_b - observed)
    variant_pairs = node_variants[pairs]
    if dosages is not None and status is not None:
        interaction = pairwise_interaction_information(dosages, status, variant_pairs)
    else:
        interaction = np.full(len(pairs), np.nan)
    if weighting == "synergy":
        synergy = subset_synergy(subsets, evaluate, pairs, node_of_variant)
    else:
        synergy = np.full(len(pairs), np.nan)
    weight = {
        "count": observed.astype(float),
        "cosine": cosine,
        "jaccard": jaccard,
        "interaction_information": interaction,
        "interaction_information_x_count": np.clip(interaction, 0, None) * observed,
        "synergy": synergy,
    }[weighting]

    candidate = pd.DataFrame(
        {
            "variant_a": known[variant_pairs[:, 0]].astype(str),
            "variant_b": known[variant_pairs[:, 1]].astype(str),
            "weight": weight,
            "co_selections": observed,
            "expected_co_selections": expected,
            "p_value": p_value,
            "q_value": q_value,
            "cosine": cosine,
            "jaccard": jaccard,
            "interaction_information": interaction,
            "synergy": synergy,
            "nested": nested,
            "selection_q_value": selection_q[rarer],
        }
    )
    significant = (candidate["q_value"] <= params["fdr"]) | (
        candidate["nested"] & (candidate["selection_q_value"] <= params["fdr"])
    )
    positive = candidate["weight"] > params["min_weight"]
    candidate["kept"] = significant & positive
    logger.info(
        "network: %d candidate edges, %d significant at FDR %.3g, %d of them with weight above %g kept",
        len(candidate),
        int(significant.sum()),
        params["fdr"],
        int(candidate["kept"].sum()),
        params["min_weight"],
    )
    edges = (
        candidate[candidate["kept"]]
        .drop(columns="kept")
        .sort_values("weight", ascending=False)
        .reset_index(drop=True)
    )
    if edges.empty:
        logger.warning(
            "network: no edge survived the significance filter; every variant will be its own community"
        )
    return Network(nodes, edges, candidate, n_subsets)


def write_network(network: Network, directory) -> None:
    """Write ``nodes.tsv``, ``edges.tsv``, ``candidate_edges.tsv`` and ``network.graphml``."""
    import os
    import tempfile
    from pathlib import Path

    from fcsnet.store import write_table

    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    write_table(network.nodes, directory / "nodes.tsv")
    write_table(network.edges, directory / "edges.tsv")
    write_table(network.candidate_edges, directory / "candidate_edges.tsv")
    handle, temporary = tempfile.mkstemp(prefix=".network.graphml.", suffix=".tmp", dir=directory)
    os.close(handle)
    try:
        nx.write_graphml(network.to_networkx(), temporary)
        os.replace(temporary, directory / "network.graphml")
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
