"""Benchmark of the GA stage: fitness speed, run cost, peers and recovery.

Measures, in one run on this machine:

1. Fitness evaluations per second of ``cells`` against 5-fold scikit-learn
   decision-tree AUC (the original evaluator) on the same subsets of a
   1,600-sample GAMETES file, and their mean AUC.
2. Wall time and peak memory of one GA run (population 100, 30
   generations) on the 10,000-SNP file, with and without the guide.
3. 100 GA runs on a heterogeneity file through Snakemake, beside
   sklearn-genetic-opt's GAFeatureSelectionCV with the same population and
   generations (a few peer runs, scaled to 100).
4. The pairwise scan on the 10,000-SNP file (50 million pairs) beside
   ``plink1.9 --fast-epistasis``.
5. Recovery of the planted interactions with and without the guide.

Usage::

    .venv/bin/python bench/ga_benchmark.py [--peer-runs 2] [--write-docs]

Needs ``plink1.9`` on PATH (Debian package plink1.9) and sklearn-genetic-opt
in the virtual environment (``.venv/bin/pip install sklearn-genetic-opt``;
it is not a dependency of fcsnet). Parts whose tool is missing are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPOSITORY = Path(__file__).resolve().parents[1]
DATA = REPOSITORY.parent / "shared" / "data" / "gametes"
HETEROGENEITY = DATA / "heterogeneity_r50" / "het_r50_01.tsv.gz"
MANY_SNPS = DATA / "many_snps"
RUN_PARAMS = {"population_size": 100, "n_generations": 30, "early_stopping_generations": 0}


def load_gametes(path, seed=0):
    table = pd.read_csv(path, sep="\t").sample(frac=1, random_state=seed).reset_index(drop=True)
    status = table.pop("Class").to_numpy()
    return table.to_numpy().T.astype(np.int8), status, list(table.columns)


def run_measured(command, cwd=None) -> tuple[float, float, str]:
    """Run a command; return its wall time (s), peak resident memory (MB) and stdout."""
    started = time.perf_counter()
    with tempfile.TemporaryFile(mode="w+") as stdout:
        process = subprocess.Popen(
            command, cwd=cwd, stdout=stdout, stderr=subprocess.STDOUT, text=True
        )
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - started
        stdout.seek(0)
        output = stdout.read()
    if process.returncode != 0:
        raise RuntimeError(
            f"{command[:3]} failed with exit code {process.returncode}:\n{output[-2000:]}"
        )
    return wall, usage.ru_maxrss / 1024, output


def run_part(name: str, *arguments) -> tuple[float, float, dict]:
    """Run one part of this script in a child process (for its own peak memory)."""
    wall, peak, output = run_measured(
        [sys.executable, __file__, "--part", name, *map(str, arguments)]
    )
    return wall, peak, json.loads(output.strip().splitlines()[-1])


# Parts run in child processes; each prints one JSON line.


def part_one_run(path: str, guide: str) -> dict:
    from fcsnet.ga.search import GeneticSelector
    from fcsnet.scan import guide_weights, scan

    dosages, status, names = load_gametes(path)
    started = time.perf_counter()
    weights = guide_weights(scan(dosages, status, names).variant_scores) if guide == "on" else None
    scanned = time.perf_counter()
    selector = GeneticSelector(3, **RUN_PARAMS, guide_weights=weights, random_state=0).fit(
        dosages, status
    )
    finished = time.perf_counter()
    best = [names[index] for index in selector.best_subset_]
    return {
        "scan_s": scanned - started,
        "ga_s": finished - scanned,
        "best": best,
        "evaluations": selector.n_evaluations_,
        "cache_hits": selector.n_cache_hits_,
    }


def part_scan(path: str) -> dict:
    from fcsnet.scan import scan

    dosages, status, names = load_gametes(path)
    started = time.perf_counter()
    result = scan(dosages, status, names, n_top=10)
    top = result.pairs.iloc[0]
    return {"scan_s": time.perf_counter() - started, "top": [top["variant_a"], top["variant_b"]]}


def part_peer(path: str, seed: str) -> dict:
    from sklearn.model_selection import StratifiedKFold
    from sklearn.tree import DecisionTreeClassifier
    from sklearn_genetic import GAFeatureSelectionCV

    dosages, status, names = load_gametes(path)
    search = GAFeatureSelectionCV(
        DecisionTreeClassifier(
            class_weight="balanced", min_samples_split=0.05, random_state=int(seed)
        ),
        cv=StratifiedKFold(5, shuffle=True, random_state=int(seed)),
        scoring="roc_auc",
        population_size=RUN_PARAMS["population_size"],
        generations=RUN_PARAMS["n_generations"],
        max_features=4,
        verbose=False,
        n_jobs=1,
    )
    # DEAP, which sklearn-genetic-opt runs on, draws from the global random modules.
    np.random.seed(int(seed))
    import random

    random.seed(int(seed))
    started = time.perf_counter()
    search.fit(dosages.T.astype(float), status)
    selected = [names[index] for index in np.flatnonzero(search.support_)]
    return {"run_s": time.perf_counter() - started, "best": selected}


def part_load(path: str) -> dict:
    dosages, _, _ = load_gametes(path)
    return {"shape": list(dosages.shape)}


PARTS = {"load": part_load, "one_run": part_one_run, "scan": part_scan, "peer": part_peer}


# Measurements in the main process.


def measure_evaluators() -> dict:
    from fcsnet.ga.fitness import make_evaluator

    dosages, status, names = load_gametes(HETEROGENEITY)
    rng = np.random.default_rng(0)
    pairs = [[names.index("M0P0"), names.index("M0P1")], [names.index("M1P0"), names.index("M1P1")]]
    subsets = []
    for _ in range(100):
        # Half the subsets hold a planted pair, as the subsets of a GA run
        # increasingly do; the rest are random.
        members = list(pairs[rng.integers(2)]) if rng.random() < 0.5 else []
        size = int(rng.integers(max(1, len(members)), 7))
        others = [index for index in rng.permutation(20) if index not in members]
        subsets.append(tuple(members + others[: size - len(members)]))
    tree = make_evaluator("tree", dosages, status, n_folds=5, seed=0)
    started = time.perf_counter()
    tree_auc = tree.evaluate(subsets)
    tree_rate = len(subsets) / (time.perf_counter() - started)
    cells_times = []
    for _ in range(20):
        cells = make_evaluator("cells", dosages, status, n_folds=5, seed=0)
        started = time.perf_counter()
        cells_auc = cells.evaluate(subsets)
        cells_times.append(time.perf_counter() - started)
    cells_rate = len(subsets) / float(np.median(cells_times))
    return {
        "n_subsets": len(subsets),
        "tree_rate": tree_rate,
        "cells_rate": cells_rate,
        "ratio": cells_rate / tree_rate,
        "tree_auc": float(tree_auc.mean()),
        "cells_auc": float(cells_auc.mean()),
    }


def measure_recovery(n_runs: int) -> list[dict]:
    from fcsnet.config import default_config
    from fcsnet.ga.runs import run_ga_batch
    from fcsnet.scan import guide_weights, scan

    cases = [
        ("many_snps/epi2_a1000_01", [3], [{"M0P0", "M0P1"}]),
        ("many_snps/epi2_a10000_01", [3], [{"M0P0", "M0P1"}]),
        ("heterogeneity_r50/het_r50_01", [2, 3, 4], [{"M0P0", "M0P1"}, {"M1P0", "M1P1"}]),
        ("heterogeneity_r75/het_r75_01", [2, 3, 4], [{"M0P0", "M0P1"}, {"M1P0", "M1P1"}]),
        ("epistasis_3way/epi3_01", [3, 4], [{"M0P0", "M0P1", "M0P2"}]),
        ("xor/xor3_01", [3, 4], [{"M0P1", "M0P2", "M0P3"}]),
    ]
    params = default_config()["ga"]
    rows = []
    for name, limits, groups in cases:
        dosages, status, names = load_gametes(DATA / f"{name}.tsv.gz")
        weights = guide_weights(scan(dosages, status, names).variant_scores)
        for guide in ("on", "off"):
            started = time.perf_counter()
            best = []
            for limit in limits:
                selections, _ = run_ga_batch(
                    dosages,
                    status,
                    names,
                    size_limit=limit,
                    run_indices=range(n_runs),
                    seed=0,
                    ga_params=params,
                    guide_weights=weights if guide == "on" else None,
                )
                best += [
                    set(ids.split(","))
                    for ids in selections.loc[selections["rank"] == 1, "variant_ids"]
                ]
            rows.append(
                {
                    "file": name,
                    "size_limits": ",".join(map(str, limits)),
                    "guide": guide,
                    "runs": len(best),
                    "found": " / ".join(
                        str(sum(group <= subset for subset in best)) for group in groups
                    ),
                    "seconds": time.perf_counter() - started,
                }
            )
            print(rows[-1], flush=True)
    return rows


def measure_workflow(workdir: Path) -> dict:
    (workdir / "config").mkdir(parents=True)
    (workdir / "config" / "cohorts.tsv").write_text(
        "cohort\tgenotypes\tformat\tphenotypes\tphenotype_column\tcase_only_genotypes\n"
        f"het\t{HETEROGENEITY}\ttable\t\t\t\n"
    )
    (workdir / "config" / "config.yaml").write_text(
        "cohorts: config/cohorts.tsv\nseed: 0\nsplit:\n  validation_fraction: 0\n"
        "ga:\n  n_runs: 100\n  runs_per_job: 25\n  size_limits: [4]\n"
        "  population_size: 100\n  n_generations: 30\n  early_stopping_generations: 0\n"
    )
    command = [
        str(Path(sys.executable).with_name("snakemake")),
        "--snakefile",
        str(REPOSITORY / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        "results/het/ga/selections.tsv",
    ]
    wall, _, _ = run_measured(command)
    batches = [
        pd.read_csv(path, sep="\t") for path in (workdir / "benchmarks/het/ga").glob("*.tsv")
    ]
    selections = pd.read_csv(workdir / "results/het/ga/selections.tsv", sep="\t")
    best = [set(ids.split(",")) for ids in selections.loc[selections["rank"] == 1, "variant_ids"]]
    return {
        "wall_s": wall,
        "ga_job_s": float(sum(batch["s"].iloc[0] for batch in batches)),
        "ga_peak_mb": float(max(batch["max_rss"].iloc[0] for batch in batches)),
        "pair0": sum({"M0P0", "M0P1"} <= subset for subset in best),
        "pair1": sum({"M1P0", "M1P1"} <= subset for subset in best),
        "command": ".venv/bin/snakemake --snakefile workflow/Snakefile --directory WORKDIR "
        + " ".join(command[5:]),
    }


def measure_plink(path: Path, workdir: Path) -> dict | None:
    plink = shutil.which("plink1.9")
    if plink is None:
        return None
    from bed_reader import to_bed

    dosages, status, names = load_gametes(path)
    values = dosages.T.astype(np.float32)
    values[values < 0] = np.nan
    prefix = workdir / "many_snps"
    n_samples = values.shape[0]
    to_bed(
        f"{prefix}.bed",
        values,
        properties={
            "iid": [f"row{index}" for index in range(n_samples)],
            "fid": [f"row{index}" for index in range(n_samples)],
            "sid": names,
            "chromosome": ["1"] * len(names),
            "bp_position": np.arange(1, len(names) + 1) * 1000,
            "pheno": np.where(status == 1, "2", "1"),
        },
    )
    command = [
        plink,
        "--bfile",
        str(prefix),
        "--fast-epistasis",
        "--allow-no-sex",
        "--threads",
        "2",
        "--out",
        str(prefix),
    ]
    wall, peak, _ = run_measured(command)
    result = pd.read_csv(f"{prefix}.epi.cc", sep=r"\s+")
    result = result.sort_values("STAT", ascending=False).reset_index(drop=True)
    true_pair = result[
        result[["SNP1", "SNP2"]].apply(
            lambda row: {row["SNP1"], row["SNP2"]} == {"M0P0", "M0P1"}, axis=1
        )
    ]
    rank = int(true_pair.index[0]) + 1 if len(true_pair) else None
    return {
        "wall_s": wall,
        "peak_mb": peak,
        "true_pair_rank": rank,
        "command": "plink1.9 --bfile many_snps --fast-epistasis --allow-no-sex --threads 2",
    }


def format_section(results: dict, args) -> str:
    evaluators = results["evaluators"]
    lines = [
        "## Genetic algorithm",
        "",
        f"Measured with `.venv/bin/python bench/ga_benchmark.py --peer-runs {args.peer_runs} --write-docs` "
        f"on {results['machine']}, {time.strftime('%Y-%m-%d')}. The machine was shared with other jobs, "
        "so times are indicative; ratios come from the same run.",
        "",
        "### Fitness evaluation",
        "",
        f"{evaluators['n_subsets']} subsets of 1 to 6 SNPs of `heterogeneity_r50/het_r50_01` "
        "(1,600 samples), half of them holding a planted pair, the same stratified 5 folds for both evaluators:",
        "",
        "| evaluator | evaluations / s | mean AUC |",
        "|---|---|---|",
        f"| `cells` (population of 100 in one call) | {evaluators['cells_rate']:.0f} | {evaluators['cells_auc']:.4f} |",
        f"| `tree` (scikit-learn decision tree, balanced, min_samples_split 0.05) | {evaluators['tree_rate']:.1f} | {evaluators['tree_auc']:.4f} |",
        "",
        f"`cells` is **{evaluators['ratio']:.0f} times** faster (target: at least 100); its mean AUC is "
        f"{evaluators['cells_auc'] - evaluators['tree_auc']:+.4f} against the tree's.",
        "",
    ]
    one = results["one_run"]
    lines += [
        "### One GA run on 10,000 SNPs",
        "",
        "`many_snps/epi2_a10000_01` (1,600 samples, 10,000 SNPs), size limit 3, population 100, "
        "30 generations, early stopping off; each row is its own process:",
        "",
        "| guide | scan (s) | GA run (s) | process wall time (s) | peak memory (MB) | subsets evaluated | best subset |",
        "|---|---|---|---|---|---|---|",
    ]
    for guide in ("on", "off"):
        row = one[guide]
        lines.append(
            f"| {guide} | {row['scan_s']:.1f} | {row['ga_s']:.1f} | {row['wall_s']:.1f} | {row['peak_mb']:.0f} | "
            f"{row['evaluations']} | {', '.join(row['best'])} |"
        )
    lines += [
        "",
        f"Reading the 10,000-column text table with pandas alone peaks at {results['load_peak_mb']:.0f} MB, "
        "so most of the peak memory above is the reader, not the GA or the scan.",
        "",
    ]
    workflow = results.get("workflow")
    peer = results.get("peer")
    if workflow:
        lines += [
            "### 100 runs through Snakemake beside sklearn-genetic-opt",
            "",
            "`heterogeneity_r50/het_r50_01`, 100 runs of population 100 x 30 generations, subsets of at most 4 SNPs "
            "(fcsnet: `size_limits: [4]`, early stopping off, 25 runs per job, 2 cores; "
            "sklearn-genetic-opt 0.12 `GAFeatureSelectionCV(DecisionTreeClassifier(class_weight='balanced', "
            "min_samples_split=0.05), cv=StratifiedKFold(5), scoring='roc_auc', population_size=100, generations=30, "
            "max_features=4)`, its other settings default):",
            "",
            "| tool | wall time for 100 runs (s) | peak memory (MB) | runs with pair 0 / pair 1 in the best subset |",
            "|---|---|---|---|",
            f"| fcsnet (whole Snakemake run: ingest, qc, split, scan, GA, merge) | {workflow['wall_s']:.0f} | "
            f"{workflow['ga_peak_mb']:.0f} (largest GA job) | {workflow['pair0']} / {workflow['pair1']} of 100 |",
            f"| fcsnet GA jobs alone (sum of job times) | {workflow['ga_job_s']:.0f} | | |",
        ]
        if peer:
            lines += [
                f"| sklearn-genetic-opt (estimate: {peer['runs']} runs measured, scaled to 100) | {peer['estimate_s']:.0f} | "
                f"{peer['peak_mb']:.0f} | {peer['pair0']} / {peer['pair1']} of {peer['runs']} |",
                "",
                f"fcsnet is **{peer['estimate_s'] / workflow['wall_s']:.0f} times** faster end to end "
                f"({peer['estimate_s'] / workflow['ga_job_s']:.0f} times counting GA jobs alone). "
                f"The peer's time is an estimate from {peer['runs']} runs ({', '.join(f'{s:.0f} s' for s in peer['run_s'])}).",
            ]
        lines += [
            "",
            f"Command: `{workflow['command']}` with the config written by the script.",
            "",
        ]
    scan = results["scan"]
    plink = results.get("plink")
    lines += [
        "### Pairwise scan on 10,000 SNPs (50 million pairs)",
        "",
        "| tool | wall time (s) | peak memory (MB) | true pair rank |",
        "|---|---|---|---|",
        f"| fcsnet `scan` (numpy, float32 BLAS counts) | {scan['wall_s']:.1f} (scan alone {scan['scan_s']:.1f}) | "
        f"{scan['peak_mb']:.0f} | {1 if set(scan['top']) == {'M0P0', 'M0P1'} else 'not first'} |",
    ]
    if plink:
        lines += [
            f"| `{plink['command']}` | {plink['wall_s']:.1f} | {plink['peak_mb']:.0f} | {plink['true_pair_rank']} |",
            "",
            f"fcsnet's scan takes {scan['scan_s'] / plink['wall_s']:.1f} times plink1.9's wall time. plink1.9 "
            "tests a 2 x 2 allelic odds-ratio contrast with bit-packed genotypes; fcsnet tests the full 3 x 3 "
            "joint genotype (4 df) and keeps every variant's best pair for the guide.",
        ]
    lines += [
        "",
        "### Recovery with and without the guide",
        "",
        f"Default GA settings, {results['recovery_runs']} runs per size limit; `found` counts runs whose "
        "best subset holds every variant of the planted group (one count per group):",
        "",
        "| file | size limits | guide | runs | found | time (s) |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["recovery"]:
        lines.append(
            f"| {row['file']} | {row['size_limits']} | {row['guide']} | {row['runs']} | {row['found']} | {row['seconds']:.1f} |"
        )
    lines.append("")
    return "\n".join(lines)


def write_docs(section: str) -> None:
    path = REPOSITORY / "docs" / "benchmarks.md"
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    pattern = re.compile(r"^## Genetic algorithm\n.*?(?=^## |\Z)", re.MULTILINE | re.DOTALL)
    if pattern.search(text):
        text = pattern.sub(lambda _: section.rstrip("\n") + "\n\n", text)
    else:
        text = text.rstrip("\n") + "\n\n" + section
    path.write_text(text.rstrip("\n") + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=sorted(PARTS), help=argparse.SUPPRESS)
    parser.add_argument("arguments", nargs="*", help=argparse.SUPPRESS)
    parser.add_argument(
        "--peer-runs", type=int, default=2, help="sklearn-genetic-opt runs to time (default 2)"
    )
    parser.add_argument(
        "--recovery-runs", type=int, default=10, help="GA runs per size limit in the recovery table"
    )
    parser.add_argument(
        "--write-docs",
        action="store_true",
        help="write the 'Genetic algorithm' section of docs/benchmarks.md",
    )
    args = parser.parse_args()
    if args.part:
        print(json.dumps(PARTS[args.part](*args.arguments)))
        return

    results = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "recovery_runs": args.recovery_runs,
    }
    results["evaluators"] = measure_evaluators()
    print("evaluators", results["evaluators"], flush=True)

    ten_thousand = MANY_SNPS / "epi2_a10000_01.tsv.gz"
    _, results["load_peak_mb"], _ = run_part("load", ten_thousand)
    results["one_run"] = {}
    for guide in ("on", "off"):
        wall, peak, row = run_part("one_run", ten_thousand, guide)
        results["one_run"][guide] = dict(row, wall_s=wall, peak_mb=peak)
        print("one run, guide", guide, results["one_run"][guide], flush=True)

    wall, peak, row = run_part("scan", ten_thousand)
    results["scan"] = dict(row, wall_s=wall, peak_mb=peak)
    print("scan", results["scan"], flush=True)
    with tempfile.TemporaryDirectory() as workdir:
        results["plink"] = measure_plink(ten_thousand, Path(workdir))
    print("plink", results["plink"], flush=True)

    with tempfile.TemporaryDirectory() as workdir:
        results["workflow"] = measure_workflow(Path(workdir) / "run")
    print("workflow", results["workflow"], flush=True)

    try:
        import sklearn_genetic  # noqa: F401
    except ImportError:
        print("sklearn-genetic-opt not installed; peer skipped", flush=True)
    else:
        peer_runs = []
        peak = 0.0
        for seed in range(args.peer_runs):
            _, run_peak, row = run_part("peer", HETEROGENEITY, seed)
            peer_runs.append(row)
            peak = max(peak, run_peak)
            print("peer run", seed, row, flush=True)
        times = [row["run_s"] for row in peer_runs]
        results["peer"] = {
            "runs": len(peer_runs),
            "run_s": times,
            "estimate_s": float(np.mean(times)) * 100,
            "peak_mb": peak,
            "pair0": sum({"M0P0", "M0P1"} <= set(row["best"]) for row in peer_runs),
            "pair1": sum({"M1P0", "M1P1"} <= set(row["best"]) for row in peer_runs),
        }

    results["recovery"] = measure_recovery(args.recovery_runs)
    section = format_section(results, args)
    print(section)
    if args.write_docs:
        write_docs(section)


if __name__ == "__main__":
    main()
