"""Recovery of planted variant groups by the whole in-process chain.

Runs split -> scan -> GA -> network -> communities -> CRS -> subtypes on the
GAMETES reference files. Rows are shuffled with a fixed seed first because
the files are sorted by class and subgroup. Every test uses one run
configuration, :data:`RECOVERY_OVERRIDES` on top of the schema defaults.
"""

import numpy as np
import pandas as pd
import pytest

from fcsnet.chain import run_chain
from fcsnet.config import default_config
from fcsnet.store import GenotypeStore

# A lean GA (20 runs per size limit, population 40, at most 20 generations)
# keeps 24 files within a few minutes on two cores. The attention model has
# its own tests.
RECOVERY_OVERRIDES = {
    "ga": {
        "n_runs": 20,
        "population_size": 40,
        "n_generations": 20,
        "early_stopping_generations": 8,
    },
    "attention": {"enabled": False},
}
SHUFFLE_SEED = 2024


def load_gametes(path, model0_fraction=None):
    """Read a GAMETES table into a store, rows shuffled; return (store, truth).

    ``truth`` names the planted variant groups (``M<model>`` prefixes) and,
    when ``model0_fraction`` is given, each case's subgroup: in the file,
    cases come first, then controls, and within each class the first
    ``model0_fraction`` of rows come from model 0.
    """
    table = pd.read_csv(path, sep="\t")
    status = table.pop("Class").to_numpy().astype(int)
    subgroup = np.ones(len(status), dtype=int)
    for label in (1, 0):
        rows = np.flatnonzero(status == label)
        if model0_fraction is not None:
            subgroup[rows[: int(round(model0_fraction * len(rows)))]] = 0
    order = np.random.default_rng(SHUFFLE_SEED).permutation(len(status))
    dosages = np.ascontiguousarray(table.to_numpy().T[:, order].astype(np.int8))
    sample_ids = [f"row{index}" for index in order]
    samples = pd.DataFrame({"sample_id": sample_ids, "status": status[order]})
    variant_ids = [str(column) for column in table.columns]
    variants = pd.DataFrame(
        {
            "variant_id": variant_ids,
            "chrom": "NA",
            "pos": 0,
            "ref": "A",
            "alt": "B",
            "alt_freq": dosages.mean(axis=1) / 2,
            "call_rate": 1.0,
        }
    )
    planted = [name for name in variant_ids if name.startswith("M")]
    truth = pd.DataFrame(
        {"record": "variant", "id": planted, "group": [name[:2] for name in planted]}
    )
    if model0_fraction is not None:
        cases = status[order] == 1
        case_truth = pd.DataFrame(
            {
                "record": "sample",
                "id": np.asarray(sample_ids)[cases],
                "group": subgroup[order][cases].astype(str),
            }
        )
        truth = pd.concat([truth, case_truth], ignore_index=True)
    return GenotypeStore(dosages, variants, samples), truth


def recovery_config():
    return default_config(RECOVERY_OVERRIDES)


def reported_groups(result):
    communities = result.communities.communities
    return [set(group["variant_id"]) for _, group in communities.groupby("community")]


@pytest.mark.parametrize("fraction", [50, 75])
def test_heterogeneity_pairs_recovered(shared_data, fraction):
    files = sorted((shared_data / "gametes" / f"heterogeneity_r{fraction}").glob("*.tsv.gz"))
    assert len(files) == 10
    config = recovery_config()
    recovered, ari = [], []
    for path in files:
        store, truth = load_gametes(path, model0_fraction=fraction / 100)
        result = run_chain(store, config, truth=truth)
        groups = reported_groups(result)
        recovered.append({"M0P0", "M0P1"} in groups and {"M1P0", "M1P1"} in groups)
        agreement = result.agreement.set_index("measure")
        ari.append(float(agreement.loc["subtype_ari", "value"]))
    assert sum(recovered) >= 9, (
        f"clean pair communities in {sum(recovered)} of 10 files: {recovered}"
    )
    assert np.median(ari) > 0.1, f"adjusted Rand indices {np.round(ari, 3)}"


@pytest.mark.parametrize(
    "folder, pattern, triple",
    [
        ("epistasis_3way", "epi3_*.tsv.gz", {"M0P0", "M0P1", "M0P2"}),
        ("xor", "xor3_*.tsv.gz", {"M0P1", "M0P2", "M0P3"}),
    ],
)
def test_three_way_group_recovered(shared_data, folder, pattern, triple):
    files = sorted((shared_data / "gametes" / folder).glob(pattern))
    assert files
    config = recovery_config()
    for path in files:
        store, truth = load_gametes(path)
        result = run_chain(store, config, truth=truth)
        assert triple in reported_groups(result), f"{path.name}: {reported_groups(result)}"


@pytest.mark.parametrize(
    "relative_path",
    ["heterogeneity_r50/het_r50_01.tsv.gz", "epistasis_3way/epi3_01.tsv.gz"],
)
def test_label_permuted_cohort_has_few_edges(shared_data, relative_path):
    store, _ = load_gametes(shared_data / "gametes" / relative_path)
    permuted = np.random.default_rng(7).permutation(store.samples["status"].to_numpy())
    store.samples["status"] = permuted
    result = run_chain(store, recovery_config())
    n_candidates = len(result.network.candidate_edges)
    n_kept = len(result.network.edges)
    # The GA finds the training split's chance optima again and again, so a
    # few co-selections beat the permutation null even without signal. The
    # community tests must then reject every group.
    assert n_kept <= 10, result.network.edges
    assert n_kept <= 0.2 * n_candidates, result.network.edges
    assert result.communities.communities.empty, result.communities.communities


def test_chain_writes_every_output(shared_data, tmp_path):
    path = shared_data / "gametes" / "heterogeneity_r75" / "het_r75_01.tsv.gz"
    store, truth = load_gametes(path, model0_fraction=0.75)
    case_only = store.subset(sample_index=np.flatnonzero(store.samples["status"] == 1)[:100])
    case_only = GenotypeStore(
        case_only.dosages[1:], case_only.variants.iloc[1:].reset_index(drop=True), case_only.samples
    )
    run_chain(store, recovery_config(), case_only=case_only, truth=truth, output_dir=tmp_path)
    for name in (
        "split/samples.tsv",
        "ga/selections.tsv",
        "network/nodes.tsv",
        "network/edges.tsv",
        "network/network.graphml",
        "communities/communities.tsv",
        "crs/crs.tsv",
        "crs/community_stats.tsv",
        "subtypes/subtypes.tsv",
        "subtypes/profiles.tsv",
        "subtypes/agreement.tsv",
    ):
        assert (tmp_path / name).exists(), name
    scores = pd.read_csv(tmp_path / "crs" / "crs.tsv", sep="\t")
    assert set(scores["cohort_part"]) == {"training", "validation", "case_only"}
    assert (scores["cohort_part"] == "case_only").sum() == 100
