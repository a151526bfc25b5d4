"""The recovery benchmark harness (bench/recovery.py) on two small shared files."""

import importlib.util
import json
import shutil
import subprocess
import sys

import pandas as pd
import pytest

# A small GA and attention budget keeps one fcsnet run to about 15 s on
# 2 cores; the harness's output format does not depend on the budget.
LEAN_OVERRIDES = {
    "ga": {"n_runs": 8, "size_limits": [3], "population_size": 40, "n_generations": 20},
    "network": {"n_permutations": 200},
    "communities": {"n_seeds": 4},
    "attention": {"n_restarts": 1, "max_epochs": 10, "n_permutations": 19, "n_repeats": 1},
}
OUTPUT_COLUMNS = [
    "file",
    "category",
    "method",
    "status",
    "n_variants",
    "n_predictive",
    "n_found",
    "found",
    "all_found",
    "n_groups",
    "n_groups_found",
    "n_groups_clean",
    "groups_clean",
    "subtype_ari",
    "pair_rank",
    "pair_top",
    "triple_rank",
    "triple_top",
    "variant_rank_max",
    "seconds",
    "peak_rss_mb",
    "note",
]
INTEGER_COLUMNS = [
    "n_variants",
    "n_predictive",
    "n_found",
    "n_groups",
    "n_groups_found",
    "n_groups_clean",
    "pair_rank",
    "triple_rank",
    "variant_rank_max",
]
BOOLEAN_COLUMNS = ["all_found", "pair_top", "triple_top"]


def installed_peers() -> list[str]:
    peers = []
    if importlib.util.find_spec("skrebate") is not None:
        peers.append("multisurf")
    if shutil.which("plink1.9") or shutil.which("plink"):
        peers.append("plink")
    return peers


@pytest.fixture(scope="module")
def recovery_table(repository, shared_data, tmp_path_factory):
    output = tmp_path_factory.mktemp("recovery") / "recovery.tsv"
    files = [
        shared_data / "gametes" / "heterogeneity_r50" / "het_r50_01.tsv.gz",
        shared_data / "gametes" / "epistasis_3way" / "epi3_01.tsv.gz",
    ]
    methods = ["fcsnet", *installed_peers()]
    command = [
        sys.executable,
        str(repository / "bench" / "recovery.py"),
        "run",
        *map(str, files),
        "--methods",
        ",".join(methods),
        "--output",
        str(output),
        "--fcsnet-overrides",
        json.dumps(LEAN_OVERRIDES),
        "--timeout",
        "300",
    ]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=repository)
    assert completed.returncode == 0, completed.stderr[-2000:]
    table = pd.read_csv(output, sep="\t", na_values=["NA"], keep_default_na=False)
    return table, methods


def test_one_row_per_file_and_method(recovery_table):
    table, methods = recovery_table
    assert list(table.columns) == OUTPUT_COLUMNS
    assert len(table) == 2 * len(methods)
    assert set(table["method"]) == set(methods)
    assert set(table["file"]) == {"het_r50_01.tsv.gz", "epi3_01.tsv.gz"}
    assert set(table["category"]) == {"heterogeneity_r50", "epistasis_3way"}
    assert (table["status"] == "ok").all(), table.loc[table["status"] != "ok", "note"].tolist()


def test_value_types(recovery_table):
    table, _ = recovery_table
    for column in INTEGER_COLUMNS:
        values = table[column].dropna()
        assert (values == values.round()).all(), column
    for column in BOOLEAN_COLUMNS:
        assert set(table[column].dropna().astype(str).str.lower()) <= {"true", "false"}, column
    assert (table["seconds"] > 0).all()
    assert (table["peak_rss_mb"] > 10).all()
    assert table["n_variants"].eq(20).all()
    measured = table["n_found"].notna()
    assert (table.loc[measured, "n_found"] <= table.loc[measured, "n_predictive"]).all()


def test_truth_read_from_column_names(recovery_table):
    table, _ = recovery_table
    by_file = table.drop_duplicates("file").set_index("file")
    assert by_file.loc["het_r50_01.tsv.gz", "n_predictive"] == 4
    assert by_file.loc["het_r50_01.tsv.gz", "n_groups"] == 2
    assert by_file.loc["epi3_01.tsv.gz", "n_predictive"] == 3
    assert by_file.loc["epi3_01.tsv.gz", "n_groups"] == 1


def test_fcsnet_rows_measure_communities_and_ranks(recovery_table):
    table, _ = recovery_table
    fcsnet = table[table["method"] == "fcsnet"].set_index("file")
    heterogeneity = fcsnet.loc["het_r50_01.tsv.gz"]
    assert -1.0 <= heterogeneity["subtype_ari"] <= 1.0
    assert heterogeneity["groups_clean"].count(":") == 2
    assert pd.notna(heterogeneity["n_groups_clean"])
    three_way = fcsnet.loc["epi3_01.tsv.gz"]
    assert pd.isna(three_way["subtype_ari"])
    assert pd.isna(three_way["pair_rank"])
    assert pd.notna(three_way["triple_top"])


def test_peer_rows_measure_rankings(recovery_table):
    table, methods = recovery_table
    if "plink" not in methods:
        pytest.skip("plink1.9 is not installed (Debian package plink1.9)")
    plink = table[table["method"] == "plink"].set_index("file")
    assert plink.loc["het_r50_01.tsv.gz", "pair_rank"] >= 2
    assert pd.isna(plink.loc["het_r50_01.tsv.gz", "n_groups_clean"])
    # plink ranks pairs only, so a file without a planted pair has no found set.
    assert pd.isna(plink.loc["epi3_01.tsv.gz", "n_found"])
    assert pd.isna(plink.loc["epi3_01.tsv.gz", "triple_rank"])
    if "multisurf" not in methods:
        pytest.skip("skrebate is not installed (pip install fcsnet[bench])")
    multisurf = table[table["method"] == "multisurf"].set_index("file")
    assert multisurf.loc["het_r50_01.tsv.gz", "variant_rank_max"] >= 4


def test_unknown_method_rejected(repository, shared_data, tmp_path):
    command = [
        sys.executable,
        str(repository / "bench" / "recovery.py"),
        "run",
        str(shared_data / "gametes" / "xor"),
        "--methods",
        "fcsnet,magic",
        "--output",
        str(tmp_path / "out.tsv"),
    ]
    completed = subprocess.run(command, capture_output=True, text=True, cwd=repository)
    assert completed.returncode != 0
    assert "magic" in completed.stderr
