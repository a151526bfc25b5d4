"""The built-in example workflow on a small configuration, for the report and SLURM tests.

The workflow simulates the example cohort itself. The configuration here
shrinks it to 400 samples, 6 GA runs of 15 generations per size limit and
one short attention model per community, so that a whole run takes about a
minute on two cores.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

SMALL_CONFIG = {
    "cohorts": "config/cohorts.tsv",
    "seed": 3,
    "simulations": {"example": {"n_samples": 400, "n_case_only": 50}},
    "ga": {
        "n_runs": 6,
        "runs_per_job": 3,
        "size_limits": [2, 3],
        "population_size": 30,
        "n_generations": 15,
    },
    "network": {"n_permutations": 200},
    "communities": {"n_seeds": 5},
    "attention": {"max_epochs": 15, "patience": 5, "n_restarts": 1, "n_permutations": 99},
}

# Report figures and tables, by file name under results/example/plots/,
# with the report category each one must appear in.
REPORT_FILES = {
    "qc_counts.png": "1. Quality control",
    "ga_convergence.png": "2. GA feature selection",
    "selection_frequency.png": "2. GA feature selection",
    "coselection_network.png": "3. Co-selection network",
    "communities.html": "3. Co-selection network",
    "crs_distributions.png": "4. Community risk scores",
    "crs_roc.png": "4. Community risk scores",
    "community_stats.html": "4. Community risk scores",
    "subtype_profiles.png": "5. Subtypes",
    "interaction_heatmaps.png": "6. Interactions",
    "interactions.html": "6. Interactions",
}


def write_example_workdir(repository: Path, workdir: Path, **overrides) -> Path:
    """Write the cohort sheet and the small config into ``workdir``; return the config path."""
    (workdir / "config").mkdir(parents=True, exist_ok=True)
    shutil.copy(repository / "config" / "cohorts.tsv", workdir / "config" / "cohorts.tsv")
    config = {**SMALL_CONFIG, **overrides}
    path = workdir / "config" / "config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def snakemake_command(repository: Path, workdir: Path, *arguments: str) -> list[str]:
    return [
        SNAKEMAKE,
        "--snakefile",
        str(repository / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--configfile",
        str(workdir / "config" / "config.yaml"),
        *arguments,
    ]


def run_snakemake(repository: Path, workdir: Path, *arguments: str, timeout: int = 600):
    """Run the workflow in ``workdir`` on 2 cores with the config found there."""
    command = [
        SNAKEMAKE,
        "--snakefile",
        str(repository / "workflow" / "Snakefile"),
        "--directory",
        str(workdir),
        "--cores",
        "2",
        *arguments,
    ]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)
