"""Rule ingest_case_only: write the store of a cohort's case-only genotypes (status 1)."""

from pathlib import Path

from fcsnet.ingest import ingest_cohort
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    ingest_cohort(
        snakemake.params.genotypes,
        snakemake.params.format,
        Path(snakemake.output.dosages).parent,
        options=dict(snakemake.params.options),
        threads=snakemake.threads,
        case_only=True,
    )
