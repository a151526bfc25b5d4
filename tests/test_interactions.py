"""Interaction ranking on GAMETES files with known causal variants.

Each recovery test treats the causal variants plus a few noise variants of
one file as one community, trains on 70 % of the (shuffled) samples and
ranks pairs and order-3 groups on the other 30 %. Settings are lighter than
the workflow defaults (two restarts, two shuffles, 99 status permutations)
to keep the suite short.
"""

import numpy as np
import pandas as pd
import pytest
import torch

from fcsnet.attention.interactions import rank_interactions, write_interactions
from fcsnet.errors import ConfigError, InputError
from fcsnet.store import GenotypeStore, read_table, variant_summary, write_store, write_table

TEST_CONFIG = {
    "n_restarts": 2,
    "n_repeats": 2,
    "n_permutations": 99,
    "batch_size": 64,
    "patience": 10,
    "max_epochs": 60,
    "device": "cpu",
}

# Pure 2-way epistasis, 1,600 samples, heritability 0.2 and 0.4.
EPISTASIS_2WAY = [
    f"epi2_s1600_h{h}_EDM-{edm}_{replicate}.tsv.gz"
    for h in ("0.2", "0.4")
    for edm in (1, 2)
    for replicate in ("01", "02")
]
HETEROGENEITY = [f"het_r50_{index:02d}.tsv.gz" for index in range(1, 11)]
THREE_WAY = [
    "epistasis_3way/epi3_01.tsv.gz",
    "epistasis_3way/epi3_02.tsv.gz",
    "xor/xor3_01.tsv.gz",
    "xor/xor3_02.tsv.gz",
]


@pytest.fixture(autouse=True)
def one_torch_thread():
    # Test processes share two cores; more threads only add contention.
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(previous)


def load_gametes(path, seed=0):
    """Return dosages (n_variants, n_samples) int8, status and variant ids; rows shuffled."""
    table = pd.read_csv(path, sep="\t").sample(frac=1.0, random_state=seed)
    status = table.pop("Class").to_numpy().astype(np.int8)
    return np.ascontiguousarray(table.to_numpy().T.astype(np.int8)), status, list(table.columns)


def rank_file(path, n_noise, config=TEST_CONFIG, seed=0):
    """Rank one file's causal variants plus its first ``n_noise`` noise variants."""
    dosages, status, names = load_gametes(path)
    causal = [name for name in names if name.startswith("M")]
    noise = [name for name in names if name.startswith("N")][:n_noise]
    communities = pd.DataFrame({"variant_id": noise + causal, "community": 1})
    training_mask = np.random.default_rng(0).random(len(status)) < 0.7
    return rank_interactions(
        dosages, status, names, communities, training_mask=training_mask, config=config, seed=seed
    )


def pair_set(row):
    return {row.variant_a, row.variant_b}


def test_epistasis_pair_ranked_first(shared_data):
    hits = []
    for name in EPISTASIS_2WAY:
        pairs, groups = rank_file(shared_data / "gametes" / "epistasis_2way" / name, n_noise=6)
        assert list(pairs.columns[:5]) == [
            "community",
            "variant_a",
            "variant_b",
            "score",
            "p_value",
        ]
        assert len(pairs) == 28
        assert pairs["score"].is_monotonic_decreasing
        assert pairs["p_value"].between(0.01, 1.0).all()
        top = next(pairs.itertuples())
        hits.append(pair_set(top) == {"M0P0", "M0P1"})
        if hits[-1]:
            assert top.p_value == pytest.approx(0.01)
        assert list(groups.columns[:5]) == ["community", "variant_ids", "order", "score", "p_value"]
        assert (groups["order"] == 3).all()
    assert sum(hits) >= 6, f"(M0P0, M0P1) ranked first on {sum(hits)} of {len(hits)} files: {hits}"


def test_heterogeneity_pairs_above_noise_pairs(shared_data):
    passed = []
    for name in HETEROGENEITY:
        pairs, _ = rank_file(shared_data / "gametes" / "heterogeneity_r50" / name, n_noise=4)
        pair_sets = [pair_set(row) for row in pairs.itertuples()]
        with_noise = pairs[[any(v.startswith("N") for v in pair) for pair in pair_sets]]
        true_scores = [
            pairs["score"][pair_sets.index(truth)] for truth in ({"M0P0", "M0P1"}, {"M1P0", "M1P1"})
        ]
        passed.append(min(true_scores) > with_noise["score"].max())
    assert sum(passed) >= 6, (
        f"both true pairs above every noise pair on {sum(passed)} of 10 files: {passed}"
    )


@pytest.mark.parametrize("name", THREE_WAY)
def test_causal_triple_ranked_first(shared_data, name):
    _, groups = rank_file(shared_data / "gametes" / name, n_noise=5)
    assert len(groups) == 56
    top = groups.iloc[0]
    causal = {"M0P0", "M0P1", "M0P2"} if "epi3" in name else {"M0P1", "M0P2", "M0P3"}
    assert set(top["variant_ids"].split(",")) == causal
    assert top["order"] == 3
    assert top["p_value"] == pytest.approx(0.01)
    assert top["score"] > 3 * groups["score"].iloc[1]


@pytest.fixture
def small_cohort(shared_data):
    dosages, status, names = load_gametes(
        shared_data / "gametes" / "epistasis_2way" / "epi2_s1600_h0.4_EDM-1_01.tsv.gz"
    )
    return dosages[:, :600], status[:600], names


