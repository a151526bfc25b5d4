"""Real Snakemake runs: simulate -> ingest -> qc -> split -> scan -> GA batches -> merge."""

import pandas as pd
import pytest
from example_workflow import run_snakemake

TARGETS = ["results/example/ga/selections.tsv", "results/example/scan/pairs.tsv"]


def write_config(workdir, runs_per_job):
    (workdir / "config" / "config.yaml").write_text(
        "cohorts: config/cohorts.tsv\n"
        "seed: 0\n"
        "simulations:\n  example: {n_samples: 1000}\n"
        f"ga:\n  n_runs: 4\n  runs_per_job: {runs_per_job}\n  size_limits: [2, 3]\n  n_generations: 30\n"
    )


@pytest.fixture(scope="module")
def workdir(repository, tmp_path_factory):
    workdir = tmp_path_factory.mktemp("ga_workflow")
    (workdir / "config").mkdir()
    (workdir / "config" / "cohorts.tsv").write_text(
        (repository / "config" / "cohorts.tsv").read_text()
    )
    write_config(workdir, runs_per_job=3)
    result = run_snakemake(repository, workdir, *TARGETS)
    assert result.returncode == 0, result.stderr[-3000:]
    return workdir


def test_ga_finds_planted_pairs(workdir):
    selections = pd.read_csv(workdir / "results/example/ga/selections.tsv", sep="\t")
    assert list(selections.columns) == [
        "run",
        "size_limit",
        "rank",
        "variant_ids",
        "n_variants",
        "fitness",
    ]
    assert (
        selections.groupby("size_limit")["run"].unique().apply(sorted).tolist()
        == [[0, 1, 2, 3]] * 2
    )
    truth = pd.read_csv(workdir / "results/simulated/example/truth.tsv", sep="\t")
    groups = [
        set(members["id"]) for _, members in truth[truth["record"] == "variant"].groupby("group")
    ]
    best = [set(ids.split(",")) for ids in selections.loc[selections["rank"] == 1, "variant_ids"]]
    found = sum(any(group <= subset for group in groups) for subset in best)
    assert found >= 7, f"a planted pair in the best subset of {found} of {len(best)} runs"

    pairs = pd.read_csv(workdir / "results/example/scan/pairs.tsv", sep="\t")
    top = [{row.variant_a, row.variant_b} for row in pairs.head(2).itertuples()]
    assert sorted(map(sorted, top)) == sorted(map(sorted, groups))
    generations = pd.read_csv(workdir / "results/example/ga/generations.tsv", sep="\t")
    assert list(generations.columns) == [
        "run",
        "size_limit",
        "generation",
        "best",
        "mean",
        "diversity",
    ]
    log = (workdir / "logs/example/ga/2_0.log").read_text()
    assert "generation 10: best" in log
    assert "guide on" in log


def test_runs_per_job_does_not_change_output(repository, workdir):
    results = workdir / "results/example/ga"
    before = {name: (results / name).read_text() for name in ("selections.tsv", "generations.tsv")}
    write_config(workdir, runs_per_job=1)
    result = run_snakemake(repository, workdir, *TARGETS)
    assert result.returncode == 0, result.stderr[-3000:]
    assert len(list((results / "batches").glob("*_3.selections.tsv"))) == 2
    for name, text in before.items():
        assert (results / name).read_text() == text, name
