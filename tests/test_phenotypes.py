"""Phenotype sheets: ID columns, status coding, missing values and joins."""

import logging

import numpy as np
import pandas as pd
import pytest

from fcsnet.errors import InputError
from fcsnet.ingest import ingest_cohort
from fcsnet.io.phenotypes import code_status, read_phenotype_sheet
from fcsnet.io.vcf import read_vcf
from fcsnet.store import read_store, read_table


def write(path, text):
    path.write_text(text)
    return path


def test_fid_iid_whitespace_sheet(shared_data):
    samples, counts, dropped = read_phenotype_sheet(
        shared_data / "plink" / "phenotype_bin.txt", "Y1"
    )
    assert len(samples) == 500
    assert int(samples["status"].sum()) == 121
    assert list(samples.columns) == ["sample_id", "status", "Y2"]
    assert counts["phenotype_status_missing_dropped"] == 0
    assert dropped == []


def test_tab_sheet_1_2_coding(tmp_path, caplog):
    path = write(
        tmp_path / "p.tsv",
        "sample_id\tdisease\tage\tsite\n"
        "a\t2\t31\tx\nb\t1\t40\ty\nc\tNA\t22\tx\nd\t-9\t50\ty\ne\t2\tNA\tx\n",
    )
    with caplog.at_level(logging.INFO):
        samples, counts, dropped = read_phenotype_sheet(path)
    assert samples["sample_id"].tolist() == ["a", "b", "e"]
    assert samples["status"].tolist() == [1, 0, 1]
    assert counts["phenotype_status_missing_dropped"] == 2
    assert dropped == ["c", "d"]
    assert "1/2 (1 = control, 2 = case)" in caplog.text
    assert samples["age"].isna().tolist() == [False, False, True]
    assert samples["site"].tolist() == ["x", "y", "x"]


def test_status_coding_detected():
    status, coding = code_status(pd.Series(["0", "1", "NA"]), "test")
    np.testing.assert_array_equal(status, [0.0, 1.0, np.nan])
    assert coding.startswith("0/1")
    status, coding = code_status(pd.Series(["1", "2"]), "test")
    np.testing.assert_array_equal(status, [0.0, 1.0])
    assert coding.startswith("1/2")


@pytest.mark.parametrize("values", [["0", "1", "2"], ["0.3", "1"], ["case", "control"]])
def test_status_coding_rejected(values):
    with pytest.raises(InputError, match="not case/control codes"):
        code_status(pd.Series(values), "column 'y'")


def test_duplicate_ids_rejected(tmp_path):
    path = write(tmp_path / "p.tsv", "sample_id\tstatus\na\t1\nb\t0\na\t0\n")
    with pytest.raises(InputError, match=r"repeats the sample IDs \['a'\]"):
        read_phenotype_sheet(path)


def test_missing_id_column_rejected(tmp_path):
    path = write(tmp_path / "p.tsv", "name\tstatus\na\t1\n")
    with pytest.raises(InputError, match="'sample_id' column or 'FID IID'"):
        read_phenotype_sheet(path)


def test_unknown_phenotype_column_rejected(shared_data):
    with pytest.raises(InputError, match="phenotype column 'Y9' not found"):
        read_phenotype_sheet(shared_data / "plink" / "phenotype_bin.txt", "Y9")


def vcf_cohort(shared_data):
    return shared_data / "vcf" / "test.vcf.gz"


def vcf_samples(shared_data):
    return read_vcf(vcf_cohort(shared_data)).sample_ids


def test_mismatched_samples_counted_and_named(shared_data, tmp_path, caplog):
    samples = vcf_samples(shared_data)
    rng = np.random.default_rng(7)
    status = rng.integers(0, 2, size=150)
    lines = ["sample_id\tstatus"]
    lines += [f"{sample}\t{value}" for sample, value in zip(samples[:150], status, strict=True)]
    lines += ["ghost1\t1", "ghost2\t0"]
    sheet = write(tmp_path / "p.tsv", "\n".join(lines) + "\n")
    with caplog.at_level(logging.WARNING):
        ingest_cohort(vcf_cohort(shared_data), "vcf", tmp_path / "store", phenotypes=sheet)
    summary = read_table(tmp_path / "store" / "ingest_summary.tsv").set_index("item")["count"]
    assert summary["genotyped_samples_without_phenotype_row"] == len(samples) - 150
    assert summary["phenotyped_samples_not_genotyped"] == 2
    assert "ghost1" in caplog.text
    assert samples[150] in caplog.text
    store = read_store(tmp_path / "store")
    assert store.samples["sample_id"].tolist() == samples[:150]
    assert store.samples["status"].tolist() == status.tolist()
    # Only the joined samples were read, with their own genotypes.
    full = read_vcf(vcf_cohort(shared_data))
    np.testing.assert_array_equal(store.dosages, full.dosages[:, :150])


def test_zero_overlap_rejected(shared_data, tmp_path):
    sheet = write(tmp_path / "p.tsv", "sample_id\tstatus\nx1\t1\nx2\t0\n")
    with pytest.raises(InputError, match="no sample is in both"):
        ingest_cohort(vcf_cohort(shared_data), "vcf", tmp_path / "store", phenotypes=sheet)


def test_one_class_rejected(shared_data, tmp_path):
    samples = vcf_samples(shared_data)
    sheet = write(tmp_path / "p.tsv", "sample_id\tstatus\n" + "".join(f"{s}\t1\n" for s in samples))
    with pytest.raises(InputError, match="189 cases and 0 controls"):
        ingest_cohort(vcf_cohort(shared_data), "vcf", tmp_path / "store", phenotypes=sheet)


def test_vcf_without_sheet_rejected(shared_data, tmp_path):
    with pytest.raises(InputError, match="has no phenotype sheet"):
        ingest_cohort(vcf_cohort(shared_data), "vcf", tmp_path / "store")


def test_case_only_needs_no_sheet(shared_data, tmp_path):
    ingest_cohort(vcf_cohort(shared_data), "vcf", tmp_path / "store", case_only=True)
    store = read_store(tmp_path / "store")
    assert (store.samples["status"] == 1).all()
    assert store.n_samples == 189


def test_status_codes_reported_as_plain_numbers():
    with pytest.raises(InputError, match="values 0, 1, 2 are not case/control codes") as error:
        code_status(pd.Series([0, 1, 2, 1]), "column 'disease'")
    assert "np.float64" not in str(error.value)
