"""Read one VCF file in parts, each parsed by its own cyvcf2 reader in a worker process.

htslib's text parser behind cyvcf2 is the slowest step of reading a VCF, and
one reader uses one core. This module cuts a plain or bgzipped VCF into
parts of about equal size and reads them in forked worker processes:

- A bgzipped file is cut at BGZF block starts, found by walking the block
  headers (BSIZE in the gzip extra field) without inflating anything. A
  plain file is cut at byte offsets.
- The uncompressed text of part k covers the offsets ``[start_k, start_k+1)``.
  Part k owns the lines that follow the first newline at or after
  ``start_k``, up to and including the line that ends with the first
  newline at or after ``start_k+1``. Part 0 starts at the top of the file. So part k
  drops its cut first line, which part k-1 finishes by reading on into the
  next blocks, and every line belongs to exactly one part.
- A writer process writes the header and the part's lines to a pipe, and
  the worker's cyvcf2 reader opens the pipe as ``/dev/fd/N``. For a
  bgzipped file the writer passes the part's whole BGZF blocks on as they
  are. It compresses anew only the header and the cut lines at both ends,
  so htslib in the worker inflates the text as it would in one process.
  The writer is a process, not a thread, because cyvcf2 0.35 holds the GIL
  while it blocks on the read.
- Each worker writes its int8 rows to its own unnamed scratch file in the
  temporary directory (``TMPDIR``), which needs room for the whole output
  matrix. The parent then reads the parts, in file order, straight into
  the final matrix, so the workers' rows and the final matrix are never in
  memory at the same time. The files have no name, so none outlives a
  killed reader, and on Linux the workers and writers are killed with the
  process that started them.

The result (dosages, variant table, counts and errors) is the same as a read
in one process. A record that htslib cannot parse raises the same
InputError, naming the same last record read. The file is read again in
one process where a part fails for another reason: a BGZF block that fails
to inflate or its CRC32 check, or a scratch file that cannot be written.
So is a file in which a part read a record on a contig that the header does
not declare. That is usually a garbage line, and how htslib handles one
depends on the lines before it. So the result or error is always that of
a read in one process.
BCF files, a region, gzip files that are not BGZF, files that are not
regular files (pipes), smaller files and readers that cannot start worker
processes read in one process (see :func:`serial_read_reason`).
"""

from __future__ import annotations

import ctypes
import logging
import mmap
import multiprocessing
import os
import signal
import stat
import struct
import tempfile
import zlib
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass

import numpy as np
from cyvcf2 import VCF

from fcsnet.errors import InputError
from fcsnet.io import RawGenotypes
from fcsnet.io.vcf import (
    RecordParseError,
    assemble_genotypes,
    malformed_record_message,
    read_records,
)

logger = logging.getLogger(__name__)

# Minimum uncompressed VCF text per part. It was measured on bench/ingest_benchmark.py's
# simulated genotypes (2,000 samples, GT only), best of 5 read_vcf calls on 2 cores.
# 4 MB of text took 0.034 s in one process and 0.038 s in 2 parts. 16 MB took
# 0.125 s and 0.090 s, and 32 MB took 0.243 s and 0.149 s.
MIN_PART_BYTES = 8 * 2**20

GZIP_MAGIC = b"\x1f\x8b"
BGZF_HEADER = struct.Struct("<4s4xBBH")  # magic and flags, mtime, xfl, os, XLEN
BGZF_FOOTER = struct.Struct("<II")  # CRC32, ISIZE
# The first 16 bytes of a BGZF block as bgzip writes it: the gzip header with FEXTRA set,
# XLEN 6 and the BC subfield's ID and length. The subfield's value BSIZE follows.
BGZF_BLOCK_PREFIX = bytes.fromhex("1f8b08040000000000ff060042430200")
# The text of one BGZF block, as bgzip writes it (BGZF_BLOCK_SIZE 0xff00 in htslib).
BGZF_BLOCK_TEXT_BYTES = 0xFF00
# The maximum text of one BGZF block (BGZF_MAX_BLOCK_SIZE in htslib's bgzf.h).
BGZF_MAX_TEXT_BYTES = 0x10000
# The empty block that ends a BGZF file (htslib's bgzf.c).
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")
PLAIN_CHUNK_BYTES = 2**20
ERROR_TEXT_BYTES = 4000
PR_SET_PDEATHSIG = 1  # prctl option from <linux/prctl.h>


