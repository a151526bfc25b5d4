"""Cohort simulator: files read back by cyvcf2, pure epistasis, CLI and checks."""

import itertools

import numpy as np
import pandas as pd
import pytest
from cyvcf2 import VCF
from scipy import stats

from fcsnet.cli import main
from fcsnet.errors import ConfigError
from fcsnet.ga.fitness import make_evaluator
from fcsnet.scan import scan
from fcsnet.simulate import genotype_frequencies, penetrance_table, simulate_cohort

FILES = ("genotypes.vcf.gz", "phenotypes.tsv", "truth.tsv", "case_only.vcf.gz")


def read_vcf_dosages(path):
    """Alt-allele counts of a VCF by cyvcf2, -1 for any missing allele."""
    vcf = VCF(str(path))
    rows, ids = [], []
    for record in vcf:
        alleles = record.genotype.array()[:, :2]
        rows.append(np.where((alleles < 0).any(axis=1), -1, alleles.sum(axis=1)))
        ids.append(record.ID)
    return np.array(rows, dtype=np.int8), ids, list(vcf.samples)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory):
    out_dir = tmp_path_factory.mktemp("simulated")
    assert main(["simulate", "--out-dir", str(out_dir), "--seed", "0", "--n-samples", "1600"]) == 0
    return out_dir


def test_files_read_back(simulated):
    for name in FILES:
        assert (simulated / name).stat().st_size > 0
    dosages, ids, samples = read_vcf_dosages(simulated / "genotypes.vcf.gz")
    cohort = simulate_cohort({"n_samples": 1600}, seed=0)
    np.testing.assert_array_equal(dosages, cohort.dosages)
    assert ids == cohort.variants["variant_id"].tolist()
    assert samples == cohort.samples["sample_id"].tolist()
    assert dosages.shape == (30, 1600)
    assert 0.005 < (dosages < 0).mean() < 0.015

    phenotypes = pd.read_csv(simulated / "phenotypes.tsv", sep="\t")
    assert list(phenotypes.columns) == ["sample_id", "status", "age"]
    assert phenotypes["sample_id"].tolist() == samples
    assert phenotypes["status"].sum() == 800

    case_only, case_only_ids, case_only_samples = read_vcf_dosages(simulated / "case_only.vcf.gz")
    assert case_only_ids == ids
    assert case_only.shape == (30, 200)
    assert not set(case_only_samples) & set(samples)


def test_truth_table(simulated):
    truth = pd.read_csv(simulated / "truth.tsv", sep="\t")
    assert list(truth.columns) == ["record", "id", "group"]
    variants = truth[truth["record"] == "variant"]
    assert sorted(variants["group"].tolist()) == [1, 1, 2, 2]
    phenotypes = pd.read_csv(simulated / "phenotypes.tsv", sep="\t")
    samples = truth[truth["record"] == "sample"].set_index("id")["group"]
    main_groups = samples.loc[phenotypes["sample_id"]].to_numpy()
    assert ((main_groups == 0) == (phenotypes["status"].to_numpy() == 0)).all()
    assert set(main_groups[main_groups > 0]) == {1, 2}
    assert len(samples) == 1800
    case_only_groups = samples.drop(phenotypes["sample_id"])
    assert set(case_only_groups) == {1, 2}


