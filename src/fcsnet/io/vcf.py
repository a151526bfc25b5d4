"""Read VCF and BCF files (plain, bgzipped or BCF) into alt-allele dosages.

Records are streamed through cyvcf2 and converted in blocks of
``chunk_variants`` output rows, so memory grows with the int8 output matrix
and never with the text.

Coding rules, applied to every call and counted in ``RawGenotypes.counts``:

- Phase is ignored: ``0|1`` and ``0/1`` are both dosage 1.
- A call with any missing allele (``./.``, ``0/.``, ``./1``, a bare ``.``)
  is missing.
- A haploid call (``0`` or ``1``, e.g. male chrX or chrM) is coded by
  ``haploid``: ``"missing"`` sets it missing, ``"double"`` codes ``0`` as 0
  and ``1`` as 2, like a homozygous diploid call. The number of haploid
  calls is always counted, so diploid and haploid codes are never mixed
  without a record in the log.
- A call with more than two alleles (e.g. the triploid ``0/1/.``) is set
  missing and counted.
- A record without a GT field is skipped and counted. A record whose ALT is
  ``.`` (a reference-only site) is skipped and counted. When the header
  declares contigs, a record on an undeclared contig (typically a stray or
  cut-off line) is skipped and counted. These skips are logged as a
  WARNING, since they also reveal a truncated file or a garbage line.
- Symbolic and structural alleles (``<DEL>``, ``<*:DEL>``, ``*``, breakend
  notation) are skipped and counted per allele. A call that carries a
  skipped allele is missing in the records kept from the same site.
- A multiallelic site (more than one ALT) is either split into one biallelic
  row per usable ALT (``multiallelic="split"``) or skipped
  (``multiallelic="skip"``). In the row of ALT allele k, the dosage counts
  allele k against REF, and a call that carries any other ALT allele is
  missing, because its carrier has neither REF nor allele k on that
  chromosome.
- A variant whose ID is ``.`` is named ``chrom:pos:ref:alt``; a row split
  from a multiallelic site with an ID is named ``ID:alt``. IDs that still
  repeat get ``_2``, ``_3``, ... appended, and the renames are counted.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd
from cyvcf2 import VCF

from fcsnet.errors import ConfigError, InputError
from fcsnet.io import RawGenotypes, make_unique_ids

logger = logging.getLogger(__name__)

MULTIALLELIC_MODES = ("split", "skip")
# Counters of records skipped because they lack what every record needs (or
# could be a broken line); logged as a warning.
MALFORMED_COUNTS = (
    "records_without_gt_skipped",
    "records_without_alt_skipped",
    "records_unknown_contig_skipped",
)
HAPLOID_MODES = ("missing", "double")

# Allele categories of one genotype allele in the row of ALT allele k.
# cyvcf2 codes a missing allele as -1 and the padding after the last allele
# of a call shorter than the record's widest call as -2.
_END, _MISSING, _REF, _TARGET, _OTHER = range(5)
_N_CATEGORIES = 5


def _code_tables(haploid: str) -> tuple[np.ndarray, list[str]]:
    """Build the dosage and call-kind lookup tables over pairs of allele categories.

    Returns the int8 dosage of each of the 25 (first allele, second allele)
    category pairs and the name of the counter each pair is counted under.
    """
    dosage = np.full(_N_CATEGORIES * _N_CATEGORIES, -1, dtype=np.int8)
    kind = ["missing_calls"] * (_N_CATEGORIES * _N_CATEGORIES)
    called = (_REF, _TARGET, _OTHER)
    for first in range(_N_CATEGORIES):
        for second in range(_N_CATEGORIES):
            code = first * _N_CATEGORIES + second
            if first in called and second in called:
                if _OTHER in (first, second):
                    kind[code] = "other_alt_calls_missing"
                else:
                    kind[code] = "diploid_calls"
                    dosage[code] = (first == _TARGET) + (second == _TARGET)
            elif first in called and second == _END:
                if first == _OTHER:
                    kind[code] = "other_alt_calls_missing"
                elif haploid == "double":
                    kind[code] = "haploid_calls_doubled"
                    dosage[code] = 2 if first == _TARGET else 0
                else:
                    kind[code] = "haploid_calls_missing"
            elif (first in called and second == _MISSING) or (
                first == _MISSING and second in called
            ):
                kind[code] = "half_missing_calls"
    return dosage, kind


def is_symbolic_allele(allele: str) -> bool:
    """Return True for symbolic, structural, star and breakend ALT alleles."""
    return allele.startswith("<") or allele == "*" or "[" in allele or "]" in allele


class _BlockConverter:
    """Collect the allele pairs of up to ``capacity`` output rows and convert them to dosages."""

    def __init__(self, n_samples: int, capacity: int, haploid: str):
        self.n_samples = n_samples
        self.capacity = capacity
        # alleles[row, 0] holds the first allele of every sample, alleles[row, 1] the second, so
        # that the block operations run over contiguous memory.
        self.alleles = np.empty((capacity, 2, n_samples), dtype=np.int16)
        self.targets = np.empty(capacity, dtype=np.int16)
        # Scratch arrays reused by every block. With fresh temporaries of this size per block,
        # the first read in a process took a third to a half more CPU time (likely page faults).
        self.low = np.empty((capacity, n_samples), dtype=np.int16)
        self.high = np.empty((capacity, n_samples), dtype=np.int16)
        self.mask = np.empty((capacity, n_samples), dtype=bool)
        self.n_rows = 0
        self.dosage_table, kinds = _code_tables(haploid)
        self.kind_names = sorted(set(kinds))
        self.kind_index = np.array([self.kind_names.index(name) for name in kinds])

    def add(self, alleles: np.ndarray, target: int) -> None:
        """Append one output row from cyvcf2's (n_samples, 3) allele array."""
        self.alleles[self.n_rows] = alleles[:, :2].T
        self.targets[self.n_rows] = target
        self.n_rows += 1

    def convert(self, counts: Counter, out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Write the block's dosages into ``out`` (int8, (n_rows, n_samples)); return alt_freq, call_rate."""
        rows = self.n_rows
        first = self.alleles[:rows, 0]
        second = self.alleles[:rows, 1]
        targets = self.targets[:rows]
        low = np.minimum(first, second, out=self.low[:rows])
        high = np.maximum(first, second, out=self.high[:rows])
        plain = self._plain_rows(targets, low, high)
        dosages = out[:rows]
        if plain.all():
            kind_counts = self._convert_diploid(first, second, low, high, dosages)
        elif not plain.any():
            kind_counts = self._convert_table(first, second, targets, dosages)
        else:
            # Code the plain rows and the others apart, through copies of each group.
            plain_index, other_index = np.flatnonzero(plain), np.flatnonzero(~plain)
            part = np.empty((len(plain_index), self.n_samples), dtype=np.int8)
            kind_counts = self._convert_diploid(
                first[plain_index], second[plain_index], low[plain_index], high[plain_index], part
            )
            dosages[plain_index] = part
            part = np.empty((len(other_index), self.n_samples), dtype=np.int8)
            kind_counts = kind_counts + self._convert_table(
                first[other_index], second[other_index], targets[other_index], part
            )
            dosages[other_index] = part
        for name, value in zip(self.kind_names, kind_counts, strict=True):
            counts[name] += int(value)

        # int32 row sums are exact below 10**9 samples and about twice as fast as int64 ones.
        n_missing = np.less(dosages, 0, out=self.mask[:rows]).sum(axis=1, dtype=np.int32)
        n_called = self.n_samples - n_missing
        # Each missing call contributes -1 to the row sum.
        allele_count = dosages.sum(axis=1, dtype=np.int32) + n_missing
        with np.errstate(invalid="ignore", divide="ignore"):
            alt_freq = np.where(n_called > 0, allele_count / (2.0 * n_called), np.nan)
        call_rate = n_called / self.n_samples
        self.n_rows = 0
        return alt_freq, call_rate

    @staticmethod
    def _plain_rows(targets, low, high) -> np.ndarray:
        """Flag the rows that :meth:`_convert_diploid` can code: ALT allele 1, allele codes -1 to 1.

        ``low`` and ``high`` are the smaller and larger allele of each call.
        Rows with a haploid call (padding -2) or another ALT allele are not plain.
        """
        return (targets == 1) & (low.min(axis=1) >= -1) & (high.max(axis=1) <= 1)

    def _convert_diploid(self, first, second, low, high, out) -> np.ndarray:
        """Code plain rows (biallelic, diploid calls only) with a few whole-array operations.

        Gives the same dosages and counts as :meth:`_convert_table` on such
        rows. Overwrites ``low`` and ``high``.
        """
        mask = self.mask[: len(first)]
        n_missing = int(np.count_nonzero(np.less(low, 0, out=mask)))
        n_both_missing = int(np.count_nonzero(np.less(high, 0, out=mask)))
        total = np.add(first, second, out=high)
        # low >> 15 is -1 (all bits set) where either allele is missing and 0 elsewhere.
        np.bitwise_or(total, np.right_shift(low, 15, out=low), out=out, casting="unsafe")
        by_kind = {
            "missing_calls": n_both_missing,
            "half_missing_calls": n_missing - n_both_missing,
            "diploid_calls": out.size - n_missing,
        }
        return np.array([by_kind.get(name, 0) for name in self.kind_names])

    def _convert_table(self, first, second, targets, out) -> np.ndarray:
        """Code any rows through the lookup table over pairs of allele categories."""
        if targets.max() == 1 and first.max() <= 1 and second.max() <= 1:
            # Biallelic rows: allele codes -2, -1, 0, 1 are the categories shifted by 2.
            codes = (first + 2) * _N_CATEGORIES + (second + 2)
        else:
            target = targets[:, None]
            codes = _categories(first, target) * _N_CATEGORIES + _categories(second, target)
        # take() with intp indices is the fastest numpy lookup for this table.
        codes = codes.astype(np.intp)
        # Every code is a valid index, so mode="clip" only skips the bounds check and buffering.
        self.dosage_table.take(codes, out=out, mode="clip")
        code_counts = np.bincount(codes.ravel(), minlength=_N_CATEGORIES * _N_CATEGORIES)
        return np.bincount(self.kind_index, weights=code_counts, minlength=len(self.kind_names))


def _check_options(multiallelic: str, haploid: str, chunk_variants: int) -> None:
    if multiallelic not in MULTIALLELIC_MODES:
        raise ConfigError(
            f"ingest.multiallelic is {multiallelic!r}; expected one of {MULTIALLELIC_MODES}"
        )
    if haploid not in HAPLOID_MODES:
        raise ConfigError(f"ingest.haploid is {haploid!r}; expected one of {HAPLOID_MODES}")
    if chunk_variants < 1:
        raise ConfigError(f"ingest.chunk_variants is {chunk_variants}; expected a positive integer")


def read_vcf_samples(path) -> list[str]:
    """Return the sample IDs of a VCF or BCF header, in file order."""
    vcf, _ = _open_vcf(path, None)
    samples = [str(sample) for sample in vcf.samples]
    vcf.close()
    return samples


def _open_vcf(path, region, samples=None):
    try:
        vcf = VCF(str(path), samples=samples)
    except (OSError, Exception) as error:  # cyvcf2 raises a plain Exception for unreadable files
        raise InputError(f"cannot read {path} as VCF or BCF: {error}") from error
    if not vcf.samples:
        vcf.close()
        raise InputError(
            f"VCF {path} has no samples (a sites-only file); fcsnet needs per-sample genotypes"
        )
    if region is None:
        return vcf, iter(vcf)
    try:
        # cyvcf2 loads the index when the first record is requested.
        records = vcf(region)
        first = next(records, None)
    except (OSError, Exception) as error:  # cyvcf2 raises a plain Exception without an index
        vcf.close()
        raise InputError(
            f"cannot read region {region!r} of {path}: {error}; a region needs a .tbi or .csi "
            "index beside the file (make one with 'tabix -p vcf' or 'bcftools index')"
        ) from error
    return vcf, itertools.chain([] if first is None else [first], records)


def _declared_contigs(vcf) -> set[str]:
    """Return the contig IDs declared by ``##contig`` header lines (empty when none are)."""
    contigs = set()
    for line in vcf.raw_header.splitlines():
        if line.startswith("##contig=<ID="):
            contigs.add(line[len("##contig=<ID=") :].split(",", 1)[0].rstrip(">"))
    return contigs


class RecordParseError(Exception):
    """htslib failed to parse a record; ``last`` is the last record read before it (chrom:pos)."""

    def __init__(self, last: str | None, error: Exception | str):
        # Both values go to Exception.args, so that the error pickles between processes.
        super().__init__(last, str(error))
        self.last = last
        self.error = str(error)

    def __str__(self) -> str:
        return self.error


def malformed_record_message(path, last: str | None, error: str) -> str:
    """Describe a record that htslib could not parse, naming the last record read before it."""
    where = "the first record" if last is None else f"the record after {last}"
    return (
        f"VCF {path} is malformed or truncated: htslib could not parse {where} "
        f"(the last record read successfully; {error}). Check the file with "
        f"'bcftools view {path} > /dev/null', which prints htslib's reason (e.g. a "
        "non-numeric POS, fewer sample columns than the header, or a cut-off .gz), and "
        "fix or regenerate it"
    )


def _categories(alleles: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Map allele indices to the categories _END ... _OTHER for the row's ALT allele ``target``."""
    return np.where(
        alleles < 0,
        alleles + 2,
        np.where(alleles == 0, _REF, np.where(alleles == target, _TARGET, _OTHER)),
    )


def _record_alleles(variant, n_samples: int, counts: Counter) -> np.ndarray | None:
    """Return a record's alleles as cyvcf2's (n_samples, 3) array: two alleles and the phase.

    Returns None when the record has no GT field.
    """
    try:
        genotype = variant.genotype
    except Exception:  # cyvcf2 raises a plain Exception when the record has no GT field
        return None
    if genotype is None:
        return None
    array = genotype.array()
    width = array.shape[1] - 1
    if width == 2:
        return array
    alleles = np.full((n_samples, 3), -2, dtype=np.int16)
    if width == 1:
        alleles[:, 0] = array[:, 0]
        return alleles
    ploidy = (array[:, :-1] != -2).sum(axis=1)
    polyploid = ploidy > 2
    counts["polyploid_calls_missing"] += int(polyploid.sum())
    alleles[:, :2] = array[:, :2]
    alleles[polyploid, :2] = -1
    return alleles


@dataclass
class RecordBlocks:
    """Output rows of a run of records, before they are joined into one matrix.

    Attributes
    ----------
    columns : dict of str to list
        ``variant_id`` (before repeats are made unique), ``chrom``, ``pos``,
        ``ref`` and ``alt`` of every output row.
    alt_freqs, call_rates : list of numpy.ndarray of float
        Per-row figures, one array per converted block.
    counts : collections.Counter
        Counts of the records read, skipped and recoded.
    slabs : _Slabs
        The int8 dosages of every row, in order.
    last_record : str or None
        ``chrom:pos`` of the last record read, None when none was read.
    """

    columns: dict[str, list]
    alt_freqs: list[np.ndarray]
    call_rates: list[np.ndarray]
    counts: Counter
    slabs: _Slabs
    last_record: str | None = None

    @property
    def n_rows(self) -> int:
        return len(self.columns["variant_id"])


def read_records(
    records,
    n_samples: int,
    declared_contigs: set[str],
    multiallelic: str,
    haploid: str,
    chunk_variants: int,
    source: str,
) -> RecordBlocks:
    """Code cyvcf2 records into dosage blocks by the rules of the module notes.

    ``source`` names the input in progress messages. Raises
    :class:`RecordParseError` when htslib cannot parse a record.
    """
    counts: Counter = Counter()
    converter = _BlockConverter(n_samples, chunk_variants, haploid)
    columns: dict[str, list] = {"variant_id": [], "chrom": [], "pos": [], "ref": [], "alt": []}
    blocks = RecordBlocks(columns, [], [], counts, _Slabs(n_samples, chunk_variants))

    def flush() -> None:
        alt_freq, call_rate = converter.convert(counts, blocks.slabs.reserve(converter.n_rows))
        blocks.alt_freqs.append(alt_freq)
        blocks.call_rates.append(call_rate)

    ids, chroms, positions, refs, alt_column = (columns[name] for name in columns)
    records = iter(records)
    n_read = n_symbolic = 0
    # The last record read, named chrom:pos only when needed.
    variant = None
    try:
        while True:
            previous = variant
            try:
                variant = next(records)
            except StopIteration:
                break
            except Exception as error:  # cyvcf2 raises a plain Exception for a malformed record
                raise RecordParseError(_record_name(previous), error) from error
            n_read += 1
            if not n_read % 100_000:
                logger.info("read %d records of %s", n_read, source)
            if declared_contigs and variant.CHROM not in declared_contigs:
                # A garbage line or a cut-off record parses as a record on an unknown contig.
                counts["records_unknown_contig_skipped"] += 1
                continue
            alts = variant.ALT
            if len(alts) == 1:
                # The common biallelic record, without the list building of the general case.
                if is_symbolic_allele(alts[0]):
                    n_symbolic += 1
                    counts["records_symbolic_only_skipped"] += 1
                    continue
                usable = ((1, alts[0]),)
            else:
                if not alts:
                    counts["records_without_alt_skipped"] += 1
                    continue
                usable = [
                    (index, alt)
                    for index, alt in enumerate(alts, start=1)
                    if not is_symbolic_allele(alt)
                ]
                n_symbolic += len(alts) - len(usable)
                if not usable:
                    counts["records_symbolic_only_skipped"] += 1
                    continue
                if multiallelic == "skip":
                    counts["multiallelic_records_skipped"] += 1
                    continue
                counts["multiallelic_records_split"] += 1
            alleles = _record_alleles(variant, n_samples, counts)
            if alleles is None:
                counts["records_without_gt_skipped"] += 1
                continue
            chrom, pos, ref, record_id = variant.CHROM, variant.POS, variant.REF, variant.ID
            for index, alt in usable:
                if record_id is None:
                    ids.append(f"{chrom}:{pos}:{ref}:{alt}")
                elif len(alts) > 1:
                    ids.append(f"{record_id}:{alt}")
                else:
                    ids.append(record_id)
                chroms.append(chrom)
                positions.append(pos)
                refs.append(ref)
                alt_column.append(alt)
                converter.add(alleles, index)
                if converter.n_rows == chunk_variants:
                    flush()
    finally:
        counts["records_read"] += n_read
        counts["symbolic_alleles_skipped"] += n_symbolic
    if converter.n_rows:
        flush()
    blocks.last_record = _record_name(variant)
    return blocks


def _record_name(variant) -> str | None:
    return None if variant is None else f"{variant.CHROM}:{variant.POS}"


def read_vcf(
    path,
    region: str | None = None,
    multiallelic: str = "split",
    haploid: str = "missing",
    chunk_variants: int = 256,
    threads: int = 1,
    samples: list[str] | None = None,
    min_part_bytes: int | None = None,
) -> RawGenotypes:
    """Read a VCF or BCF file into an alt-allele dosage matrix.

    Parameters
    ----------
    path : str or Path
        VCF (plain or bgzipped) or BCF file.
    region : str, optional
        ``chrom``, ``chrom:start-end`` or ``chrom:start``; needs an index
        (.tbi or .csi) beside the file.
    multiallelic : {"split", "skip"}
        How to handle sites with more than one ALT allele (see module notes).
    haploid : {"missing", "double"}
        How to code haploid calls (see module notes).
    chunk_variants : int
        Output rows converted at a time; memory beyond the output matrix is
        a few tens of bytes per call of one block (``chunk_variants * n_samples``
        calls).
    threads : int
        Worker processes. With more than 1, a plain or bgzipped VCF is cut
        into that many parts, and each part is parsed by its own cyvcf2
        reader in a forked process (see :mod:`fcsnet.io.vcf_parts`). The
        result is the same as with 1. BCF files, a ``region``, gzip files
        that are not BGZF, files of less than ``min_part_bytes`` of text per
        part and platforms without the fork start method are read in this
        process. An INFO log line names the way the file was read.
    samples : list of str, optional
        Read only these samples (htslib drops the others while parsing);
        the matrix columns keep the file's sample order.
    min_part_bytes : int, optional
        Minimum uncompressed VCF text per part; default
        :data:`fcsnet.io.vcf_parts.MIN_PART_BYTES`.

    Returns
    -------
    RawGenotypes
        ``dosages`` int8, shape (n_variants, n_samples); ``status`` is None.

    Raises
    ------
    InputError
        If the file cannot be read, has no samples, has no usable variant,
        or every call is missing (for example a file of haploid calls read
        with ``haploid="missing"``).
    """
    _check_options(multiallelic, haploid, chunk_variants)
    if threads < 1:
        raise ConfigError(f"ingest.threads is {threads}; expected a positive integer")
    if threads > 1:
        from fcsnet.io.vcf_parts import log_serial_read, serial_read_reason

        reason = serial_read_reason(path, region)
        if reason is not None:
            log_serial_read(path, reason)
            threads = 1
    vcf, records = _open_vcf(path, region, samples)
    sample_ids = [str(sample) for sample in vcf.samples]
    declared_contigs = _declared_contigs(vcf)
    if threads > 1:
        from fcsnet.io.vcf_parts import read_vcf_in_parts

        vcf.close()
        parallel = read_vcf_in_parts(
            path,
            region=region,
            multiallelic=multiallelic,
            haploid=haploid,
            chunk_variants=chunk_variants,
            threads=threads,
            samples=samples,
            sample_ids=sample_ids,
            declared_contigs=declared_contigs,
            min_part_bytes=min_part_bytes,
        )
        if parallel is not None:
            return parallel
        vcf, records = _open_vcf(path, region, samples)
    try:
        blocks = read_records(
            records,
            len(sample_ids),
            declared_contigs,
            multiallelic,
            haploid,
            chunk_variants,
            str(path),
        )
    except RecordParseError as error:
        raise InputError(malformed_record_message(path, error.last, error.error)) from error
    finally:
        vcf.close()
    columns = blocks.columns
    counts = blocks.counts
    return assemble_genotypes(
        path,
        region,
        haploid,
        sample_ids,
        columns,
        np.concatenate(blocks.alt_freqs) if blocks.alt_freqs else np.empty(0),
        np.concatenate(blocks.call_rates) if blocks.call_rates else np.empty(0),
        counts,
        blocks.slabs.matrix,
    )


def assemble_genotypes(
    path,
    region: str | None,
    haploid: str,
    sample_ids: list[str],
    columns: dict[str, list],
    alt_freq: np.ndarray,
    call_rate: np.ndarray,
    counts: Counter,
    build_matrix,
) -> RawGenotypes:
    """Check and log the counts of a whole read and build its :class:`RawGenotypes`.

    ``build_matrix()`` returns the int8 dosages. It is called only once the
    read has a usable variant.
    """
    n_variants = len(columns["variant_id"])
    counts["variants_written"] = n_variants
    _log_counts(path, counts)
    if n_variants == 0:
        raise InputError(
            f"no usable variants in {path}{_region_text(region)}: {_describe_skips(counts)}"
        )
    dosages = build_matrix()
    if not (call_rate > 0).any():
        raise InputError(_all_missing_message(path, counts, haploid))

    columns["variant_id"], counts["duplicate_variant_ids_renamed"] = make_unique_ids(
        [str(identifier) for identifier in columns["variant_id"]]
    )
    variants = pd.DataFrame(columns)
    variants["alt_freq"] = alt_freq
    variants["call_rate"] = call_rate
    return RawGenotypes(dosages, variants, sample_ids, None, counts)


class _Slabs:
    """Growable int8 matrix stored as large separately allocated slabs of rows.

    Each slab is ``numpy.empty`` of about :data:`SLAB_BYTES`, which the C
    library maps directly from the OS: pages are resident only once written,
    and a freed slab is returned at once. A single slab is returned as a view
    (no copy); several are copied into one matrix, each slab freed once
    copied, so the peak stays near one matrix plus one slab.
    """

    SLAB_BYTES = 64 * 2**20

    def __init__(self, n_samples: int, block_rows: int):
        blocks_per_slab = max(1, self.SLAB_BYTES // max(1, block_rows * n_samples))
        self.rows_per_slab = block_rows * blocks_per_slab
        self.n_samples = n_samples
        self.slabs: list[np.ndarray] = []
        self.n_rows = 0
        self.slab_rows = 0

    def reserve(self, rows: int) -> np.ndarray:
        """Return the next ``rows`` rows to fill (never spanning two slabs)."""
        if not self.slabs or self.slab_rows + rows > self.rows_per_slab:
            self.slabs.append(np.empty((self.rows_per_slab, self.n_samples), dtype=np.int8))
            self.slab_rows = 0
        block = self.slabs[-1][self.slab_rows : self.slab_rows + rows]
        self.slab_rows += rows
        self.n_rows += rows
        return block

    def write_rows(self, stream) -> None:
        """Write the filled rows to a binary file in C order, releasing each slab once written."""
        remaining = self.n_rows
        self.slabs.reverse()
        while self.slabs:
            slab = self.slabs.pop()
            rows = min(self.rows_per_slab, remaining)
            slab[:rows].tofile(stream)
            remaining -= rows
            del slab

    def matrix(self) -> np.ndarray:
        """Return the filled rows as one C-contiguous matrix, releasing the slabs."""
        if len(self.slabs) == 1:
            return self.slabs.pop()[: self.n_rows]
        dosages = np.empty((self.n_rows, self.n_samples), dtype=np.int8)
        start = 0
        self.slabs.reverse()
        while self.slabs:
            slab = self.slabs.pop()
            rows = min(self.rows_per_slab, self.n_rows - start)
            dosages[start : start + rows] = slab[:rows]
            start += rows
            del slab
        return dosages


def _region_text(region: str | None) -> str:
    return f" (region {region})" if region else ""


def _describe_skips(counts: Counter) -> str:
    skipped = {name: value for name, value in counts.items() if name.endswith("skipped") and value}
    if not counts["records_read"]:
        return "the file has no records"
    details = ", ".join(f"{name} {value}" for name, value in sorted(skipped.items()))
    return f"{counts['records_read']} records read; {details or 'none kept'}"


def _all_missing_message(path, counts: Counter, haploid: str) -> str:
    message = f"no usable variants in {path}: every genotype call is missing"
    if counts["haploid_calls_missing"]:
        message += (
            f"; {counts['haploid_calls_missing']} haploid calls were set missing because "
            "ingest.haploid is 'missing'. Set ingest.haploid to 'double' to code haploid "
            "calls 0/1 as dosage 0/2"
        )
    if counts["other_alt_calls_missing"]:
        message += (
            f"; {counts['other_alt_calls_missing']} calls carry an ALT allele other than the "
            "row's own (a skipped symbolic allele or another ALT of a split site) and are missing"
        )
    if counts["polyploid_calls_missing"]:
        message += (
            f"; {counts['polyploid_calls_missing']} calls with more than two alleles were set "
            "missing because fcsnet analyses diploid genotypes only"
        )
    return message


def _log_counts(path, counts: Counter) -> None:
    logger.info(
        "%s: %d records read, %d variants written",
        path,
        counts["records_read"],
        counts["variants_written"],
    )
    for name in sorted(counts):
        if name not in ("records_read", "variants_written") and counts[name]:
            logger.info("%s: %s = %d", path, name, counts[name])
    malformed = {name: counts[name] for name in MALFORMED_COUNTS if counts[name]}
    if malformed:
        details = ", ".join(f"{name} {value}" for name, value in malformed.items())
        note = ""
        if counts["records_without_alt_skipped"]:
            note = (
                "; a record with ALT '.' is either a legitimate reference-only site or a "
                "broken line"
            )
        logger.warning(
            "%s: skipped %d records without GT, without ALT or on an undeclared contig (%s)%s. "
            "A truncated file or a stray line after the header "
            "shows up here; check the file with 'bcftools view %s > /dev/null'",
            path,
            sum(malformed.values()),
            details,
            note,
            path,
        )
    if counts["haploid_calls_doubled"]:
        logger.warning(
            "%s: %d haploid calls coded as dosage 0/2 (ingest.haploid = 'double')",
            path,
            counts["haploid_calls_doubled"],
        )
    if counts["haploid_calls_missing"]:
        logger.warning(
            "%s: %d haploid calls set missing (ingest.haploid = 'missing')",
            path,
            counts["haploid_calls_missing"],
        )
