"""VCF/BCF reading checked against an independent parse of the genotype text."""

import gzip
import re
from collections import Counter

import numpy as np
import pandas as pd
import pytest

from fcsnet.errors import ConfigError, InputError
from fcsnet.io import vcf as vcf_module
from fcsnet.io.vcf import read_vcf

VCF_FILES = [
    "test.vcf.gz",
    "test-haploidX.vcf",
    "multi-contig.vcf.gz",
    "multi-contig.bcf",
    "test-format-string.vcf",
    "test-multiallelic-homozygous-alt.vcf.gz",
    "seg.vcf.gz",
    "test-no-genotypes.vcf",
    "test.comp_het.3.vcf",
]


def open_text(path):
    return gzip.open(path, "rt") if str(path).endswith(".gz") else open(path)


def is_symbolic(allele):
    return allele.startswith("<") or allele == "*" or "[" in allele or "]" in allele


def code_call(text, target, haploid):
    """Code one GT string for ALT allele number ``target`` by the documented rules."""
    alleles = re.split(r"[/|]", text)
    if len(alleles) > 2 or "." in alleles:
        return -1
    numbers = [int(allele) for allele in alleles]
    if any(number not in (0, target) for number in numbers):
        return -1
    if len(numbers) == 1:
        if haploid == "missing":
            return -1
        return 2 * (numbers[0] == target)
    return sum(number == target for number in numbers)


def parse_vcf_text(path, multiallelic, haploid):
    """Return (variant IDs, dosage rows, number of half-missing calls) from the raw text."""
    ids, rows, n_half_missing = [], [], 0
    with open_text(path) as stream:
        for line in stream:
            if line.startswith("#"):
                continue
            fields = line.rstrip("\n").split("\t")
            chrom, pos, record_id, ref, alt_text = fields[:5]
            format_keys = fields[8].split(":") if len(fields) > 8 else []
            if "GT" not in format_keys or alt_text == ".":
                continue
            gt_index = format_keys.index("GT")
            calls = []
            for sample_field in fields[9:]:
                parts = sample_field.split(":")
                calls.append(parts[gt_index] if gt_index < len(parts) else ".")
            alts = alt_text.split(",")
            usable = [(k, alt) for k, alt in enumerate(alts, 1) if not is_symbolic(alt)]
            if not usable or (len(alts) > 1 and multiallelic == "skip"):
                continue
            for target, alt in usable:
                if record_id == ".":
                    ids.append(f"{chrom}:{pos}:{ref}:{alt}")
                elif len(alts) > 1:
                    ids.append(f"{record_id}:{alt}")
                else:
                    ids.append(record_id)
                rows.append([code_call(call, target, haploid) for call in calls])
                for call in calls:
                    alleles = re.split(r"[/|]", call)
                    if len(alleles) == 2 and alleles.count(".") == 1:
                        n_half_missing += 1
    return ids, np.array(rows, dtype=np.int8), n_half_missing


def text_source(shared_data, name):
    # The BCF contains the same records as the bgzipped VCF; compare with its text.
    return shared_data / "vcf" / ("multi-contig.vcf.gz" if name == "multi-contig.bcf" else name)


@pytest.mark.parametrize("name", VCF_FILES)
@pytest.mark.parametrize("multiallelic", ["split", "skip"])
@pytest.mark.parametrize("haploid", ["missing", "double"])
def test_vcf_matches_text_parse(shared_data, name, multiallelic, haploid):
    path = shared_data / "vcf" / name
    ids, expected, n_half_missing = parse_vcf_text(
        text_source(shared_data, name), multiallelic, haploid
    )
    if len(ids) == 0 or not (expected >= 0).any():
        with pytest.raises(InputError, match="no usable variants"):
            read_vcf(path, multiallelic=multiallelic, haploid=haploid)
        return
    raw = read_vcf(path, multiallelic=multiallelic, haploid=haploid)
    assert raw.variants["variant_id"].tolist() == ids
    np.testing.assert_array_equal(raw.dosages, expected)
    assert raw.dosages.dtype == np.int8
    assert raw.counts["half_missing_calls"] == n_half_missing
    missing_per_variant = (expected < 0).sum(axis=1)
    np.testing.assert_allclose(
        raw.variants["call_rate"], 1 - missing_per_variant / expected.shape[1]
    )


def test_exome_cohort_counts(shared_data):
    raw = read_vcf(shared_data / "vcf" / "test.vcf.gz")
    assert raw.dosages.shape == (115, 189)
    # Counted independently with zcat | cut | sort | uniq -c: 565 './.' and
    # 369 half-missing calls ('./1', '0/.', '1/.').
    assert int((raw.dosages < 0).sum()) == 565 + 369
    assert raw.counts["half_missing_calls"] == 369


