"""Tests of batched training: equivalence with single-model training, padding, seeds."""

import numpy as np
import pandas as pd
import pytest
import torch

from fcsnet.attention.batched import TrainingConfig, model_seeds, train_models
from fcsnet.attention.model import ModelConfig

MODEL = ModelConfig(d_model=8, n_heads=2, n_layers=2)
TRAINING = TrainingConfig(max_epochs=4, patience=2, batch_size=128, device="cpu")


@pytest.fixture(autouse=True)
def one_torch_thread():
    # Several test processes share two cores; more threads only add contention.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


@pytest.fixture(scope="module")
def cohort(shared_data):
    """A 2-way epistasis file, 600 of its 1,600 samples (rows are shuffled first)."""
    table = pd.read_csv(
        shared_data / "gametes" / "epistasis_2way" / "epi2_s1600_h0.4_EDM-1_01.tsv.gz", sep="\t"
    )
    table = table.sample(frac=1.0, random_state=0).iloc[:600]
    status = table.pop("Class").to_numpy()
    dosages = table.to_numpy().T.astype(np.int8)
    training = np.arange(600) % 3 != 0
    return dosages, status, training, list(table.columns)


def train(cohort, subsets, seeds, training=TRAINING, status=None, model=MODEL):
    dosages, default_status, training_mask, _ = cohort
    return train_models(
        dosages,
        subsets,
        default_status if status is None else status,
        training_mask,
        ~training_mask,
        seeds=seeds,
        model_config=model,
        training_config=training,
    )


# The default single-block model takes another attention path on the CPU.
MODELS = [MODEL, ModelConfig()]


@pytest.mark.parametrize("model", MODELS, ids=["two_blocks", "default"])
def test_batched_matches_models_trained_alone(cohort, model):
    subsets = [(18, 19), (0, 1, 2, 3, 4), tuple(range(12)), (5,), (18, 19, 7)]
    seeds = model_seeds(11, len(subsets))
    batched = train(cohort, subsets, seeds, model=model)
    predictions = batched.predict_logits(cohort[0])
    for index, subset in enumerate(subsets):
        alone = train(cohort, [subset], [seeds[index]], model=model)
        np.testing.assert_allclose(
            predictions[index], alone.predict_logits(cohort[0])[0], rtol=1e-4, atol=1e-4
        )
        assert batched.best_epoch_[index] == alone.best_epoch_[0]
        assert batched.validation_auc_[index] == pytest.approx(alone.validation_auc_[0], abs=1e-4)


@pytest.mark.parametrize("model", MODELS, ids=["two_blocks", "default"])
def test_padding_never_leaks(cohort, model):
    short, seed = (18, 19), model_seeds(3, 1)[0]
    alone = train(cohort, [short], [seed], model=model).predict_logits(cohort[0])[0]
    longer = [tuple(range(20)), tuple(range(3, 15))]
    for companions in ([longer[0]], longer, [longer[1], longer[0]]):
        shared = train(
            cohort, [*companions, short], [*model_seeds(5, len(companions)), seed], model=model
        )
        np.testing.assert_allclose(
            shared.predict_logits(cohort[0])[-1], alone, rtol=1e-4, atol=1e-4
        )


def test_models_with_own_samples_match_models_trained_alone(cohort):
    # The second model has fewer training samples, so it sits out the last
    # minibatch of every epoch (its Adam step count falls behind), and fewer
    # validation samples, so the validation scores are padded per model.
    dosages, status, training, _ = cohort
    every = np.arange(dosages.shape[1])
    training_masks = np.stack([training, training & (every % 5 != 0)])
    validation_masks = np.stack([~training, ~training & (every % 2 == 0)])
    batch_size = 128
    n_batches = np.ceil(training_masks.sum(axis=1) / batch_size)
    assert n_batches[0] > n_batches[1]
    assert validation_masks[0].sum() != validation_masks[1].sum()
    config = TrainingConfig(max_epochs=6, patience=2, batch_size=batch_size, device="cpu")
    subsets, seeds = [(18, 19), (2, 18, 19)], model_seeds(21, 2)

    def fit(rows):
        return train_models(
            dosages,
            [subsets[row] for row in rows],
            status,
            training_masks[rows],
            validation_masks[rows],
            seeds=[seeds[row] for row in rows],
            model_config=ModelConfig(),
            training_config=config,
        )

    together = fit([0, 1])
    for row in (0, 1):
        alone = fit([row])
        np.testing.assert_allclose(
            together.predict_logits(dosages)[row],
            alone.predict_logits(dosages)[0],
            rtol=1e-4,
            atol=1e-4,
        )
        assert together.best_epoch_[row] == alone.best_epoch_[0]
        assert together.validation_auc_[row] == pytest.approx(alone.validation_auc_[0], abs=1e-6)


