"""Variation and selection operators of the genetic algorithm.

An individual is a variant subset: a sorted tuple of distinct variant
indices with 1 to ``size_limit`` members. Every operator returns valid
individuals, never empty and never over the size limit. No operator scans
all variants: new variants come from a :class:`VariantSampler` in
O(log n_variants) time each, so a generation costs about the same for 1,000
or 1,000,000 candidate variants.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

Individual = tuple[int, ...]


class VariantSampler:
    """Draw variant indices with fixed per-variant inclusion probabilities.

    Parameters
    ----------
    n_variants : int
    weights : numpy.ndarray, float, shape (n_variants,), optional
        Non-negative sampling weights (the guide); uniform when None.
        Normalised to sum to 1.
    """

    def __init__(self, n_variants: int, weights: np.ndarray | None = None):
        if n_variants < 1:
            raise ValueError("the search space needs at least one variant")
        self.n_variants = n_variants
        self.cumulative = None
        if weights is not None:
            weights = np.asarray(weights, dtype=np.float64)
            if weights.shape != (n_variants,):
                raise ValueError(
                    f"guide weights have shape {weights.shape}; expected ({n_variants},)"
                )
            if not np.all(np.isfinite(weights)) or weights.min() < 0 or weights.sum() <= 0:
                raise ValueError("guide weights must be finite, non-negative and not all zero")
            self.cumulative = np.cumsum(weights / weights.sum())
            self.cumulative[-1] = 1.0

    def draw(self, rng: np.random.Generator, n: int, exclude: Sequence[int] = ()) -> list[int]:
        """Draw up to ``n`` distinct variants of positive weight not in ``exclude``.

        Fewer are returned only when too few such variants are left.
        """
        excluded = set(exclude)
        chosen: list[int] = []
        attempts = 0
        while len(chosen) < n:
            # Rejection sampling stays cheap because subsets are small next
            # to the number of variants. After many rejections (tiny search
            # spaces, peaked weights) draw from the free variants directly.
            if attempts > 20 * n + 20:
                chosen.extend(self._draw_free(rng, n - len(chosen), excluded))
                break
            attempts += 1
            if self.cumulative is None:
                candidate = int(rng.integers(self.n_variants))
            else:
                candidate = int(np.searchsorted(self.cumulative, rng.random(), side="right"))
                candidate = min(candidate, self.n_variants - 1)
            if candidate not in excluded:
                excluded.add(candidate)
                chosen.append(candidate)
        return chosen

    def _draw_free(self, rng: np.random.Generator, n: int, excluded: set[int]) -> list[int]:
        """Draw up to ``n`` distinct variants of positive weight outside ``excluded``, by weight.

        This scans all variants, so it is only the fallback of :meth:`draw`.
        """
        if self.cumulative is None:
            weights = np.ones(self.n_variants)
        else:
            weights = np.diff(self.cumulative, prepend=0.0).clip(0, None)
        weights[list(excluded)] = 0.0
        free = np.flatnonzero(weights > 0)
        if len(free) == 0:
            return []
        size = min(n, len(free))
        picked = rng.choice(free, size=size, replace=False, p=weights[free] / weights[free].sum())
        return [int(variant) for variant in picked]


def random_individual(
    rng: np.random.Generator,
    sampler: VariantSampler,
    size_limit: int,
    max_initial_size: int | None = None,
) -> Individual:
    """Draw a sparse individual: size uniform in 1 .. min(size_limit, max_initial_size)."""
    top = size_limit if max_initial_size is None else max(1, min(size_limit, max_initial_size))
    size = int(rng.integers(1, top + 1))
    return tuple(sorted(sampler.draw(rng, size)))


def initial_population(
    rng: np.random.Generator,
    sampler: VariantSampler,
    population_size: int,
    size_limit: int,
    max_initial_size: int | None = None,
) -> list[Individual]:
    """Draw ``population_size`` sparse individuals, distinct where the space allows."""
    population: list[Individual] = []
    seen: set[Individual] = set()
    attempts = 0
    while len(population) < population_size:
        individual = random_individual(rng, sampler, size_limit, max_initial_size)
        attempts += 1
        if individual in seen and attempts < 20 * population_size:
            continue
        seen.add(individual)
        population.append(individual)
    return population


def crossover(
    rng: np.random.Generator, first: Individual, second: Individual, size_limit: int
) -> tuple[Individual, Individual]:
    """Recombine two subsets.

    Variants in both parents go to both children. Each variant of only one
    parent goes to one child or the other with probability one half, so a
    pair split between the parents is joined in a child with probability
    one quarter. Children over the size limit lose random members; an empty
    child gets a random parent variant.
    """
    shared = sorted(set(first) & set(second))
    only = sorted(set(first) ^ set(second))
    to_first = rng.random(len(only)) < 0.5
    children = []
    for side in (to_first, ~to_first):
        members = shared + [variant for variant, chosen in zip(only, side, strict=True) if chosen]
        if not members:
            pool = list(first) + list(second)
            members = [pool[int(rng.integers(len(pool)))]]
        children.append(trim(rng, members, size_limit))
    return children[0], children[1]


def trim(rng: np.random.Generator, members: Sequence[int], size_limit: int) -> Individual:
    """Drop random members until at most ``size_limit`` remain."""
    members = list(members)
    if len(members) > size_limit:
        keep = rng.choice(len(members), size=size_limit, replace=False)
        members = [members[position] for position in keep]
    return tuple(sorted(members))


def mutate(
    rng: np.random.Generator, individual: Individual, sampler: VariantSampler, size_limit: int
) -> Individual:
    """Change an individual by at least one variant.

    Each member is replaced by a variant drawn from the sampler with
    probability 1 / size (so one change is expected, whatever the number of
    variants). When that replaces nothing, one of three moves is made at
    random, among those the size limits allow: add a drawn variant, remove a
    member, or replace a member.
    """
    members = list(individual)
    size = len(members)
    replaced = rng.random(size) < 1.0 / size
    if replaced.any():
        new = sampler.draw(rng, int(replaced.sum()), exclude=members)
        positions = np.flatnonzero(replaced)[: len(new)]
        for position, variant in zip(positions, new, strict=False):
            members[position] = variant
        return tuple(sorted(members))

    moves = ["replace"]
    if size < size_limit:
        moves.append("add")
    if size > 1:
        moves.append("remove")
    move = moves[int(rng.integers(len(moves)))]
    if move == "add":
        members += sampler.draw(rng, 1, exclude=members)
    elif move == "remove":
        members.pop(int(rng.integers(size)))
    else:
        new = sampler.draw(rng, 1, exclude=members)
        if new:
            members[int(rng.integers(size))] = new[0]
    return tuple(sorted(members))


def tournament(
    rng: np.random.Generator, fitness: np.ndarray, n_selected: int, tournament_size: int
) -> np.ndarray:
    """Select ``n_selected`` population positions, each the fittest of a random tournament.

    Contestants are drawn with replacement; ties go to the first contestant.
    """
    contestants = rng.integers(len(fitness), size=(n_selected, tournament_size))
    winners = np.argmax(fitness[contestants], axis=1)
    return contestants[np.arange(n_selected), winners]


class HallOfFame:
    """The best distinct individuals seen during a run, best first.

    Ties in fitness are broken towards smaller subsets, then by the variant
    indices, so that the order never depends on evaluation order.
    """

    def __init__(self, capacity: int):
        self.capacity = capacity
        self.entries: dict[Individual, float] = {}

    def update(self, population: Sequence[Individual], fitness: np.ndarray) -> None:
        for individual, value in zip(population, fitness, strict=True):
            self.entries[individual] = float(value)
        if len(self.entries) > 4 * self.capacity + 64:
            self.entries = dict(self.best(self.capacity))

    def best(self, n: int | None = None) -> list[tuple[Individual, float]]:
        ranked = sorted(self.entries.items(), key=lambda item: (-item[1], len(item[0]), item[0]))
        return ranked[: self.capacity if n is None else n]


def diversity(population: Sequence[Individual]) -> float:
    """Fraction of distinct individuals in the population (1 = all different)."""
    return len(set(population)) / len(population)
