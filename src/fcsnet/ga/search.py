"""The genetic algorithm over variant subsets, as a scikit-learn-style estimator."""

from __future__ import annotations

import logging
import numbers

import numpy as np
import pandas as pd

from fcsnet.errors import ConfigError
from fcsnet.ga import operators
from fcsnet.ga.fitness import EVALUATOR_NAMES, CachedEvaluator, make_evaluator, validate_inputs

logger = logging.getLogger(__name__)

# Re-mutate a child that duplicates an individual already in the next
# generation at most this many times, to keep the population diverse.
_MAX_DUPLICATE_RETRIES = 3


class GeneticSelector:
    """Search variant subsets whose cross-validated fitness is highest.

    A generational GA: tournament selection, subset crossover, mutation that
    draws new variants from the guide, elitism, a hall of fame of the best
    distinct subsets, and early stopping. ``__init__`` only stores the
    parameters; :meth:`fit` runs the search.

    Parameters
    ----------
    size_limit : int
        Maximum number of variants in a subset (at least 1).
    population_size : int
        Individuals per generation (at least 2).
    n_generations : int
        Generations after the initial one.
    crossover_rate : float
        Probability that a pair of parents is recombined, in [0, 1].
    mutation_rate : float
        Probability that a child is mutated, in [0, 1].
    tournament_size : int
        Contestants per tournament; larger means stronger selection.
    elitism : int
        Best distinct individuals copied unchanged into the next generation.
    early_stopping_generations : int
        Stop when the best fitness has not improved for this many
        generations; 0 turns early stopping off.
    fitness : str
        Evaluator name, see :func:`fcsnet.ga.fitness.make_evaluator`.
    fitness_options : dict, optional
        Keyword arguments of the evaluator.
    n_folds : int
        Stratified cross-validation folds of the fitness.
    n_best_subsets : int
        Capacity of the hall of fame.
    max_initial_size : int, optional
        Largest subset of the initial population (sparse initialisation);
        default 4 or the size limit, whichever is smaller.
    guide_weights : numpy.ndarray, shape (n_variants,), optional
        Inclusion weights of the variants for initialisation and mutation
        (see :func:`fcsnet.scan.guide_weights`); uniform when None.
    random_state : int, numpy.random.SeedSequence or None
        Seed of the whole run (folds, initial population, operators).
    log_every : int
        Log a progress line every this many generations.
    run_label : str
        Prefix of the progress lines (e.g. the run index).

    Attributes
    ----------
    hall_of_fame_ : list of (tuple of int, float)
        Best distinct subsets of the run with their fitness, best first.
    best_subset_ : tuple of int
    best_fitness_ : float
    history_ : pandas.DataFrame
        One row per generation: generation, best, mean, diversity, n_evaluations.
    n_evaluations_ : int
        Subsets evaluated (cache misses).
    n_cache_hits_ : int
        Fitness requests answered from the cache.
    """

    def __init__(
        self,
        size_limit: int = 3,
        *,
        population_size: int = 150,
        n_generations: int = 100,
        crossover_rate: float = 0.8,
        mutation_rate: float = 0.5,
        tournament_size: int = 3,
        elitism: int = 2,
        early_stopping_generations: int = 60,
        fitness: str = "cells",
        fitness_options: dict | None = None,
        n_folds: int = 5,
        n_best_subsets: int = 5,
        max_initial_size: int | None = None,
        guide_weights: np.ndarray | None = None,
        random_state=None,
        log_every: int = 10,
        run_label: str = "",
    ):
        self.size_limit = size_limit
        self.population_size = population_size
        self.n_generations = n_generations
        self.crossover_rate = crossover_rate
        self.mutation_rate = mutation_rate
        self.tournament_size = tournament_size
        self.elitism = elitism
        self.early_stopping_generations = early_stopping_generations
        self.fitness = fitness
        self.fitness_options = fitness_options
        self.n_folds = n_folds
        self.n_best_subsets = n_best_subsets
        self.max_initial_size = max_initial_size
        self.guide_weights = guide_weights
        self.random_state = random_state
        self.log_every = log_every
        self.run_label = run_label

    def _validate_parameters(self) -> None:
        check_ga_parameters(
            {
                "population_size": self.population_size,
                "n_generations": self.n_generations,
                "crossover_rate": self.crossover_rate,
                "mutation_rate": self.mutation_rate,
                "tournament_size": self.tournament_size,
                "elitism": self.elitism,
                "early_stopping_generations": self.early_stopping_generations,
                "fitness": self.fitness,
                "n_folds": self.n_folds,
                "n_best_subsets": self.n_best_subsets,
            }
        )
        check_size_limit(self.size_limit)

    def fit(self, dosages: np.ndarray, status: np.ndarray) -> GeneticSelector:
        """Run the search.

        Parameters
        ----------
        dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
            Training-split genotypes, -1 = missing.
        status : numpy.ndarray, shape (n_samples,)
            1 = case, 0 = control.
        """
        self._validate_parameters()
        validate_inputs(dosages, status, self.n_folds)
        rng = np.random.default_rng(self.random_state)
        fold_seed = int(rng.integers(2**63))
        evaluator = CachedEvaluator(
            make_evaluator(
                self.fitness,
                dosages,
                status,
                n_folds=self.n_folds,
                seed=fold_seed,
                **(self.fitness_options or {}),
            )
        )
        sampler = operators.VariantSampler(dosages.shape[0], self.guide_weights)
        size_limit = min(self.size_limit, dosages.shape[0])
        max_initial = 4 if self.max_initial_size is None else self.max_initial_size
        hall_of_fame = operators.HallOfFame(self.n_best_subsets)

        population = operators.initial_population(
            rng, sampler, self.population_size, size_limit, max_initial
        )
        fitness = evaluator.evaluate(population)
        hall_of_fame.update(population, fitness)
        history = [self._record(0, population, fitness, evaluator)]
        best = fitness.max()
        stale = 0
        for generation in range(1, self.n_generations + 1):
            population = self._next_generation(rng, population, fitness, sampler, size_limit)
            fitness = evaluator.evaluate(population)
            hall_of_fame.update(population, fitness)
            history.append(self._record(generation, population, fitness, evaluator))
            if fitness.max() > best + 1e-12:
                best = fitness.max()
                stale = 0
            else:
                stale += 1
            if self.early_stopping_generations and stale >= self.early_stopping_generations:
                logger.debug(
                    "%sstopped at generation %d: no improvement for %d generations",
                    self.run_label,
                    generation,
                    stale,
                )
                break

        self.hall_of_fame_ = hall_of_fame.best()
        self.best_subset_, self.best_fitness_ = self.hall_of_fame_[0]
        self.history_ = pd.DataFrame(history)
        self.n_evaluations_ = evaluator.n_evaluations
        self.n_cache_hits_ = evaluator.n_hits
        return self

    def _next_generation(self, rng, population, fitness, sampler, size_limit):
        n_elite = min(self.elitism, self.population_size)
        ranked = sorted(
            range(len(population)),
            key=lambda position: (-fitness[position], len(population[position])),
        )
        next_population: list[operators.Individual] = []
        members: set[operators.Individual] = set()
        for position in ranked:
            if len(next_population) >= n_elite:
                break
            if population[position] not in members:
                next_population.append(population[position])
                members.add(population[position])

        n_children = self.population_size - len(next_population)
        parents = operators.tournament(
            rng, fitness, n_children + n_children % 2, self.tournament_size
        )
        for first, second in zip(parents[0::2], parents[1::2], strict=True):
            children = [population[first], population[second]]
            if rng.random() < self.crossover_rate:
                children = list(operators.crossover(rng, children[0], children[1], size_limit))
            for child in children:
                if rng.random() < self.mutation_rate:
                    child = operators.mutate(rng, child, sampler, size_limit)
                retries = 0
                while child in members and retries < _MAX_DUPLICATE_RETRIES:
                    child = operators.mutate(rng, child, sampler, size_limit)
                    retries += 1
                if len(next_population) < self.population_size:
                    next_population.append(child)
                    members.add(child)
        return next_population

    def _record(self, generation, population, fitness, evaluator) -> dict:
        record = {
            "generation": generation,
            "best": float(fitness.max()),
            "mean": float(fitness.mean()),
            "diversity": operators.diversity(population),
            "n_evaluations": evaluator.n_evaluations,
        }
        if self.log_every and generation % self.log_every == 0:
            logger.info(
                "%sgeneration %d: best %.4f, mean %.4f, diversity %.2f, %d subsets evaluated",
                self.run_label,
                generation,
                record["best"],
                record["mean"],
                record["diversity"],
                record["n_evaluations"],
            )
        return record


