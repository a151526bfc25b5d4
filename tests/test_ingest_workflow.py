"""Real Snakemake runs of ingest -> qc -> split on small reference data."""

from pathlib import Path

import numpy as np
import pytest
from example_workflow import run_snakemake

from fcsnet.ingest import ingest_cohort
from fcsnet.io.vcf import read_vcf
from fcsnet.store import read_store, read_table


@pytest.fixture(scope="module")
def workdir(shared_data, tmp_path_factory):
    """A work directory with a cohort sheet of a GAMETES table, the PLINK fileset and a VCF."""
    workdir = tmp_path_factory.mktemp("workflow")
    (workdir / "config").mkdir()
    vcf = shared_data / "vcf" / "test.vcf.gz"
    rng = np.random.default_rng(11)
    samples = read_vcf(vcf).sample_ids
    sheet = ["sample_id\tdisease\tage"] + [
        f"{sample}\t{status}\t{age}"
        for sample, status, age in zip(
            samples,
            rng.integers(0, 2, len(samples)),
            rng.integers(20, 80, len(samples)),
            strict=True,
        )
    ]
    (workdir / "vcf_phenotypes.tsv").write_text("\n".join(sheet) + "\n")
    gametes = shared_data / "gametes" / "heterogeneity_r50" / "het_r50_01.tsv.gz"
    plink = shared_data / "plink"
    rows = [
        "cohort\tgenotypes\tformat\tphenotypes\tphenotype_column\tcase_only_genotypes",
        f"gam\t{gametes}\ttable\t\t\t",
        f"plk\t{plink / 'example.bed'}\tplink\t{plink / 'phenotype_bin.txt'}\tY1\t",
        f"exome\t{vcf}\tvcf\tvcf_phenotypes.tsv\tdisease\t{vcf}",
    ]
    (workdir / "config" / "cohorts.tsv").write_text("\n".join(rows) + "\n")
    (workdir / "config" / "config.yaml").write_text(
        "cohorts: config/cohorts.tsv\n"
        "seed: 0\n"
        "qc:\n  min_variant_call_rate: 0.9\n  min_sample_call_rate: 0.8\n"
        "split:\n  validation_fraction: 0.25\n"
    )
    return workdir


TARGETS = [
    "results/gam/split/samples.tsv",
    "results/plk/split/samples.tsv",
    "results/exome/split/samples.tsv",
    "results/exome/case_only/genotypes/samples.tsv",
]


def test_dry_run_lists_every_job(repository, workdir):
    result = run_snakemake(repository, workdir, "--dry-run", *TARGETS)
    assert result.returncode == 0, result.stderr
    output = result.stdout + result.stderr
    for rule, count in (("ingest_genotypes", 3), ("ingest_case_only", 1), ("qc", 3), ("split", 3)):
        assert any(line.split()[:2] == [rule, str(count)] for line in output.splitlines()), rule
    assert not (workdir / "results").exists()


@pytest.fixture(scope="module")
def finished(repository, workdir):
    result = run_snakemake(repository, workdir, *TARGETS)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_split_follows_qc_samples(finished):
    for cohort in ("gam", "plk", "exome"):
        qc_samples = read_table(finished / "results" / cohort / "qc" / "samples.tsv")
        split = read_table(finished / "results" / cohort / "split" / "samples.tsv")
        assert split["sample_id"].tolist() == qc_samples["sample_id"].tolist()
        assert set(split["split"]) == {"training", "validation"}


def test_plink_cohort_counts(finished):
    store = read_store(finished / "results" / "plk" / "qc")
    assert int((store.samples["status"] == 1).sum()) == 121
    split = read_table(finished / "results" / "plk" / "split" / "samples.tsv")
    validation = split[split["split"] == "validation"]
    assert int((validation["status"] == 1).sum()) == 30
    assert int((validation["status"] == 0).sum()) == 95
    assert "Y2" in split.columns


def test_gametes_cohort_samples_named_by_row(finished):
    store = read_store(finished / "results" / "gam" / "genotypes")
    assert store.samples["sample_id"].iloc[0] == "row0"
    assert store.n_samples == 1600


