"""Simulate a heterogeneous case/control cohort with planted pure epistasis.

The cohort has ``n_subgroups`` subgroups of patients. Subgroup k is caused by
its own group of ``interaction_order`` interacting variants through a
penetrance function with no marginal effect: for carrier indicators
``x_j = 1[genotype_j >= 1]`` with population carrier frequencies ``c_j``,

    f_k(g) = prevalence + delta * prod_j (x_j - c_j)

Summing any one factor over its genotype distribution gives zero, so every
lower-order marginal penetrance equals the prevalence (pure, strict
epistasis). ``delta`` is set so that the penetrance variance over the
population, divided by prevalence * (1 - prevalence), equals the target
``heritability``.

Samples are drawn case/control style. Every case and every control is
assigned a subgroup model with equal probability. The model's variants are
drawn from their genotype distribution given the status under that model,
and all other variants from Hardy-Weinberg proportions of their
minor-allele frequency (MAF). Cases keep their subgroup (1..K) in the truth
file, and controls get 0.

Outputs (see :func:`write_cohort`): a bgzipped VCF, a phenotype sheet
(sample_id, status, age: a covariate with no effect), ``truth.tsv`` and a
case-only VCF of new cases from the same subgroup mixture.
"""

from __future__ import annotations

import itertools
import logging
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from fcsnet.config import _schema_defaults, load_schema
from fcsnet.errors import ConfigError
from fcsnet.store import write_table

logger = logging.getLogger(__name__)

GENOTYPE_TEXT = np.array(["./.", "0/0", "0/1", "1/1"])
"""VCF genotype field of dosage d at position d + 1 (-1 = missing)."""

BASES = np.array(["A", "C", "G", "T"])


def simulation_defaults() -> dict:
    """Return the simulation parameters' defaults from ``simulation.schema.yaml``."""
    return _schema_defaults(load_schema("simulation"))


def check_parameters(params: dict) -> dict:
    """Merge ``params`` over the defaults and raise ConfigError naming any invalid key."""
    merged = simulation_defaults()
    unknown = sorted(set(params) - set(merged))
    if unknown:
        raise ConfigError(
            f"unknown simulation parameters {unknown}; expected some of {sorted(merged)}"
        )
    merged.update(params)

    def fail(key: str, requirement: str) -> None:
        raise ConfigError(
            f"simulation parameter {key} must be {requirement}; found {merged[key]!r}"
        )

    for key, minimum in (
        ("n_samples", 4),
        ("n_subgroups", 1),
        ("interaction_order", 2),
        ("n_noise_variants", 0),
        ("n_case_only", 0),
        ("seed_offset", 0),
    ):
        if (
            not isinstance(merged[key], int)
            or isinstance(merged[key], bool)
            or merged[key] < minimum
        ):
            fail(key, f"an integer of at least {minimum}")
    if merged["interaction_order"] > 8:
        fail("interaction_order", "at most 8 (the penetrance table has 3**order cells)")
    for key, low, high in (
        ("case_fraction", 0, 1),
        ("heritability", 0, 1),
        ("prevalence", 0, 1),
        ("causal_maf", 0, 0.5),
        ("maf_min", 0, 0.5),
        ("maf_max", 0, 0.5),
    ):
        value = merged[key]
        if not isinstance(value, int | float) or isinstance(value, bool) or not low < value <= high:
            fail(key, f"a number in ({low}, {high}]")
    if not 0 <= merged["missing_rate"] < 1:
        fail("missing_rate", "a number in [0, 1)")
    if merged["maf_min"] > merged["maf_max"]:
        fail("maf_min", f"at most maf_max ({merged['maf_max']})")
    n_cases = round(merged["n_samples"] * merged["case_fraction"])
    if n_cases < 2 or merged["n_samples"] - n_cases < 2:
        fail(
            "case_fraction",
            f"such that both classes have at least 2 of the {merged['n_samples']} samples",
        )
    return merged


def genotype_frequencies(maf: float) -> np.ndarray:
    """Hardy-Weinberg frequencies of genotypes 0, 1, 2 (minor-allele counts)."""
    return np.array([(1 - maf) ** 2, 2 * maf * (1 - maf), maf**2])


def penetrance_table(order: int, maf: float, heritability: float, prevalence: float) -> np.ndarray:
    """Build a pure-epistasis penetrance table for ``order`` variants of the same MAF.

    Returns
    -------
    numpy.ndarray, float64, shape (3,) * order
        Disease probability of each genotype combination.
    """
    frequencies = genotype_frequencies(maf)
    carrier = 1 - frequencies[0]
    contrast = np.array([0.0, 1.0, 1.0]) - carrier
    product = np.ones((1,) * 0)
    for _ in range(order):
        product = np.multiply.outer(product, contrast)
    variance = (carrier * (1 - carrier)) ** order
    delta = np.sqrt(heritability * prevalence * (1 - prevalence) / variance)
    table = prevalence + delta * product
    if table.min() < 0 or table.max() > 1:
        largest = (min(prevalence, 1 - prevalence) / np.abs(product).max()) ** 2 * variance
        largest /= prevalence * (1 - prevalence)
        raise ConfigError(
            f"simulation parameter heritability = {heritability} needs penetrances outside [0, 1] "
            f"for interaction_order {order}, causal_maf {maf} and prevalence {prevalence}; "
            f"the largest feasible heritability is {largest:.3f}"
        )
    return table


