"""Benchmark VCF ingestion against ``plink1.9 --vcf ... --make-bed``.

Simulates a bgzipped VCF (default 20,000 variants x 2,000 samples, 1 %
missing calls) and a BCF copy of it, then times in the same run, each in a
fresh child process:

- fcsnet: ``fcsnet.ingest.ingest_cohort`` (read the file, join a phenotype
  sheet, write the store) with ``--threads`` worker processes reading the
  VCF in parts (the BCF is read in one process);
- plink 1.9: ``plink1.9 --vcf FILE --make-bed --threads 1`` (``--bcf`` for
  the BCF copy).

It prints genotype calls per second, the CPU seconds and the child's peak
resident memory (``ru_maxrss`` from ``os.wait4``). fcsnet's CPU seconds
include its worker processes and their writer processes (the RUSAGE_CHILDREN
of the child, which covers grandchildren once they are reaped). With worker
processes, ``ru_maxrss`` is the largest single process, not their sum.
So one more, untimed run of fcsnet samples the proportional set size (PSS)
of the child and all its descendants every 10 ms. The peak of that sum
above the child's PSS with its imports loaded is the memory the read adds. Ratios compare
fcsnet with plink on the same file, by wall time and by CPU time. On a
machine shared with other jobs the wall times stretch with the load (the
load average is printed), while the CPU times stay closer to those of an
idle machine. fcsnet's times cover ``ingest_cohort`` only, not the start of
the interpreter and its imports; plink's cover its whole process. Targets,
checked on the VCF: at least half of plink's calls per second, and peak
memory above the import baseline under 3x the int8 output matrix.

Usage: python bench/ingest_benchmark.py [--variants N] [--samples N] [--repeats N]
       [--threads N] [--plink-threads N]
Needs plink1.9 on PATH (Debian package plink1.9) and, optionally, bgzip.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

GENOTYPE_TEXT = np.frombuffer(b"0/0\t0/1\t1/1\t./.\t", dtype=np.uint8).reshape(4, 4)

CHILD_CODE = """
import json, logging, resource, sys, time
from fcsnet.ingest import ingest_cohort
vcf, phenotypes, output, threads = sys.argv[1:5]
logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
def cpu_seconds():
    own, children = (resource.getrusage(who) for who in
                     (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime
def pss_kib():
    with open("/proc/self/smaps_rollup") as stream:
        return next(int(line.split()[1]) for line in stream if line.startswith("Pss:"))
baseline, baseline_pss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, pss_kib()
start, cpu_start = time.perf_counter(), cpu_seconds()
store = ingest_cohort(vcf, "vcf", output, phenotypes=phenotypes, threads=int(threads))
seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu_start
print(json.dumps({"seconds": seconds, "cpu_seconds": cpu, "baseline_kib": baseline,
                  "baseline_pss_kib": baseline_pss, "shape": list(store.dosages.shape)}))
"""


def simulate_vcf(path: Path, n_variants: int, n_samples: int, seed: int) -> None:
    """Write a biallelic VCF with allele frequencies 0.05-0.5 and 1 % missing calls."""
    rng = np.random.default_rng(seed)
    header = (
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t"
        + "\t".join(f"s{index}" for index in range(n_samples))
        + "\n"
    )
    text_path = path.with_suffix("")
    with open(text_path, "wb") as stream:
        stream.write(header.encode())
        for start in range(0, n_variants, 1000):
            rows = min(1000, n_variants - start)
            frequency = rng.uniform(0.05, 0.5, size=(rows, 1))
            codes = rng.binomial(2, frequency, size=(rows, n_samples))
            codes[rng.random((rows, n_samples)) < 0.01] = 3
            body = GENOTYPE_TEXT[codes].reshape(rows, -1).copy()
            body[:, -1] = ord("\n")
            for row in range(rows):
                position = start + row + 1
                stream.write(f"1\t{position}\trs{position}\tA\tG\t.\tPASS\t.\tGT\t".encode())
                stream.write(body[row].tobytes())
    if shutil.which("bgzip"):
        subprocess.run(["bgzip", "--force", str(text_path)], check=True)
    else:
        with open(text_path, "rb") as source, gzip.open(path, "wb", compresslevel=1) as target:
            shutil.copyfileobj(source, target)
        text_path.unlink()


def write_bcf(vcf: Path, bcf: Path) -> None:
    """Copy ``vcf`` record by record into a compressed BCF through cyvcf2."""
    from cyvcf2 import VCF, Writer

    reader = VCF(str(vcf))
    writer = Writer(str(bcf), reader, mode="wb")
    for record in reader:
        writer.write_record(record)
    writer.close()
    reader.close()


def write_phenotypes(path: Path, n_samples: int, seed: int) -> None:
    rng = np.random.default_rng(seed + 1)
    status = rng.integers(0, 2, size=n_samples)
    lines = ["sample_id\tstatus"] + [f"s{index}\t{value}" for index, value in enumerate(status)]
    path.write_text("\n".join(lines) + "\n")


def tree_pss_kib(pid: int) -> int:
    """Return the summed PSS (KiB) of process ``pid`` and all its descendants."""
    total = 0
    pending = [pid]
    while pending:
        process = pending.pop()
        try:
            with open(f"/proc/{process}/smaps_rollup") as stream:
                total += next(int(line.split()[1]) for line in stream if line.startswith("Pss:"))
            for task in os.listdir(f"/proc/{process}/task"):
                with open(f"/proc/{process}/task/{task}/children") as stream:
                    pending.extend(int(child) for child in stream.read().split())
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            continue  # The process ended while it was read.
    return total


class TreeMemorySampler(threading.Thread):
    """Record the peak summed PSS of a process tree, sampled every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float = 0.01):
        super().__init__(daemon=True)
        self.pid = pid
        self.interval = interval
        self.peak_kib = 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(self.interval):
            self.peak_kib = max(self.peak_kib, tree_pss_kib(self.pid))


def run_child(command: list[str], sample_memory: bool = False) -> tuple:
    """Run ``command``; return wall and CPU seconds, peak RSS (KiB), stdout, stderr, peak tree PSS.

    The CPU seconds and peak RSS come from ``os.wait4``. The tree PSS is 0
    unless ``sample_memory`` is set.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    sampler = TreeMemorySampler(process.pid) if sample_memory else None
    if sampler:
        sampler.start()
    # Read stderr in a thread so that neither pipe fills up while the other is read.
    errors: list[bytes] = []
    reader = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)
    reader.start()
    stdout = process.stdout.read().decode()
    reader.join()
    stderr = errors[0].decode()
    if sampler:
        sampler.done.set()
        sampler.join()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise RuntimeError(f"{command[0]} failed ({process.returncode}): {stderr[-2000:]}")
    peak_pss = sampler.peak_kib if sampler else 0
    return seconds, usage.ru_utime + usage.ru_stime, usage.ru_maxrss, stdout, stderr, peak_pss


def measure_fcsnet(
    vcf: Path, phenotypes: Path, workdir: Path, threads: int, sample_memory: bool = False
) -> dict:
    command = [
        sys.executable,
        "-c",
        CHILD_CODE,
        str(vcf),
        str(phenotypes),
        str(workdir),
        str(threads),
    ]
    _, wait_cpu, peak_kib, stdout, stderr, peak_pss = run_child(command, sample_memory)
    result = json.loads(stdout.strip().splitlines()[-1])
    result["peak_kib"] = peak_kib
    result["peak_pss_kib"] = peak_pss
    result["process_cpu_seconds"] = wait_cpu
    result["read_path"] = next(
        (line for line in stderr.splitlines() if line.startswith("fcsnet.io.vcf_parts")), ""
    )
    return result


def measure_plink(vcf: Path, workdir: Path, threads: int) -> dict:
    command = [
        "plink1.9",
        "--bcf" if vcf.suffix == ".bcf" else "--vcf",
        str(vcf),
        "--make-bed",
        "--threads",
        str(threads),
        "--out",
        str(workdir / "plink"),
    ]
    seconds, cpu_seconds, peak_kib, _, _, _ = run_child(command)
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "peak_kib": peak_kib}


def best(runs: list[dict]) -> dict:
    """Return the fastest run's figures, with the least CPU time over all runs."""
    fastest = dict(min(runs, key=lambda run: run["seconds"]))
    fastest["cpu_seconds"] = min(run["cpu_seconds"] for run in runs)
    return fastest


def load_text() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--variants", type=int, default=20_000, help="variants to simulate")
    parser.add_argument("--samples", type=int, default=2_000, help="samples to simulate")
    parser.add_argument("--repeats", type=int, default=3, help="runs of each tool; best is kept")
    parser.add_argument("--seed", type=int, default=0, help="seed of the simulated genotypes")
    parser.add_argument(
        "--threads", type=int, default=2, help="fcsnet worker processes (read_vcf threads)"
    )
    parser.add_argument("--plink-threads", type=int, default=1, help="plink1.9 --threads value")
    arguments = parser.parse_args()
    if shutil.which("plink1.9") is None:
        sys.exit("plink1.9 not found on PATH; install the Debian package plink1.9")

    n_calls = arguments.variants * arguments.samples
    matrix_mib = n_calls / 2**20
    with tempfile.TemporaryDirectory(prefix="fcsnet-bench-") as directory:
        workdir = Path(directory)
        vcf = workdir / "simulated.vcf.gz"
        start = time.perf_counter()
        simulate_vcf(vcf, arguments.variants, arguments.samples, arguments.seed)
        phenotypes = workdir / "phenotypes.tsv"
        write_phenotypes(phenotypes, arguments.samples, arguments.seed)
        print(
            f"simulated {arguments.variants} variants x {arguments.samples} samples "
            f"({vcf.stat().st_size / 2**20:.1f} MiB bgzipped) in {time.perf_counter() - start:.1f} s"
        )
        bcf = workdir / "simulated.bcf"
        write_bcf(vcf, bcf)
        print(f"before the timed runs: {load_text()} on {os.cpu_count()} CPUs")
        results = {key: [] for key in ("plink vcf", "fcsnet vcf", "plink bcf", "fcsnet bcf")}
        for _ in range(arguments.repeats):
            for path, name in ((vcf, "vcf"), (bcf, "bcf")):
                results[f"plink {name}"].append(
                    measure_plink(path, workdir, arguments.plink_threads)
                )
                store = workdir / "store"
                results[f"fcsnet {name}"].append(
                    measure_fcsnet(path, phenotypes, store, arguments.threads)
                )
        # One more, untimed run each, sampled for the memory of the whole process tree.
        memory = {
            name: measure_fcsnet(path, phenotypes, workdir / "store", arguments.threads, True)
            for path, name in ((vcf, "vcf"), (bcf, "bcf"))
        }

    print(f"after the timed runs: {load_text()}")
    print(f"output matrix (int8): {matrix_mib:.1f} MiB; best of {arguments.repeats} runs each")
    print(f"fcsnet --threads {arguments.threads}, plink1.9 --threads {arguments.plink_threads}")
    for name in ("vcf", "bcf"):
        print(f"fcsnet {name}: {memory[name]['read_path'] or 'read in one process'}")
    print(
        f"{'tool':34s} {'seconds':>8s} {'Mcalls/s':>9s} {'speed/plink':>11s} {'CPU s':>6s} "
        f"{'CPU speed/plink':>15s} {'peak MiB':>9s} {'above imports MiB':>17s} "
        f"{'above/matrix':>12s} {'tree PSS above MiB':>18s} {'tree/matrix':>11s}"
    )
    ratios = {}
    for name in ("vcf", "bcf"):
        plink = best(results[f"plink {name}"])
        plink_rate = n_calls / plink["seconds"]
        print(
            f"{'plink1.9 --' + name + ' --make-bed':34s} {plink['seconds']:8.2f} "
            f"{plink_rate / 1e6:9.1f} {1.0:11.2f} {plink['cpu_seconds']:6.2f} {1.0:15.2f} "
            f"{plink['peak_kib'] / 1024:9.1f}"
        )
        run = best(results[f"fcsnet {name}"])
        rate = n_calls / run["seconds"]
        cpu_ratio = plink["cpu_seconds"] / run["cpu_seconds"]
        above = (run["peak_kib"] - run["baseline_kib"]) / 1024
        sampled = memory[name]
        tree_above = (sampled["peak_pss_kib"] - sampled["baseline_pss_kib"]) / 1024
        ratios[name] = (rate / plink_rate, cpu_ratio, max(above, tree_above) / matrix_mib)
        print(
            f"{'fcsnet ingest_cohort (' + name + ')':34s} {run['seconds']:8.2f} "
            f"{rate / 1e6:9.1f} {rate / plink_rate:11.2f} {run['cpu_seconds']:6.2f} "
            f"{cpu_ratio:15.2f} {run['peak_kib'] / 1024:9.1f} {above:17.1f} "
            f"{above / matrix_mib:12.2f} {tree_above:18.1f} {tree_above / matrix_mib:11.2f}"
        )
    speed_ratio, cpu_ratio, memory_ratio = ratios["vcf"]
    print(
        f"VCF target speed >= 0.5 x plink1.9: {'met' if speed_ratio >= 0.5 else 'NOT met'} "
        f"by wall time, {'met' if cpu_ratio >= 0.5 else 'NOT met'} by CPU time"
    )
    print(f"VCF target peak memory < 3 x matrix: {'met' if memory_ratio < 3 else 'NOT met'}")


if __name__ == "__main__":
    main()
