"""Rank variant pairs and triples inside each community by attention-model interaction.

For each community one attention classifier is trained on the community's
variants (several restarts, batched across communities, the one with the
lowest validation loss kept). Interactions are then read from the trained
model by permutation on the validation samples:

``d(S)``
    the drop in validation ROC AUC when the genotypes of the variant set S
    are shuffled across samples together, averaged over ``n_repeats``
    shuffles. One row permutation moves all columns of S, so the joint
    genotypes within S are kept while their link to status and to the other
    variants is broken. Every set uses the same shuffles, so differences
    between sets carry no shuffle-to-shuffle noise.
pair score
    ``d(a) + d(b) - d(ab)``: zero when a and b act additively on the AUC or
    when either is ignored by the model, and equal to the whole drop when the
    pair acts only jointly (pure epistasis).
order-3 group score
    ``d(a) + d(b) + d(c) - d(ab) - d(ac) - d(bc) + d(abc)``: the three-way
    inclusion-exclusion term, non-zero only for effects that need all three
    variants, so a pair plus a bystander scores about zero.

P-values come from permuting the case/control status of the validation
samples ``n_permutations`` times with the model and the shuffled genotypes
held fixed, and recomputing every score; the p-value of a pair or group is
``(1 + #{permuted score >= observed}) / (1 + n_permutations)``. This tests
the null hypothesis that the validation status is unrelated to the
community's genotypes. It is not a test of non-additivity: in a model
that predicts well, a variant pair that the model uses at all tends to get
a small p-value even when its score is near zero, so rank by score and read
the p-value as a guard against scores that chance alone produces.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import rankdata

from fcsnet.attention.batched import (
    TRAINING_OPTIONS,
    TrainedModels,
    TrainingConfig,
    model_seeds,
    train_models,
)
from fcsnet.attention.model import MODEL_OPTIONS, ModelConfig
from fcsnet.errors import ConfigError, InputError
from fcsnet.store import read_store, read_table, write_table

logger = logging.getLogger(__name__)

CODES_PER_CALL = 4_000_000
"""Genotype codes (rows x variants) of shuffled inputs built and scored at once
(32 MB as int64); bounds the memory of scoring whatever the community size."""
PAIR_COLUMNS = ["community", "variant_a", "variant_b", "score", "p_value", "validation_auc"]
GROUP_COLUMNS = ["community", "variant_ids", "order", "score", "p_value", "validation_auc"]


@dataclass(frozen=True)
class InteractionSettings:
    """Settings read from the 'attention' config section (see attention.schema.yaml)."""

    model: ModelConfig
    training: TrainingConfig
    n_restarts: int = 3
    n_repeats: int = 3
    n_permutations: int = 999
    max_pair_variants: int = 30
    group_variants: int = 8

    @classmethod
    def from_config(cls, config: dict) -> InteractionSettings:
        """Build settings from an 'attention' config dict; missing keys take the dataclass defaults."""
        try:
            model = ModelConfig(**{key: config[key] for key in MODEL_OPTIONS if key in config})
            training = TrainingConfig(
                **{key: config[key] for key in TRAINING_OPTIONS if key in config}
            )
            own = {
                key: int(config[key])
                for key in (
                    "n_restarts",
                    "n_repeats",
                    "n_permutations",
                    "max_pair_variants",
                    "group_variants",
                )
                if key in config
            }
            settings = cls(model=model, training=training, **own)
        except ValueError as error:
            raise ConfigError(f"invalid 'attention' config: {error}") from error
        for key in ("n_restarts", "n_repeats"):
            if getattr(settings, key) < 1:
                raise ConfigError(
                    f"attention.{key} must be at least 1; got {getattr(settings, key)}"
                )
        if settings.n_permutations < 0:
            raise ConfigError(
                f"attention.n_permutations must be >= 0; got {settings.n_permutations}"
            )
        if settings.max_pair_variants < 2:
            raise ConfigError(
                f"attention.max_pair_variants must be at least 2; got {settings.max_pair_variants}"
            )
        if settings.group_variants < 0:
            raise ConfigError(
                f"attention.group_variants must be >= 0; got {settings.group_variants}"
            )
        return settings


def _community_members(
    communities: pd.DataFrame, variant_ids: Sequence[str]
) -> list[tuple[object, list[int]]]:
    """Return (community, variant row indices) for every community of two or more variants."""
    missing_columns = {"variant_id", "community"} - set(communities.columns)
    if missing_columns:
        raise InputError(f"communities table lacks the columns {sorted(missing_columns)}")
    row_of = {str(variant): row for row, variant in enumerate(variant_ids)}
    unknown = sorted(set(communities["variant_id"].astype(str)) - set(row_of))
    if unknown:
        raise InputError(
            f"communities table names {len(unknown)} variant(s) absent from the genotype store, "
            f"e.g. {unknown[:5]}; rebuild the communities from the same QC'd store"
        )
    members = []
    for community, table in communities.groupby("community", sort=True):
        rows = sorted({row_of[str(variant)] for variant in table["variant_id"]})
        if len(rows) < 2:
            logger.info("community %s has one variant; no interactions to rank", community)
            continue
        members.append((community, rows))
    return members


def _shuffled_codes(
    codes: np.ndarray, variant_sets: list[tuple[int, ...]], shuffles: np.ndarray
) -> np.ndarray:
    """Build model inputs with each set's columns shuffled by each shuffle.

    codes: (n_valid, k); shuffles: (n_repeats, n_valid) row permutations.
    Returns (len(variant_sets) * n_repeats * n_valid, k), set-major.
    """
    n_valid, k = codes.shape
    blocks = []
    for variant_set in variant_sets:
        columns = list(variant_set)
        for shuffle in shuffles:
            block = codes.copy()
            block[:, columns] = codes[shuffle][:, columns]
            blocks.append(block)
    return np.concatenate(blocks) if blocks else np.zeros((0, k), dtype=codes.dtype)


def _auc_table(logits: np.ndarray, label_matrix: np.ndarray) -> np.ndarray:
    """Return ROC AUC of each logit row under each label column.

    logits: (n_rows, n_valid); label_matrix: bool (n_valid, n_labelings).
    Returns (n_rows, n_labelings).
    """
    ranks = rankdata(logits, axis=1)
    n_cases = label_matrix.sum(axis=0)  # the same for every labeling
    n_controls = label_matrix.shape[0] - n_cases
    rank_sums = np.empty((ranks.shape[0], label_matrix.shape[1]))
    # Convert the labelings to float in blocks of about 128 MB.
    step = max(1, 2**24 // max(1, label_matrix.shape[0]))
    for start in range(0, label_matrix.shape[1], step):
        block = label_matrix[:, start : start + step].astype(np.float64)
        rank_sums[:, start : start + step] = ranks @ block
    return (rank_sums - n_cases * (n_cases + 1) / 2) / (n_cases * n_controls)


def _set_drops(
    trained: TrainedModels,
    model_index: int,
    codes: np.ndarray,
    variant_sets: list[tuple[int, ...]],
    shuffles: np.ndarray,
    label_matrix: np.ndarray,
    base_auc: np.ndarray,
) -> dict[tuple[int, ...], np.ndarray]:
    """Return d(S) under every labeling for each set S, each an array (n_labelings,)."""
    drops: dict[tuple[int, ...], np.ndarray] = {}
    n_valid = codes.shape[0]
    n_repeats = len(shuffles)
    sets_per_call = max(1, CODES_PER_CALL // (n_repeats * n_valid * codes.shape[1]))
    for start in range(0, len(variant_sets), sets_per_call):
        batch_sets = variant_sets[start : start + sets_per_call]
        rows = _shuffled_codes(codes, batch_sets, shuffles)
        logits = trained.logits_of(model_index, rows)
        aucs = _auc_table(logits.reshape(-1, n_valid), label_matrix)  # (sets * repeats, labelings)
        aucs = aucs.reshape(len(batch_sets), n_repeats, -1).mean(axis=1)
        for variant_set, auc in zip(batch_sets, aucs, strict=True):
            drops[variant_set] = base_auc - auc
    return drops


def _pair_score(drops: dict, a: int, b: int) -> np.ndarray:
    return drops[(a,)] + drops[(b,)] - drops[(a, b)]


def _triple_score(drops: dict, a: int, b: int, c: int) -> np.ndarray:
    return (
        drops[(a,)]
        + drops[(b,)]
        + drops[(c,)]
        - drops[(a, b)]
        - drops[(a, c)]
        - drops[(b, c)]
        + drops[(a, b, c)]
    )


def _p_values(scores: np.ndarray) -> np.ndarray:
    """P-values of column 0 against columns 1..n: scores shape (n_items, 1 + n_permutations)."""
    observed = scores[:, :1]
    exceed = (scores[:, 1:] >= observed - 1e-12).sum(axis=1)
    return (1.0 + exceed) / scores.shape[1]


def rank_interactions(
    dosages: np.ndarray,
    status: np.ndarray,
    variant_ids: Sequence[str],
    communities: pd.DataFrame,
    *,
    training_mask: np.ndarray,
    config: dict,
    seed: int,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rank variant pairs and order-3 groups of each community by interaction score.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Alternate-allele counts, -1 for a missing call.
    status : numpy.ndarray, shape (n_samples,)
        1 for a case, 0 for a control.
    variant_ids : sequence of str, length n_variants
        Identifier of each dosage row.
    communities : pandas.DataFrame
        Columns ``variant_id`` and ``community``; communities of one variant
        are skipped.
    training_mask : numpy.ndarray, bool, shape (n_samples,)
        Samples the models train on; the others are the validation samples
        used for early stopping, scores and p-values.
    config : dict
        The 'attention' config section (keys in attention.schema.yaml).
    seed : int
        Seed of model initialisation, minibatch order and all shuffles.

    Returns
    -------
    pairs : pandas.DataFrame
        ``community, variant_a, variant_b, score, p_value, validation_auc``,
        sorted by score, highest first.
    groups : pandas.DataFrame
        ``community, variant_ids`` (comma-separated), ``order, score,
        p_value, validation_auc``, sorted by score, highest first.
    """
    settings = InteractionSettings.from_config(config)
    dosages = np.asarray(dosages)
    status = np.asarray(status)
    training_mask = np.asarray(training_mask, dtype=bool)
    n_variants, n_samples = dosages.shape
    if len(variant_ids) != n_variants:
        raise InputError(f"got {len(variant_ids)} variant ids for {n_variants} dosage rows")
    if status.shape != (n_samples,) or training_mask.shape != (n_samples,):
        raise InputError(
            f"status and training_mask must have one entry per sample ({n_samples}); "
            f"got shapes {status.shape} and {training_mask.shape}"
        )
    if not np.isin(status, (0, 1)).all():
        raise InputError("status must be 0 (control) or 1 (case) for every sample")
    validation_mask = ~training_mask
    for name, mask in (("training", training_mask), ("validation", validation_mask)):
        n_cases = int(status[mask].sum())
        if n_cases == 0 or n_cases == mask.sum():
            raise InputError(
                f"the {name} samples hold only one class ({n_cases} cases of {int(mask.sum())}); "
                "the split needs cases and controls on both sides"
            )

    members = _community_members(communities, variant_ids)
    if not members:
        return pd.DataFrame(columns=PAIR_COLUMNS), pd.DataFrame(columns=GROUP_COLUMNS)

    sequence = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    model_sequence, shuffle_sequence = sequence.spawn(2)
    subsets = [rows for _, rows in members for _ in range(settings.n_restarts)]
    logger.info(
        "training %d attention models (%d communities x %d restarts) on %d training samples",
        len(subsets),
        len(members),
        settings.n_restarts,
        int(training_mask.sum()),
    )
    trained = train_models(
        dosages,
        subsets,
        status,
        training_mask,
        validation_mask,
        seeds=model_seeds(int(model_sequence.generate_state(1)[0]), len(subsets)),
        model_config=settings.model,
        training_config=settings.training,
    )

    generator = np.random.default_rng(shuffle_sequence)
    validation = np.flatnonzero(validation_mask)
    labels = status[validation].astype(bool)
    # Column 0 is the observed labeling; the others permute the validation status.
    label_matrix = np.column_stack(
        [labels] + [generator.permutation(labels) for _ in range(settings.n_permutations)]
    )
    pair_rows, group_rows = [], []
    for position, (community, rows) in enumerate(members):
        candidates = range(position * settings.n_restarts, (position + 1) * settings.n_restarts)
        best = min(candidates, key=lambda index: trained.validation_loss_[index])
        # NOTE: the restart is chosen on the validation loss, so validation
        # samples are used both for this choice and for the permutation test.
        codes = np.where(dosages[rows][:, validation] < 0, 3, dosages[rows][:, validation]).T
        codes = codes.astype(np.int64)  # (n_valid, k), columns in community order
        shuffles = np.stack(
            [generator.permutation(len(validation)) for _ in range(settings.n_repeats)]
        )
        base_logits = trained.logits_of(best, codes)
        base_auc = _auc_table(base_logits[None, :], label_matrix)[0]
        auc = float(base_auc[0])
        logger.info(
            "community %s: %d variants, validation AUC %.3f (restart %d, epoch %d)",
            community,
            len(rows),
            auc,
            best - candidates.start,
            trained.best_epoch_[best],
        )
        k = len(rows)
        single_sets = [(index,) for index in range(k)]
        drops = _set_drops(trained, best, codes, single_sets, shuffles, label_matrix, base_auc)
        importance = np.array([drops[(index,)][0] for index in range(k)])
        order = np.argsort(-importance, kind="stable")
        pair_members = sorted(order[: settings.max_pair_variants].tolist())
        if k > settings.max_pair_variants:
            logger.info(
                "community %s: pairs ranked among the %d most important of %d variants",
                community,
                settings.max_pair_variants,
                k,
            )
        pair_sets = list(itertools.combinations(pair_members, 2))
        group_members = sorted(order[: settings.group_variants].tolist())
        triples = list(itertools.combinations(group_members, 3))
        needed = set(itertools.chain.from_iterable(itertools.combinations(t, 2) for t in triples))
        pair_sets_all = sorted(set(pair_sets) | needed)
        drops |= _set_drops(
            trained, best, codes, pair_sets_all + triples, shuffles, label_matrix, base_auc
        )

        if pair_sets:
            scores = np.stack([_pair_score(drops, a, b) for a, b in pair_sets])
            p_values = (
                _p_values(scores) if settings.n_permutations else np.full(len(pair_sets), np.nan)
            )
            for (a, b), score, p_value in zip(pair_sets, scores[:, 0], p_values, strict=True):
                pair_rows.append(
                    (community, variant_ids[rows[a]], variant_ids[rows[b]], score, p_value, auc)
                )
        if triples:
            scores = np.stack([_triple_score(drops, *triple) for triple in triples])
            p_values = (
                _p_values(scores) if settings.n_permutations else np.full(len(triples), np.nan)
            )
            for triple, score, p_value in zip(triples, scores[:, 0], p_values, strict=True):
                names = ",".join(str(variant_ids[rows[index]]) for index in triple)
                group_rows.append((community, names, 3, score, p_value, auc))

    pairs = pd.DataFrame(pair_rows, columns=PAIR_COLUMNS)
    groups = pd.DataFrame(group_rows, columns=GROUP_COLUMNS)
    pairs = pairs.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    groups = groups.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    return pairs, groups


