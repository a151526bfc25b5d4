"""QC filters on constructed genotype matrices with known expected results."""

import itertools

import numpy as np
import pandas as pd
import pytest

from fcsnet.errors import ConfigError, InputError
from fcsnet.qc import hwe_exact_p, ld_prune, qc_cohort, run_qc
from fcsnet.store import GenotypeStore, read_store, read_table, write_store


def make_store(dosages, status, chrom=None):
    dosages = np.asarray(dosages, dtype=np.int8)
    n_variants, n_samples = dosages.shape
    variants = pd.DataFrame(
        {
            "variant_id": [f"v{i}" for i in range(n_variants)],
            "chrom": chrom if chrom is not None else ["1"] * n_variants,
            "pos": np.arange(1, n_variants + 1),
            "ref": "A",
            "alt": "G",
            "alt_freq": 0.0,
            "call_rate": 1.0,
        }
    )
    samples = pd.DataFrame({"sample_id": [f"s{i}" for i in range(n_samples)], "status": status})
    return GenotypeStore(dosages, variants, samples)


def hwe_genotypes(rng, n, p):
    return rng.binomial(2, p, size=n)


@pytest.fixture
def constructed():
    """200 samples (100 cases, 100 controls) and variants built to fail one filter each."""
    rng = np.random.default_rng(3)
    n = 200
    status = np.repeat([1, 0], n // 2)
    rows = {}
    for index in range(6):
        rows[f"good{index}"] = hwe_genotypes(rng, n, 0.3)
    rows["all_missing"] = np.full(n, -1)
    low_call = hwe_genotypes(rng, n, 0.3)
    low_call[:20] = -1  # call rate 0.90
    rows["low_call"] = low_call
    rows["constant_het"] = np.ones(n)
    rows["constant_hom"] = np.zeros(n)
    rare = np.zeros(n)
    rare[5] = 1  # MAF 1/400
    rows["rare"] = rare
    # Controls: 50 hom-ref and 50 hom-alt, no heterozygote: far from HWE.
    hwe_fail = hwe_genotypes(rng, n, 0.5)
    hwe_fail[n // 2 :] = np.repeat([0, 2], n // 4)
    rows["hwe_controls"] = hwe_fail
    # Cases all heterozygous, controls in HWE: tested in controls only, so kept.
    case_only = hwe_genotypes(rng, n, 0.5)
    case_only[: n // 2] = 1
    rows["hwe_cases_only"] = case_only
    dosages = np.array(list(rows.values()), dtype=np.int8)
    # Sample s7 misses 30 % of its calls.
    dosages[np.array([0, 1, 2, 3]), 7] = -1
    store = make_store(dosages, status)
    store.variants["variant_id"] = list(rows)
    return store


OPTIONS = {
    "min_variant_call_rate": 0.95,
    "min_sample_call_rate": 0.8,
    "min_maf": 0.01,
    "hwe_min_p": 1e-6,
}


def test_each_filter_removes_its_variant(constructed):
    result, summary = run_qc(constructed, OPTIONS)
    removed = summary.set_index("step")["removed"]
    assert removed["all_missing"] == 1
    assert removed["variant_call_rate"] == 1
    assert removed["sample_call_rate"] == 1
    assert removed["constant"] == 2
    assert removed["maf"] == 1
    assert removed["hwe"] == 1
    assert removed["ld_prune"] == 0
    kept = result.variants["variant_id"].tolist()
    assert kept == [f"good{i}" for i in range(6)] + ["hwe_cases_only"]
    assert "s7" not in result.samples["sample_id"].tolist()
    assert result.n_samples == 199


def test_summary_remaining_is_consistent(constructed):
    _, summary = run_qc(constructed, OPTIONS)
    assert list(summary.columns) == ["step", "unit", "threshold", "removed", "remaining"]
    variants = summary[summary["unit"] == "variants"]
    steps = variants[~variants["step"].isin(["input", "output"])]
    assert steps["remaining"].iloc[-1] == 7
    expected = 13 - steps["removed"].cumsum()
    np.testing.assert_array_equal(steps["remaining"].to_numpy(), expected.to_numpy())


def test_qc_recomputes_variant_summary(constructed):
    result, _ = run_qc(constructed, OPTIONS)
    dosages = np.asarray(result.dosages)
    called = dosages >= 0
    expected = np.where(called, dosages, 0).sum(axis=1) / (2 * called.sum(axis=1))
    np.testing.assert_allclose(result.variants["alt_freq"], expected)
    np.testing.assert_allclose(result.variants["call_rate"], called.mean(axis=1))


def test_hwe_filter_can_be_disabled(constructed):
    _, summary = run_qc(constructed, {**OPTIONS, "hwe_min_p": 0})
    row = summary.set_index("step").loc["hwe"]
    assert row["removed"] == 0
    assert row["threshold"] == "disabled"


def test_qc_cohort_writes_store_and_summary(constructed, tmp_path):
    write_store(constructed, tmp_path / "in")
    qc_cohort(tmp_path / "in", tmp_path / "out", OPTIONS)
    store = read_store(tmp_path / "out")
    summary = read_table(tmp_path / "out" / "qc_summary.tsv")
    assert store.n_variants == 7
    assert summary.set_index("step").loc["maf", "removed"] == 1


def test_one_class_after_sample_filter_rejected():
    dosages = np.zeros((3, 4), dtype=np.int8)
    dosages[:, :2] = -1
    dosages[0, 2:] = [1, 2]
    store = make_store(dosages, [0, 0, 1, 1])
    with pytest.raises(InputError, match="2 cases and 0 controls"):
        run_qc(store, {"min_variant_call_rate": 0, "min_sample_call_rate": 0.5})


def test_filter_removing_everything_rejected():
    dosages = np.zeros((2, 100), dtype=np.int8)
    dosages[:, 0] = 1  # MAF 1/200 at both variants
    store = make_store(dosages, np.repeat([0, 1], 50))
    with pytest.raises(InputError, match="QC step maf"):
        run_qc(store, OPTIONS)


def test_invalid_option_rejected(constructed):
    with pytest.raises(ConfigError, match="qc.min_maf"):
        run_qc(constructed, {"min_maf": 0.7})


def test_hwe_matches_published_values():
    # Values from the test suite of the snphwe package (J. McRae), an
    # implementation of the Wigginton et al. (2005) exact test.
    assert hwe_exact_p(500, 10, 5000) == pytest.approx(0.65157189991, rel=1e-8)
    assert hwe_exact_p(1000, 20, 5000) == pytest.approx(1.26598491e-5, rel=1e-6)


def brute_force_hwe_p(n_het, n_hom1, n_hom2):
    """Enumerate every pairing of the observed alleles into genotypes."""
    n = n_het + n_hom1 + n_hom2
    n_alt = n_het + 2 * n_hom2
    counts = {}
    for alt_positions in itertools.combinations(range(2 * n), n_alt):
        alleles = np.zeros(2 * n, dtype=int)
        alleles[list(alt_positions)] = 1
        hets = int((alleles[0::2] != alleles[1::2]).sum())
        counts[hets] = counts.get(hets, 0) + 1
    total = sum(counts.values())
    observed = counts[n_het] / total
    return sum(c / total for c in counts.values() if c / total <= observed * (1 + 1e-9))


@pytest.mark.parametrize("counts", [(0, 3, 2), (4, 1, 0), (2, 2, 1), (1, 4, 1), (3, 2, 2)])
def test_hwe_matches_enumeration(counts):
    assert hwe_exact_p(*counts) == pytest.approx(brute_force_hwe_p(*counts), rel=1e-9)


def test_hwe_symmetric_and_bounded():
    assert hwe_exact_p(10, 30, 5) == pytest.approx(hwe_exact_p(10, 5, 30))
    assert hwe_exact_p(0, 100, 0) == 1.0
    assert 0.0 <= hwe_exact_p(0, 50, 50) < 1e-20


def test_ld_prune_removes_lower_maf_of_correlated_pair():
    rng = np.random.default_rng(5)
    base = rng.binomial(2, 0.4, size=300).astype(np.int8)
    independent = rng.binomial(2, 0.4, size=300).astype(np.int8)
    dosages = np.array([base, independent, base, base])
    maf = np.array([0.3, 0.4, 0.35, 0.3])
    chrom = np.array(["1", "1", "1", "2"])
    keep = ld_prune(dosages, chrom, maf, window=3, step=1, r2_max=0.5)
    # v0 and v2 are identical: v0 has the lower MAF. v3 is alone on chromosome 2.
    assert keep.tolist() == [False, True, True, True]


def test_ld_prune_in_run_qc():
    rng = np.random.default_rng(9)
    base = rng.binomial(2, 0.4, size=400)
    dosages = np.array([base, base, rng.binomial(2, 0.4, size=400)])
    store = make_store(dosages, np.repeat([0, 1], 200))
    options = {"hwe_min_p": 0, "ld_prune": {"enabled": True, "window": 10, "step": 5, "r2": 0.8}}
    result, summary = run_qc(store, options)
    assert summary.set_index("step").loc["ld_prune", "removed"] == 1
    assert result.variants["variant_id"].tolist() == ["v0", "v2"]


def test_variant_emptied_by_sample_filter_removed():
    # v0 is called only in s0 and s1, which the sample filter removes (1 of 3 calls each).
    dosages = np.array(
        [
            [1, 1, -1, -1, -1, -1],
            [-1, -1, 0, 1, 2, 1],
            [-1, -1, 1, 0, 1, 2],
        ]
    )
    store = make_store(dosages, [0, 1, 0, 1, 0, 1])
    options = {"min_variant_call_rate": 0, "min_sample_call_rate": 0.5, "hwe_min_p": 0}
    result, summary = run_qc(store, options)
    steps = summary.set_index("step")
    assert steps.loc["sample_call_rate", "removed"] == 2
    assert steps.loc["constant", "removed"] == 1
    assert steps.loc["maf", "removed"] == 0
    assert result.variants["variant_id"].tolist() == ["v1", "v2"]
