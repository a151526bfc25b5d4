"""Reading a VCF in parts by worker processes gives exactly the result of one reader."""

import gzip
import multiprocessing
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from test_vcf import VCF_FILES as SHARED_VCF_FILES

from fcsnet.errors import ConfigError, InputError
from fcsnet.ingest import ingest_cohort
from fcsnet.io import vcf_parts
from fcsnet.io.vcf import read_vcf
from fcsnet.io.vcf_parts import plan_parts

PARALLEL_LOG = "reading in {n} parts by {n} worker processes"
SAMPLES = [f"s{index}" for index in range(6)]


def read_outcome(path, **options):
    """Return the RawGenotypes of a read, or the InputError message it raised."""
    try:
        return read_vcf(path, **options)
    except InputError as error:
        return str(error)


def assert_same_read(serial, parallel):
    if isinstance(serial, str):
        assert parallel == serial
        return
    assert not isinstance(parallel, str), parallel
    np.testing.assert_array_equal(parallel.dosages, serial.dosages)
    assert parallel.dosages.dtype == np.int8
    pd.testing.assert_frame_equal(parallel.variants, serial.variants)
    assert parallel.sample_ids == serial.sample_ids
    # Counter equality ignores keys with count 0, but ingest_summary.tsv writes them.
    assert sorted(parallel.counts.items()) == sorted(serial.counts.items())


