"""GA search: recovery of planted interactions, reproducibility, config checks."""

import numpy as np
import pandas as pd
import pytest

from fcsnet.config import default_config
from fcsnet.errors import ConfigError
from fcsnet.ga.runs import batch_runs, run_ga_batch
from fcsnet.ga.search import GeneticSelector
from fcsnet.scan import guide_weights, scan


def load_gametes(path, seed=0):
    """Read a GAMETES table with its rows shuffled (the files are sorted by class)."""
    table = pd.read_csv(path, sep="\t").sample(frac=1, random_state=seed).reset_index(drop=True)
    status = table.pop("Class").to_numpy()
    return table.to_numpy().T.astype(np.int8), status, list(table.columns)


def best_subsets(selections):
    best = selections[selections["rank"] == 1]
    return [set(ids.split(",")) for ids in best["variant_ids"]]


GA_DEFAULTS = default_config()["ga"]


@pytest.mark.parametrize("edm", ["EDM-1_01", "EDM-1_02", "EDM-2_01", "EDM-2_02"])
def test_recovers_pure_pair(shared_data, edm):
    path = shared_data / "gametes" / "epistasis_2way" / f"epi2_s1600_h0.4_{edm}.tsv.gz"
    dosages, status, names = load_gametes(path)
    found = 0
    for size_limit in (2, 3):
        selections, _ = run_ga_batch(
            dosages,
            status,
            names,
            size_limit=size_limit,
            run_indices=range(5),
            seed=0,
            ga_params=GA_DEFAULTS,
        )
        found += sum({"M0P0", "M0P1"} <= best for best in best_subsets(selections))
    assert found >= 8, f"pair in the best subset of {found} of 10 runs"


def test_recovers_pair_among_1000_with_guide(shared_data):
    path = shared_data / "gametes" / "many_snps" / "epi2_a1000_01.tsv.gz"
    dosages, status, names = load_gametes(path)
    weights = guide_weights(scan(dosages, status, names).variant_scores)
    selections, _ = run_ga_batch(
        dosages,
        status,
        names,
        size_limit=3,
        run_indices=range(5),
        seed=0,
        ga_params=GA_DEFAULTS,
        guide_weights=weights,
    )
    found = sum({"M0P0", "M0P1"} <= best for best in best_subsets(selections))
    assert found >= 4, f"pair in the best subset of {found} of 5 runs"


@pytest.mark.parametrize("number", ["01", "02", "03"])
def test_finds_both_heterogeneity_pairs(shared_data, number):
    path = shared_data / "gametes" / "heterogeneity_r50" / f"het_r50_{number}.tsv.gz"
    dosages, status, names = load_gametes(path)
    weights = guide_weights(scan(dosages, status, names).variant_scores)
    runs = []
    for size_limit in (2, 3, 4):
        selections, _ = run_ga_batch(
            dosages,
            status,
            names,
            size_limit=size_limit,
            run_indices=range(6),
            seed=0,
            ga_params=GA_DEFAULTS,
            guide_weights=weights,
        )
        runs += best_subsets(selections)
    for pair in ({"M0P0", "M0P1"}, {"M1P0", "M1P1"}):
        found = sum(pair <= best for best in runs)
        assert found >= 6, f"{sorted(pair)} in the best subset of {found} of {len(runs)} runs"


def test_finds_three_way_group(shared_data):
    path = shared_data / "gametes" / "xor" / "xor3_01.tsv.gz"
    dosages, status, names = load_gametes(path)
    selections, _ = run_ga_batch(
        dosages, status, names, size_limit=4, run_indices=range(6), seed=0, ga_params=GA_DEFAULTS
    )
    found = sum({"M0P1", "M0P2", "M0P3"} <= best for best in best_subsets(selections))
    assert found >= 4, f"triple in the best subset of {found} of 6 runs"


@pytest.fixture(scope="module")
def random_cohort():
    rng = np.random.default_rng(7)
    dosages = rng.integers(-1, 3, size=(40, 300)).astype(np.int8)
    status = rng.integers(0, 2, 300)
    status[(dosages[3] == 1) & (dosages[9] >= 1)] = 1
    return dosages, status, [f"v{index}" for index in range(40)]


def test_run_is_reproducible_from_seed(random_cohort):
    dosages, status, _ = random_cohort
    fits = [
        GeneticSelector(3, n_generations=15, random_state=seed).fit(dosages, status)
        for seed in (0, 0, 1)
    ]
    assert fits[0].hall_of_fame_ == fits[1].hall_of_fame_
    pd.testing.assert_frame_equal(fits[0].history_, fits[1].history_)
    assert fits[0].history_["best"].tolist() != fits[2].history_["best"].tolist() or (
        fits[0].hall_of_fame_ != fits[2].hall_of_fame_
    )


def test_batching_does_not_change_results(random_cohort):
    dosages, status, names = random_cohort
    params = dict(GA_DEFAULTS, n_generations=8)
    whole = run_ga_batch(
        dosages, status, names, size_limit=3, run_indices=range(4), seed=0, ga_params=params
    )
    parts = [
        run_ga_batch(
            dosages, status, names, size_limit=3, run_indices=runs, seed=0, ga_params=params
        )
        for runs in (range(0, 3), range(3, 4))
    ]
    for position in (0, 1):
        joined = pd.concat([part[position] for part in parts], ignore_index=True)
        pd.testing.assert_frame_equal(whole[position], joined)


