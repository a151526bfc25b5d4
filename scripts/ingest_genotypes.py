"""Rule ingest_genotypes: write a cohort's genotype store and ingest_summary.tsv."""

from pathlib import Path

from fcsnet.ingest import ingest_cohort
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    ingest_cohort(
        snakemake.params.genotypes,
        snakemake.params.format,
        Path(snakemake.output.dosages).parent,
        phenotypes=snakemake.params.phenotypes,
        phenotype_column=snakemake.params.phenotype_column,
        options=dict(snakemake.params.options),
        threads=snakemake.threads,
    )