@dataclass(frozen=True)
class FilePart:
    """One part of a VCF file, as file byte offsets.

    Attributes
    ----------
    path : str
    bgzf : bool
        True for a bgzipped file, whose ``start`` and ``end`` are BGZF
        block offsets; False for plain text.
    index : int
        Position of the part in the file, from 0.
    start, end : int
        File offsets where this part and the next one begin.
    header : bytes
        The header text (every line up to and including ``#CHROM``),
        written before the lines of the parts after the first.
    """

    path: str
    bgzf: bool
    index: int
    start: int
    end: int
    header: bytes


class SplitError(ValueError):
    """Error raised for a file that cannot be cut into parts, with the reason as its message."""


def _bgzf_block(buffer, offset: int) -> tuple[int, int]:
    """Return the total size and the extra-field length of the BGZF block at ``offset``.

    Raises SplitError where the bytes there are not a whole BGZF block.
    """
    if offset + BGZF_HEADER.size > len(buffer):
        raise SplitError(f"truncated BGZF block header at byte {offset}")
    magic, _, _, extra_length = BGZF_HEADER.unpack_from(buffer, offset)
    if magic[:3] != b"\x1f\x8b\x08" or not magic[3] & 4:
        raise SplitError(f"no BGZF block header at byte {offset}")
    position = offset + BGZF_HEADER.size
    extra_end = position + extra_length
    block_size = None
    while position + 4 <= extra_end:
        tag, length = (
            buffer[position : position + 2],
            struct.unpack_from("<H", buffer, position + 2)[0],
        )
        if tag == b"BC" and length == 2:
            block_size = struct.unpack_from("<H", buffer, position + 4)[0] + 1
        position += 4 + length
    if block_size is None:
        raise SplitError(f"the gzip member at byte {offset} has no BGZF block size (not BGZF)")
    if offset + block_size > len(buffer):
        raise SplitError(f"the BGZF block at byte {offset} runs past the end of the file")
    return block_size, extra_length


def _inflate_block(buffer, offset: int) -> tuple[bytes, int]:
    """Inflate the BGZF block at ``offset``; return its text and the offset of the next block.

    Raises zlib.error or SplitError for a damaged block.
    """
    block_size, extra_length = _bgzf_block(buffer, offset)
    data_start = offset + BGZF_HEADER.size + extra_length
    end = offset + block_size
    text = zlib.decompress(memoryview(buffer)[data_start : end - BGZF_FOOTER.size], -15)
    crc, size = BGZF_FOOTER.unpack_from(buffer, end - BGZF_FOOTER.size)
    if size != len(text) or crc != zlib.crc32(text):
        raise SplitError(f"the BGZF block at byte {offset} fails its CRC32 or size check")
    return text, end


def _walk_bgzf(buffer) -> tuple[np.ndarray, np.ndarray]:
    """Return the offset and uncompressed size of every BGZF block, without inflating."""
    offsets, sizes = [], []
    offset = 0
    while offset < len(buffer):
        block_size, _ = _bgzf_block(buffer, offset)
        text_size = struct.unpack_from("<I", buffer, offset + block_size - 4)[0]
        if text_size > BGZF_MAX_TEXT_BYTES:
            # htslib rejects such a block; a read in one process gives its error.
            raise SplitError(
                f"the BGZF block at byte {offset} contains {text_size} bytes of text, "
                f"more than the {BGZF_MAX_TEXT_BYTES} that BGZF allows"
            )
        offsets.append(offset)
        sizes.append(text_size)
        offset += block_size
    return np.array(offsets, dtype=np.int64), np.array(sizes, dtype=np.int64)


def _header_end(text: bytes) -> int | None:
    """Return the offset just after the ``#CHROM`` line, or None if ``text`` has not got it all.

    Raises SplitError for a line before it that htslib may read differently
    from a plain run of ``##`` lines (an empty line or a line without ``#``).
    """
    position = 0
    while True:
        newline = text.find(b"\n", position)
        if newline < 0:
            return None
        line = text[position:newline]
        if not line.startswith(b"#"):
            raise SplitError("the header has a line that does not start with '#'")
        if not line.startswith(b"##"):
            return newline + 1
        position = newline + 1


