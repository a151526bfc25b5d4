"""Recovery benchmark of fcsnet and its peers on GAMETES genotype tables.

For every table and method the harness writes one row. The row lists the
predictive variants the method reported and, for community methods, whether
each planted group landed in its own community with no noise variant. It
also gives the adjusted Rand index of the case subtypes against the
simulated subgroups (heterogeneity files), the interaction rank of each
planted pair and triple, wall time and peak memory.

Methods (``--methods``):

``fcsnet``
    The in-process chain (:func:`fcsnet.chain.run_chain`) with the schema
    defaults, updated by ``--fcsnet-overrides``.
``faithful``
    The same chain configured like the original FCS-Net method at a reduced
    budget: decision-tree fitness, the best subset of each run, co-selection
    count as edge weight with no significance filter, greedy-modularity
    communities with no pruning or validation test, no attention stage.
``multisurf``
    ``skrebate.MultiSURF`` variant ranking; a variant counts as found when it
    is among the top ``n_predictive`` ranked variants.
``gaopt``
    One ``sklearn_genetic.GAFeatureSelectionCV`` run with a decision tree,
    population and generations capped (see :data:`GAOPT_SETTINGS`); a
    variant counts as found when the selected set contains it.
``plink``
    ``plink1.9 --epistasis`` (logistic regression with an interaction term,
    ``--fast-epistasis`` above 1,000 SNPs) on a .bed/.bim/.fam copy of the
    table; pairs ranked by p-value. A variant counts as found when it is in
    one of the top g pairs, g the number of planted pairs.

Rows are shuffled with ``--seed`` before anything else, because GAMETES
files are sorted by class and subgroup. Every method then gets the same QC'd
genotypes (schema defaults with the call-rate filters off, see
:data:`HARNESS_QC`) and runs on ``--threads`` threads (default 1).

Every (file, method) runs in its own Python subprocess, so the reported peak
resident memory (``ru_maxrss`` of that process and of its children, such as
plink) belongs to one method. It includes the interpreter and the imported
libraries. ``seconds`` is the wall time of the method's own work, without
reading the table and QC, which are the same for every method.

Usage::

    .venv/bin/python bench/recovery.py run ../shared/data/gametes/xor \\
        --methods fcsnet,multisurf,plink --output /tmp/recovery.tsv
    .venv/bin/python bench/recovery.py summarize /tmp/recovery.tsv
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger("bench.recovery")

METHODS = ("fcsnet", "faithful", "multisurf", "gaopt", "plink")
TABLE_SUFFIXES = (".tsv.gz", ".tsv", ".txt", ".txt.gz")
PREDICTIVE_NAME = re.compile(r"^M(\d+)P(\d+)$")
SUBGROUP_RATIO = re.compile(r"het(?:erogeneity)?_r(\d+)")

# The GAMETES missing-data files have 10 % or 50 % of calls missing on every
# SNP and sample, so the default call-rate filters (0.95) would remove every
# SNP. The harness turns both off for every method; MAF and Hardy-Weinberg
# filters keep their defaults.
HARNESS_QC = {"min_variant_call_rate": 0.0, "min_sample_call_rate": 0.0}

# The original method at a reduced budget: size limits 2, 4, 6 with 10 runs
# each, population 60, 20 generations, tournament 6, crossover 0.8,
# mutation 0.2, no elitism. The original used size limits 1-10 with 75 runs
# each, population 100 and 30 generations. With the decision-tree fitness
# even the reduced budget takes minutes per 20-SNP file.
# fcsnet's own crossover and mutation operators replace the original's
# tail-swap crossover and bit-flip mutation.
FAITHFUL_OVERRIDES = {
    "scan": {"enabled": False},
    "ga": {
        "fitness": "tree",
        "fitness_options": {"min_samples_split": 0.05},
        "size_limits": [2, 4, 6],
        "n_runs": 10,
        "population_size": 60,
        "n_generations": 20,
        "crossover_rate": 0.8,
        "mutation_rate": 0.2,
        "tournament_size": 6,
        "elitism": 0,
        "early_stopping_generations": 0,
        "n_best_subsets": 1,
        "max_initial_size": 6,
        "guide": False,
    },
    "network": {
        "subsets": "best",
        "min_selections": 1,
        "weighting": "count",
        # fdr 1.0 keeps every candidate edge because every q-value is at
        # most 1. The hypergeometric null is the cheapest way to fill the columns.
        "fdr": 1.0,
        "null_model": "hypergeometric",
    },
    "communities": {
        "method": "greedy",
        "n_seeds": 1,
        "consensus_threshold": 0.5,
        "prune": False,
        "significance": "none",
        "min_size": 2,
        "min_relative_strength": 0.0,
    },
    "attention": {"enabled": False},
}

# GAFeatureSelectionCV is slow (about 200 s for 10 generations of 50 on
# 1,000 SNPs), so its budget is capped well below its defaults (population
# 50, 80 generations). Its mutation probability is also its per-bit flip
# rate, so the default 0.8 is lowered to the original method's 0.2.
GAOPT_SETTINGS = {
    "population_size": 30,
    "generations": 15,
    "crossover_probability": 0.8,
    "mutation_probability": 0.2,
    "tournament_size": 3,
    "max_features": 6,
    "cv": 3,
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


# ---------------------------------------------------------------------------
# Input: tables, truth, shuffling and QC


def list_tables(paths: list[str]) -> list[Path]:
    """Expand folders into their genotype tables (sorted), keep files as given, drop repeats."""
    tables = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            found = sorted(p for p in path.rglob("*") if p.name.endswith(TABLE_SUFFIXES))
            if not found:
                raise SystemExit(
                    f"error: folder {path} contains no genotype table ({TABLE_SUFFIXES})"
                )
            tables.extend(found)
        elif path.is_file():
            tables.append(path)
        else:
            raise SystemExit(f"error: input {path} not found")
    return list(dict.fromkeys(tables))


def truth_groups(variant_ids: list[str]) -> dict[str, list[str]]:
    """Group the predictive variants (``M<model>P<locus>``) by model."""
    groups: dict[str, list[str]] = {}
    for variant in variant_ids:
        match = PREDICTIVE_NAME.match(variant)
        if match:
            groups.setdefault(f"M{match.group(1)}", []).append(variant)
    return groups


def subgroup_truth(path: Path, status: np.ndarray) -> pd.Series | None:
    """Return the true model of each row of a heterogeneity file, else None.

    Rows are sorted cases first, then controls, and within each class the
    first r % of rows come from model 0 (r from the folder or file name,
    e.g. ``heterogeneity_r75`` or ``het_r75_01``).
    """
    match = SUBGROUP_RATIO.search(path.parent.name) or SUBGROUP_RATIO.search(path.name)
    if match is None:
        return None
    share = int(match.group(1)) / 100
    groups = np.empty(len(status), dtype=object)
    for label in (1, 0):
        rows = np.flatnonzero(status == label)
        n_first = int(round(share * len(rows)))
        groups[rows[:n_first]] = "M0"
        groups[rows[n_first:]] = "M1"
    return pd.Series(groups, index=[f"row{index}" for index in range(len(status))])


def load_cohort(path: Path, seed: int, qc_options: dict):
    """Read a table, shuffle its rows with ``seed`` and apply QC.

    Samples keep the name ``row<i>`` of their original row, so the subgroup
    truth read off the original order still applies after the shuffle.

    Returns
    -------
    store : fcsnet.store.GenotypeStore
        QC'd genotypes, samples in shuffled order.
    groups : dict
        Predictive variants of each model, as in the input table.
    subgroups : pandas.Series or None
        True model of every sample (heterogeneity files only).
    """
    from fcsnet.io.table import read_table_genotypes
    from fcsnet.qc import run_qc
    from fcsnet.store import GenotypeStore

    raw = read_table_genotypes(path)
    status = np.asarray(raw.status).astype(np.int8)
    subgroups = subgroup_truth(path, status)
    order = np.random.default_rng(seed).permutation(len(status))
    samples = pd.DataFrame(
        {"sample_id": np.asarray(raw.sample_ids, dtype=object)[order], "status": status[order]}
    )
    store = GenotypeStore(np.ascontiguousarray(raw.dosages[:, order]), raw.variants, samples)
    store, _ = run_qc(store, qc_options)
    groups = truth_groups(raw.variants["variant_id"].astype(str).tolist())
    return store, groups, subgroups


# ---------------------------------------------------------------------------
# Methods. Each returns a dict with some of: found (list of variant ids),
# communities (variant id -> community), ari, pair_ranks / triple_ranks
# (group -> 1-based rank or None), variant_rank_max, note.


def run_fcsnet(store, groups, subgroups, overrides: dict, seed: int) -> dict:
    """Run the fcsnet chain and read recovery off its network, communities and rankings."""
    from fcsnet.chain import run_chain
    from fcsnet.config import default_config

    config = default_config({**overrides, "seed": seed})
    truth = None
    if subgroups is not None:
        truth = pd.DataFrame(
            {"record": "sample", "id": subgroups.index.astype(str), "group": subgroups.to_numpy()}
        )
    result = run_chain(store, config, truth=truth)
    communities = result.communities.communities
    measures = {
        "found": result.network.nodes["variant_id"].astype(str).tolist(),
        "communities": dict(
            zip(communities["variant_id"].astype(str), communities["community"], strict=True)
        ),
        "ari": np.nan,
        "note": "stage seconds "
        + ", ".join(f"{stage} {value:.1f}" for stage, value in result.seconds.items()),
    }
    if result.agreement is not None:
        ari = result.agreement.loc[result.agreement["measure"] == "subtype_ari", "value"]
        if len(ari):
            measures["ari"] = float(ari.iloc[0])
    if result.interactions is not None:
        pairs, triples = result.interactions
        ranked_pairs = [
            frozenset((str(a), str(b)))
            for a, b in zip(pairs["variant_a"], pairs["variant_b"], strict=True)
        ]
        ranked_triples = [frozenset(str(text).split(",")) for text in triples["variant_ids"]]
        measures["pair_ranks"] = rank_groups(groups, ranked_pairs, order=2)
        measures["triple_ranks"] = rank_groups(groups, ranked_triples, order=3)
    elif config["attention"]["enabled"]:
        # No community, so the attention stage ranked nothing.
        measures["pair_ranks"] = rank_groups(groups, [], order=2)
        measures["triple_ranks"] = rank_groups(groups, [], order=3)
    return measures


def rank_groups(groups: dict, ranked: list[frozenset], *, order: int) -> dict:
    """Return the 1-based position of each planted group of ``order`` variants in ``ranked``."""
    position = {}
    for rank, members in enumerate(ranked, start=1):
        position.setdefault(members, rank)
    return {
        name: position.get(frozenset(members))
        for name, members in groups.items()
        if len(members) == order
    }


def genotype_matrix(store) -> np.ndarray:
    """Return float genotypes, shape (n_samples, n_variants), NaN for a missing call."""
    dosages = np.asarray(store.dosages).astype(np.float64)
    dosages[dosages < 0] = np.nan
    return dosages.T


def run_multisurf(store, groups, seed: int) -> dict:
    """Rank variants with MultiSURF; the top ``n_predictive`` count as found."""
    from skrebate import MultiSURF

    variant_ids = store.variants["variant_id"].astype(str).to_numpy()
    status = store.samples["status"].to_numpy().astype(int)
    model = MultiSURF(n_jobs=1).fit(genotype_matrix(store), status)
    ranking = variant_ids[np.argsort(-model.feature_importances_, kind="stable")]
    predictive = [variant for members in groups.values() for variant in members]
    rank_of = {variant: rank for rank, variant in enumerate(ranking, start=1)}
    present = [rank_of[variant] for variant in predictive if variant in rank_of]
    return {
        "found": ranking[: len(predictive)].tolist(),
        "variant_rank_max": max(present) if present else None,
    }


def run_gaopt(store, seed: int) -> dict:
    """Select variants with one capped GAFeatureSelectionCV run on a decision tree."""
    import random

    from sklearn.model_selection import StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier
    from sklearn_genetic import GAFeatureSelectionCV

    # NOTE: GAFeatureSelectionCV (0.12) takes no random_state and draws from
    # the global random and numpy generators. This worker process makes only
    # this one run, so seeding them here touches nothing else.
    random.seed(seed)
    np.random.seed(seed % 2**32)
    settings = dict(GAOPT_SETTINGS)
    cv = StratifiedKFold(settings.pop("cv"), shuffle=True, random_state=seed)
    variant_ids = store.variants["variant_id"].astype(str).to_numpy()
    estimator = DecisionTreeClassifier(
        class_weight="balanced", min_samples_split=0.05, random_state=seed
    )
    search = GAFeatureSelectionCV(
        estimator, cv=cv, scoring="roc_auc", verbose=False, n_jobs=1, **settings
    )
    search.fit(genotype_matrix(store), store.samples["status"].to_numpy().astype(int))
    selected = variant_ids[np.asarray(search.support_, dtype=bool)].tolist()
    return {"found": selected, "note": f"selected {len(selected)}"}


def run_plink(store, groups, workdir: Path, threads: int) -> dict:
    """Rank all variant pairs with ``plink1.9 --epistasis`` (``--fast-epistasis`` above 1,000 SNPs)."""
    from bed_reader import to_bed

    executable = shutil.which("plink1.9") or shutil.which("plink")
    if executable is None:
        raise RuntimeError("plink1.9 not found on PATH; install the Debian package plink1.9")
    variant_ids = store.variants["variant_id"].astype(str).tolist()
    sample_ids = store.samples["sample_id"].astype(str).tolist()
    status = store.samples["status"].to_numpy().astype(int)
    prefix = workdir / "cohort"
    to_bed(
        prefix.with_suffix(".bed"),
        genotype_matrix(store).astype(np.float32),
        properties={
            "fid": sample_ids,
            "iid": sample_ids,
            "sid": variant_ids,
            "chromosome": ["1"] * len(variant_ids),
            "bp_position": list(range(1, len(variant_ids) + 1)),
            "pheno": (status + 1).astype(str).tolist(),
        },
    )
    n_pairs = len(variant_ids) * (len(variant_ids) - 1) // 2
    # --epi1 1 reports every pair. Above a million pairs only p < 1e-4 is
    # written to keep the output small, so an unreported pair has no rank.
    mode = "--epistasis" if len(variant_ids) <= 1000 else "--fast-epistasis"
    threshold = "1" if n_pairs <= 1_000_000 else "0.0001"
    command = [
        executable,
        "--bfile",
        str(prefix),
        mode,
        "--epi1",
        threshold,
        "--allow-no-sex",
        "--threads",
        str(threads),
        "--memory",
        "2000",
        "--out",
        str(prefix),
    ]
    completed = subprocess.run(command, capture_output=True, text=True)
    if completed.returncode != 0:
        raise RuntimeError(
            f"plink1.9 failed with exit status {completed.returncode}: {completed.stdout[-500:]}"
        )
    output = prefix.with_suffix(".epi.cc")
    table = pd.read_csv(output, sep=r"\s+")
    table = table.sort_values(["P", "STAT"], ascending=[True, False], kind="stable")
    ranked = [
        frozenset((str(a), str(b))) for a, b in zip(table["SNP1"], table["SNP2"], strict=True)
    ]
    pair_ranks = rank_groups(groups, ranked, order=2)
    # A variant counts as found when it is in one of the top g pairs, g the
    # number of planted pairs; without planted pairs plink finds nothing.
    n_top = sum(len(members) == 2 for members in groups.values())
    found = sorted({variant for pair in ranked[:n_top] for variant in pair}) if n_top else None
    return {
        "found": found,
        "pair_ranks": pair_ranks,
        "note": f"{mode} {len(table)} of {n_pairs} pairs reported",
    }


# ---------------------------------------------------------------------------
# One (file, method) run inside a worker process


def measure(path: Path, method: str, options: dict) -> dict:
    """Run one method on one table and return its output row."""
    store, groups, subgroups = load_cohort(path, options["seed"], options["qc"])
    variant_ids = set(store.variants["variant_id"].astype(str))
    start = time.perf_counter()
    if method in ("fcsnet", "faithful"):
        overrides = options["fcsnet_overrides"] if method == "fcsnet" else options["faithful"]
        measures = run_fcsnet(store, groups, subgroups, overrides, options["seed"])
    elif method == "multisurf":
        measures = run_multisurf(store, groups, options["seed"])
    elif method == "gaopt":
        measures = run_gaopt(store, options["seed"])
    elif method == "plink":
        with tempfile.TemporaryDirectory(prefix="fcsnet-plink-") as workdir:
            measures = run_plink(store, groups, Path(workdir), options.get("threads", 1))
    else:
        raise ValueError(f"unknown method {method!r}; expected one of {METHODS}")
    seconds = time.perf_counter() - start
    row = summarize_measures(groups, variant_ids, measures, subgroups is not None)
    row.update({"n_variants": len(variant_ids), "seconds": round(seconds, 3)})
    lost = sorted(v for members in groups.values() for v in members if v not in variant_ids)
    if lost:
        row["note"] = f"QC removed {','.join(lost)}; " + row.get("note", "")
    return row


def summarize_measures(groups: dict, variant_ids: set, measures: dict, has_subgroups: bool) -> dict:
    """Turn a method's raw measures into the recovery columns of the output."""
    predictive = [variant for members in groups.values() for variant in members]
    reported = measures.get("found")
    found = [variant for variant in predictive if variant in set(reported or [])]
    communities = measures.get("communities")
    multi = {name: members for name, members in groups.items() if len(members) > 1}
    groups_found = sum(set(members) <= set(found) for members in multi.values())
    # A method that reports no variant set for this file (plink without a
    # planted pair) gets NA rather than a miss.
    row = {
        "n_predictive": len(predictive),
        "n_found": len(found) if reported is not None else None,
        "found": ",".join(found),
        "all_found": len(found) == len(predictive) if reported is not None else None,
        "n_groups": len(multi),
        "n_groups_found": groups_found if reported is not None else None,
        "n_groups_clean": pd.NA,
        "groups_clean": "",
        "subtype_ari": measures.get("ari", np.nan) if has_subgroups else np.nan,
        "pair_rank": worst_rank(measures.get("pair_ranks")),
        "pair_top": holds_top(measures.get("pair_ranks")),
        "triple_rank": worst_rank(measures.get("triple_ranks")),
        "triple_top": holds_top(measures.get("triple_ranks")),
        "variant_rank_max": measures.get("variant_rank_max"),
        "note": measures.get("note", ""),
    }
    if communities is not None and multi:
        sizes = pd.Series(list(communities.values()), dtype="int64").value_counts()
        clean = {}
        for name, members in multi.items():
            landed = {communities.get(variant) for variant in members}
            clean[name] = (
                len(landed) == 1
                and None not in landed
                and int(sizes[next(iter(landed))]) == len(members)
            )
        row["n_groups_clean"] = sum(clean.values())
        row["groups_clean"] = ";".join(
            f"{name}:{'yes' if value else 'no'}" for name, value in clean.items()
        )
    return row