def test_planted_pairs_are_pure_epistasis(simulated):
    dosages, ids, samples = read_vcf_dosages(simulated / "genotypes.vcf.gz")
    phenotypes = pd.read_csv(simulated / "phenotypes.tsv", sep="\t").set_index("sample_id")
    status = phenotypes.loc[samples, "status"].to_numpy()
    truth = pd.read_csv(simulated / "truth.tsv", sep="\t")
    variants = truth[truth["record"] == "variant"]
    evaluator = make_evaluator("cells", dosages, status, n_folds=5, seed=0)
    pair_table = scan(dosages, status, ids, n_top=10).pairs
    for group, members in variants.groupby("group"):
        pair = [ids.index(variant) for variant in members["id"]]
        for index in pair:
            called = dosages[index] >= 0
            table = pd.crosstab(dosages[index][called], status[called]).to_numpy()
            marginal_p = stats.chi2_contingency(table)[1]
            assert marginal_p > 0.001, (
                f"variant {ids[index]} of group {group} has a marginal effect"
            )
            assert evaluator.evaluate([(index,)])[0] < 0.56
        assert evaluator.evaluate([tuple(pair)])[0] > 0.6
        row = pair_table[
            pair_table[["variant_a", "variant_b"]].apply(set, axis=1) == set(members["id"])
        ]
        assert row["p_value"].iloc[0] < 1e-10
        assert row["rank"].iloc[0] <= 2


@pytest.mark.parametrize("order", [2, 3])
def test_penetrance_has_no_marginal_effect(order):
    table = penetrance_table(order, maf=0.3, heritability=0.3, prevalence=0.4)
    frequencies = genotype_frequencies(0.3)
    weights = np.ones(())
    for _ in range(order):
        weights = np.multiply.outer(weights, frequencies)
    assert (table * weights).sum() == pytest.approx(0.4)
    variance = ((table - 0.4) ** 2 * weights).sum()
    assert variance / (0.4 * 0.6) == pytest.approx(0.3)
    # Averaging out any one variant leaves the prevalence everywhere.
    for axis in range(order):
        marginal = (table * weights).sum(axis=axis) / weights.sum(axis=axis)
        np.testing.assert_allclose(marginal, 0.4)
    assert table.max() - table.min() > 0.3


def test_three_way_groups_and_seed_zero():
    cohort = simulate_cohort(
        {
            "n_samples": 300,
            "interaction_order": 3,
            "n_subgroups": 3,
            "n_noise_variants": 5,
            "n_case_only": 0,
        },
        seed=0,
    )
    assert cohort.dosages.shape == (14, 300)
    assert cohort.variants["group"].value_counts().sort_index().tolist() == [5, 3, 3, 3]
    again = simulate_cohort(
        {
            "n_samples": 300,
            "interaction_order": 3,
            "n_subgroups": 3,
            "n_noise_variants": 5,
            "n_case_only": 0,
        },
        seed=0,
    )
    np.testing.assert_array_equal(cohort.dosages, again.dosages)
    other = simulate_cohort({"n_samples": 300, "seed_offset": 1}, seed=0)
    assert not np.array_equal(other.dosages, simulate_cohort({"n_samples": 300}, seed=0).dosages)


@pytest.mark.parametrize(
    ("params", "key"),
    [
        ({"heritability": 0.99}, "heritability"),
        ({"n_samples": 2}, "n_samples"),
        ({"maf_min": 0.4, "maf_max": 0.2}, "maf_min"),
        ({"case_fraction": 1.0}, "case_fraction"),
        ({"missing_rate": 1.0}, "missing_rate"),
        ({"pairs": 2}, "pairs"),
    ],
)
def test_bad_parameters_name_key(params, key):
    with pytest.raises(ConfigError, match=key):
        simulate_cohort(params, seed=0)


def test_cli_reports_bad_parameter(tmp_path):
    assert main(["simulate", "--out-dir", str(tmp_path), "--heritability", "0.99"]) == 2
    assert not list(tmp_path.iterdir())


def test_genotype_combinations_cover_table():
    # Every genotype combination of a planted group occurs in a large cohort.
    cohort = simulate_cohort({"n_samples": 3000, "missing_rate": 0.0}, seed=2)
    for _, members in cohort.variants[cohort.variants["group"] > 0].groupby("group"):
        rows = cohort.dosages[members.index.to_numpy()]
        seen = {tuple(column) for column in rows.T}
        assert seen == set(itertools.product(range(3), repeat=2))
