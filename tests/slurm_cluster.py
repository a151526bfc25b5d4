"""A single-node SLURM cluster on 127.0.0.1 for tests.

:class:`SlurmCluster` starts ``munged``, ``slurmctld`` and ``slurmd`` as
child processes of the test, with every state file, socket and log in one
temporary folder, and stops them again. It needs root and Debian's
``slurm-wlm`` and ``munge`` packages; :func:`ensure_slurm_installed`
installs them with apt-get where they are missing. Both raise
:class:`ClusterUnavailable` with the reason when the cluster cannot start,
so that a test can skip with that reason.

The configuration is written to the default path ``/etc/slurm/slurm.conf``
because snakemake-executor-plugin-slurm clears every ``SLURM_*`` variable,
``SLURM_CONF`` included, before it calls ``sbatch`` inside a job. The file
is removed again by :meth:`SlurmCluster.stop`. An existing file there that
this module did not write is never replaced.

The cluster has no accounting database (``accounting_storage/none``), so
``sacct`` cannot report finished jobs. Snakemake must therefore run with
``--slurm-status-command squeue``; ``MinJobAge`` keeps finished jobs visible
to ``squeue`` for :data:`MIN_JOB_AGE_S` seconds, well above the plugin's
polling interval.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

SLURM_CONF = Path("/etc/slurm/slurm.conf")
LOCK_FILE = Path("/tmp/fcsnet-slurm-test.lock")
"""Held while a test cluster owns /etc/slurm/slurm.conf, so that two test
sessions on one machine take turns instead of replacing each other's file."""

GRES_CONF = Path("/etc/slurm/gres.conf")
CONF_MARKER = "# Written by fcsnet tests/slurm_cluster.py; removed when the test ends."
REQUIRED_COMMANDS = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "sinfo", "scontrol")
MIN_JOB_AGE_S = 900
"""Seconds a finished job stays visible to squeue (slurm.conf MinJobAge)."""

NODE_NAME = "fcsnet-node"
NODE_CPUS = 8
"""CPUs the node reports. ``config_overrides`` lets it claim more than the host has,
so that rules asking for several threads are scheduled on a small CI machine."""

NODE_MEMORY_MB = 256_000
"""Memory the node reports (also a ``config_overrides`` value, not checked)."""


class ClusterUnavailable(RuntimeError):
    """The SLURM test cluster cannot be installed or started here."""