def test_block_size_does_not_change_result(shared_data):
    path = shared_data / "vcf" / "multi-contig.vcf.gz"
    whole = read_vcf(path, chunk_variants=1000)
    small = read_vcf(path, chunk_variants=2)
    np.testing.assert_array_equal(whole.dosages, small.dosages)
    assert whole.variants.equals(small.variants)


def test_matrix_spread_over_slabs(shared_data, monkeypatch):
    path = shared_data / "vcf" / "test.vcf.gz"
    whole = read_vcf(path)
    # One block of 2 rows per slab: 58 slabs joined at the end.
    monkeypatch.setattr(vcf_module._Slabs, "SLAB_BYTES", 1)
    spread = read_vcf(path, chunk_variants=2)
    np.testing.assert_array_equal(whole.dosages, spread.dosages)
    assert spread.dosages.flags["C_CONTIGUOUS"]


def test_bcf_equals_bgzipped_vcf(shared_data):
    bcf = read_vcf(shared_data / "vcf" / "multi-contig.bcf", haploid="double")
    vcf = read_vcf(shared_data / "vcf" / "multi-contig.vcf.gz", haploid="double")
    np.testing.assert_array_equal(bcf.dosages, vcf.dosages)
    assert bcf.variants["variant_id"].tolist() == vcf.variants["variant_id"].tolist()


def test_region_reads_only_that_region(shared_data):
    path = shared_data / "vcf" / "multi-contig.vcf.gz"
    whole = read_vcf(path)
    region = read_vcf(path, region="20")
    on_20 = (whole.variants["chrom"] == "20").to_numpy()
    assert set(region.variants["chrom"]) == {"20"}
    np.testing.assert_array_equal(region.dosages, whole.dosages[on_20])


def test_region_without_index_rejected(shared_data):
    with pytest.raises(InputError, match="index"):
        read_vcf(shared_data / "vcf" / "test-format-string.vcf", region="7:1-100000000")


def test_haploid_only_file_needs_double(shared_data):
    path = shared_data / "vcf" / "test-haploidX.vcf"
    with pytest.raises(InputError, match="ingest.haploid"):
        read_vcf(path, haploid="missing")
    raw = read_vcf(path, haploid="double")
    assert raw.counts["haploid_calls_doubled"] > 0
    assert set(np.unique(raw.dosages)) <= {-1, 0, 2}


def test_no_genotype_field_rejected(shared_data):
    with pytest.raises(InputError, match="records_without_gt_skipped 1"):
        read_vcf(shared_data / "vcf" / "test-no-genotypes.vcf")


def test_symbolic_alleles_counted(shared_data):
    with pytest.raises(InputError, match="records_symbolic_only_skipped 1"):
        read_vcf(shared_data / "vcf" / "seg.vcf.gz")
    # 'G A,<*:DEL>' with genotype 2/2: the A row exists, its one call carries
    # the skipped allele and is missing, so nothing usable remains.
    with pytest.raises(InputError, match="ALT allele other than the row's own"):
        read_vcf(shared_data / "vcf" / "test-multiallelic-homozygous-alt.vcf.gz")


def test_multiallelic_split_and_skip_counted(shared_data):
    path = shared_data / "vcf" / "multi-contig.vcf.gz"
    split = read_vcf(path, multiallelic="split")
    skip = read_vcf(path, multiallelic="skip")
    assert split.counts["multiallelic_records_split"] == 3
    assert skip.counts["multiallelic_records_skipped"] == 3
    assert split.counts["records_without_alt_skipped"] == 2
    assert split.dosages.shape[0] == skip.dosages.shape[0] + 2 + 2 + 3
    assert "rs6040355:T" in split.variants["variant_id"].tolist()


def test_triploid_call_is_missing_and_counted(shared_data):
    raw = read_vcf(shared_data / "vcf" / "test-format-string.vcf", haploid="double")
    assert raw.counts["polyploid_calls_missing"] == 1
    row = raw.variants.index[raw.variants["pos"] == 55086958][0]
    # Tumor '0/1/.' is missing; Normal '0' is haploid, doubled to 0.
    assert raw.dosages[row].tolist() == [-1, 0]


def write_vcf(path, samples, records):
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "".join(f"\t{sample}" for sample in samples),
    ]
    lines = [
        "\t".join(["1", str(pos), record_id, "A", "G", ".", "PASS", ".", "GT", *calls])
        for pos, record_id, calls in records
    ]
    path.write_text("\n".join(header + lines) + "\n")
    return path


