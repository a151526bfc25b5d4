"""GA fitness from batched attention classifiers: cross-validated ROC AUC per subset.

:class:`AttentionEvaluator` trains ``n_folds`` attention classifiers per
subset (one per held-out fold) and scores a whole GA population in one
batched :func:`~fcsnet.attention.batched.train_models` call. Each model
early-stops on its held-out fold and the fitness is the mean held-out AUC at
the best epoch.

NOTE: the held-out fold serves both for early stopping and for the AUC, so
the fitness is somewhat optimistic. The size of that bias is not measured.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fcsnet.attention.batched import TRAINING_OPTIONS, TrainingConfig, train_models
from fcsnet.attention.model import MODEL_OPTIONS, ModelConfig
from fcsnet.errors import ConfigError
from fcsnet.ga.fitness import normalise_subsets, stratified_folds, validate_inputs

DEFAULT_OPTIONS = {"max_epochs": 30, "patience": 5, "batch_size": 128}
"""Fitness defaults: shorter training than interaction ranking, because a GA
evaluates thousands of subsets and only needs their order."""


class AttentionEvaluator:
    """Cross-validated AUC of an attention classifier on each variant subset.

    Parameters
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Training genotypes, -1 = missing (a genotype token of its own).
    status : numpy.ndarray, shape (n_samples,)
        1 = case, 0 = control.
    n_folds : int
        Number of stratified folds; one model is trained per fold and subset.
    seed : int or numpy.random.SeedSequence
        Seed of the fold assignment and of every model. A model's seed is
        derived from this seed, its fold and its subset's variant indices, so
        a subset gets the same fitness in any population.
    **options
        Keys of :class:`~fcsnet.attention.model.ModelConfig` and
        :class:`~fcsnet.attention.batched.TrainingConfig` (for example
        ``d_model``, ``max_epochs``, ``models_per_chunk``, ``device``).
    """

    def __init__(self, dosages, status, *, n_folds: int, seed, **options):
        self.status = validate_inputs(dosages, status, n_folds)
        unknown = sorted(set(options) - set(MODEL_OPTIONS) - set(TRAINING_OPTIONS))
        if unknown:
            raise ConfigError(
                f"unknown attention fitness option(s) {unknown}; "
                f"expected keys from {MODEL_OPTIONS + TRAINING_OPTIONS}"
            )
        settings = DEFAULT_OPTIONS | options
        try:
            self.model_config = ModelConfig(
                **{k: v for k, v in settings.items() if k in MODEL_OPTIONS}
            )
            self.training_config = TrainingConfig(
                **{k: v for k, v in settings.items() if k in TRAINING_OPTIONS}
            )
        except ValueError as error:
            raise ConfigError(f"invalid attention fitness option: {error}") from error
        self.dosages = dosages
        self.n_folds = n_folds
        sequence = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )
        fold_sequence, model_sequence = sequence.spawn(2)
        self.folds = stratified_folds(self.status, n_folds, fold_sequence)
        self._model_entropy = int(model_sequence.generate_state(1)[0])

    def _seed(self, fold: int, subset: tuple[int, ...]) -> int:
        sequence = np.random.SeedSequence([self._model_entropy, fold, *subset])
        return int(sequence.generate_state(1)[0])

    def evaluate(self, subsets: Sequence[Sequence[int]]) -> np.ndarray:
        """Return the mean held-out ROC AUC of each subset, float64, shape (len(subsets),)."""
        subsets = normalise_subsets(subsets, self.dosages.shape[0])
        if not subsets:
            return np.zeros(0, dtype=np.float64)
        model_subsets = [subset for subset in subsets for _ in range(self.n_folds)]
        held_out = np.stack([self.folds == fold for _ in subsets for fold in range(self.n_folds)])
        seeds = [self._seed(fold, subset) for subset in subsets for fold in range(self.n_folds)]
        trained = train_models(
            self.dosages,
            model_subsets,
            self.status,
            ~held_out,
            held_out,
            seeds=seeds,
            model_config=self.model_config,
            training_config=self.training_config,
        )
        auc = trained.validation_auc_.reshape(len(subsets), self.n_folds)
        return auc.mean(axis=1).astype(np.float64)