def bgzf_block(text: bytes) -> bytes:
    """Compress ``text`` as one BGZF block (gzip member with the BC extra subfield)."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
    data = compressor.compress(text) + compressor.flush()
    header = b"\x1f\x8b\x08\x04\x00\x00\x00\x00\x00\xff\x06\x00BC\x02\x00"
    block_size = len(header) + 2 + len(data) + 8
    return (
        header
        + struct.pack("<H", block_size - 1)
        + data
        + struct.pack("<II", zlib.crc32(text), len(text))
    )


def write_bgzf(path, text: bytes, block_text_bytes: int) -> None:
    """Write ``text`` as BGZF with small blocks, so that records are cut across blocks."""
    blocks = [
        bgzf_block(text[start : start + block_text_bytes])
        for start in range(0, len(text), block_text_bytes)
    ]
    empty_block = bgzf_block(b"")
    path.write_bytes(b"".join(blocks) + empty_block)


def cohort_text(n_records: int, seed: int = 0) -> str:
    """Return a VCF with biallelic, multiallelic, haploid, '.'-ID and repeated-ID records."""
    rng = np.random.default_rng(seed)
    calls = np.array(["0/0", "0/1", "1|1", "./.", "0/.", "1", "0|2", "2/2"])
    lines = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1>",
        "##contig=<ID=X>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\t" + "\t".join(SAMPLES),
    ]
    for index in range(n_records):
        chrom = "1"
        if index % 17 == 0:
            chrom = "X"
        elif index % 31 == 0:
            # Contig 2 is not declared in the header, so its records are skipped and counted.
            chrom = "2"
        record_id = "." if index % 5 == 0 else f"rs{index % 40}"
        alt = "G"
        if index % 7 == 0:
            alt = "G,T"
        elif index % 23 == 0:
            alt = "<DEL>"
        choices = calls if "," in alt else calls[:6]
        genotypes = rng.choice(choices, size=len(SAMPLES), p=None)
        lines.append(
            f"{chrom}\t{index + 1}\t{record_id}\tA\t{alt}\t.\tPASS\t.\tGT\t" + "\t".join(genotypes)
        )
    return "\n".join(lines) + "\n"


def text_offset_of_block(path, block_offset: int) -> int:
    """Return the uncompressed offset where the BGZF block at ``block_offset`` starts."""
    return len(gzip.decompress(path.read_bytes()[:block_offset]))


@pytest.mark.parametrize("name", SHARED_VCF_FILES)
@pytest.mark.parametrize(("multiallelic", "haploid"), [("split", "missing"), ("skip", "double")])
def test_shared_files_equal_serial(shared_data, name, multiallelic, haploid):
    path = shared_data / "vcf" / name
    options = {"multiallelic": multiallelic, "haploid": haploid, "chunk_variants": 4}
    serial = read_outcome(path, **options)
    parallel = read_outcome(path, threads=2, min_part_bytes=1, **options)
    assert_same_read(serial, parallel)


@pytest.mark.parametrize("compression", ["bgzf", "plain"])
@pytest.mark.parametrize("threads", [2, 3, 5])
def test_cut_records_equal_serial(tmp_path, caplog, compression, threads):
    text = cohort_text(300).encode()
    if compression == "bgzf":
        path = tmp_path / "cohort.vcf.gz"
        write_bgzf(path, text, block_text_bytes=500)
    else:
        path = tmp_path / "cohort.vcf"
        path.write_bytes(text)
    parts = plan_parts(path, threads, min_part_bytes=1)
    assert len(parts) == threads
    text_starts = [
        text_offset_of_block(path, part.start) if compression == "bgzf" else part.start
        for part in parts[1:]
    ]
    # At least one part must start inside a record for the test to check the cut lines.
    assert any(text[start - 1 : start] != b"\n" for start in text_starts)

    serial = read_vcf(path, chunk_variants=16)
    with caplog.at_level("INFO", logger="fcsnet.io.vcf_parts"):
        parallel = read_vcf(path, chunk_variants=16, threads=threads, min_part_bytes=1)
    assert_same_read(serial, parallel)
    assert serial.counts["duplicate_variant_ids_renamed"] > 0
    assert serial.counts["multiallelic_records_split"] > 0
    assert serial.counts["records_symbolic_only_skipped"] > 0
    assert serial.counts["records_unknown_contig_skipped"] > 0
    kind = "BGZF blocks" if compression == "bgzf" else "byte offsets"
    messages = [record.getMessage() for record in caplog.records]
    assert any(PARALLEL_LOG.format(n=threads) in message for message in messages)
    assert any(kind in message for message in messages)


def test_every_block_boundary_as_part_start(tmp_path):
    """Start part 1 at each BGZF block in turn: every record is read once, whatever the cut."""
    text = cohort_text(60, seed=1).encode()
    path = tmp_path / "small_blocks.vcf.gz"
    write_bgzf(path, text, block_text_bytes=97)
    serial = read_vcf(path)
    (part,) = plan_parts(path, 1, min_part_bytes=1)
    block_offsets = [0]
    data = path.read_bytes()
    while block_offsets[-1] < len(data):
        block_size = struct.unpack_from("<H", data, block_offsets[-1] + 16)[0] + 1
        block_offsets.append(block_offsets[-1] + block_size)
    header_end = text.index(b"\n", text.index(b"#CHROM")) + 1
    n_checked = 0
    for offset in block_offsets[1:-1]:
        if text_offset_of_block(path, offset) < header_end:
            continue
        first = vcf_parts.FilePart(str(path), True, 0, 0, offset, part.header)
        second = vcf_parts.FilePart(str(path), True, 1, offset, len(data), part.header)
        pieces = []
        for piece in (first, second):
            stream = _BytesSink()
            vcf_parts.write_part(piece, stream)
            pieces.append(gzip.decompress(stream.getvalue()))
        records = pieces[0][header_end:] + pieces[1][header_end:]
        assert pieces[1].startswith(text[:header_end])
        assert records == text[header_end:]
        n_checked += 1
    assert n_checked > 20
    assert serial.dosages.shape[0] > 0


class _BytesSink:
    """A binary stream that keeps what is written, in memory."""

    def __init__(self):
        self.chunks = []

    def write(self, data) -> int:
        self.chunks.append(bytes(data))
        return len(data)

    def getvalue(self) -> bytes:
        return b"".join(self.chunks)


def test_sample_subset_equals_serial(tmp_path):
    path = tmp_path / "cohort.vcf.gz"
    write_bgzf(path, cohort_text(200).encode(), block_text_bytes=400)
    samples = ["s1", "s4", "s5"]
    serial = read_vcf(path, samples=samples)
    parallel = read_vcf(path, samples=samples, threads=2, min_part_bytes=1)
    assert_same_read(serial, parallel)
    assert parallel.sample_ids == samples


def test_malformed_first_record_of_part(tmp_path):
    """A bad record that opens part 2 is named by the last record of part 1, as in one reader."""
    text = cohort_text(200)
    path = tmp_path / "cohort.vcf"
    path.write_text(text)
    (_, second) = plan_parts(path, 2, min_part_bytes=1)
    # The first record of part 2 follows the first newline at or after its start.
    line_start = text.index("\n", second.start) + 1
    line_end = text.index("\n", line_start)
    fields = text[line_start:line_end].split("\t")
    fields[1] = "x" * len(fields[1])  # a non-numeric POS of the same length keeps the plan
    bad_text = text[:line_start] + "\t".join(fields) + text[line_end:]
    previous_line = text[text.rindex("\n", 0, line_start - 1) + 1 : line_start - 1].split("\t")
    path.write_text(bad_text)
    assert plan_parts(path, 2, min_part_bytes=1)[1] == second

    with pytest.raises(InputError) as serial:
        read_vcf(path)
    with pytest.raises(InputError) as parallel:
        read_vcf(path, threads=2, min_part_bytes=1)
    assert str(parallel.value) == str(serial.value)
    assert f"after {previous_line[0]}:{previous_line[1]}" in str(parallel.value)


def test_malformed_record_late_in_file(tmp_path):
    text = cohort_text(200) + "1\t999\tbad\tA\tG\t.\tPASS\t.\tGT\t0/1\n"
    path = tmp_path / "late.vcf.gz"
    write_bgzf(path, text.encode(), block_text_bytes=500)
    with pytest.raises(InputError) as serial:
        read_vcf(path)
    with pytest.raises(InputError) as parallel:
        read_vcf(path, threads=3, min_part_bytes=1)
    assert str(parallel.value) == str(serial.value)
    assert "after 1:200" in str(parallel.value)


def test_truncated_bgzip_read_serially(shared_data, tmp_path, caplog):
    data = (shared_data / "vcf" / "test.vcf.gz").read_bytes()
    path = tmp_path / "cut.vcf.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError) as serial:
        read_vcf(path)
    with caplog.at_level("INFO", logger="fcsnet.io.vcf_parts"):
        with pytest.raises(InputError) as parallel:
            read_vcf(path, threads=2, min_part_bytes=1)
    assert str(parallel.value) == str(serial.value)
    messages = [record.getMessage() for record in caplog.records]
    assert any("reading in one process (cannot cut the file" in message for message in messages)


@pytest.mark.parametrize("damage", ["deflate-data", "crc32"])
def test_damaged_block_read_again_serially(tmp_path, caplog, damage):
    path = tmp_path / "damaged.vcf.gz"
    write_bgzf(path, cohort_text(200).encode(), block_text_bytes=500)
    (_, second) = plan_parts(path, 2, min_part_bytes=1)
    data = bytearray(path.read_bytes())
    block_size = struct.unpack_from("<H", data, second.start + 16)[0] + 1
    if damage == "crc32":
        data[second.start + block_size - 8] ^= 0xFF
    else:
        data[second.start + 20 : second.start + 30] = b"\xff" * 10
    path.write_bytes(bytes(data))
    serial = read_outcome(path)
    with caplog.at_level("INFO", logger="fcsnet.io.vcf_parts"):
        parallel = read_outcome(path, threads=2, min_part_bytes=1)
    # htslib rejects both kinds of damage.
    assert isinstance(serial, str)
    assert "is malformed or truncated" in serial
    assert_same_read(serial, parallel)
    messages = [record.getMessage() for record in caplog.records]
    assert any("reading again in one process (part 1 failed" in message for message in messages)


@pytest.mark.parametrize(
    ("name", "options", "reason"),
    [
        (
            "multi-contig.bcf",
            {"min_part_bytes": 1},
            "cannot cut the file into parts: the file is BCF",
        ),
        ("test.vcf.gz", {"min_part_bytes": 1, "region": "1"}, "a region is read"),
        ("test.vcf.gz", {}, "bytes of text per part"),
    ],
    ids=["bcf", "region", "small-file"],
)
def test_serial_reason_logged(shared_data, caplog, name, options, reason):
    path = shared_data / "vcf" / name
    serial = read_vcf(path, region=options.get("region"))
    with caplog.at_level("INFO", logger="fcsnet.io.vcf_parts"):
        parallel = read_vcf(path, threads=2, **options)
    assert_same_read(serial, parallel)
    messages = [record.getMessage() for record in caplog.records]
    assert any("reading in one process" in message and reason in message for message in messages)


def test_invalid_threads_rejected(shared_data):
    with pytest.raises(ConfigError, match="ingest.threads is 0"):
        read_vcf(shared_data / "vcf" / "test.vcf.gz", threads=0)


def test_ingest_store_equals_serial(tmp_path, monkeypatch):
    path = tmp_path / "cohort.vcf.gz"
    write_bgzf(path, cohort_text(250).encode(), block_text_bytes=600)
    phenotypes = tmp_path / "phenotypes.tsv"
    phenotypes.write_text("sample_id\tstatus\n" + "".join(f"s{i}\t{i % 2}\n" for i in range(6)))
    monkeypatch.setattr(vcf_parts, "MIN_PART_BYTES", 1)
    for threads in (1, 2):
        ingest_cohort(path, "vcf", tmp_path / f"store{threads}", phenotypes, threads=threads)
    for name in ("dosages.npy", "variants.tsv", "samples.tsv", "ingest_summary.tsv"):
        serial = (tmp_path / "store1" / name).read_bytes()
        assert (tmp_path / "store2" / name).read_bytes() == serial, name


HEADER = (
    "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
    '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">\n'
    "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\tFORMAT\tA\tB\n"
)


def small_records(n_records: int) -> list[str]:
    return [f"1\t{100 + index}\t.\tA\tC\t.\t.\t.\tGT\t0/1\t1/1\n" for index in range(n_records)]


def read_logged(caplog, path, **options):
    """Return the outcome of a read in parts and the log messages of the parts module."""
    caplog.clear()
    with caplog.at_level("INFO", logger="fcsnet.io.vcf_parts"):
        outcome = read_outcome(path, **options)
    return outcome, [record.getMessage() for record in caplog.records]


def test_garbage_lines_in_two_parts_equal_serial(tmp_path, caplog):
    # htslib reads the first empty line as a record and fails on the second,
    # so each part alone would accept its one empty line.
    records = small_records(20)
    path = tmp_path / "garbage.vcf"
    path.write_text(HEADER + "".join(records[:2]) + "\n" + "".join(records[2:18]) + "\n")
    serial = read_outcome(path)
    parallel, messages = read_logged(caplog, path, threads=3, min_part_bytes=1)
    assert isinstance(serial, str)
    assert_same_read(serial, parallel)
    assert any("records on contigs the header does not declare" in m for m in messages)


def test_oversized_bgzf_block_read_serially(tmp_path, caplog):
    # BGZF allows at most 65,536 bytes of text per block; htslib rejects more.
    records = "".join(
        f"1\t{100 + i}\t.\tA\tC\t.\t.\tX={'y' * 30000}\tGT\t0/1\t0/0\n" for i in range(4)
    )
    text = (HEADER + records).encode()
    header_end = len(HEADER) + 100
    path = tmp_path / "oversized.vcf.gz"
    path.write_bytes(
        bgzf_block(text[:header_end])
        + bgzf_block(text[header_end : header_end + 90_000])
        + bgzf_block(text[header_end + 90_000 :])
        + bgzf_block(b"")
    )
    serial = read_outcome(path)
    parallel, messages = read_logged(caplog, path, threads=3, min_part_bytes=1)
    assert_same_read(serial, parallel)
    assert any("more than the 65536 that BGZF allows" in m for m in messages)


def test_named_pipe_read_once(tmp_path):
    # A pipe can be read only once: the header must not be read from it first.
    path = tmp_path / "cohort.vcf"
    path.write_text(cohort_text(60))
    pipe = tmp_path / "cohort.pipe"
    os.mkfifo(pipe)
    # The writer is another process: cyvcf2 holds the GIL while it waits on a pipe.
    writer = subprocess.Popen(["sh", "-c", 'cat "$0" > "$1"', str(path), str(pipe)])
    code = (
        "from fcsnet.io.vcf import read_vcf\n"
        f"print(read_vcf({str(pipe)!r}, threads=2, min_part_bytes=1).dosages.shape)\n"
    )
    try:
        finished = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
        )
    finally:
        writer.kill()
        writer.wait()
    assert finished.returncode == 0, finished.stderr
    assert finished.stdout.strip() == str(read_vcf(path).dosages.shape)


def test_no_scratch_file_read_serially(tmp_path, caplog, monkeypatch):
    path = tmp_path / "cohort.vcf"
    path.write_text(cohort_text(80))

    def no_temporary_directory(*args, **kwargs):
        raise FileNotFoundError("No usable temporary directory found")

    monkeypatch.setattr(vcf_parts.tempfile, "TemporaryFile", no_temporary_directory)
    parallel, messages = read_logged(caplog, path, threads=2, min_part_bytes=1)
    assert_same_read(read_outcome(path), parallel)
    assert any("no scratch file for the parts" in m for m in messages)


def test_ignored_sigchld_read_serially(tmp_path, caplog):
    path = tmp_path / "cohort.vcf"
    path.write_text(cohort_text(80))
    serial = read_outcome(path)
    previous = signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    try:
        parallel, messages = read_logged(caplog, path, threads=2, min_part_bytes=1)
    finally:
        signal.signal(signal.SIGCHLD, previous)
    assert_same_read(serial, parallel)
    assert any("SIGCHLD is ignored" in m for m in messages)


def read_in_pool_worker(path):
    return read_vcf(path, threads=2, min_part_bytes=1).dosages


def test_daemonic_process_reads_serially(tmp_path):
    path = tmp_path / "cohort.vcf"
    path.write_text(cohort_text(80))
    with multiprocessing.get_context("fork").Pool(1) as pool:
        dosages = pool.apply(read_in_pool_worker, (path,))
    np.testing.assert_array_equal(dosages, read_vcf(path).dosages)


def test_killed_reader_leaves_no_process_or_file(tmp_path):
    path = tmp_path / "cohort.vcf"
    path.write_text(cohort_text(200))
    scratch = tmp_path / "scratch"
    scratch.mkdir()

    # Each worker prints its process ID, then waits, so the reader is killed mid-read.
    code = (
        "import os, sys, time\n"
        "from fcsnet.io import vcf_parts\n"
        "from fcsnet.io.vcf import read_vcf\n"
        "original = vcf_parts.read_records\n"
        "def slow(*args, **kwargs):\n"
        "    print('worker', os.getpid(), flush=True)\n"
        "    time.sleep(60)\n"
        "    return original(*args, **kwargs)\n"
        "vcf_parts.read_records = slow\n"
        f"read_vcf({str(path)!r}, threads=2, min_part_bytes=1)\n"
    )
    reader = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, TMPDIR=str(scratch)),
    )
    workers = [int(reader.stdout.readline().split()[1]) for _ in range(2)]
    reader.send_signal(signal.SIGTERM)
    reader.wait(timeout=30)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(Path(f"/proc/{w}").exists() for w in workers):
        time.sleep(0.1)
    assert not [w for w in workers if Path(f"/proc/{w}").exists()]
    assert list(scratch.iterdir()) == []
