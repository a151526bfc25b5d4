"""GAMETES/PMLB genotype tables, including tables with missing genotypes."""

import gzip

import numpy as np
import pytest

from fcsnet.errors import InputError
from fcsnet.ingest import ingest_cohort
from fcsnet.io.table import read_table_genotypes
from fcsnet.store import read_store, read_table

# One file of every GAMETES folder; many_snps with its 100-SNP file to keep
# the plain-Python reference parse fast.
TABLES = [
    "heterogeneity_r50/het_r50_01.tsv.gz",
    "heterogeneity_r75/het_r75_01.tsv.gz",
    "additive_two_pairs_r50/add_r50_01.tsv.gz",
    "epistasis_2way/epi2_s200_h0.4_EDM-1_01.tsv.gz",
    "epistasis_3way/epi3_01.tsv.gz",
    "xor/xor3_01.tsv.gz",
    "main_effects_4/main4_01.tsv.gz",
    "imbalanced/epi2_imb0.9_01.tsv.gz",
    "many_snps/epi2_a100_01.tsv.gz",
    "missing/epi2_na0.1_01.tsv.gz",
    "missing/epi2_na0.5_01.tsv.gz",
]


def parse_table_text(path):
    """Return (SNP names, dosages (n_snps, n_rows), labels) from the raw text."""
    with gzip.open(path, "rt") as stream:
        header = stream.readline().rstrip("\n").split("\t")
        rows = [line.rstrip("\n").split("\t") for line in stream]
    label_index = header.index("Class")
    snps = [name for index, name in enumerate(header) if index != label_index]
    values = [[-1 if value == "NA" else int(value) for value in row] for row in rows]
    matrix = np.array(values, dtype=np.int8)
    labels = matrix[:, label_index]
    dosages = np.delete(matrix, label_index, axis=1).T
    return snps, dosages, labels


@pytest.fixture(scope="module")
def tables(shared_data):
    return {name: shared_data / "gametes" / name for name in TABLES}


@pytest.mark.parametrize("name", TABLES)
def test_table_matches_text_parse(tables, name):
    path = tables[name]
    snps, expected, labels = parse_table_text(path)
    raw = read_table_genotypes(path)
    assert raw.variants["variant_id"].tolist() == snps
    np.testing.assert_array_equal(raw.dosages, expected)
    np.testing.assert_array_equal(raw.status, labels)
    assert raw.sample_ids[:3] == ["row0", "row1", "row2"]
    assert len(raw.sample_ids) == expected.shape[1]
    assert raw.counts["missing_calls"] == int((expected < 0).sum())
    np.testing.assert_allclose(raw.variants["call_rate"], (expected >= 0).mean(axis=1))


def test_missing_tables_have_missing_calls(tables):
    for name, fraction in (
        ("missing/epi2_na0.1_01.tsv.gz", 0.1),
        ("missing/epi2_na0.5_01.tsv.gz", 0.5),
    ):
        raw = read_table_genotypes(tables[name])
        assert abs((raw.dosages < 0).mean() - fraction) < 0.02


def test_rows_named_by_position(tables, tmp_path):
    ingest_cohort(tables["heterogeneity_r50/het_r50_01.tsv.gz"], "table", tmp_path)
    store = read_store(tmp_path)
    assert store.samples["sample_id"].tolist() == [f"row{i}" for i in range(store.n_samples)]
    # GAMETES files list cases first, then controls.
    assert store.samples["status"].iloc[0] == 1
    assert store.samples["status"].iloc[-1] == 0


def test_missing_label_column_rejected(tables):
    with pytest.raises(InputError, match="no label column 'Status'"):
        read_table_genotypes(tables["xor/xor3_01.tsv.gz"], label_column="Status")


def test_invalid_genotype_rejected(tmp_path):
    path = tmp_path / "bad.tsv"
    path.write_text("N0\tN1\tClass\n0\t1\t1\n2\t3\t0\n")
    with pytest.raises(
        InputError, match=r"value 3 in column 'N1', data row 2 \(line 3 of the file\)"
    ):
        read_table_genotypes(path)
    path.write_text("N0\tN1\tClass\n0\t1\t1\n2\tx\t0\n")
    with pytest.raises(
        InputError, match=r"value 'x' in column 'N1', data row 2 \(line 3 of the file\)"
    ):
        read_table_genotypes(path)


def test_one_class_table_rejected(tmp_path):
    path = tmp_path / "cases.tsv"
    path.write_text("N0\tN1\tClass\n0\t1\t1\n2\t1\t1\n")
    with pytest.raises(InputError, match="2 cases and 0 controls"):
        ingest_cohort(path, "table", tmp_path / "store")


def test_case_only_table_without_label(tmp_path):
    path = tmp_path / "cases.tsv"
    path.write_text("N0\tN1\n0\t1\n2\tNA\n")
    ingest_cohort(path, "table", tmp_path / "store", case_only=True)
    store = read_store(tmp_path / "store")
    assert store.variants["variant_id"].tolist() == ["N0", "N1"]
    # Named apart from the main cohort's row0, row1, ...
    assert store.samples["sample_id"].tolist() == ["case_only_row0", "case_only_row1"]
    assert store.samples["status"].tolist() == [1, 1]
    assert store.dosages.tolist() == [[0, 2], [1, -1]]


def test_repeated_columns_renamed_and_counted(tmp_path, caplog):
    path = tmp_path / "dup.tsv"
    path.write_text("N0\tN0\tN1\tN0\tClass\n0\t1\t2\t1\t1\n2\t0\t1\t0\t0\n")
    with caplog.at_level("WARNING", logger="fcsnet.io.table"):
        ingest_cohort(path, "table", tmp_path / "store")
    store = read_store(tmp_path / "store")
    assert store.variants["variant_id"].tolist() == ["N0", "N0_2", "N1", "N0_3"]
    assert store.dosages[:, 0].tolist() == [0, 1, 2, 1]
    summary = read_table(tmp_path / "store" / "ingest_summary.tsv").set_index("item")
    assert summary.loc["duplicate_variant_ids_renamed", "count"] == 2
    assert any("2 repeated column names" in record.getMessage() for record in caplog.records)
