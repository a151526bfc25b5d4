"""Tests of case subtypes and the comparison with the planted truth."""

import logging

import numpy as np
import pandas as pd
import pytest

from fcsnet.config import default_config
from fcsnet.errors import ConfigError, InputError
from fcsnet.subtypes import compare_with_truth, find_subtypes, read_truth


def subtype_params(**overrides):
    params = default_config()["subtypes"]
    params.update(overrides)
    return params


def two_group_scores(seed=0):
    """300 cases in two groups, each high on one of two CRS columns; 100 controls."""
    rng = np.random.default_rng(seed)
    group = np.repeat([0, 1], 150)
    crs_1 = np.where(group == 0, 0.8, 0.3) + rng.normal(0, 0.05, 300)
    crs_2 = np.where(group == 1, 0.8, 0.3) + rng.normal(0, 0.05, 300)
    cases = pd.DataFrame(
        {
            "sample_id": [f"c{i}" for i in range(300)],
            "cohort_part": np.where(np.arange(300) < 250, "training", "case_only"),
            "status": 1,
            "crs_1": crs_1,
            "crs_2": crs_2,
        }
    )
    controls = pd.DataFrame(
        {
            "sample_id": [f"k{i}" for i in range(100)],
            "cohort_part": "validation",
            "status": 0,
            "crs_1": 0.3,
            "crs_2": 0.3,
        }
    )
    return pd.concat([cases, controls], ignore_index=True), group


@pytest.mark.parametrize("method", ["kmeans", "gmm"])
def test_two_groups_found(method):
    scores, group = two_group_scores()
    result = find_subtypes(scores, subtype_params(method=method), seed=0)
    assert len(result.subtypes) == 300
    assert set(result.subtypes["cohort_part"]) == {"training", "case_only"}
    truth = pd.DataFrame(
        {"record": "sample", "id": scores["sample_id"][:300], "group": group.astype(str)}
    )
    agreement = compare_with_truth(
        result.subtypes, pd.DataFrame(columns=["variant_id", "community"]), truth
    )
    assert agreement.loc[0, "measure"] == "subtype_ari"
    assert agreement.loc[0, "value"] > 0.95
    assert result.profiles["n_cases"].sum() == 300
    assert result.profiles["crs_1"].max() > 0.7


def test_fixed_number_of_subtypes():
    scores, _ = two_group_scores()
    result = find_subtypes(scores, subtype_params(n_subtypes=3), seed=0)
    assert sorted(result.subtypes["subtype"].unique()) == [1, 2, 3]
    sizes = result.subtypes["subtype"].value_counts().sort_index()
    assert sizes.is_monotonic_decreasing


def test_no_communities_gives_one_subtype(caplog):
    scores = pd.DataFrame({"sample_id": ["a", "b"], "cohort_part": "training", "status": [1, 0]})
    with caplog.at_level(logging.WARNING, logger="fcsnet.subtypes"):
        result = find_subtypes(scores, subtype_params(), seed=0)
    assert result.subtypes["subtype"].tolist() == [1]
    assert "no communities" in caplog.text


def test_unknown_method_rejected():
    scores, _ = two_group_scores()
    with pytest.raises(ConfigError, match="subtypes.method"):
        find_subtypes(scores, subtype_params(method="dbscan"), seed=0)


def test_variant_groups_compared(tmp_path):
    path = tmp_path / "truth.tsv"
    pd.DataFrame(
        {
            "record": ["variant"] * 5 + ["sample"],
            "id": ["a", "b", "c", "d", "e", "s1"],
            "group": ["g0", "g0", "g1", "g1", "g1", "0"],
        }
    ).to_csv(path, sep="\t", index=False)
    truth = read_truth(path)
    communities = pd.DataFrame(
        {"variant_id": ["a", "b", "c", "d", "x"], "community": [1, 1, 2, 2, 2]}
    )
    subtypes = pd.DataFrame({"sample_id": ["s9"], "cohort_part": "training", "subtype": [1]})
    agreement = compare_with_truth(subtypes, communities, truth).set_index("group")
    assert bool(agreement.loc["g0", "clean"]) is True
    assert bool(agreement.loc["g1", "clean"]) is False
    assert agreement.loc["g1", "value"] == pytest.approx(2 / 3)
    assert agreement.loc["g1", "communities"] == "2"


