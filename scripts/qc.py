"""Rule qc: filter a cohort's genotype store and write qc_summary.tsv."""

from pathlib import Path

from fcsnet.logs import rule_logging
from fcsnet.qc import qc_cohort

with rule_logging(snakemake):
    qc_cohort(
        Path(snakemake.input.dosages).parent,
        Path(snakemake.output.dosages).parent,
        dict(snakemake.params.options),
    )
