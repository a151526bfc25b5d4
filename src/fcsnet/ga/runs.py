"""Repeated, independently seeded GA runs and their tables.

Run ``r`` at size limit ``s`` is seeded with
``numpy.random.SeedSequence([seed, s, r])``, so its result does not depend on
which job ran it or how many runs a job did.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.errors import InputError
from fcsnet.ga.search import GeneticSelector, check_ga_parameters, check_size_limit
from fcsnet.store import read_store, read_table, write_table

logger = logging.getLogger(__name__)

SELECTION_COLUMNS = ["run", "size_limit", "rank", "variant_ids", "n_variants", "fitness"]
GENERATION_COLUMNS = ["run", "size_limit", "generation", "best", "mean", "diversity"]

# Keys of the 'ga' config section passed on to GeneticSelector.
_SELECTOR_KEYS = (
    "population_size",
    "n_generations",
    "crossover_rate",
    "mutation_rate",
    "tournament_size",
    "elitism",
    "early_stopping_generations",
    "fitness",
    "fitness_options",
    "n_folds",
    "n_best_subsets",
    "max_initial_size",
    "log_every",
)


def run_seed(seed: int, size_limit: int, run: int) -> np.random.SeedSequence:
    """Return the seed sequence of one run."""
    return np.random.SeedSequence([int(seed), int(size_limit), int(run)])


def batch_runs(n_runs: int, runs_per_job: int, batch: int) -> range:
    """Return the run indices of one batch (0-based) of the workflow's scatter."""
    start = batch * runs_per_job
    if batch < 0 or start >= n_runs:
        raise ValueError(
            f"batch {batch} is outside the {-(-n_runs // runs_per_job)} batches of {n_runs} runs"
        )
    return range(start, min(n_runs, start + runs_per_job))