def test_workflow_rules_end_to_end(repository, tmp_path):
    """Real Snakemake run on the simulated example cohort up to the subtypes."""
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "cohorts.tsv").write_text(
        (repository / "config" / "cohorts.tsv").read_text()
    )
    (tmp_path / "config" / "config.yaml").write_text(
        "cohorts: config/cohorts.tsv\n"
        "seed: 0\n"
        "simulations:\n  example: {n_samples: 1000}\n"
        "ga:\n  n_runs: 6\n  runs_per_job: 6\n  size_limits: [2, 3]\n  population_size: 40\n"
        "  n_generations: 15\n"
        "network:\n  n_permutations: 500\n"
    )
    targets = [
        "results/example/subtypes/subtypes.tsv",
        "results/example/crs/community_stats.tsv",
        "results/example/network/network.graphml",
    ]
    command = [
        str(Path(sys.executable).with_name("snakemake")),
        "--snakefile",
        str(repository / "workflow" / "Snakefile"),
        "--directory",
        str(tmp_path),
        "--cores",
        "2",
        *targets,
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    results = tmp_path / "results" / "example"
    crs = pd.read_csv(results / "crs" / "crs.tsv", sep="\t")
    assert set(crs["cohort_part"]) == {"training", "validation", "case_only"}
    subtypes = pd.read_csv(results / "subtypes" / "subtypes.tsv", sep="\t")
    assert set(subtypes["sample_id"]) == set(crs.loc[crs["status"] == 1, "sample_id"])
    agreement = pd.read_csv(results / "subtypes" / "agreement.tsv", sep="\t")
    assert "subtype_ari" in set(agreement["measure"])
    for rule in ("network", "communities", "crs", "subtypes"):
        log = (tmp_path / "logs" / "example" / f"{rule}.log").read_text()
        assert f"rule {rule} finished" in log


def test_na_case_only_crs_unassigned(caplog):
    scores, group = two_group_scores()
    # The last 20 case-only cases lack community 2's score.
    unscored = np.arange(280, 300)
    scores.loc[unscored, "crs_2"] = np.nan
    with caplog.at_level(logging.WARNING, logger="fcsnet.subtypes"):
        result = find_subtypes(scores, subtype_params(), seed=0)
    subtypes = result.subtypes
    assert len(subtypes) == 300
    assert subtypes["sample_id"].tolist() == scores["sample_id"][:300].tolist()
    assert subtypes["subtype"].isna().to_numpy().nonzero()[0].tolist() == unscored.tolist()
    assert "20 case-only individuals have an NA community risk score" in caplog.text
    # The scored cases are still split into the two groups, and the profiles
    # count only them.
    scored = subtypes["subtype"].notna()
    truth = pd.DataFrame(
        {"record": "sample", "id": scores["sample_id"][:300], "group": group.astype(str)}
    )
    agreement = compare_with_truth(
        subtypes, pd.DataFrame(columns=["variant_id", "community"]), truth
    )
    assert agreement.loc[0, "n"] == scored.sum() == 280
    assert agreement.loc[0, "value"] > 0.95
    assert result.profiles["n_cases"].sum() == 280
    assert result.profiles[["crs_1", "crs_2"]].notna().all().all()


def test_na_training_crs_rejected():
    scores, _ = two_group_scores()
    scores.loc[0, "crs_1"] = np.nan
    with pytest.raises(InputError, match="1 training or validation cases"):
        find_subtypes(scores, subtype_params(), seed=0)
