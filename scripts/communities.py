"""Rule communities: detect, prune and test the network's communities."""

from pathlib import Path

from fcsnet.chain import communities_files
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    communities_files(
        Path(snakemake.input.dosages).parent,
        snakemake.input.split,
        Path(snakemake.input.edges).parent,
        Path(snakemake.output.communities).parent,
        snakemake.config,
    )