SMALL_CONFIG = TEST_CONFIG | {"max_epochs": 3, "n_restarts": 1, "n_permutations": 9}


def test_same_seed_same_tables(small_cohort):
    dosages, status, names = small_cohort
    communities = pd.DataFrame({"variant_id": ["N0", "N1", "M0P0", "M0P1"], "community": 2})
    training_mask = np.arange(600) % 3 != 0
    first = rank_interactions(
        dosages,
        status,
        names,
        communities,
        training_mask=training_mask,
        config=SMALL_CONFIG,
        seed=0,
    )
    second = rank_interactions(
        dosages,
        status,
        names,
        communities,
        training_mask=training_mask,
        config=SMALL_CONFIG,
        seed=0,
    )
    pd.testing.assert_frame_equal(first[0], second[0])
    pd.testing.assert_frame_equal(first[1], second[1])
    assert len(first[0]) == 6
    assert len(first[1]) == 4


def test_single_variant_communities_give_empty_tables(small_cohort):
    dosages, status, names = small_cohort
    communities = pd.DataFrame({"variant_id": ["N0", "N1"], "community": [1, 2]})
    pairs, groups = rank_interactions(
        dosages,
        status,
        names,
        communities,
        training_mask=np.arange(600) % 3 != 0,
        config=SMALL_CONFIG,
        seed=0,
    )
    assert pairs.empty and groups.empty
    assert list(pairs.columns[:5]) == ["community", "variant_a", "variant_b", "score", "p_value"]


@pytest.mark.parametrize(
    ("change", "error", "message"),
    [
        ({"variant_id": ["N0", "rs_absent"]}, InputError, "rs_absent"),
        ({"training": "one_class"}, InputError, "one class"),
        ({"config": {"d_model": 10, "n_heads": 3}}, ConfigError, "n_heads"),
        ({"config": {"n_restarts": 0}}, ConfigError, "n_restarts"),
    ],
)
def test_bad_input_rejected(small_cohort, change, error, message):
    dosages, status, names = small_cohort
    communities = pd.DataFrame(
        {"variant_id": change.get("variant_id", ["N0", "N1"]), "community": 1}
    )
    training_mask = np.arange(600) % 3 != 0
    if change.get("training") == "one_class":
        training_mask = status == 1
    with pytest.raises(error, match=message):
        rank_interactions(
            dosages,
            status,
            names,
            communities,
            training_mask=training_mask,
            config=SMALL_CONFIG | change.get("config", {}),
            seed=0,
        )


def test_write_interactions_from_files(small_cohort, tmp_path):
    dosages, status, names = small_cohort
    alt_freq, call_rate = variant_summary(dosages)
    variants = pd.DataFrame(
        {
            "variant_id": names,
            "chrom": "NA",
            "pos": 0,
            "ref": "A",
            "alt": "B",
            "alt_freq": alt_freq,
            "call_rate": call_rate,
        }
    )
    samples = pd.DataFrame({"sample_id": [f"s{i}" for i in range(600)], "status": status})
    write_store(GenotypeStore(dosages, variants, samples), tmp_path / "qc")
    split = samples.assign(split=np.where(np.arange(600) % 3 != 0, "training", "validation"))
    write_table(split, tmp_path / "split.tsv")
    write_table(
        pd.DataFrame({"variant_id": ["M0P0", "M0P1", "N3"], "community": 1}),
        tmp_path / "communities.tsv",
    )
    write_interactions(
        tmp_path / "qc",
        tmp_path / "split.tsv",
        tmp_path / "communities.tsv",
        tmp_path / "out" / "interactions.tsv",
        tmp_path / "out" / "groups.tsv",
        config=SMALL_CONFIG,
        seed=1,
    )
    pairs = read_table(tmp_path / "out" / "interactions.tsv")
    groups = read_table(tmp_path / "out" / "groups.tsv")
    assert len(pairs) == 3
    assert set(pairs["variant_a"]) | set(pairs["variant_b"]) == {"M0P0", "M0P1", "N3"}
    assert groups["variant_ids"].tolist() == ["N3,M0P0,M0P1"]


def test_write_interactions_rejects_other_samples(small_cohort, tmp_path):
    dosages, status, names = small_cohort
    alt_freq, call_rate = variant_summary(dosages)
    variants = pd.DataFrame(
        {
            "variant_id": names,
            "chrom": "NA",
            "pos": 0,
            "ref": "A",
            "alt": "B",
            "alt_freq": alt_freq,
            "call_rate": call_rate,
        }
    )
    samples = pd.DataFrame({"sample_id": [f"s{i}" for i in range(600)], "status": status})
    write_store(GenotypeStore(dosages, variants, samples), tmp_path / "qc")
    split = samples.iloc[::-1].assign(split="training")
    write_table(split, tmp_path / "split.tsv")
    write_table(
        pd.DataFrame({"variant_id": ["M0P0", "M0P1"], "community": 1}), tmp_path / "communities.tsv"
    )
    with pytest.raises(InputError, match="order"):
        write_interactions(
            tmp_path / "qc",
            tmp_path / "split.tsv",
            tmp_path / "communities.tsv",
            tmp_path / "interactions.tsv",
            tmp_path / "groups.tsv",
            config=SMALL_CONFIG,
            seed=1,
        )