def _is_integer(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def check_size_limit(size_limit, key: str = "ga.size_limits") -> None:
    """Raise ConfigError unless ``size_limit`` is a positive integer."""
    if not _is_integer(size_limit) or size_limit < 1:
        raise ConfigError(
            f"{key}: every size limit must be an integer of at least 1; found {size_limit!r}"
        )


def check_ga_parameters(params: dict, prefix: str = "ga.") -> None:
    """Raise ConfigError naming the first invalid GA setting in ``params``.

    Only the keys present are checked, so callers can pass a partial section.
    """

    def fail(key: str, requirement: str) -> None:
        raise ConfigError(f"{prefix}{key} must be {requirement}; found {params[key]!r}")

    integer_minimum = {
        "population_size": 2,
        "n_generations": 0,
        "tournament_size": 1,
        "elitism": 0,
        "early_stopping_generations": 0,
        "n_folds": 2,
        "n_best_subsets": 1,
        "n_runs": 1,
        "runs_per_job": 1,
        "log_every": 0,
    }
    for key, minimum in integer_minimum.items():
        if key in params and (not _is_integer(params[key]) or params[key] < minimum):
            fail(key, f"an integer of at least {minimum}")
    for key in ("crossover_rate", "mutation_rate"):
        if key in params:
            value = params[key]
            if (
                not isinstance(value, numbers.Real)
                or isinstance(value, bool)
                or not 0 <= value <= 1
            ):
                fail(key, "a number between 0 and 1")
    if (
        "elitism" in params
        and "population_size" in params
        and params["elitism"] >= params["population_size"]
    ):
        fail("elitism", f"smaller than population_size ({params['population_size']})")
    if "fitness" in params and params["fitness"] not in EVALUATOR_NAMES:
        fail("fitness", f"one of {', '.join(EVALUATOR_NAMES)}")
    if "max_initial_size" in params and params["max_initial_size"] is not None:
        if not _is_integer(params["max_initial_size"]) or params["max_initial_size"] < 1:
            fail("max_initial_size", "an integer of at least 1")
    if "size_limits" in params:
        limits = params["size_limits"]
        for limit in limits if isinstance(limits, list | tuple) else [limits]:
            check_size_limit(limit, f"{prefix}size_limits")