def test_phased_equals_unphased(tmp_path):
    path = write_vcf(
        tmp_path / "phase.vcf",
        ["a", "b", "c", "d"],
        [(10, "p", ["0|1", "1|0", "1|1", "0|0"]), (20, "u", ["0/1", "1/0", "1/1", "0/0"])],
    )
    raw = read_vcf(path)
    assert raw.dosages[0].tolist() == [1, 1, 2, 0]
    np.testing.assert_array_equal(raw.dosages[0], raw.dosages[1])


def test_repeated_ids_made_unique(tmp_path):
    path = write_vcf(
        tmp_path / "ids.vcf",
        ["a", "b"],
        [(10, "rs1", ["0/1", "0/0"]), (20, "rs1", ["1/1", "0/1"]), (30, ".", ["0/0", "0/1"])],
    )
    raw = read_vcf(path)
    assert raw.variants["variant_id"].tolist() == ["rs1", "rs1_2", "1:30:A:G"]
    assert raw.counts["duplicate_variant_ids_renamed"] == 1


def test_sites_only_file_rejected(tmp_path):
    path = write_vcf(tmp_path / "sites.vcf", [], [])
    path.write_text(path.read_text().replace("\tFORMAT", "") + "1\t5\t.\tA\tG\t.\tPASS\t.\n")
    with pytest.raises(InputError, match="no samples"):
        read_vcf(path)


def test_unreadable_file_rejected(tmp_path):
    path = tmp_path / "broken.vcf"
    path.write_text("this is not a VCF\n")
    with pytest.raises(InputError, match="cannot read"):
        read_vcf(path)


def test_invalid_option_rejected(shared_data):
    with pytest.raises(ConfigError, match="ingest.haploid"):
        read_vcf(shared_data / "vcf" / "test.vcf.gz", haploid="drop")
    with pytest.raises(ConfigError, match="ingest.multiallelic"):
        read_vcf(shared_data / "vcf" / "test.vcf.gz", multiallelic="merge")


def read_outcome(path, **options):
    """Return read_vcf's result, or the message of the InputError it raises."""
    try:
        return read_vcf(path, **options)
    except InputError as error:
        return str(error)


def read_both_paths(monkeypatch, path, **options):
    """Read ``path`` with and without the diploid fast path; count the rows and blocks each coded."""
    plain_rows = vcf_module._BlockConverter._plain_rows
    n_coded = Counter()

    def counted(targets, low, high):
        plain = plain_rows(targets, low, high)
        n_coded["fast rows"] += int(plain.sum())
        n_coded["table rows"] += int((~plain).sum())
        n_coded["mixed blocks"] += int(0 < plain.sum() < len(plain))
        return plain

    with monkeypatch.context() as patch:
        patch.setattr(vcf_module._BlockConverter, "_plain_rows", staticmethod(counted))
        fast = read_outcome(path, **options)
        patch.setattr(
            vcf_module._BlockConverter,
            "_plain_rows",
            staticmethod(lambda targets, low, high: np.zeros(len(targets), dtype=bool)),
        )
        table = read_outcome(path, **options)
    return fast, table, n_coded


def assert_same_outcome(fast, table):
    if isinstance(table, str):
        assert fast == table
        return
    np.testing.assert_array_equal(fast.dosages, table.dosages)
    pd.testing.assert_frame_equal(fast.variants, table.variants)
    # dict() so that a counter present with 0 in one and absent in the other differs.
    assert dict(fast.counts) == dict(table.counts)
    assert fast.sample_ids == table.sample_ids


@pytest.mark.parametrize("name", VCF_FILES)
@pytest.mark.parametrize("multiallelic", ["split", "skip"])
@pytest.mark.parametrize("haploid", ["missing", "double"])
def test_fast_path_equals_table_path_on_shared_files(
    shared_data, monkeypatch, name, multiallelic, haploid
):
    fast, table, _ = read_both_paths(
        monkeypatch,
        shared_data / "vcf" / name,
        multiallelic=multiallelic,
        haploid=haploid,
        chunk_variants=2,
    )
    assert_same_outcome(fast, table)


CALL_TEXTS = ["0/0", "0/1", "1/1", "1|0", "./.", "0/.", "./1", ".", "0", "1", "1/2", "2|2", "0/2"]


