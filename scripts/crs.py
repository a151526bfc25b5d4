"""Rule crs: community risk scores of every person and per-community statistics."""

from pathlib import Path

from fcsnet.chain import crs_files
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    crs_files(
        Path(snakemake.input.dosages).parent,
        snakemake.input.split,
        snakemake.input.communities,
        Path(snakemake.output.crs).parent,
        snakemake.config,
        case_only_dir=Path(snakemake.input.case_only).parent
        if "case_only" in snakemake.input.keys()
        else None,
    )
