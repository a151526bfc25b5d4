"""PLINK 1 binary filesets: dosages, phenotype sheets and .fam column 6."""

import numpy as np
import pandas as pd
import pytest

from fcsnet.errors import InputError
from fcsnet.ingest import ingest_cohort
from fcsnet.io.plink import fam_status, read_plink
from fcsnet.store import read_store, read_table

BED_MAGIC = b"\x6c\x1b\x01"
# PLINK 1 2-bit codes, counting allele 1: 00 hom A1 (2), 01 missing, 10 het (1), 11 hom A2 (0).
BED_CODES = {0b00: 2, 0b01: -1, 0b10: 1, 0b11: 0}


def decode_bed(path, n_samples, n_variants):
    """Decode a variant-major .bed file directly from its bytes."""
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    assert data[:3].tobytes() == BED_MAGIC
    bytes_per_variant = (n_samples + 3) // 4
    blocks = data[3:].reshape(n_variants, bytes_per_variant)
    codes = np.stack([(blocks >> shift) & 0b11 for shift in (0, 2, 4, 6)], axis=2)
    codes = codes.reshape(n_variants, -1)[:, :n_samples]
    lookup = np.array([BED_CODES[code] for code in range(4)], dtype=np.int8)
    return lookup[codes]


def test_dosages_match_bed_bytes(shared_data):
    prefix = shared_data / "plink" / "example"
    raw = read_plink(f"{prefix}.bed")
    np.testing.assert_array_equal(raw.dosages, decode_bed(prefix.with_suffix(".bed"), 500, 1000))
    bim = pd.read_csv(prefix.with_suffix(".bim"), sep="\t", header=None, dtype=str)
    assert raw.variants["variant_id"].tolist() == bim[1].tolist()
    assert raw.variants["alt"].tolist() == bim[4].tolist()
    assert raw.variants["ref"].tolist() == bim[5].tolist()
    assert raw.sample_ids[:3] == ["1", "2", "3"]


def test_phenotype_sheet_y1(shared_data, tmp_path):
    plink = shared_data / "plink"
    ingest_cohort(
        plink / "example",
        "plink",
        tmp_path,
        phenotypes=plink / "phenotype_bin.txt",
        phenotype_column="Y1",
    )
    store = read_store(tmp_path)
    assert int((store.samples["status"] == 1).sum()) == 121
    assert int((store.samples["status"] == 0).sum()) == 379
    # The other sheet column is kept as a covariate.
    assert "Y2" in store.samples.columns
    assert store.dosages.shape == (1000, 500)


def test_phenotype_sheet_with_na(shared_data, tmp_path):
    plink = shared_data / "plink"
    sheet = pd.read_csv(
        plink / "phenotype_bin_wNA.txt", sep=r"\s+", dtype=str, keep_default_na=False
    )
    n_na = int((sheet["Y1"] == "NA").sum())
    ingest_cohort(
        plink / "example.bed",
        "plink",
        tmp_path,
        phenotypes=plink / "phenotype_bin_wNA.txt",
        phenotype_column="Y1",
    )
    store = read_store(tmp_path)
    summary = read_table(tmp_path / "ingest_summary.tsv").set_index("item")["count"]
    assert n_na > 0
    assert store.n_samples == 500 - n_na
    assert summary["phenotype_status_missing_dropped"] == n_na
    assert summary["genotyped_samples_status_missing"] == n_na
    kept = set(store.samples["sample_id"])
    assert not kept & set(sheet.loc[sheet["Y1"] == "NA", "IID"])
    # Columns of the store follow the kept samples in .fam order.
    full = read_plink(plink / "example")
    columns = [full.sample_ids.index(sample) for sample in store.samples["sample_id"]]
    np.testing.assert_array_equal(store.dosages, full.dosages[:, columns])


def test_fam_column_6_rejected_as_phenotype(shared_data, tmp_path):
    with pytest.raises(InputError, match="column 6 of .*example.fam is not a case/control status"):
        ingest_cohort(shared_data / "plink" / "example", "plink", tmp_path)
    assert not (tmp_path / "dosages.npy").exists()


def test_fam_status_coding():
    status = fam_status(["1", "2", "0", "-9", "2"], "x.fam")
    np.testing.assert_array_equal(status, [0.0, 1.0, np.nan, np.nan, 1.0])
    with pytest.raises(InputError, match="0.5"):
        fam_status(["1", "0.5"], "x.fam")


def test_fam_status_used_without_sheet(shared_data, tmp_path):
    plink = shared_data / "plink"
    prefix = tmp_path / "coded"
    for suffix in ("bed", "bim"):
        (tmp_path / f"coded.{suffix}").write_bytes((plink / f"example.{suffix}").read_bytes())
    fam = pd.read_csv(plink / "example.fam", sep="\t", header=None)
    fam[5] = np.where(np.arange(len(fam)) % 4 == 0, 2, 1)
    fam.loc[1, 5] = -9
    fam.to_csv(f"{prefix}.fam", sep="\t", header=False, index=False)
    ingest_cohort(prefix, "plink", tmp_path / "store")
    store = read_store(tmp_path / "store")
    assert store.n_samples == 499
    assert int(store.samples["status"].sum()) == 125


def test_incomplete_fileset_rejected(tmp_path):
    (tmp_path / "x.bed").write_bytes(BED_MAGIC)
    with pytest.raises(InputError, match="incomplete"):
        read_plink(tmp_path / "x")


def test_repeated_iids_rejected(shared_data, tmp_path):
    plink = shared_data / "plink"
    for suffix in ("bed", "bim"):
        (tmp_path / f"dup.{suffix}").write_bytes((plink / f"example.{suffix}").read_bytes())
    fam = pd.read_csv(plink / "example.fam", sep="\t", header=None)
    fam.loc[1, 1] = fam.loc[0, 1]
    fam.to_csv(tmp_path / "dup.fam", sep="\t", header=False, index=False)
    with pytest.raises(InputError, match=r"repeats the sample IDs \['1'\]"):
        ingest_cohort(
            tmp_path / "dup", "plink", tmp_path / "store", phenotypes=plink / "phenotype_bin.txt"
        )