@dataclass
class SimulatedCohort:
    """A simulated cohort.

    Attributes
    ----------
    dosages : numpy.ndarray, int8, shape (n_variants, n_samples)
        Minor-allele counts, -1 = missing.
    case_only_dosages : numpy.ndarray, int8, shape (n_variants, n_case_only)
    variants : pandas.DataFrame
        variant_id, chrom, pos, ref, alt (alt = minor allele), maf, group
        (planted group 1..K, 0 for noise).
    samples : pandas.DataFrame
        sample_id, status, age, subgroup (0 for controls).
    case_only_samples : pandas.DataFrame
        sample_id, subgroup.
    """

    dosages: np.ndarray
    case_only_dosages: np.ndarray
    variants: pd.DataFrame
    samples: pd.DataFrame
    case_only_samples: pd.DataFrame

    def truth(self) -> pd.DataFrame:
        """Return the truth table: planted variants with their group, every sample with its subgroup."""
        planted = self.variants[self.variants["group"] > 0]
        rows = [
            pd.DataFrame(
                {"record": "variant", "id": planted["variant_id"], "group": planted["group"]}
            ),
            pd.DataFrame(
                {
                    "record": "sample",
                    "id": self.samples["sample_id"],
                    "group": self.samples["subgroup"],
                }
            ),
            pd.DataFrame(
                {
                    "record": "sample",
                    "id": self.case_only_samples["sample_id"],
                    "group": self.case_only_samples["subgroup"],
                }
            ),
        ]
        return pd.concat(rows, ignore_index=True)


def simulate_cohort(params: dict, seed: int) -> SimulatedCohort:
    """Simulate the cohort described by ``params`` (keys of simulation.schema.yaml).

    The random stream is ``SeedSequence([seed, seed_offset])``, so the same
    parameters and seed give the same cohort.
    """
    params = check_parameters(params)
    rng = np.random.default_rng(np.random.SeedSequence([int(seed), params["seed_offset"]]))
    order = params["interaction_order"]
    n_groups = params["n_subgroups"]
    n_causal = order * n_groups
    n_variants = n_causal + params["n_noise_variants"]

    # Variant layout: planted variants at random positions among the noise.
    maf = np.empty(n_variants)
    group = np.zeros(n_variants, dtype=np.int64)
    layout = rng.permutation(n_variants)
    causal_rows = layout[:n_causal].reshape(n_groups, order)
    for k in range(n_groups):
        group[causal_rows[k]] = k + 1
    maf[layout[:n_causal]] = params["causal_maf"]
    maf[layout[n_causal:]] = rng.uniform(
        params["maf_min"], params["maf_max"], params["n_noise_variants"]
    )
    penetrance = penetrance_table(
        order, params["causal_maf"], params["heritability"], params["prevalence"]
    )

    n_cases = round(params["n_samples"] * params["case_fraction"])
    n_controls = params["n_samples"] - n_cases
    status = np.r_[np.ones(n_cases, dtype=np.int8), np.zeros(n_controls, dtype=np.int8)]
    model = rng.integers(n_groups, size=params["n_samples"])
    dosages = _draw_genotypes(rng, status, model, maf, causal_rows, penetrance)
    case_only_model = rng.integers(n_groups, size=params["n_case_only"])
    case_only = _draw_genotypes(
        rng,
        np.ones(params["n_case_only"], dtype=np.int8),
        case_only_model,
        maf,
        causal_rows,
        penetrance,
    )
    dosages = _add_missing(rng, dosages, params["missing_rate"])
    case_only = _add_missing(rng, case_only, params["missing_rate"])

    # Interleave cases and controls so that sample order carries no status.
    shuffle = rng.permutation(params["n_samples"])
    dosages = np.ascontiguousarray(dosages[:, shuffle])
    status = status[shuffle]
    subgroup = np.where(status == 1, model[shuffle] + 1, 0)
    width = len(str(max(params["n_samples"], params["n_case_only"], 1)))
    samples = pd.DataFrame(
        {
            "sample_id": [f"S{index + 1:0{width}d}" for index in range(params["n_samples"])],
            "status": status.astype(np.int64),
            "age": np.clip(rng.normal(55, 10, params["n_samples"]).round(), 18, 95).astype(
                np.int64
            ),
            "subgroup": subgroup,
        }
    )
    case_only_samples = pd.DataFrame(
        {
            "sample_id": [f"C{index + 1:0{width}d}" for index in range(params["n_case_only"])],
            "subgroup": case_only_model + 1,
        }
    )

    bases = rng.permuted(np.tile(np.arange(4), (n_variants, 1)), axis=1)[:, :2]
    variant_width = len(str(n_variants))
    variants = pd.DataFrame(
        {
            "variant_id": [f"snp{index + 1:0{variant_width}d}" for index in range(n_variants)],
            "chrom": "1",
            "pos": (np.arange(n_variants) + 1) * 1000,
            "ref": BASES[bases[:, 0]],
            "alt": BASES[bases[:, 1]],
            "maf": maf,
            "group": group,
        }
    )
    logger.info(
        "simulated %d cases and %d controls (%d case-only), %d variants: %d groups of %d "
        "interacting variants, heritability %.2f each",
        n_cases,
        n_controls,
        params["n_case_only"],
        n_variants,
        n_groups,
        order,
        params["heritability"],
    )
    return SimulatedCohort(dosages, case_only, variants, samples, case_only_samples)