def write_mixed_vcf(path, n_records, n_samples, seed):
    """Write stretches of plain diploid biallelic records between records with
    missing, half-missing, haploid and multiallelic calls."""
    rng = np.random.default_rng(seed)
    header = [
        "##fileformat=VCFv4.2",
        "##contig=<ID=1>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT"])
        + "".join(f"\ts{index}" for index in range(n_samples)),
    ]
    lines = []
    for pos in range(1, n_records + 1):
        kind = (pos // 16) % 3
        if kind == 0:  # diploid biallelic calls only, with missing and half-missing ones
            alt, choices = "G", CALL_TEXTS[:7]
        elif kind == 1:  # haploid calls beside diploid ones
            alt, choices = "G", CALL_TEXTS[:10]
        else:  # a second ALT allele
            alt, choices = "G,T", CALL_TEXTS
        calls = rng.choice(choices, size=n_samples)
        record_id = "." if pos % 5 == 0 else f"rs{pos}"
        lines.append(
            "\t".join(["1", str(pos), record_id, "A", alt, ".", "PASS", ".", "GT", *calls])
        )
    path.write_text("\n".join(header + lines) + "\n")
    return path


@pytest.mark.parametrize("multiallelic", ["split", "skip"])
@pytest.mark.parametrize("haploid", ["missing", "double"])
def test_fast_path_equals_table_path_on_mixed_calls(tmp_path, monkeypatch, multiallelic, haploid):
    path = write_mixed_vcf(tmp_path / "mixed.vcf", n_records=150, n_samples=30, seed=3)
    fast, table, n_coded = read_both_paths(
        monkeypatch, path, multiallelic=multiallelic, haploid=haploid, chunk_variants=8
    )
    # Both paths, alone and within one block, must have coded rows for the comparison to mean
    # anything.
    assert n_coded["fast rows"] > 0
    assert n_coded["table rows"] > 0
    assert n_coded["mixed blocks"] > 0
    assert_same_outcome(fast, table)
    assert fast.counts["half_missing_calls"] > 0
    assert fast.counts["haploid_calls_" + ("doubled" if haploid == "double" else "missing")] > 0


@pytest.mark.parametrize(
    ("bad_line", "last"),
    [
        ("1\tnotanumber\tx\tA\tG\t.\tPASS\t.\tGT\t0/1\t0/0", "1:20"),
        ("1\t30\tx\tA\tG\t.\tPASS\t.\tGT\t0/1", "1:20"),
    ],
    ids=["non-numeric-pos", "missing-sample-column"],
)
def test_malformed_record_names_last_record(tmp_path, bad_line, last):
    path = write_vcf(
        tmp_path / "bad.vcf", ["a", "b"], [(10, "r1", ["0/1", "0/0"]), (20, "r2", ["1/1", "0/1"])]
    )
    path.write_text(path.read_text() + bad_line + "\n")
    with pytest.raises(InputError, match=rf"{path}.*after {last}.*bcftools view"):
        read_vcf(path)


def test_truncated_bgzip_names_last_record(shared_data, tmp_path):
    data = (shared_data / "vcf" / "test.vcf.gz").read_bytes()
    path = tmp_path / "cut.vcf.gz"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match=r"cut\.vcf\.gz is malformed or truncated.*after \S+:\d+"):
        read_vcf(path)


def test_garbage_line_counted_and_warned(tmp_path, caplog):
    path = write_vcf(
        tmp_path / "garbage.vcf",
        ["a", "b"],
        [(10, "r1", ["0/1", "0/0"]), (20, "r2", ["1/1", "0/1"])],
    )
    lines = path.read_text().splitlines()
    lines.insert(lines.index(next(x for x in lines if x.startswith("#CHROM"))) + 1, "stray text")
    path.write_text("\n".join(lines) + "\n")
    with caplog.at_level("WARNING", logger="fcsnet.io.vcf"):
        raw = read_vcf(path)
    assert raw.counts["records_unknown_contig_skipped"] == 1
    assert raw.variants["variant_id"].tolist() == ["r1", "r2"]
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("records_unknown_contig_skipped 1" in message for message in warnings)


def test_truncated_record_without_gt_warned(tmp_path, caplog):
    path = write_vcf(
        tmp_path / "cut.vcf", ["a", "b"], [(10, "r1", ["0/1", "0/0"]), (20, "r2", ["1/1", "0/1"])]
    )
    path.write_text(path.read_text() + "1\t30\tr3\tA\tG\t.\tPASS\tAC=1\n")
    with caplog.at_level("WARNING", logger="fcsnet.io.vcf"):
        raw = read_vcf(path)
    assert raw.counts["records_without_gt_skipped"] == 1
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("records_without_gt_skipped 1" in message for message in warnings)


def test_reference_only_sites_warned_as_possible(shared_data, caplog):
    with caplog.at_level("WARNING", logger="fcsnet.io.vcf"):
        raw = read_vcf(shared_data / "vcf" / "multi-contig.vcf.gz")
    assert raw.counts["records_without_alt_skipped"] == 2
    assert raw.counts["records_unknown_contig_skipped"] == 0
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any("legitimate reference-only site" in message for message in warnings)