def worst_rank(ranks: dict | None):
    """Return the largest rank over the planted groups, None when one is unranked or none exist.

    With g planted groups of one order, a value of g means they hold the top g places.
    """
    if not ranks:
        return None
    if any(rank is None for rank in ranks.values()):
        return None
    return max(ranks.values())


def holds_top(ranks: dict | None):
    """Return whether the g planted groups of one order hold the top g places (None: not ranked)."""
    if not ranks:
        return None
    return worst_rank(ranks) == len(ranks)


def worker_main(args: argparse.Namespace) -> None:
    """Run one (file, method) and print its row as one JSON line on stdout."""
    options = json.loads(args.options)
    row = measure(Path(args.file), args.method, options)
    usage_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    usage_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    # Linux reports ru_maxrss in KiB.
    row["peak_rss_mb"] = round(max(usage_self, usage_children) / 1024, 1)
    print("RESULT " + json.dumps(row, default=json_value), flush=True)


def json_value(value):
    if value is pd.NA:
        return None
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


# ---------------------------------------------------------------------------
# Driver


def run_main(args: argparse.Namespace) -> None:
    """Run every requested method on every table and write the output TSV after each row."""
    from fcsnet.config import default_config
    from fcsnet.store import write_table

    methods = [name.strip() for name in args.methods.split(",") if name.strip()]
    unknown = [name for name in methods if name not in METHODS]
    if unknown:
        raise SystemExit(f"error: unknown method(s) {unknown}; choose from {', '.join(METHODS)}")
    fcsnet_overrides = json.loads(args.fcsnet_overrides) if args.fcsnet_overrides else {}
    faithful = merge_overrides(FAITHFUL_OVERRIDES, json.loads(args.faithful_overrides or "{}"))
    qc_overrides = merge_overrides(HARNESS_QC, json.loads(args.qc_overrides or "{}"))
    qc = default_config({"qc": qc_overrides})["qc"]
    options = {
        "seed": args.seed,
        "qc": qc,
        "fcsnet_overrides": fcsnet_overrides,
        "faithful": faithful,
        "threads": args.threads,
    }
    tables = list_tables(args.inputs)
    rows = []
    if args.append and Path(args.output).exists():
        previous = pd.read_csv(args.output, sep="\t", na_values=["NA"], keep_default_na=False)
        rows = previous.astype(object).where(previous.notna(), None).to_dict("records")
    done = {(str(row["file"]), str(row["method"])) for row in rows}
    logger.info("%d tables x %d methods -> %s", len(tables), len(methods), args.output)
    for path in tables:
        for method in methods:
            if (path.name, method) in done:
                continue
            row = run_worker(path, method, options, args.timeout)
            rows.append(row)
            done.add((path.name, method))
            logger.info(
                "%s %s: %s, found %s/%s, clean %s, pair rank %s, triple rank %s, %.1f s",
                path.name,
                method,
                row["status"],
                row.get("n_found"),
                row.get("n_predictive"),
                row.get("groups_clean") or "-",
                row.get("pair_rank"),
                row.get("triple_rank"),
                row.get("seconds") or float("nan"),
            )
            write_table(output_table(rows), args.output)


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


