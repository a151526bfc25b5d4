"""Rule merge_ga: concatenate the GA batches into selections.tsv and generations.tsv."""

from fcsnet.ga.runs import merge_batches
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    merge_batches(
        snakemake.input.selections,
        snakemake.input.generations,
        snakemake.output.selections,
        snakemake.output.generations,
    )