def test_chunking_gives_same_models(cohort):
    subsets = [(18, 19), (1, 2, 3), tuple(range(8)), (4, 18), (19,)]
    seeds = model_seeds(2, len(subsets))
    whole = train(cohort, subsets, seeds).predict_logits(cohort[0])
    chunked_config = TrainingConfig(
        max_epochs=4,
        patience=2,
        batch_size=128,
        device="cpu",
        models_per_chunk=2,
        eval_batch_size=50,
    )
    chunked = train(cohort, subsets, seeds, training=chunked_config).predict_logits(cohort[0])
    np.testing.assert_allclose(chunked, whole, rtol=1e-4, atol=1e-4)


def test_same_seed_same_model_on_cpu(cohort):
    subsets = [(18, 19), (0, 5, 9)]
    first = train(cohort, subsets, [4, 5]).predict_logits(cohort[0])
    second = train(cohort, subsets, [4, 5]).predict_logits(cohort[0])
    other = train(cohort, subsets, [6, 7]).predict_logits(cohort[0])
    np.testing.assert_array_equal(first, second)
    assert not np.allclose(first, other)


def test_per_model_status_rows(cohort):
    dosages, status, _, _ = cohort
    permuted = np.random.default_rng(0).permutation(status)
    seeds = model_seeds(8, 2)
    both = train(cohort, [(18, 19), (18, 19)], seeds, status=np.stack([status, permuted]))
    real_alone = train(cohort, [(18, 19)], seeds[:1])
    np.testing.assert_allclose(
        both.predict_logits(dosages)[0], real_alone.predict_logits(dosages)[0], rtol=1e-4, atol=1e-4
    )
    assert both.validation_auc_[0] > both.validation_auc_[1]


def test_early_stopping_keeps_best_epoch(cohort):
    training = TrainingConfig(max_epochs=30, patience=3, batch_size=128, device="cpu")
    trained = train(cohort, [(18, 19), (2, 3)], model_seeds(1, 2), training=training)
    assert np.all(trained.best_epoch_ >= 1)
    assert np.all(trained.best_epoch_ <= 30)
    # The causal pair (columns 18, 19) is learnt; the noise pair is not.
    assert trained.validation_auc_[0] > 0.65
    assert trained.validation_auc_[1] < 0.6


@pytest.mark.parametrize(
    ("subsets", "seeds", "message"),
    [
        ([(0, 1)], [1, 2], "seeds"),
        ([()], [1], "empty"),
        ([(0, 25)], [1], "outside"),
    ],
)
def test_train_models_rejects_bad_input(cohort, subsets, seeds, message):
    with pytest.raises(ValueError, match=message):
        train(cohort, subsets, seeds)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"batch_size": 0}, "batch_size"),
        ({"device": "tpu"}, "device"),
        ({"learning_rate": 0}, "learning_rate"),
    ],
)
def test_training_config_rejects_bad_value(options, message):
    with pytest.raises(ValueError, match=message):
        TrainingConfig(**options)


def test_attention_fitness_prefers_true_pair(cohort):
    from fcsnet.ga.fitness import make_evaluator

    dosages, status, _, names = cohort
    evaluator = make_evaluator(
        "attention",
        dosages,
        status,
        n_folds=3,
        seed=0,
        d_model=8,
        n_layers=2,
        max_epochs=15,
        patience=3,
    )
    true_pair = (names.index("M0P0"), names.index("M0P1"))
    noise_pairs = [(0, 1), (2, 3), (4, 5), (6, 7)]
    fitness = evaluator.evaluate([true_pair, *noise_pairs, true_pair[::-1]])
    assert fitness.dtype == np.float64
    assert fitness.shape == (6,)
    assert fitness[0] > 0.65
    assert fitness[0] > fitness[1:5].max() + 0.1
    # A subset gets the same fitness whatever its variant order or population.
    assert fitness[5] == fitness[0]
    assert evaluator.evaluate([true_pair])[0] == pytest.approx(fitness[0], abs=1e-4)


def test_attention_fitness_rejects_unknown_option(cohort):
    from fcsnet.errors import ConfigError
    from fcsnet.ga.fitness import make_evaluator

    dosages, status, _, _ = cohort
    with pytest.raises(ConfigError, match="depth"):
        make_evaluator("attention", dosages, status, n_folds=3, seed=0, depth=3)
