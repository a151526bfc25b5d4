"""Rule subtypes: cluster cases on their community risk score profiles."""

from pathlib import Path

from fcsnet.chain import subtypes_files
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    subtypes_files(
        snakemake.input.crs,
        snakemake.input.communities,
        Path(snakemake.output.subtypes).parent,
        snakemake.config,
        truth_path=snakemake.input.get("truth"),
    )