def output_table(rows: list[dict]) -> pd.DataFrame:
    """Build the output table with nullable integer and boolean columns (NA when not measured)."""
    table = pd.DataFrame(rows).reindex(columns=OUTPUT_COLUMNS)
    for column in INTEGER_COLUMNS:
        table[column] = pd.to_numeric(table[column], errors="coerce").astype("Int64")
    for column in BOOLEAN_COLUMNS:
        values = table[column].map(
            lambda value: (
                pd.NA
                if value is None or str(value) in ("", "NA") or pd.isna(value)
                else str(value).lower() == "true"
            )
        )
        table[column] = values.astype("boolean")
    for column in ("subtype_ari", "seconds", "peak_rss_mb"):
        table[column] = pd.to_numeric(table[column], errors="coerce")
    for column in ("found", "groups_clean", "note"):
        table[column] = table[column].fillna("").astype(str)
    return table


def merge_overrides(base: dict, update: dict) -> dict:
    """Return a copy of ``base`` with ``update`` merged in, nested dicts key by key."""
    merged = json.loads(json.dumps(base))
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = merge_overrides(merged[key], value)
        else:
            merged[key] = value
    return merged


def run_worker(path: Path, method: str, options: dict, timeout: float) -> dict:
    """Run one (file, method) in a fresh Python process and return its row."""
    base = {"file": path.name, "category": path.parent.name, "method": method}
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "worker",
        "--file",
        str(path),
        "--method",
        method,
        "--options",
        json.dumps(options),
    ]
    # One thread per method keeps the methods comparable, and torch's
    # default of one thread per core is many times slower on a busy machine.
    threads = str(options["threads"])
    environment = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "OPENBLAS_NUM_THREADS": threads,
    }
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=environment
        )
    except subprocess.TimeoutExpired:
        return {**base, "status": "timeout", "note": f"stopped after {timeout:g} s"}
    result = [line for line in completed.stdout.splitlines() if line.startswith("RESULT ")]
    if completed.returncode != 0 or not result:
        lines = [line for line in completed.stderr.splitlines() if line.strip()]
        message = lines[-1] if lines else f"exit status {completed.returncode}"
        logger.warning("%s %s failed: %s", path.name, method, message)
        return {**base, "status": "error", "note": message[:300]}
    return {**base, "status": "ok", **json.loads(result[-1][len("RESULT ") :])}


