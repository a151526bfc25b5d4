"""Recovery rate of each network edge weighting on the GAMETES reference files.

For each heterogeneity (r50, r75), pure three-way and XOR-3 file the script
runs the in-process chain once (split, scan, GA) with the recovery tests'
configuration, then reruns network -> communities -> CRS -> subtypes on the
same GA selections with each weighting of ``network.weighting``. It prints,
per weighting and file group, in how many files every planted group formed
its own community with no noise variant, the median adjusted Rand index of
the case subtypes (heterogeneity files) and the mean seconds of the network
stage.

Usage::

    .venv/bin/python bench/network_weightings.py ../shared/data/gametes
"""

from __future__ import annotations

import argparse
import copy
import logging
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY / "tests"))

from test_recovery import load_gametes, recovery_config  # noqa: E402

from fcsnet.chain import run_chain  # noqa: E402
from fcsnet.network import WEIGHTINGS  # noqa: E402

GROUPS = {
    "heterogeneity_r50": ("heterogeneity_r50/*.tsv.gz", 0.5),
    "heterogeneity_r75": ("heterogeneity_r75/*.tsv.gz", 0.75),
    "epistasis_3way": ("epistasis_3way/epi3_*.tsv.gz", None),
    "xor3": ("xor/xor3_*.tsv.gz", None),
}


def clean_recovery(result, truth) -> bool:
    """Check that every planted variant group is exactly one reported community."""
    communities = result.communities.communities
    found = [set(group["variant_id"]) for _, group in communities.groupby("community")]
    planted = truth[truth["record"] == "variant"].groupby("group")["id"].apply(set)
    if set(planted.index) == {"M0"} or len(planted) == 1:
        return set(planted.iloc[0]) in found
    return all(members in found for members in planted)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("gametes", type=Path, help="the gametes/ folder of the reference data")
    arguments = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)

    rows = []
    for group, (pattern, fraction) in GROUPS.items():
        for path in sorted(arguments.gametes.glob(pattern)):
            store, truth = load_gametes(path, model0_fraction=fraction)
            if fraction is None:
                # The triple's variants are one group whatever their model prefix.
                truth["group"] = "M0"
            config = recovery_config()
            first = run_chain(store, config)
            for weighting in WEIGHTINGS:
                variant = copy.deepcopy(config)
                variant["network"]["weighting"] = weighting
                started = time.perf_counter()
                result = run_chain(
                    store, variant, truth=truth, samples=first.samples, selections=first.selections
                )
                elapsed = time.perf_counter() - started
                agreement = result.agreement.set_index("measure")
                ari = (
                    float(agreement.loc["subtype_ari", "value"])
                    if "subtype_ari" in agreement.index
                    else np.nan
                )
                rows.append(
                    {
                        "group": group,
                        "file": path.name,
                        "weighting": weighting,
                        "clean": clean_recovery(result, truth),
                        "ari": ari,
                        "network_seconds": result.seconds["network"],
                        "downstream_seconds": elapsed,
                    }
                )
            print(f"{path.name}: GA {first.seconds['ga']:.1f} s", file=sys.stderr, flush=True)
    table = pd.DataFrame(rows)
    summary = table.groupby(["weighting", "group"]).agg(
        clean=("clean", "sum"),
        files=("clean", "size"),
        median_ari=("ari", "median"),
        network_seconds=("network_seconds", "mean"),
    )
    print(summary.round(3).to_string())


if __name__ == "__main__":
    main()