def test_selection_table_layout(random_cohort):
    dosages, status, names = random_cohort
    params = dict(GA_DEFAULTS, n_generations=5, n_best_subsets=3)
    selections, generations = run_ga_batch(
        dosages, status, names, size_limit=2, run_indices=[4, 9], seed=3, ga_params=params
    )
    assert list(selections.columns) == [
        "run",
        "size_limit",
        "rank",
        "variant_ids",
        "n_variants",
        "fitness",
    ]
    assert selections.groupby("run")["rank"].apply(list).tolist() == [[1, 2, 3], [1, 2, 3]]
    assert (selections["n_variants"] <= 2).all()
    assert (selections["n_variants"] == selections["variant_ids"].str.count(",") + 1).all()
    for _, run in selections.groupby("run"):
        assert run["fitness"].is_monotonic_decreasing
        assert run["variant_ids"].is_unique
    assert list(generations.columns) == [
        "run",
        "size_limit",
        "generation",
        "best",
        "mean",
        "diversity",
    ]
    assert generations.groupby("run")["best"].apply(lambda best: best.is_monotonic_increasing).all()


def test_early_stopping_ends_flat_run():
    rng = np.random.default_rng(8)
    dosages = rng.integers(0, 3, size=(6, 200)).astype(np.int8)
    status = rng.integers(0, 2, 200)
    selector = GeneticSelector(2, n_generations=50, early_stopping_generations=3, random_state=0)
    selector.fit(dosages, status)
    assert len(selector.history_) < 51
    stale = selector.history_["best"].iloc[-4:]
    assert stale.nunique() == 1


def test_guide_with_zero_weights_never_draws_them(random_cohort):
    dosages, status, _ = random_cohort
    weights = np.zeros(40)
    weights[:5] = 1.0
    selector = GeneticSelector(3, n_generations=5, guide_weights=weights, random_state=0).fit(
        dosages, status
    )
    assert all(max(subset) < 5 for subset, _ in selector.hall_of_fame_)


def test_batch_runs_cover_every_run():
    runs = [list(batch_runs(7, 3, batch)) for batch in range(3)]
    assert runs == [[0, 1, 2], [3, 4, 5], [6]]
    with pytest.raises(ValueError, match="batch 3"):
        batch_runs(7, 3, 3)


@pytest.mark.parametrize(
    ("change", "key"),
    [
        ({"population_size": 1}, "ga.population_size"),
        ({"crossover_rate": 1.5}, "ga.crossover_rate"),
        ({"mutation_rate": -0.1}, "ga.mutation_rate"),
        ({"tournament_size": 0}, "ga.tournament_size"),
        ({"population_size": 10, "elitism": 10}, "ga.elitism"),
        ({"fitness": "forest"}, "ga.fitness"),
        ({"n_folds": 1}, "ga.n_folds"),
        ({"size_limits": [2, 0]}, "ga.size_limits"),
    ],
)
def test_bad_config_names_key(random_cohort, change, key):
    dosages, status, names = random_cohort
    with pytest.raises(ConfigError, match=key.replace(".", r"\.")):
        run_ga_batch(
            dosages,
            status,
            names,
            size_limit=2,
            run_indices=[0],
            seed=0,
            ga_params=dict(GA_DEFAULTS, **change),
        )


def test_size_limit_zero_names_key(random_cohort):
    dosages, status, names = random_cohort
    with pytest.raises(ConfigError, match=r"ga\.size_limits"):
        run_ga_batch(
            dosages, status, names, size_limit=0, run_indices=[0], seed=0, ga_params=GA_DEFAULTS
        )


def test_more_folds_than_cases_names_key(random_cohort):
    dosages, _, names = random_cohort
    status = np.zeros(300, dtype=int)
    status[:4] = 1
    with pytest.raises(ConfigError, match=r"ga\.n_folds"):
        run_ga_batch(
            dosages, status, names, size_limit=2, run_indices=[0], seed=0, ga_params=GA_DEFAULTS
        )


@pytest.mark.parametrize(("fitness", "expected_threads"), [("attention", 1), ("cells", 2)])
def test_batch_caps_torch_threads_for_attention(tmp_path, monkeypatch, fitness, expected_threads):
    # Concurrent GA jobs must not each run torch on every core of the node.
    import torch

    from fcsnet.ga import runs

    seen = []

    def fake_run_ga_batch(*args, **kwargs):
        seen.append(torch.get_num_threads())
        empty = pd.DataFrame()
        return empty, empty

    monkeypatch.setattr(runs, "load_training", lambda *args: (np.zeros((2, 4)), None, ["a", "b"]))
    monkeypatch.setattr(runs, "run_ga_batch", fake_run_ga_batch)
    monkeypatch.setattr(runs, "write_table", lambda table, path: None)
    previous = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        runs.run_batch_files(
            tmp_path,
            tmp_path / "split.tsv",
            tmp_path / "selections.tsv",
            tmp_path / "generations.tsv",
            size_limit=2,
            batch=0,
            seed=0,
            ga_params={"n_runs": 1, "runs_per_job": 1, "fitness": fitness},
            threads=1,
        )
    finally:
        torch.set_num_threads(previous)
    assert seen == [expected_threads]