def write_interactions(
    store_dir: str | Path,
    split_path: str | Path,
    communities_path: str | Path,
    interactions_path: str | Path,
    groups_path: str | Path,
    *,
    config: dict,
    seed: int,
    threads: int = 1,
) -> None:
    """Rank interactions of a QC'd cohort and write interactions.tsv and groups.tsv.

    ``seed`` is the run seed; the stage seed is derived from it as in
    :func:`fcsnet.chain.stage_seed`, so the workflow rule and the in-process
    chain give the same tables. ``threads`` sets torch's intra-op threads.
    """
    from fcsnet.chain import stage_seed

    torch.set_num_threads(max(1, int(threads)))
    store = read_store(store_dir)
    samples = read_table(split_path)
    samples["sample_id"] = samples["sample_id"].astype(str)
    if samples["sample_id"].tolist() != store.samples["sample_id"].tolist():
        raise InputError(
            f"{split_path} lists other samples, or another order, than {store_dir}/samples.tsv; "
            "rerun the split on the same QC'd store"
        )
    unknown_splits = sorted(set(samples["split"]) - {"training", "validation"})
    if unknown_splits:
        raise InputError(
            f"{split_path}: split must be 'training' or 'validation'; found {unknown_splits}"
        )
    communities = read_table(communities_path)
    communities["variant_id"] = communities["variant_id"].astype(str)
    pairs, groups = rank_interactions(
        np.asarray(store.dosages),
        samples["status"].to_numpy(),
        store.variants["variant_id"].tolist(),
        communities,
        training_mask=(samples["split"] == "training").to_numpy(),
        config=config,
        seed=stage_seed(seed, "attention"),
    )
    write_table(pairs, interactions_path)
    write_table(groups, groups_path)
    logger.info("wrote %d pairs and %d groups", len(pairs), len(groups))