def _draw_genotypes(rng, status, model, maf, causal_rows, penetrance) -> np.ndarray:
    """Draw genotypes for samples of known status and subgroup model.

    Returns
    -------
    numpy.ndarray, int8, shape (n_variants, n_samples)
    """
    n_variants = len(maf)
    n_samples = len(status)
    order = causal_rows.shape[1]
    # Hardy-Weinberg draws for every variant, then the model's variants
    # are redrawn from their distribution given status.
    dosages = rng.binomial(2, maf[:, None], size=(n_variants, n_samples)).astype(np.int8)
    frequencies = genotype_frequencies(maf[causal_rows[0, 0]])
    prior = np.ones(())
    for _ in range(order):
        prior = np.multiply.outer(prior, frequencies)
    combinations = np.array(list(itertools.product(range(3), repeat=order)), dtype=np.int8)
    for label, weights in ((1, penetrance), (0, 1 - penetrance)):
        probabilities = (prior * weights).ravel()
        probabilities /= probabilities.sum()
        for k, rows in enumerate(causal_rows):
            members = np.flatnonzero((status == label) & (model == k))
            if len(members) == 0:
                continue
            drawn = rng.choice(len(probabilities), size=len(members), p=probabilities)
            dosages[np.ix_(rows, members)] = combinations[drawn].T
    return dosages


def _add_missing(rng, dosages: np.ndarray, missing_rate: float) -> np.ndarray:
    if missing_rate > 0:
        dosages = dosages.copy()
        dosages[rng.random(dosages.shape) < missing_rate] = -1
    return dosages


def vcf_header(sample_ids, contig_length: int) -> str:
    """Return a VCF 4.2 header with a GT field and the given samples."""
    lines = [
        "##fileformat=VCFv4.2",
        "##source=fcsnet simulate",
        f"##contig=<ID=1,length={contig_length}>",
        '##FORMAT=<ID=GT,Number=1,Type=String,Description="Genotype">',
        "\t".join(
            ["#CHROM", "POS", "ID", "REF", "ALT", "QUAL", "FILTER", "INFO", "FORMAT", *sample_ids]
        ),
    ]
    return "\n".join(lines) + "\n"


def write_vcf(path: str | Path, variants: pd.DataFrame, dosages: np.ndarray, sample_ids) -> None:
    """Write dosages as a bgzipped VCF through htslib (cyvcf2), atomically."""
    from cyvcf2 import Writer

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(handle)
    try:
        writer = Writer.from_string(
            temporary, vcf_header(sample_ids, int(variants["pos"].max()) + 1000), mode="wz"
        )
        for row, record in enumerate(variants.itertuples(index=False)):
            fields = [
                record.chrom,
                str(record.pos),
                record.variant_id,
                record.ref,
                record.alt,
                ".",
                "PASS",
                ".",
                "GT",
            ]
            line = (
                "\t".join(fields)
                + "\t"
                + "\t".join(GENOTYPE_TEXT[dosages[row].astype(np.int64) + 1])
            )
            writer.write_record(writer.variant_from_string(line))
        writer.close()
        # mkstemp creates the file readable by its owner only.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_cohort(cohort: SimulatedCohort, genotypes, phenotypes, truth, case_only) -> None:
    """Write the four output files of a simulated cohort."""
    write_vcf(genotypes, cohort.variants, cohort.dosages, cohort.samples["sample_id"])
    write_vcf(
        case_only, cohort.variants, cohort.case_only_dosages, cohort.case_only_samples["sample_id"]
    )
    write_table(cohort.samples[["sample_id", "status", "age"]], phenotypes)
    write_table(cohort.truth(), truth)


def simulate_files(params: dict, seed: int, genotypes, phenotypes, truth, case_only) -> None:
    """Simulate a cohort and write its files (the simulate_cohort rule and ``fcsnet simulate``)."""
    cohort = simulate_cohort(params, seed)
    write_cohort(cohort, genotypes, phenotypes, truth, case_only)
    logger.info("wrote %s, %s, %s and %s", genotypes, phenotypes, truth, case_only)
