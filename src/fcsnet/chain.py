"""The analysis chain after QC, in one process.

``split -> (scan guide) -> GA runs -> network -> communities -> CRS ->
subtypes (-> interactions)`` on a QC'd :class:`~fcsnet.store.GenotypeStore`.
The Snakemake rules call the same stage functions defined here (one per
rule), so the in-process chain used by tests and benchmarks and a workflow
run with the same config and seed compute the same thing.
"""

from __future__ import annotations

import logging
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.communities import CommunityResult, find_communities
from fcsnet.crs import CRSResult, score_communities
from fcsnet.errors import InputError
from fcsnet.network import Network, build_network, write_network
from fcsnet.store import GenotypeStore, write_table
from fcsnet.subtypes import SubtypeResult, compare_with_truth, find_subtypes

logger = logging.getLogger(__name__)


def stage_seed(seed: int, stage: str) -> int:
    """Derive the seed of one stage from the run seed (stable across processes)."""
    sequence = np.random.SeedSequence(entropy=int(seed), spawn_key=(zlib.crc32(stage.encode()),))
    return int(sequence.generate_state(1)[0])


def _split_parts(store: GenotypeStore, samples: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if (
        len(samples) != store.n_samples
        or not (
            samples["sample_id"].astype(str).to_numpy()
            == store.samples["sample_id"].astype(str).to_numpy()
        ).all()
    ):
        raise InputError(
            "split table and QC'd genotype store list different samples; rerun the split step"
        )
    split = samples["split"].astype(str).to_numpy()
    return np.flatnonzero(split == "training"), np.flatnonzero(split == "validation")


def training_evaluator(store: GenotypeStore, samples: pd.DataFrame, config: dict):
    """Return the ``evaluate`` method of the network's fitness on the training split."""
    from fcsnet.ga.fitness import make_evaluator

    training, _ = _split_parts(store, samples)
    params = config["network"]
    evaluator = make_evaluator(
        params["synergy_fitness"],
        np.ascontiguousarray(np.asarray(store.dosages)[:, training]),
        samples["status"].to_numpy()[training].astype(np.int8),
        n_folds=params["n_folds"],
        seed=stage_seed(config["seed"], "network.fitness"),
    )
    return evaluator.evaluate


def network_stage(
    store: GenotypeStore,
    samples: pd.DataFrame,
    selections: pd.DataFrame,
    config: dict,
    *,
    evaluate=None,
) -> Network:
    """Build the co-selection network of ``selections`` (rule ``network``)."""
    training, _ = _split_parts(store, samples)
    params = config["network"]
    if evaluate is None and params["weighting"] == "synergy":
        evaluate = training_evaluator(store, samples, config)
    return build_network(
        selections,
        store.variants["variant_id"].astype(str).tolist(),
        params,
        seed=stage_seed(config["seed"], "network"),
        dosages=np.asarray(store.dosages)[:, training],
        status=samples["status"].to_numpy()[training].astype(int),
        evaluate=evaluate,
    )


def communities_stage(
    store: GenotypeStore, samples: pd.DataFrame, network: Network, config: dict, *, evaluate=None
) -> CommunityResult:
    """Detect, prune and test the communities of ``network`` (rule ``communities``)."""
    training, validation = _split_parts(store, samples)
    params = config["communities"]
    if evaluate is None:
        evaluate = training_evaluator(store, samples, config)
    dosages = np.asarray(store.dosages)
    status = samples["status"].to_numpy().astype(int)
    return find_communities(
        network,
        store.variants["variant_id"].astype(str).tolist(),
        params,
        seed=stage_seed(config["seed"], "communities"),
        training=(dosages[:, training], status[training]),
        validation=(dosages[:, validation], status[validation]) if len(validation) else None,
        evaluate=evaluate,
    )


def crs_stage(
    store: GenotypeStore,
    samples: pd.DataFrame,
    communities: pd.DataFrame,
    config: dict,
    *,
    case_only: GenotypeStore | None = None,
    sources: tuple[str, str] = ("the QC'd cohort", "the case-only cohort"),
) -> CRSResult:
    """Score every person on every community (rule ``crs``).

    ``sources`` names the QC'd and the case-only store in messages.
    """
    _split_parts(store, samples)
    case_only_parts = None
    if case_only is not None:
        case_only_parts = (
            np.asarray(case_only.dosages),
            case_only.samples,
            case_only.variants["variant_id"].astype(str).tolist(),
        )
    return score_communities(
        communities,
        np.asarray(store.dosages),
        samples,
        store.variants["variant_id"].astype(str).tolist(),
        config["crs"],
        seed=stage_seed(config["seed"], "crs"),
        case_only=case_only_parts,
        sources=sources,
    )


def subtypes_stage(
    scores: pd.DataFrame,
    communities: pd.DataFrame,
    config: dict,
    *,
    truth: pd.DataFrame | None = None,
) -> tuple[SubtypeResult, pd.DataFrame | None]:
    """Cluster cases on their CRS profiles and compare with the truth when given (rule ``subtypes``)."""
    result = find_subtypes(scores, config["subtypes"], seed=stage_seed(config["seed"], "subtypes"))
    agreement = (
        compare_with_truth(result.subtypes, communities, truth) if truth is not None else None
    )
    if agreement is not None:
        ari = agreement.loc[agreement["measure"] == "subtype_ari", "value"]
        if len(ari):
            logger.info(
                "subtypes: adjusted Rand index with the true subgroups %.3f", float(ari.iloc[0])
            )
    return result, agreement


def split_samples(store: GenotypeStore, config: dict) -> pd.DataFrame:
    """Assign each sample to the training or validation split (rule ``split``)."""
    from fcsnet.split import split_samples as assign_split

    return assign_split(store.samples, config["split"]["validation_fraction"], config["seed"])


def run_ga(
    store: GenotypeStore, samples: pd.DataFrame, config: dict
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run every GA run of every size limit on the training split (rules ``scan`` and ``ga``)."""
    from fcsnet.ga.runs import run_ga_batch

    training, _ = _split_parts(store, samples)
    dosages = np.ascontiguousarray(np.asarray(store.dosages)[:, training])
    status = samples["status"].to_numpy()[training].astype(np.int8)
    variant_ids = store.variants["variant_id"].astype(str).tolist()
    guide = None
    if config["scan"]["enabled"]:
        from fcsnet.scan import guide_weights, scan

        options = config["scan"]
        result = scan(
            dosages,
            status,
            variant_ids,
            chunk_size=options["chunk_size"],
            n_top=options["n_top_pairs"],
        )
        guide = guide_weights(
            result.variant_scores, guide_mass=options["guide_mass"], alpha=options["guide_alpha"]
        )
    limits = config["ga"]["size_limits"]
    limits = limits if isinstance(limits, list) else [limits]
    selections, generations = [], []
    for size_limit in limits:
        chosen, history = run_ga_batch(
            dosages,
            status,
            variant_ids,
            size_limit=size_limit,
            run_indices=list(range(config["ga"]["n_runs"])),
            seed=config["seed"],
            ga_params=config["ga"],
            guide_weights=guide,
        )
        selections.append(chosen)
        generations.append(history)
    return pd.concat(selections, ignore_index=True), pd.concat(generations, ignore_index=True)


@dataclass
class ChainResult:
    """Everything the chain computed, stage by stage."""

    samples: pd.DataFrame
    selections: pd.DataFrame
    generations: pd.DataFrame
    network: Network
    communities: CommunityResult
    crs: CRSResult
    subtypes: SubtypeResult
    agreement: pd.DataFrame | None = None
    interactions: tuple[pd.DataFrame, pd.DataFrame] | None = None
    seconds: dict[str, float] = field(default_factory=dict)


def run_chain(
    store: GenotypeStore,
    config: dict,
    *,
    case_only: GenotypeStore | None = None,
    truth: pd.DataFrame | None = None,
    output_dir: str | Path | None = None,
    samples: pd.DataFrame | None = None,
    selections: pd.DataFrame | None = None,
) -> ChainResult:
    """Run split, GA, network, communities, CRS and subtypes on a QC'd store.

    Parameters
    ----------
    store : GenotypeStore
        QC'd genotypes with ``sample_id, status`` (and covariates) per sample.
    config : dict
        Every config section, as returned by :func:`fcsnet.config.default_config`.
    case_only : GenotypeStore, optional
        Case-only cohort, scored and subtyped but never fitted on.
    truth : pandas.DataFrame, optional
        Truth table (``record, id, group``); adds ``agreement``.
    output_dir : path, optional
        When given, every stage's outputs are written under it with the
        workflow's layout (``split/``, ``ga/``, ``network/``, ...).
    samples, selections : pandas.DataFrame, optional
        A ready split table or GA selections table, to skip those stages.
    """
    seconds: dict[str, float] = {}
    clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        seconds[stage] = now - clock
        clock = now
        logger.info("chain: %s done in %.1f s", stage, seconds[stage])

    if samples is None:
        samples = split_samples(store, config)
    lap("split")
    generations = pd.DataFrame()
    if selections is None:
        selections, generations = run_ga(store, samples, config)
    lap("ga")
    evaluate = training_evaluator(store, samples, config)
    network = network_stage(store, samples, selections, config, evaluate=evaluate)
    lap("network")
    communities = communities_stage(store, samples, network, config, evaluate=evaluate)
    lap("communities")
    crs = crs_stage(store, samples, communities.communities, config, case_only=case_only)
    lap("crs")
    subtypes, agreement = subtypes_stage(crs.scores, communities.communities, config, truth=truth)
    lap("subtypes")

    interactions = None
    if config["attention"]["enabled"]:
        if communities.communities.empty:
            logger.info("chain: no communities, so no interactions to rank")
        else:
            import torch

            from fcsnet.attention.interactions import rank_interactions

            # torch otherwise starts one thread per core, which oversubscribes
            # a busy node; the interactions rule applies the same setting.
            torch.set_num_threads(max(1, int(config["attention"]["threads"])))
            training_mask = (samples["split"] == "training").to_numpy()
            interactions = rank_interactions(
                np.asarray(store.dosages),
                samples["status"].to_numpy().astype(np.int8),
                store.variants["variant_id"].astype(str).tolist(),
                communities.communities,
                training_mask=training_mask,
                config=config["attention"],
                seed=stage_seed(config["seed"], "attention"),
            )
        lap("interactions")

    result = ChainResult(
        samples,
        selections,
        generations,
        network,
        communities,
        crs,
        subtypes,
        agreement,
        interactions,
        seconds,
    )
    if output_dir is not None:
        write_chain(result, output_dir)
    return result


def write_chain(result: ChainResult, output_dir: str | Path) -> None:
    """Write a chain's outputs with the workflow's file layout under ``output_dir``."""
    output_dir = Path(output_dir)
    write_table(result.samples, output_dir / "split" / "samples.tsv")
    write_table(result.selections, output_dir / "ga" / "selections.tsv")
    if not result.generations.empty:
        write_table(result.generations, output_dir / "ga" / "generations.tsv")
    write_network(result.network, output_dir / "network")
    write_table(result.communities.communities, output_dir / "communities" / "communities.tsv")
    write_table(result.communities.candidates, output_dir / "communities" / "candidates.tsv")
    write_table(result.crs.scores, output_dir / "crs" / "crs.tsv")
    write_table(result.crs.stats, output_dir / "crs" / "community_stats.tsv")
    write_table(result.subtypes.subtypes, output_dir / "subtypes" / "subtypes.tsv")
    write_table(result.subtypes.profiles, output_dir / "subtypes" / "profiles.tsv")
    write_table(result.subtypes.selection, output_dir / "subtypes" / "selection.tsv")
    if result.agreement is not None:
        write_table(result.agreement, output_dir / "subtypes" / "agreement.tsv")
    if result.interactions is not None:
        pairs, groups = result.interactions
        write_table(pairs, output_dir / "interactions" / "interactions.tsv")
        write_table(groups, output_dir / "interactions" / "groups.tsv")


# File-level entry points of the Snakemake rules: each reads the rule's
# inputs, calls the stage function above and writes the rule's outputs.


def _read_split(path) -> pd.DataFrame:
    from fcsnet.store import read_table

    samples = read_table(path)
    samples["sample_id"] = samples["sample_id"].astype(str)
    return samples


def network_files(qc_dir, split_path, selections_path, output_dir, config: dict) -> None:
    """Rule ``network``: selections and QC'd store to ``network/``."""
    from fcsnet.store import read_store, read_table

    store = read_store(qc_dir)
    network = network_stage(store, _read_split(split_path), read_table(selections_path), config)
    write_network(network, output_dir)


def communities_files(qc_dir, split_path, network_dir, output_dir, config: dict) -> None:
    """Rule ``communities``: network to ``communities/communities.tsv`` and ``candidates.tsv``."""
    from fcsnet.store import read_store, read_table

    network_dir = Path(network_dir)
    nodes = read_table(network_dir / "nodes.tsv")
    nodes["variant_id"] = nodes["variant_id"].astype(str)
    edges = read_table(network_dir / "edges.tsv")
    edges["variant_a"] = edges["variant_a"].astype(str)
    edges["variant_b"] = edges["variant_b"].astype(str)
    network = Network(nodes, edges, edges, int(nodes["n_selections"].sum()))
    result = communities_stage(read_store(qc_dir), _read_split(split_path), network, config)
    write_table(result.communities, Path(output_dir) / "communities.tsv")
    write_table(result.candidates, Path(output_dir) / "candidates.tsv")


def crs_files(
    qc_dir, split_path, communities_path, output_dir, config: dict, *, case_only_dir=None
) -> None:
    """Rule ``crs``: communities to ``crs/crs.tsv`` and ``crs/community_stats.tsv``."""
    from fcsnet.store import read_store, read_table

    communities = read_table(communities_path)
    communities["variant_id"] = communities["variant_id"].astype(str)
    case_only = read_store(case_only_dir) if case_only_dir else None
    result = crs_stage(
        read_store(qc_dir),
        _read_split(split_path),
        communities,
        config,
        case_only=case_only,
        sources=(str(qc_dir), str(case_only_dir)),
    )
    write_table(result.scores, Path(output_dir) / "crs.tsv")
    write_table(result.stats, Path(output_dir) / "community_stats.tsv")


def subtypes_files(
    crs_path, communities_path, output_dir, config: dict, *, truth_path=None
) -> None:
    """Rule ``subtypes``: CRS table to ``subtypes/`` (``agreement.tsv`` has no rows without a truth file)."""
    from fcsnet.store import read_table
    from fcsnet.subtypes import read_truth

    scores = read_table(crs_path)
    scores["sample_id"] = scores["sample_id"].astype(str)
    communities = read_table(communities_path)
    communities["variant_id"] = communities["variant_id"].astype(str)
    truth = read_truth(truth_path) if truth_path else None
    result, agreement = subtypes_stage(scores, communities, config, truth=truth)
    output_dir = Path(output_dir)
    write_table(result.subtypes, output_dir / "subtypes.tsv")
    write_table(result.profiles, output_dir / "profiles.tsv")
    write_table(result.selection, output_dir / "selection.tsv")
    if agreement is None:
        logger.info("subtypes: no truth file for this cohort; agreement.tsv is left empty")
        agreement = pd.DataFrame(columns=["measure", "group", "value", "n", "communities", "clean"])
    write_table(agreement, output_dir / "agreement.tsv")
