"""Runs Snakemake with the SLURM executor on a single-node cluster started by the test.

The cluster (see tests/slurm_cluster.py) needs root and Debian's slurm-wlm
and munge, which the fixture installs with apt-get where they are missing.
The tests are skipped, with the reason, where the cluster cannot start.
Run them alone with ``pytest -m slurm``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from example_workflow import REPORT_FILES, snakemake_command, write_example_workdir
from slurm_cluster import ClusterUnavailable, SlurmCluster, ensure_slurm_installed

from fcsnet.store import read_table

# The cluster fixture may first wait up to 420 s for another session's test
# cluster (see slurm_cluster.LOCK_FILE).
pytestmark = [pytest.mark.slurm, pytest.mark.timeout(900)]

SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))

# Options that the cluster in slurm_cluster.py needs on top of the SLURM
# profile: no accounting database, so job states come from squeue, and a
# short wait before the first status check because jobs start within seconds.
SLURM_TEST_OPTIONS = [
    "--executor",
    "slurm",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--slurm-keep-successful-logs",
    "--latency-wait",
    "10",
]


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """Start a single-node SLURM cluster for this module and stop it afterwards."""
    if sys.platform != "linux":
        pytest.skip("the SLURM test cluster runs only on Linux")
    if os.geteuid() != 0:
        pytest.skip("the SLURM test cluster must run as root (slurmd, /etc/slurm/slurm.conf)")
    try:
        ensure_slurm_installed()
    except ClusterUnavailable as error:
        pytest.skip(f"cannot install SLURM: {error}")
    cluster = SlurmCluster(tmp_path_factory.mktemp("slurm"))
    try:
        cluster.start()
    except ClusterUnavailable as error:
        pytest.skip(f"cannot start the SLURM test cluster: {error}")
    try:
        yield cluster
    finally:
        cluster.stop()


def run_snakemake(
    arguments: list[str], cwd: Path, timeout: float, command: list[str] | None = None
) -> subprocess.CompletedProcess:
    result = subprocess.run(
        command or [SNAKEMAKE, *arguments],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if result.returncode != 0:
        slurm_logs = sorted((cwd / ".snakemake" / "slurm_logs").rglob("*.log"))
        details = "\n".join(f"--- {path}\n{path.read_text()[-2000:]}" for path in slurm_logs)
        pytest.fail(
            f"snakemake {' '.join(arguments)} failed with status {result.returncode}\n"
            f"{result.stderr[-4000:]}\n{details}"
        )
    return result


def test_two_rules_run_as_slurm_jobs(slurm_cluster, tmp_path):
    (tmp_path / "Snakefile").write_text(
        textwrap.dedent(
            """
            rule all:
                input:
                    "cpu.txt",
                    "gpu.txt",


            rule cpu_step:
                output:
                    "cpu.txt",
                threads: 2
                resources:
                    mem_mb=100,
                    runtime=5,
                shell:
                    "echo $SLURM_JOB_ID $SLURM_JOB_PARTITION $SLURM_CPUS_PER_TASK > {output}"


            rule gpu_step:
                output:
                    "gpu.txt",
                resources:
                    mem_mb=100,
                    runtime=5,
                    slurm_partition="gpu",
                    gpu=1,
                shell:
                    "echo $SLURM_JOB_ID $SLURM_JOB_PARTITION $SLURM_GPUS_ON_NODE > {output}"
            """
        )
    )
    run_snakemake([*SLURM_TEST_OPTIONS, "--jobs", "2"], tmp_path, timeout=240)

    cpu_job, cpu_partition, cpu_threads = (tmp_path / "cpu.txt").read_text().split()
    gpu_job, gpu_partition, gpu_count = (tmp_path / "gpu.txt").read_text().split()
    assert cpu_job.isdigit()
    assert cpu_partition == "main"
    assert cpu_threads == "2"
    assert gpu_job.isdigit()
    assert gpu_job != cpu_job
    assert gpu_partition == "gpu"
    assert gpu_count == "1"


# Every SLURM job costs about 15 s of scheduling and status polling on the
# test cluster. The test therefore packs the example's preparation chain into
# one job and its analysis chain into another, on top of the workflow's group
# "ga". The attention model (rule interactions) keeps its own job on the gpu
# partition, as the profile sets it, and the report rules are local rules.
EXAMPLE_GROUPS = [
    *(f"{rule}=prepare" for rule in ("simulate_cohort", "ingest_genotypes", "ingest_case_only")),
    *(f"{rule}=prepare" for rule in ("qc", "split", "scan_pairs")),
    *(f"{rule}=analysis" for rule in ("merge_ga", "network", "communities", "crs", "subtypes")),
]


def finished_jobs() -> list[tuple[str, str, str]]:
    """Return (job id, partition, state) of every job the cluster still lists."""
    result = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%P|%T"],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return [tuple(line.split("|")) for line in result.stdout.split()]


def test_example_workflow_runs_on_slurm(slurm_cluster, repository, tmp_path):
    write_example_workdir(repository, tmp_path)
    jobs_before = {job for job, _, _ in finished_jobs()}
    command = snakemake_command(
        repository,
        tmp_path,
        "--workflow-profile",
        str(repository / "workflow" / "profiles" / "slurm"),
        *SLURM_TEST_OPTIONS,
        "--groups",
        *EXAMPLE_GROUPS,
    )
    run_snakemake([], tmp_path, timeout=480, command=command)

    jobs = [job for job in finished_jobs() if job[0] not in jobs_before]
    assert all(state == "COMPLETED" for _, _, state in jobs), jobs
    slurm_logs = tmp_path / ".snakemake" / "slurm_logs"
    # The plugin names each log folder after the group and its rules.
    submitted = {
        path.name.split("_")[0] + "_" + path.name.split("_")[1] for path in slurm_logs.iterdir()
    }
    assert submitted == {
        "group_prepare",
        "group_ga",
        "group_analysis",
        "rule_interactions",
    }
    assert len(jobs) == len(list(slurm_logs.rglob("*.log")))
    # The profile's group-components put all four GA batches into one job.
    assert len(list(slurm_logs.glob("group_ga*/**/*.log"))) == 1
    assert (
        len(list((tmp_path / "results" / "example" / "ga" / "batches").glob("*.selections.tsv")))
        == 4
    )
    # Only the interaction model requests a GPU, so only its job ran in the gpu partition.
    assert sorted(partition for _, partition, _ in jobs).count("gpu") == 1

    results = tmp_path / "results" / "example"
    communities = read_table(results / "communities" / "communities.tsv")
    assert communities["community"].nunique() >= 1
    crs = read_table(results / "crs" / "crs.tsv")
    assert [f"crs_{c}" for c in sorted(communities["community"].unique())] == [
        column for column in crs.columns if column.startswith("crs_")
    ]
    interactions = read_table(results / "interactions" / "interactions.tsv")
    assert set(interactions["community"]) <= set(communities["community"])
    listed = read_table(results / "plots" / "done.txt")["path"]
    assert sorted(Path(path).name for path in listed) == sorted(REPORT_FILES)
    for name in REPORT_FILES:
        assert (results / "plots" / name).stat().st_size > 1000, name
