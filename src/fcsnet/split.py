"""Training/validation split of a cohort's samples, stratified by status.

Later stages fit only on the training samples; the validation samples are
held out to measure how well the results carry over.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from fcsnet.errors import ConfigError
from fcsnet.store import read_table, write_table

logger = logging.getLogger(__name__)

TRAINING = "training"
VALIDATION = "validation"


def split_samples(samples: pd.DataFrame, validation_fraction: float, seed: int) -> pd.DataFrame:
    """Assign each sample to training or validation, stratified by status.

    In each status class, ``round(validation_fraction * n_class)`` samples,
    drawn by ``numpy.random.default_rng(seed)``, go to validation. Each
    class keeps at least one training sample.

    Parameters
    ----------
    samples : pandas.DataFrame
        Columns ``sample_id``, ``status`` (0/1), then covariates.
    validation_fraction : float
        Share of each class held out, in [0, 1); 0 puts every sample in training.
    seed : int
        Seed of the random draw; the same seed gives the same split.

    Returns
    -------
    pandas.DataFrame
        ``samples`` in the same order with a ``split`` column
        (``"training"`` or ``"validation"``) inserted after ``status``.
    """
    if not 0.0 <= validation_fraction < 1.0:
        raise ConfigError(
            f"split.validation_fraction is {validation_fraction}; expected a value in [0, 1)"
        )
    if seed < 0:
        raise ConfigError(f"seed is {seed}; expected a non-negative integer")
    rng = np.random.default_rng(seed)
    status = samples["status"].to_numpy()
    split = np.full(len(samples), TRAINING, dtype=object)
    for value in np.unique(status):
        members = np.flatnonzero(status == value)
        n_validation = int(round(validation_fraction * len(members)))
        n_validation = min(n_validation, len(members) - 1)
        chosen = rng.choice(members, size=n_validation, replace=False)
        split[chosen] = VALIDATION
    result = samples.copy()
    result.insert(result.columns.get_loc("status") + 1, "split", split)
    for value in np.unique(status):
        in_class = status == value
        logger.info(
            "status %s: %d training, %d validation samples",
            value,
            int((split[in_class] == TRAINING).sum()),
            int((split[in_class] == VALIDATION).sum()),
        )
    return result


def split_cohort(samples_path, output_path, validation_fraction: float, seed: int) -> pd.DataFrame:
    """Read ``samples.tsv`` of the QC'd store, split it and write ``split/samples.tsv``."""
    samples = read_table(samples_path)
    samples["sample_id"] = samples["sample_id"].astype(str)
    result = split_samples(samples, validation_fraction, seed)
    write_table(result, output_path)
    return result
