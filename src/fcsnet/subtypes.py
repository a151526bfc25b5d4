"""Case subtypes from community risk score profiles.

Cases of every cohort part (training, validation, case-only) are clustered
on their CRS columns, each standardised over the cases. ``k-means`` picks
the number of subtypes by the mean silhouette, ``gmm`` (a Gaussian mixture
with full covariances) by the BIC, unless ``n_subtypes`` is set. The search
runs from 2 to ``max_subtypes`` but stops at one more than the number of
communities (one subtype per community plus one with no elevated score):
the ``cells`` CRS takes few distinct values, and on such point masses the
silhouette keeps rising with k.

A case-only individual whose CRS profile has NA (a community whose variants
the case-only cohort lacks) is left out of the clustering and gets subtype NA;
the count is logged. NA scores of training or validation cases are an error.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd

from fcsnet.errors import ConfigError, InputError

logger = logging.getLogger(__name__)

METHODS = ("kmeans", "gmm")


@dataclass
class SubtypeResult:
    """Subtype of every case and the mean CRS profile of each subtype.

    Attributes
    ----------
    subtypes : pandas.DataFrame
        ``sample_id, cohort_part, subtype`` (subtypes numbered 1.. by size,
        Int64; NA for case-only individuals with an NA CRS).
    profiles : pandas.DataFrame
        ``subtype, n_cases, crs_<community>...`` (mean CRS, original scale).
    selection : pandas.DataFrame
        ``n_subtypes, silhouette, bic`` of each k tried.
    """

    subtypes: pd.DataFrame
    profiles: pd.DataFrame
    selection: pd.DataFrame


def _cluster(features: np.ndarray, method: str, k: int, seed: int) -> tuple[np.ndarray, float]:
    from sklearn.cluster import KMeans
    from sklearn.mixture import GaussianMixture

    if method == "kmeans":
        model = KMeans(n_clusters=k, n_init=10, random_state=seed).fit(features)
        return model.labels_, np.nan
    model = GaussianMixture(
        n_components=k, covariance_type="full", n_init=3, random_state=seed, reg_covar=1e-4
    ).fit(features)
    return model.predict(features), float(model.bic(features))


def find_subtypes(scores: pd.DataFrame, params: dict, *, seed) -> SubtypeResult:
    """Cluster the cases of ``scores`` (the crs.tsv table) on their CRS profiles.

    Parameters
    ----------
    scores : pandas.DataFrame
        ``sample_id, cohort_part, status, crs_<community>...``.
    params : dict
        The ``subtypes`` config section: ``method`` ('kmeans' or 'gmm'),
        ``n_subtypes`` (0 = choose), ``max_subtypes``.
    seed : int
    """
    method = params["method"]
    if method not in METHODS:
        raise ConfigError(f"subtypes.method must be one of {METHODS}; got {method!r}")
    crs_columns = [column for column in scores.columns if str(column).startswith("crs_")]
    all_cases = scores[scores["status"] == 1].reset_index(drop=True)
    unscored = all_cases[crs_columns].isna().any(axis=1).to_numpy()
    wrong = unscored & (all_cases["cohort_part"].astype(str) != "case_only").to_numpy()
    if wrong.any():
        raise InputError(
            f"CRS table has missing scores for {int(wrong.sum())} training or validation cases "
            f"(e.g. {all_cases['sample_id'][wrong].head(3).tolist()}); rerun the crs step"
        )
    if unscored.any():
        logger.warning(
            "subtypes: %d case-only individuals have an NA community risk score (their cohort "
            "lacks variants of a community); they get subtype NA",
            int(unscored.sum()),
        )
    cases = all_cases[~unscored].reset_index(drop=True)
    result = _subtypes_of_scored(cases, crs_columns, params, seed)
    unassigned = pd.DataFrame(
        {
            "sample_id": all_cases["sample_id"][unscored],
            "cohort_part": all_cases["cohort_part"][unscored],
            "subtype": pd.array([pd.NA] * int(unscored.sum()), dtype="Int64"),
        }
    )
    subtypes = result.subtypes.astype({"subtype": "Int64"})
    subtypes.index = np.flatnonzero(~unscored)
    subtypes = pd.concat([subtypes, unassigned]).sort_index().reset_index(drop=True)
    return SubtypeResult(subtypes, result.profiles, result.selection)


def _subtypes_of_scored(
    cases: pd.DataFrame, crs_columns: list[str], params: dict, seed
) -> SubtypeResult:
    """Cluster ``cases`` (no NA in ``crs_columns``); see :func:`find_subtypes`."""
    from sklearn.metrics import silhouette_score
    from threadpoolctl import threadpool_limits

    method = params["method"]
    empty_selection = pd.DataFrame(columns=["n_subtypes", "silhouette", "bic"])
    if not crs_columns or len(cases) == 0:
        logger.warning(
            "subtypes: %s; every case is put in subtype 1",
            "there are no communities to score" if not crs_columns else "there are no cases",
        )
        subtypes = pd.DataFrame(
            {"sample_id": cases["sample_id"], "cohort_part": cases["cohort_part"], "subtype": 1}
        )
        profiles = pd.DataFrame(
            {"subtype": [1] if len(cases) else [], "n_cases": [len(cases)] if len(cases) else []}
        )
        return SubtypeResult(subtypes, profiles, empty_selection)
    values = cases[crs_columns].to_numpy(dtype=float)
    spread = values.std(axis=0)
    spread[spread == 0] = 1.0
    features = (values - values.mean(axis=0)) / spread

    n_distinct = len(np.unique(features, axis=0))
    requested = params["n_subtypes"]
    seed = int(seed) % (2**32)
    rows = []
    if requested:
        if requested > n_distinct:
            raise InputError(
                f"subtypes.n_subtypes = {requested} exceeds the {n_distinct} distinct case CRS profiles"
            )
        with threadpool_limits(1):
            labels, bic = _cluster(features, method, requested, seed)
        rows.append({"n_subtypes": requested, "silhouette": np.nan, "bic": bic})
    else:
        best = None
        for k in range(2, min(params["max_subtypes"], len(crs_columns) + 1, n_distinct) + 1):
            # One BLAS/OpenMP thread: k-means on a few thousand points is
            # slower with many threads on a shared machine.
            with threadpool_limits(1):
                labels_k, bic = _cluster(features, method, k, seed)
            if len(np.unique(labels_k)) < 2:
                continue
            silhouette = float(
                silhouette_score(
                    features, labels_k, sample_size=min(len(features), 2000), random_state=seed
                )
            )
            rows.append({"n_subtypes": k, "silhouette": silhouette, "bic": bic})
            score = silhouette if method == "kmeans" else -bic
            if best is None or score > best[0]:
                best = (score, labels_k)
        if best is None:
            logger.warning(
                "subtypes: fewer than two distinct case CRS profiles; every case is put in subtype 1"
            )
            labels = np.zeros(len(cases), dtype=int)
        else:
            labels = best[1]
    # Renumber 1.. by size, largest first.
    sizes = np.bincount(labels)
    order = np.argsort(-sizes, kind="stable")
    renumber = np.empty_like(order)
    renumber[order] = np.arange(1, len(order) + 1)
    labels = renumber[labels]
    logger.info(
        "subtypes: %d cases in %d subtypes (sizes %s) by %s",
        len(cases),
        len(sizes),
        sorted(sizes.tolist(), reverse=True),
        method,
    )

    subtypes = pd.DataFrame(
        {"sample_id": cases["sample_id"], "cohort_part": cases["cohort_part"], "subtype": labels}
    )
    profiles = cases[crs_columns].assign(subtype=labels).groupby("subtype").mean().reset_index()
    profiles.insert(1, "n_cases", np.bincount(labels)[profiles["subtype"]])
    return SubtypeResult(
        subtypes, profiles, pd.DataFrame(rows, columns=["n_subtypes", "silhouette", "bic"])
    )


def read_truth(path) -> pd.DataFrame:
    """Read a truth file with columns ``record`` ('variant' or 'sample'), ``id``, ``group``."""
    from fcsnet.store import read_table

    truth = read_table(path)
    missing = [column for column in ("record", "id", "group") if column not in truth.columns]
    if missing:
        raise InputError(
            f"truth file {path} lacks the columns {missing}; expected record, id, group"
        )
    truth["id"] = truth["id"].astype(str)
    truth["group"] = truth["group"].astype(str)
    return truth


def compare_with_truth(
    subtypes: pd.DataFrame, communities: pd.DataFrame, truth: pd.DataFrame
) -> pd.DataFrame:
    """Compare subtypes and communities with the planted truth.

    Returns a table with one ``subtype_ari`` row (adjusted Rand index of the
    case subtypes against the true sample groups, over the cases the truth
    names) and one ``variant_group`` row per planted variant group saying
    which communities its variants landed in and whether the group is
    recovered cleanly (all its variants in one community that holds no other
    variant).
    """
    from sklearn.metrics import adjusted_rand_score

    rows = []
    sample_truth = truth[truth["record"] == "sample"].set_index("id")["group"]
    matched = subtypes[
        subtypes["sample_id"].astype(str).isin(sample_truth.index) & subtypes["subtype"].notna()
    ]
    if len(matched):
        ari = adjusted_rand_score(
            sample_truth.loc[matched["sample_id"].astype(str)].to_numpy(),
            matched["subtype"].to_numpy(),
        )
        rows.append(
            {
                "measure": "subtype_ari",
                "group": "",
                "value": float(ari),
                "n": len(matched),
                "communities": "",
                "clean": "",
            }
        )
    else:
        logger.warning(
            "subtypes: the truth file names none of the subtyped cases; no adjusted Rand index"
        )
    community_of = dict(
        zip(communities["variant_id"].astype(str), communities["community"], strict=True)
    )
    sizes = communities["community"].value_counts()
    for group, members in truth[truth["record"] == "variant"].groupby("group"):
        landed = [community_of.get(variant) for variant in members["id"]]
        found = sorted({c for c in landed if c is not None})
        clean = len(found) == 1 and None not in landed and sizes[found[0]] == len(members)
        rows.append(
            {
                "measure": "variant_group",
                "group": str(group),
                "value": float(sum(c is not None for c in landed)) / len(members),
                "n": len(members),
                "communities": ",".join(str(c) for c in found),
                "clean": bool(clean),
            }
        )
    return pd.DataFrame(rows, columns=["measure", "group", "value", "n", "communities", "clean"])