def _cut_offsets(size: int, n_parts: int, candidates: np.ndarray) -> list[int]:
    """Return the start of every part after the first: the first candidate at or after each equal share."""
    starts = []
    for part in range(1, n_parts):
        index = int(np.searchsorted(candidates, size * part // n_parts))
        if index < len(candidates) and (not starts or candidates[index] > starts[-1]):
            starts.append(int(candidates[index]))
    return starts


def plan_parts(path, n_parts: int, min_part_bytes: int = MIN_PART_BYTES) -> list[FilePart]:
    """Cut a plain or bgzipped VCF into at most ``n_parts`` parts of whole BGZF blocks or bytes.

    Every part after the first starts after the header, and the parts
    contain at least ``min_part_bytes`` of text on average. May return a
    single part.

    Raises
    ------
    SplitError
        If the file is BCF, gzip but not BGZF, damaged, or has a header
        that is not a plain run of ``##`` lines and one ``#CHROM`` line.
    """
    path = str(path)
    size = os.path.getsize(path)
    if size == 0:
        raise SplitError("the file is empty")
    with (
        open(path, "rb") as stream,
        mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as buffer,
    ):
        bgzf = buffer[:2] == GZIP_MAGIC
        if bgzf:
            offsets, text_sizes = _walk_bgzf(buffer)
            head = b""
            block = 0
            header_end = None
            while header_end is None and block < len(offsets):
                try:
                    text, _ = _inflate_block(buffer, int(offsets[block]))
                except zlib.error as error:
                    raise SplitError(
                        f"cannot inflate the BGZF block at byte {offsets[block]}"
                    ) from error
                if not head and text.startswith(b"BCF"):
                    raise SplitError("the file is BCF")
                head += text
                block += 1
                header_end = _header_end(head)
            text_starts = np.concatenate([[0], np.cumsum(text_sizes)[:-1]])
            total_text = int(text_sizes.sum())
        else:
            head = b""
            header_end = None
            while header_end is None and len(head) < size:
                head = buffer[: len(head) + PLAIN_CHUNK_BYTES]
                if head.startswith(b"BCF"):
                    raise SplitError("the file is BCF")
                header_end = _header_end(head)
            total_text = size
    if header_end is None:
        raise SplitError("no complete #CHROM header line")
    header = head[:header_end]
    n_parts = max(1, min(n_parts, (total_text - header_end) // max(1, min_part_bytes)))
    if bgzf:
        # A part may start only at a block that starts after the header and contains text.
        candidates = offsets[(text_starts >= header_end) & (text_starts < total_text)]
        starts = _cut_offsets(size, n_parts, candidates)
    else:
        starts = sorted({max(size * part // n_parts, header_end) for part in range(1, n_parts)})
        starts = [start for start in starts if start < size]
    bounds = [0, *starts, size]
    return [
        FilePart(path, bgzf, index, bounds[index], bounds[index + 1], header)
        for index in range(len(bounds) - 1)
    ]


def compress_bgzf(text: bytes) -> bytes:
    """Return ``text`` as BGZF blocks of at most :data:`BGZF_BLOCK_TEXT_BYTES` of text each."""
    blocks = []
    for start in range(0, len(text), BGZF_BLOCK_TEXT_BYTES):
        piece = text[start : start + BGZF_BLOCK_TEXT_BYTES]
        compressor = zlib.compressobj(1, zlib.DEFLATED, -15)
        data = compressor.compress(piece) + compressor.flush()
        # BSIZE is the block size minus 1: 18 header bytes, the data and 8 footer bytes.
        blocks.append(BGZF_BLOCK_PREFIX + struct.pack("<H", len(data) + 25) + data)
        blocks.append(BGZF_FOOTER.pack(zlib.crc32(piece), len(piece)))
    return b"".join(blocks)


def _write_bgzf_part(part: FilePart, buffer, stream) -> None:
    """Write the part as BGZF: its whole blocks as they are, its cut ends compressed anew.

    htslib in the reading worker inflates the blocks, so this process
    inflates only the blocks where the part's first and last lines are cut.
    """
    offset = part.start
    if part.index > 0:
        stream.write(compress_bgzf(part.header))
        while True:
            if offset >= part.end:
                # No line starts inside the part; the previous part reads them all.
                stream.write(BGZF_EOF)
                return
            text, offset = _inflate_block(buffer, offset)
            newline = text.find(b"\n")
            if newline >= 0:
                stream.write(compress_bgzf(text[newline + 1 :]))
                break
    stream.write(memoryview(buffer)[offset : part.end])
    offset = part.end
    # Finish the part's last line from the following blocks.
    while offset < len(buffer):
        text, offset = _inflate_block(buffer, offset)
        newline = text.find(b"\n")
        if newline >= 0:
            stream.write(compress_bgzf(text[: newline + 1]))
            break
        stream.write(compress_bgzf(text))
    stream.write(BGZF_EOF)


def _write_plain_part(part: FilePart, buffer, stream) -> None:
    """Write the header and the part's lines of a plain VCF."""
    if part.index == 0:
        start = 0
    else:
        stream.write(part.header)
        newline = buffer.find(b"\n", part.start, part.end)
        if newline < 0:
            return  # No line starts inside the part; the previous part reads them all.
        start = newline + 1
    for offset in range(start, part.end, PLAIN_CHUNK_BYTES):
        stream.write(memoryview(buffer)[offset : min(offset + PLAIN_CHUNK_BYTES, part.end)])
    # Finish the part's last line.
    newline = buffer.find(b"\n", part.end)
    stream.write(memoryview(buffer)[part.end : len(buffer) if newline < 0 else newline + 1])


def write_part(part: FilePart, stream) -> None:
    """Write the header and the lines that belong to ``part`` (see the module notes) to ``stream``.

    A bgzipped part is written as BGZF, a plain part as text.
    """
    with (
        open(part.path, "rb") as source,
        mmap.mmap(source.fileno(), 0, access=mmap.ACCESS_READ) as buffer,
    ):
        if part.bgzf:
            _write_bgzf_part(part, buffer, stream)
        else:
            _write_plain_part(part, buffer, stream)


@dataclass
class PartResult:
    """Result of one part from a worker process; its rows are in the part's scratch file."""

    index: int
    n_rows: int
    columns: dict[str, list]
    alt_freq: np.ndarray
    call_rate: np.ndarray
    counts: Counter
    last_record: str | None
    parse_error: RecordParseError | None = None
    stream_error: str | None = None


@dataclass(frozen=True)
class _PartTask:
    part: FilePart
    n_parts: int
    samples: list[str] | None
    n_samples: int
    declared_contigs: frozenset
    multiallelic: str
    haploid: str
    chunk_variants: int
    scratch_fd: int
    parent: int


def _start_writer(part: FilePart) -> tuple[int, int, int]:
    """Fork a process that writes the part to a pipe; return its pid and the read ends.

    The second read end carries the writer's error message, if any.
    """
    read_end, write_end = os.pipe()
    error_read, error_write = os.pipe()
    worker = os.getpid()
    pid = os.fork()
    if pid:
        os.close(write_end)
        os.close(error_write)
        return pid, read_end, error_read
    status = 1
    try:
        _die_with_parent(worker)
        os.close(read_end)
        os.close(error_read)
        try:
            with open(write_end, "wb") as stream:
                write_part(part, stream)
        except BrokenPipeError:
            pass  # The reader stopped early at a malformed record.
        status = 0
    except BaseException as error:  # noqa: BLE001 - reported to the worker, then the writer exits
        message = f"{type(error).__name__}: {error}".encode()[:ERROR_TEXT_BYTES]
        os.write(error_write, message)
    finally:
        os._exit(status)


def _die_with_parent(parent: int) -> None:
    """Have Linux kill this process when its parent ends, so no worker outlives a killed reader.

    Uses prctl(PR_SET_PDEATHSIG, SIGKILL); elsewhere this does nothing.
    Exits at once if the parent ``parent`` has already ended.
    """
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


def _read_part(task: _PartTask) -> PartResult:
    """Parse one part through cyvcf2 in this worker process and save its rows to a scratch file."""
    _die_with_parent(task.parent)
    part = task.part
    pid, read_end, error_read = _start_writer(part)
    source = f"{part.path} (part {part.index + 1} of {task.n_parts})"
    parse_error = None
    blocks = None
    open_error = None
    try:
        try:
            vcf = VCF(f"/dev/fd/{read_end}", samples=task.samples)
        except Exception as error:  # cyvcf2 raises a plain Exception for an unreadable header
            open_error = f"cyvcf2 could not read the part's header: {error}"
        else:
            try:
                blocks = read_records(
                    vcf,
                    task.n_samples,
                    set(task.declared_contigs),
                    task.multiallelic,
                    task.haploid,
                    task.chunk_variants,
                    source,
                )
            except RecordParseError as error:
                parse_error = error
            finally:
                vcf.close()
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
        with open(error_read, "rb") as stream:
            stream_error = stream.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0 and not stream_error:
        stream_error = f"the writer process ended with status {os.waitstatus_to_exitcode(status)}"
    stream_error = stream_error or open_error

    empty = {"variant_id": [], "chrom": [], "pos": [], "ref": [], "alt": []}
    if blocks is None or stream_error:
        return PartResult(
            part.index,
            0,
            empty,
            np.empty(0),
            np.empty(0),
            Counter(),
            None,
            parse_error,
            stream_error or None,
        )
    try:
        with open(task.scratch_fd, "wb", closefd=False) as stream:
            stream.seek(0)
            blocks.slabs.write_rows(stream)
    except OSError as error:
        return PartResult(
            part.index,
            0,
            empty,
            np.empty(0),
            np.empty(0),
            Counter(),
            None,
            stream_error=f"cannot write the scratch file of the part in the temporary "
            f"directory: {error}",
        )
    return PartResult(
        part.index,
        blocks.n_rows,
        blocks.columns,
        np.concatenate(blocks.alt_freqs) if blocks.alt_freqs else np.empty(0),
        np.concatenate(blocks.call_rates) if blocks.call_rates else np.empty(0),
        blocks.counts,
        blocks.last_record,
    )


def _check_results(path, results: list[PartResult]) -> str | None:
    """Raise the parse error that a read in one process would raise first, if any part failed.

    Returns the reason to read the file again in one process when the first
    failure is no parse error. That is a damaged block, for which a read in
    one process gives htslib's own error, or a scratch file that could not
    be written. Returns None when every part was read.
    """
    last_record = None
    for result in results:
        if result.stream_error:
            return f"part {result.index + 1} failed: {result.stream_error}"
        if result.parse_error is not None:
            last = result.parse_error.last or last_record
            raise InputError(malformed_record_message(path, last, result.parse_error.error))
        last_record = result.last_record or last_record
    return None


def _prefaulted_matrix(n_rows: int, n_samples: int) -> np.ndarray:
    """Return an int8 matrix whose pages the kernel maps in one call (MAP_POPULATE on Linux).

    Reading the parts into a fresh ``numpy.empty`` matrix faulted its pages in
    one at a time: about 88 ms for a 38 MiB matrix against 13 ms with
    MAP_POPULATE, in one measurement on this project's benchmark machine.
    """
    size = n_rows * n_samples
    populate = getattr(mmap, "MAP_POPULATE", 0)
    if not size or not populate:
        return np.empty((n_rows, n_samples), dtype=np.int8)
    buffer = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS | populate)
    return np.frombuffer(buffer, dtype=np.int8).reshape(n_rows, n_samples)


def _join_matrix(results: list[PartResult], scratch_files: list, n_samples: int) -> np.ndarray:
    """Read the parts' scratch files, in order, into one int8 matrix."""
    dosages = _prefaulted_matrix(sum(result.n_rows for result in results), n_samples)
    start = 0
    for result, stream in zip(results, scratch_files, strict=True):
        if result.n_rows:
            rows = dosages[start : start + result.n_rows]
            stream.seek(0)
            if stream.readinto(memoryview(rows).cast("B")) != rows.nbytes:
                raise OSError(
                    f"the scratch file of part {result.index + 1} is shorter than expected"
                )
            start += result.n_rows
    return dosages


def log_serial_read(path, reason: str) -> None:
    """Log that ``path`` is read in one process, and why."""
    logger.info("%s: reading in one process (%s)", path, reason)


def serial_read_reason(path, region: str | None) -> str | None:
    """Return why ``path`` must be read in one process before it is opened, or None.

    Checked before the header is read: a named pipe or a process
    substitution (``/dev/fd/N``) can be read only once, so it must not be
    opened for the header first. Worker processes also need the fork start
    method, a parent that may have children (not a daemonic
    multiprocessing worker) and a SIGCHLD handler that lets them wait for
    their writer processes.
    """
    if region is not None:
        return "a region is read through the index"
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        return f"cannot stat the file: {error.strerror}"
    if not stat.S_ISREG(mode):
        return "the file is not a regular file (for example a pipe), so it can be read only once"
    if "fork" not in multiprocessing.get_all_start_methods():
        return "the fork start method is not available"
    if multiprocessing.current_process().daemon:
        return "this is a daemonic process, which may not start worker processes"
    if signal.getsignal(signal.SIGCHLD) == signal.SIG_IGN:
        return "SIGCHLD is ignored, so worker processes could not wait for their writers"
    return None


def read_vcf_in_parts(
    path,
    region: str | None,
    multiallelic: str,
    haploid: str,
    chunk_variants: int,
    threads: int,
    samples: list[str] | None,
    sample_ids: list[str],
    declared_contigs: set[str],
    min_part_bytes: int | None = None,
) -> RawGenotypes | None:
    """Read a VCF in up to ``threads`` parts in forked worker processes.

    Takes the arguments of :func:`fcsnet.io.vcf.read_vcf`, plus the sample
    IDs and declared contigs of the header that the caller has read.
    Returns None, after logging the reason, where the file must be read in
    one process. That is the case for a region and without the fork start
    method. It is also the case for a file that cannot be split (BCF, gzip
    but not BGZF, damaged) or gives one part only. Last, it is the case
    after a part failed for another reason than a record that htslib cannot
    parse.
    """
    reason = serial_read_reason(path, region)
    if reason is not None:
        log_serial_read(path, reason)
        return None
    if min_part_bytes is None:
        min_part_bytes = MIN_PART_BYTES
    try:
        parts = plan_parts(path, threads, min_part_bytes)
    except (SplitError, OSError) as error:
        log_serial_read(path, f"cannot cut the file into parts: {error}")
        return None
    if len(parts) < 2:
        log_serial_read(
            path, f"less than {min_part_bytes} bytes of text per part for {threads} parts"
        )
        return None
    kind = "bgzipped VCF cut at BGZF blocks" if parts[0].bgzf else "plain VCF cut at byte offsets"
    logger.info(
        "%s: reading in %d parts by %d worker processes (%s)", path, len(parts), len(parts), kind
    )
    # One unnamed temporary file per part, opened before the workers are
    # forked so that they inherit it. The system deletes it however this
    # process ends, so no scratch file outlives a killed reader.
    scratch_files = []
    try:
        for _ in parts:
            scratch_files.append(tempfile.TemporaryFile(prefix="fcsnet-vcf-part-"))
    except OSError as error:  # includes FileNotFoundError: no usable temporary directory
        for stream in scratch_files:
            stream.close()
        log_serial_read(path, f"no scratch file for the parts: {error}")
        return None
    try:
        tasks = [
            _PartTask(
                part,
                len(parts),
                samples,
                len(sample_ids),
                frozenset(declared_contigs),
                multiallelic,
                haploid,
                chunk_variants,
                stream.fileno(),
                os.getpid(),
            )
            for part, stream in zip(parts, scratch_files, strict=True)
        ]
        context = multiprocessing.get_context("fork")
        try:
            with ProcessPoolExecutor(max_workers=len(parts), mp_context=context) as executor:
                results = list(executor.map(_read_part, tasks))
        except BrokenProcessPool as error:
            raise RuntimeError(
                f"a worker process reading {path} ended abruptly, for example killed for lack of "
                "memory; give the rule more memory or set ingest.threads to 1"
            ) from error
        failure = _check_results(path, results)
        if failure is not None:
            logger.warning("%s: reading again in one process (%s)", path, failure)
            return None
        counts: Counter = Counter()
        columns: dict[str, list] = {name: [] for name in results[0].columns}
        for result in results:
            counts.update(result.counts)
            for name, values in result.columns.items():
                columns[name].extend(values)
        if counts["records_unknown_contig_skipped"]:
            # Such records are usually garbage lines. htslib keeps state
            # across them (a second short line can fail where the first was
            # read), so only a read in one process gives its result.
            logger.warning(
                "%s: reading again in one process (%d records on contigs the header does not "
                "declare)",
                path,
                counts["records_unknown_contig_skipped"],
            )
            return None
        return assemble_genotypes(
            path,
            region,
            haploid,
            sample_ids,
            columns,
            np.concatenate([result.alt_freq for result in results]),
            np.concatenate([result.call_rate for result in results]),
            counts,
            lambda: _join_matrix(results, scratch_files, len(sample_ids)),
        )
    finally:
        for stream in scratch_files:
            stream.close()