def parse_arguments(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="run methods on GAMETES tables and write a TSV")
    run.add_argument("inputs", nargs="+", help="GAMETES tables, or folders searched recursively")
    run.add_argument(
        "--methods",
        default=",".join(METHODS),
        help=f"comma-separated methods to run (default: all of {', '.join(METHODS)})",
    )
    run.add_argument("--output", required=True, help="output TSV, rewritten after every row")
    run.add_argument(
        "--seed", type=int, default=0, help="seed of the row shuffle and of every method"
    )
    run.add_argument(
        "--fcsnet-overrides",
        default="",
        help='JSON config overrides of the fcsnet method, e.g. \'{"ga": {"n_runs": 20}}\'',
    )
    run.add_argument(
        "--qc-overrides",
        default="",
        help="JSON keys of the qc config section applied before every method, e.g. '{\"hwe_min_p\": 0}'",
    )
    run.add_argument(
        "--faithful-overrides", default="", help="JSON merged over the faithful configuration"
    )
    run.add_argument(
        "--timeout", type=float, default=1800.0, help="seconds one (file, method) may run"
    )
    run.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads of each method (OMP/MKL/OpenBLAS, torch, plink --threads); default 1",
    )
    run.add_argument(
        "--append",
        action="store_true",
        help="keep the rows already in --output and skip their (file, method)",
    )

    summary = commands.add_parser("summarize", help="print Markdown tables of an output TSV")
    summary.add_argument("tsv", nargs="+", help="output TSVs of 'run'")
    summary.add_argument(
        "--reference", default="fcsnet", help="method whose time and memory are 1.0"
    )

    worker = commands.add_parser("worker", help="internal: one (file, method) run")
    worker.add_argument("--file", required=True)
    worker.add_argument("--method", required=True, choices=METHODS)
    worker.add_argument("--options", required=True)
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_arguments(argv)
    logging.basicConfig(
        level=logging.WARNING if args.command == "worker" else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    if args.command == "worker":
        worker_main(args)
    elif args.command == "run":
        run_main(args)
    else:
        from recovery_summary import print_summary

        print_summary(args.tsv, args.reference)


if __name__ == "__main__":
    main()
