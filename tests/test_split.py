"""Stratified, seeded training/validation split."""

import numpy as np
import pandas as pd
import pytest

from fcsnet.errors import ConfigError
from fcsnet.split import split_cohort, split_samples
from fcsnet.store import read_table, write_table


@pytest.fixture
def samples():
    status = np.array([1] * 40 + [0] * 60)
    return pd.DataFrame(
        {"sample_id": [f"s{i}" for i in range(100)], "status": status, "age": np.arange(100)}
    )


def test_split_is_stratified(samples):
    result = split_samples(samples, 0.25, seed=0)
    validation = result[result["split"] == "validation"]
    assert (validation["status"] == 1).sum() == 10
    assert (validation["status"] == 0).sum() == 15
    assert set(result["split"]) == {"training", "validation"}


def test_split_keeps_order_and_columns(samples):
    result = split_samples(samples, 0.25, seed=0)
    assert list(result.columns) == ["sample_id", "status", "split", "age"]
    assert result["sample_id"].tolist() == samples["sample_id"].tolist()


def test_same_seed_same_split(samples):
    first = split_samples(samples, 0.3, seed=0)
    second = split_samples(samples, 0.3, seed=0)
    other = split_samples(samples, 0.3, seed=1)
    assert first["split"].tolist() == second["split"].tolist()
    assert first["split"].tolist() != other["split"].tolist()


def test_zero_fraction_puts_all_in_training(samples):
    result = split_samples(samples, 0.0, seed=3)
    assert (result["split"] == "training").all()


def test_small_class_keeps_a_training_sample():
    samples = pd.DataFrame({"sample_id": ["a", "b", "c", "d"], "status": [1, 0, 0, 0]})
    result = split_samples(samples, 0.9, seed=0)
    assert result.loc[result["status"] == 1, "split"].tolist() == ["training"]
    assert (result["split"] == "training").sum() == 2


@pytest.mark.parametrize("fraction", [-0.1, 1.0, 1.5])
def test_invalid_fraction_rejected(samples, fraction):
    with pytest.raises(ConfigError, match="split.validation_fraction"):
        split_samples(samples, fraction, seed=0)


def test_split_cohort_writes_table(samples, tmp_path):
    write_table(samples, tmp_path / "samples.tsv")
    split_cohort(tmp_path / "samples.tsv", tmp_path / "split" / "samples.tsv", 0.2, seed=5)
    written = read_table(tmp_path / "split" / "samples.tsv")
    assert written["split"].value_counts().to_dict() == {"training": 80, "validation": 20}
