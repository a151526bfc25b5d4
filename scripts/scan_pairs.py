"""Rule scan_pairs: exhaustive pairwise interaction scan of the training samples."""

from pathlib import Path

from fcsnet.logs import rule_logging
from fcsnet.scan import scan_files

with rule_logging(snakemake):
    scan_files(
        Path(snakemake.input.dosages).parent,
        snakemake.input.split,
        snakemake.output.pairs,
        snakemake.output.variant_scores,
        snakemake.params.options,
    )