def test_summaries_logs_and_benchmarks_written(finished):
    for cohort in ("gam", "plk", "exome"):
        summary = read_table(finished / "results" / cohort / "qc" / "qc_summary.tsv")
        assert {"step", "removed", "remaining", "unit"} <= set(summary.columns)
        ingest = read_table(finished / "results" / cohort / "genotypes" / "ingest_summary.tsv")
        assert "variants_written" in ingest["item"].tolist()
        for rule in ("ingest_genotypes", "qc", "split"):
            assert (finished / "logs" / cohort / f"{rule}.log").stat().st_size > 0
            assert (finished / "benchmarks" / cohort / f"{rule}.tsv").exists()
    exome = read_table(finished / "results" / "exome" / "qc" / "qc_summary.tsv")
    assert exome.set_index("step").loc["maf", "removed"] > 0


def test_case_only_store_is_all_cases(finished):
    store = read_store(finished / "results" / "exome" / "case_only" / "genotypes")
    assert (store.samples["status"] == 1).all()
    assert store.n_samples == 189


def test_bad_phenotype_fails_with_clear_log(repository, shared_data, tmp_path):
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "cohorts.tsv").write_text(
        f"cohort\tgenotypes\tformat\nfam6\t{shared_data / 'plink' / 'example'}\tplink\n"
    )
    (tmp_path / "config" / "config.yaml").write_text("cohorts: config/cohorts.tsv\n")
    result = run_snakemake(repository, tmp_path, "results/fam6/genotypes/samples.tsv")
    assert result.returncode != 0
    log = (tmp_path / "logs" / "fam6" / "ingest_genotypes.log").read_text()
    assert "is not a case/control status in PLINK coding" in log
    assert not (tmp_path / "results" / "fam6" / "genotypes" / "dosages.npy").exists()
    # A user error reaches the terminal as one line, without a Python traceback.
    assert "Error in rule ingest_genotypes: " in result.stderr
    assert "Traceback (most recent call last)" not in result.stderr


def test_case_only_table_drops_controls(tmp_path, caplog):
    path = tmp_path / "mixed.tsv"
    path.write_text("N0\tN1\tClass\n0\t1\t1\n1\t2\t0\n2\t0\t1\n0\t0\t0\n")
    with caplog.at_level("WARNING", logger="fcsnet.ingest"):
        store = ingest_cohort(path, "table", tmp_path / "store", case_only=True)
    assert store.samples["sample_id"].tolist() == ["case_only_row0", "case_only_row2"]
    assert store.n_samples == 2
    assert (store.samples["status"] == 1).all()
    assert store.dosages[:, 1].tolist() == [2, 0]
    summary = read_table(tmp_path / "store" / "ingest_summary.tsv").set_index("item")
    assert summary.loc["case_only_controls_dropped", "count"] == 2
    assert any("2 controls" in record.getMessage() for record in caplog.records)


def test_case_only_plink_drops_fam_controls(shared_data, tmp_path, caplog):
    source = shared_data / "plink" / "example"
    for suffix in (".bed", ".bim"):
        (tmp_path / f"cases{suffix}").write_bytes(Path(f"{source}{suffix}").read_bytes())
    fam = [line.split() for line in Path(f"{source}.fam").read_text().splitlines()]
    for index, fields in enumerate(fam):
        fields[5] = "1" if index % 4 == 0 else "2"
    (tmp_path / "cases.fam").write_text("\n".join(" ".join(f) for f in fam) + "\n")
    n_controls = sum(1 for index in range(len(fam)) if index % 4 == 0)
    with caplog.at_level("WARNING", logger="fcsnet.ingest"):
        store = ingest_cohort(tmp_path / "cases", "plink", tmp_path / "store", case_only=True)
    assert store.n_samples == len(fam) - n_controls
    assert fam[0][1] not in set(store.samples["sample_id"])
    assert any(f"{n_controls} controls" in record.getMessage() for record in caplog.records)


def test_case_only_without_status_keeps_all(shared_data, tmp_path):
    store = ingest_cohort(
        shared_data / "plink" / "example", "plink", tmp_path / "store", case_only=True
    )
    n_fam = len(Path(f"{shared_data / 'plink' / 'example'}.fam").read_text().splitlines())
    assert store.n_samples == n_fam
    assert (store.samples["status"] == 1).all()
