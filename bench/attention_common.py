"""Set-up shared by the CPU and GPU attention benchmarks.

Both compare one batched :func:`~fcsnet.attention.batched.train_models`
call with a Python loop that trains the same models one at a time, on
random variant subsets of one GAMETES file.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.attention.batched import TrainedModels, train_models

REPOSITORY = Path(__file__).resolve().parents[1]
GAMETES = REPOSITORY.parent / "shared" / "data" / "gametes"
DATA_FILE = GAMETES / "heterogeneity_r50" / "het_r50_01.tsv.gz"


def load_cohort(path: Path, seed: int = 0):
    """Return dosages (n_variants, n_samples) int8, status int8 and variant names.

    The rows of the file (samples) are shuffled with ``seed`` first.
    """
    table = pd.read_csv(path, sep="\t").sample(frac=1.0, random_state=seed)
    status = table.pop("Class").to_numpy().astype(np.int8)
    dosages = np.ascontiguousarray(table.to_numpy().T.astype(np.int8))
    return dosages, status, list(table.columns)


def random_subsets(n_variants: int, n_subsets: int, sizes: tuple[int, int], seed: int):
    """Return ``n_subsets`` sorted tuples of ``sizes[0]`` to ``sizes[1]`` distinct variant rows."""
    rng = np.random.default_rng(seed)
    subsets = []
    for _ in range(n_subsets):
        size = int(rng.integers(sizes[0], sizes[1] + 1))
        subsets.append(tuple(sorted(int(row) for row in rng.choice(n_variants, size, False))))
    return subsets


def training_mask(n_samples: int) -> np.ndarray:
    """Return the training mask: every fourth sample validates, the others train."""
    return np.arange(n_samples) % 4 != 0


def train_batched(dosages, status, subsets, seeds, model_config, training_config) -> TrainedModels:
    """Train all ``subsets`` in one batched call."""
    mask = training_mask(dosages.shape[1])
    return train_models(
        dosages,
        subsets,
        status,
        mask,
        ~mask,
        seeds=seeds,
        model_config=model_config,
        training_config=training_config,
    )


def train_loop(dosages, status, subsets, seeds, model_config, training_config):
    """Train the same models one at a time, each as a one-model batch."""
    return [
        train_batched(dosages, status, [subset], [seed], model_config, training_config)
        for subset, seed in zip(subsets, seeds, strict=True)
    ]


def largest_logit_difference(dosages, batched: TrainedModels, alone) -> float:
    """Return the largest absolute logit difference between batched and looped models."""
    looped = np.stack([model.predict_logits(dosages)[0] for model in alone])
    return float(np.abs(batched.predict_logits(dosages) - looped).max())


def best_seconds(function, repeats: int):
    """Run ``function`` ``repeats`` times; return the last result and the fastest wall time."""
    fastest, result = float("inf"), None
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        fastest = min(fastest, time.perf_counter() - start)
    return result, fastest
