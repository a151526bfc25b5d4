"""Rule split: assign the QC'd samples to training or validation."""

from fcsnet.logs import rule_logging
from fcsnet.split import split_cohort

with rule_logging(snakemake):
    split_cohort(
        snakemake.input.samples,
        snakemake.output.samples,
        snakemake.params.validation_fraction,
        snakemake.params.seed,
    )
