"""GA operators: size limits, sampling, selection and the hall of fame."""

import numpy as np
import pytest

from fcsnet.ga import operators


def is_valid(individual, size_limit, n_variants):
    return (
        isinstance(individual, tuple)
        and 1 <= len(individual) <= size_limit
        and list(individual) == sorted(set(individual))
        and all(0 <= variant < n_variants for variant in individual)
    )


@pytest.mark.parametrize("size_limit", [1, 2, 5])
def test_crossover_and_mutation_keep_size_limit(size_limit):
    rng = np.random.default_rng(0)
    n_variants = 12
    sampler = operators.VariantSampler(n_variants)
    population = operators.initial_population(
        rng, sampler, 50, size_limit, max_initial_size=size_limit
    )
    for _ in range(2000):
        first = population[rng.integers(len(population))]
        second = population[rng.integers(len(population))]
        children = operators.crossover(rng, first, second, size_limit)
        children = [operators.mutate(rng, child, sampler, size_limit) for child in children]
        for child in children:
            assert is_valid(child, size_limit, n_variants), child
        population[rng.integers(len(population))] = children[0]


def test_mutation_always_changes_individual():
    rng = np.random.default_rng(1)
    sampler = operators.VariantSampler(30)
    for individual in [(3,), (1, 2), (4, 5, 6, 7)]:
        for _ in range(200):
            assert operators.mutate(rng, individual, sampler, 4) != individual


def test_crossover_joins_split_pair():
    rng = np.random.default_rng(2)
    joined = sum(
        {0, 1} <= set(child)
        for _ in range(2000)
        for child in operators.crossover(rng, (0, 5), (1, 6), 4)
    )
    # Each child gets both variants with probability 1/4.
    assert 800 < joined < 1200


def test_initial_population_is_sparse_and_distinct():
    rng = np.random.default_rng(3)
    sampler = operators.VariantSampler(1000)
    population = operators.initial_population(rng, sampler, 100, 10, max_initial_size=2)
    assert max(len(individual) for individual in population) == 2
    assert len(set(population)) == 100


def test_sampler_follows_guide_weights():
    rng = np.random.default_rng(4)
    weights = np.zeros(100)
    weights[[7, 42]] = [3.0, 1.0]
    sampler = operators.VariantSampler(100, weights)
    draws = [sampler.draw(rng, 1)[0] for _ in range(4000)]
    assert set(draws) == {7, 42}
    assert 0.7 < draws.count(7) / len(draws) < 0.8
    # Zero-weight variants are never drawn, even when too few others are left.
    assert sampler.draw(rng, 3, exclude=[7]) == [42]
    assert sampler.draw(rng, 2, exclude=[7, 42]) == []
    uniform = operators.VariantSampler(5)
    assert sorted(uniform.draw(rng, 5)) == [0, 1, 2, 3, 4]
    assert sorted(uniform.draw(rng, 9, exclude=[0, 1])) == [2, 3, 4]


def test_sampler_rejects_bad_weights():
    with pytest.raises(ValueError, match="shape"):
        operators.VariantSampler(5, np.ones(4))
    with pytest.raises(ValueError, match="non-negative"):
        operators.VariantSampler(3, np.array([1.0, -1.0, 1.0]))


def test_tournament_of_whole_population_picks_best():
    rng = np.random.default_rng(5)
    fitness = np.array([0.1, 0.9, 0.5, 0.3])
    chosen = operators.tournament(rng, fitness, 50, tournament_size=40)
    assert set(chosen.tolist()) == {1}


def test_hall_of_fame_keeps_best_distinct():
    hall = operators.HallOfFame(3)
    hall.update([(1, 2), (3,), (1, 2)], np.array([0.7, 0.6, 0.7]))
    hall.update([(4, 5, 6), (7,), (8,)], np.array([0.7, 0.9, 0.1]))
    best = hall.best()
    assert [individual for individual, _ in best] == [(7,), (1, 2), (4, 5, 6)]
    assert best[0][1] == 0.9


def test_diversity_counts_distinct_individuals():
    assert operators.diversity([(1,), (1,), (2, 3), (4,)]) == 0.75
