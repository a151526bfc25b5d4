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
from slurm_cluster import ClusterUnavailable, SlurmCluster, ensure_slurm_installed

pytestmark = [pytest.mark.slurm, pytest.mark.timeout(600)]

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


def run_snakemake(arguments: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [SNAKEMAKE, *arguments],
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
                input:
                    "cpu.txt",
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
