"""Rule network: build the co-selection network from the GA selections."""

from pathlib import Path

from fcsnet.chain import network_files
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    network_files(
        Path(snakemake.input.dosages).parent,
        snakemake.input.split,
        snakemake.input.selections,
        Path(snakemake.output.graphml).parent,
        snakemake.config,
    )