def _run(command: list[str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)


def ensure_slurm_installed(timeout: float = 600) -> None:
    """Install Debian's slurm-wlm and munge with apt-get unless they are present.

    Raises
    ------
    ClusterUnavailable
        When a command is missing and cannot be installed (not root, no
        apt-get, or apt-get failed).
    """
    missing = [command for command in REQUIRED_COMMANDS if shutil.which(command) is None]
    if not missing:
        return
    if os.geteuid() != 0:
        raise ClusterUnavailable(f"{missing} not installed, and installing them needs root")
    if shutil.which("apt-get") is None:
        raise ClusterUnavailable(f"{missing} not installed, and apt-get is not available")
    environment = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    commands = [
        ["apt-get", "update"],
        [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            # Wait for another apt-get (another test or helper) instead of failing.
            "-o",
            "DPkg::Lock::Timeout=300",
            "slurm-wlm",
            "munge",
        ],
    ]
    for command in commands:
        try:
            result = subprocess.run(
                command,
                capture_output=True,
                text=True,
                timeout=timeout,
                env=environment,
                check=False,
            )
        except subprocess.TimeoutExpired as error:
            raise ClusterUnavailable(f"{' '.join(command)} timed out after {timeout} s") from error
        if result.returncode != 0:
            tail = (result.stderr or result.stdout).strip().splitlines()[-3:]
            raise ClusterUnavailable(f"{' '.join(command)} failed: {' | '.join(tail)}")
    still_missing = [command for command in REQUIRED_COMMANDS if shutil.which(command) is None]
    if still_missing:
        raise ClusterUnavailable(
            f"{still_missing} still missing after installing slurm-wlm and munge"
        )


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class SlurmCluster:
    """One controller and one compute node on 127.0.0.1, all files under ``root``.

    The node is in two partitions: ``main`` (the default) and ``gpu``, where
    it offers one count-only ``gpu`` GRES (no device file), so that a job
    submitted with ``--gpus=1`` is scheduled without a real GPU.
    """

    def __init__(self, root: str | Path):
        self.root = Path(root)
        self.processes: dict[str, subprocess.Popen] = {}
        self._wrote_conf = False
        self._lock = None

    @property
    def log_paths(self) -> dict[str, Path]:
        return {name: self.root / f"{name}.log" for name in ("munged", "slurmctld", "slurmd")}

    def start(self, timeout: float = 60, lock_timeout: float = 420) -> None:
        """Start munged, slurmctld and slurmd and wait until the node is idle.

        Waits up to ``lock_timeout`` seconds while another test session's
        cluster holds :data:`LOCK_FILE`.

        Raises
        ------
        ClusterUnavailable
            When the lock stays taken, a daemon exits or the node is not idle
            within ``timeout`` seconds; the daemons started so far are
            stopped first.
        """
        self._acquire_lock(lock_timeout)
        try:
            for path in (SLURM_CONF, GRES_CONF):
                if path.exists() and CONF_MARKER not in path.read_text():
                    raise ClusterUnavailable(
                        f"{path} exists and was not written by this test; "
                        "refusing to replace a real cluster configuration"
                    )
            self._start(timeout)
        except BaseException:
            self.stop()
            raise

    def _acquire_lock(self, timeout: float) -> None:
        self._lock = open(LOCK_FILE, "a")  # noqa: SIM115 - closed in stop()
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    self._lock.close()
                    self._lock = None
                    raise ClusterUnavailable(
                        f"another test session has held {LOCK_FILE} for {timeout} s; "
                        "run the SLURM tests again when it has finished"
                    ) from None
                time.sleep(2)

    def _start(self, timeout: float) -> None:
        for folder in ("munge", "state", "spool"):
            (self.root / folder).mkdir(parents=True, exist_ok=True)
            os.chmod(self.root / folder, 0o700)
        self.munge_socket = self.root / "munge" / "munge.socket"
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o400)
        self._spawn(
            "munged",
            [
                "munged",
                "--foreground",
                "--force",
                f"--socket={self.munge_socket}",
                f"--key-file={key}",
                f"--log-file={self.log_paths['munged']}",
                f"--pid-file={self.root / 'munge' / 'munged.pid'}",
                f"--seed-file={self.root / 'munge' / 'munged.seed'}",
            ],
        )
        self._wait_for(lambda: self.munge_socket.exists(), "munged socket", timeout)

        self._write_conf()
        self._spawn("slurmctld", ["slurmctld", "-D", "-i"])
        self._wait_for(self._controller_answers, "slurmctld answering scontrol ping", timeout)
        self._spawn("slurmd", ["slurmd", "-D", "-N", NODE_NAME])
        self._wait_for(self._node_idle, f"node {NODE_NAME} idle", timeout)

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.root / f"{name}.stdout", "w")  # noqa: SIM115 - closed with the process
        self.processes[name] = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        log.close()

    def _write_conf(self) -> None:
        SLURM_CONF.parent.mkdir(parents=True, exist_ok=True)
        user = "root"
        hostname = socket.gethostname().split(".")[0]
        lines = [
            CONF_MARKER,
            "ClusterName=fcsnet-test",
            f"SlurmctldHost={hostname}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            f"SlurmUser={user}",
            f"SlurmdUser={user}",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.munge_socket}",
            f"StateSaveLocation={self.root / 'state'}",
            f"SlurmdSpoolDir={self.root / 'spool'}",
            f"SlurmctldPidFile={self.root / 'slurmctld.pid'}",
            f"SlurmdPidFile={self.root / 'slurmd.pid'}",
            f"SlurmctldLogFile={self.log_paths['slurmctld']}",
            f"SlurmdLogFile={self.log_paths['slurmd']}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "SchedulerType=sched/builtin",
            "MpiDefault=none",
            "ReturnToService=2",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "JobAcctGatherType=jobacct_gather/none",
            f"MinJobAge={MIN_JOB_AGE_S}",
            "SlurmdParameters=config_overrides",
            "GresTypes=gpu",
            f"NodeName={NODE_NAME} NodeAddr=127.0.0.1 NodeHostname={hostname} "
            f"CPUs={NODE_CPUS} RealMemory={NODE_MEMORY_MB} Gres=gpu:1 State=UNKNOWN",
            f"PartitionName=main Nodes={NODE_NAME} Default=YES MaxTime=INFINITE State=UP",
            f"PartitionName=gpu Nodes={NODE_NAME} MaxTime=INFINITE State=UP",
        ]
        SLURM_CONF.write_text("\n".join(lines) + "\n")
        GRES_CONF.write_text(
            f"{CONF_MARKER}\nNodeName={NODE_NAME} Name=gpu File=/dev/null Count=1\n"
        )
        self._wrote_conf = True

    def _controller_answers(self) -> bool:
        result = _run(["scontrol", "ping"], timeout=10)
        return result.returncode == 0 and "UP" in result.stdout

    def _node_idle(self) -> bool:
        result = _run(["sinfo", "--noheader", "--nodes", NODE_NAME, "--format", "%T"], timeout=10)
        return result.returncode == 0 and "idle" in result.stdout

    def _wait_for(self, condition, description: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, process in self.processes.items():
                if process.poll() is not None:
                    raise ClusterUnavailable(
                        f"{name} exited with status {process.returncode} while waiting for "
                        f"{description}: {self.log_tail(name)}"
                    )
            if condition():
                return
            time.sleep(0.5)
        raise ClusterUnavailable(f"timed out after {timeout} s waiting for {description}")

    def log_tail(self, name: str, n_lines: int = 5) -> str:
        """Return the last lines of a daemon's log and standard output, for error messages."""
        lines = []
        for path in (self.log_paths.get(name), self.root / f"{name}.stdout"):
            if path is not None and path.exists():
                lines += path.read_text(errors="replace").splitlines()[-n_lines:]
        return " | ".join(lines) or "(no output)"

    def stop(self) -> None:
        """Cancel all jobs, stop the daemons this object started and remove the configuration."""
        if "slurmctld" in self.processes and self.processes["slurmctld"].poll() is None:
            # Cancel running jobs first so that no slurmstepd process outlives slurmd.
            _run(["scancel", "--full", "--user", "root"], timeout=15)
            time.sleep(1)
        for name in ("slurmd", "slurmctld", "munged"):
            process = self.processes.pop(name, None)
            if process is None or process.poll() is not None:
                continue
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        if self._wrote_conf:
            for path in (SLURM_CONF, GRES_CONF):
                if path.exists() and CONF_MARKER in path.read_text():
                    path.unlink()
            self._wrote_conf = False
        if self._lock is not None:
            fcntl.flock(self._lock, fcntl.LOCK_UN)
            self._lock.close()
            self._lock = None