def run_ga_batch(
    dosages: np.ndarray,
    status: np.ndarray,
    variant_ids: Sequence[str],
    *,
    size_limit: int,
    run_indices: Iterable[int],
    seed: int,
    ga_params: dict,
    guide_weights: np.ndarray | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run independent GA searches and tabulate their best subsets and convergence.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Training-split genotypes, -1 = missing.
    status : numpy.ndarray, shape (n_samples,)
        1 = case, 0 = control.
    variant_ids : sequence of str, length n_variants
    size_limit : int
        Maximum subset size of these runs.
    run_indices : iterable of int
        Run numbers; each seeds its own run.
    seed : int
        Base seed of the workflow.
    ga_params : dict
        The 'ga' config section (see ``workflow/schemas/ga.schema.yaml``).
        ``guide: false`` ignores ``guide_weights``.
    guide_weights : numpy.ndarray, shape (n_variants,), optional
        Per-variant inclusion weights from the pairwise scan.

    Returns
    -------
    selections : pandas.DataFrame
        Columns run, size_limit, rank, variant_ids (comma-separated),
        n_variants, fitness: the best ``n_best_subsets`` distinct subsets of
        each run, rank 1 first.
    generations : pandas.DataFrame
        Columns run, size_limit, generation, best, mean, diversity.
    """
    check_ga_parameters(ga_params)
    check_size_limit(size_limit)
    variant_ids = [str(variant) for variant in variant_ids]
    if len(variant_ids) != dosages.shape[0]:
        raise InputError(
            f"{len(variant_ids)} variant IDs given for a matrix of {dosages.shape[0]} variants"
        )
    options = {key: ga_params[key] for key in _SELECTOR_KEYS if key in ga_params}
    guide = guide_weights if ga_params.get("guide", True) else None

    selections = []
    generations = []
    for run in run_indices:
        started = time.perf_counter()
        selector = GeneticSelector(
            size_limit,
            **options,
            guide_weights=guide,
            random_state=run_seed(seed, size_limit, run),
            run_label=f"size limit {size_limit}, run {run}: ",
        ).fit(dosages, status)
        for rank, (subset, fitness) in enumerate(selector.hall_of_fame_, start=1):
            selections.append(
                {
                    "run": run,
                    "size_limit": size_limit,
                    "rank": rank,
                    "variant_ids": ",".join(variant_ids[index] for index in subset),
                    "n_variants": len(subset),
                    "fitness": fitness,
                }
            )
        history = selector.history_.assign(run=run, size_limit=size_limit)
        generations.append(history[GENERATION_COLUMNS])
        logger.info(
            "size limit %d, run %d: best fitness %.4f with %s after %d generations "
            "(%d subsets evaluated, %d cache hits, %.1f s)",
            size_limit,
            run,
            selector.best_fitness_,
            selections[-len(selector.hall_of_fame_)]["variant_ids"],
            len(selector.history_) - 1,
            selector.n_evaluations_,
            selector.n_cache_hits_,
            time.perf_counter() - started,
        )
    selection_table = pd.DataFrame(selections, columns=SELECTION_COLUMNS)
    generation_table = (
        pd.concat(generations, ignore_index=True)
        if generations
        else pd.DataFrame(columns=GENERATION_COLUMNS)
    )
    return selection_table, generation_table


def load_training(
    qc_dir: str | Path, split_path: str | Path
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Load the training samples' dosages and status from a QC store and its split.

    Returns
    -------
    dosages : numpy.ndarray, int8, shape (n_variants, n_training)
    status : numpy.ndarray, int8, shape (n_training,)
    variant_ids : list of str
    """
    store = read_store(qc_dir)
    split = read_table(split_path)
    split["sample_id"] = split["sample_id"].astype(str)
    if split["sample_id"].tolist() != store.samples["sample_id"].tolist():
        raise InputError(
            f"{split_path} must list the samples of {qc_dir}/samples.tsv in the same order; "
            "rerun the split step"
        )
    training = np.flatnonzero((split["split"] == "training").to_numpy())
    if len(training) == 0:
        raise InputError(f"{split_path} has no training samples")
    dosages = np.ascontiguousarray(np.asarray(store.dosages)[:, training])
    status = split["status"].to_numpy()[training].astype(np.int8)
    return dosages, status, store.variants["variant_id"].tolist()


def read_guide_weights(path: str | Path, variant_ids: Sequence[str]) -> np.ndarray:
    """Read the ``guide_weight`` column of a scan's variant_scores.tsv in ``variant_ids`` order."""
    scores = read_table(path)
    scores["variant_id"] = scores["variant_id"].astype(str)
    weights = scores.set_index("variant_id")["guide_weight"].reindex(list(variant_ids))
    if weights.isna().any():
        missing = weights.index[weights.isna()].tolist()[:5]
        raise InputError(
            f"{path} lacks guide weights for variants such as {missing}; rerun the scan step"
        )
    return weights.to_numpy(dtype=np.float64)


def run_batch_files(
    qc_dir,
    split_path,
    selections_path,
    generations_path,
    *,
    size_limit,
    batch,
    seed,
    ga_params,
    variant_scores_path=None,
    threads: int = 1,
) -> None:
    """Run one workflow batch of GA runs and write its two tables.

    ``threads`` is the job's CPU count. With the ``attention`` fitness it
    caps torch's intra-op threads, which otherwise default to every core of
    the node and make concurrent GA jobs oversubscribe it.
    """
    if ga_params.get("fitness") == "attention":
        import torch

        torch.set_num_threads(max(1, int(threads)))
    dosages, status, variant_ids = load_training(qc_dir, split_path)
    runs = batch_runs(ga_params["n_runs"], ga_params["runs_per_job"], batch)
    guide = None
    if variant_scores_path is not None and ga_params.get("guide", True):
        guide = read_guide_weights(variant_scores_path, variant_ids)
    logger.info(
        "GA runs %d-%d at size limit %d on %d variants x %d training samples (guide %s)",
        runs.start,
        runs.stop - 1,
        size_limit,
        dosages.shape[0],
        dosages.shape[1],
        "on" if guide is not None else "off",
    )
    selections, generations = run_ga_batch(
        dosages,
        status,
        variant_ids,
        size_limit=size_limit,
        run_indices=runs,
        seed=seed,
        ga_params=ga_params,
        guide_weights=guide,
    )
    write_table(selections, selections_path)
    write_table(generations, generations_path)


def merge_batches(selection_paths, generation_paths, selections_path, generations_path) -> None:
    """Concatenate batch tables, sorted by size limit, run and rank (or generation)."""
    selections = pd.concat([read_table(path) for path in selection_paths], ignore_index=True)
    generations = pd.concat([read_table(path) for path in generation_paths], ignore_index=True)
    selections = selections.sort_values(["size_limit", "run", "rank"], kind="stable").reset_index(
        drop=True
    )
    generations = generations.sort_values(
        ["size_limit", "run", "generation"], kind="stable"
    ).reset_index(drop=True)
    write_table(selections[SELECTION_COLUMNS], selections_path)
    write_table(generations[GENERATION_COLUMNS], generations_path)
    logger.info(
        "merged %d batches: %d selections from %d runs",
        len(selection_paths),
        len(selections),
        selections.groupby(["size_limit", "run"]).ngroups,
    )
