"""Rule interactions: attention classifier per community, ranked pairs and groups."""

from pathlib import Path

from fcsnet.attention.interactions import write_interactions
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    write_interactions(
        Path(snakemake.input.dosages).parent,
        snakemake.input.split,
        snakemake.input.communities,
        snakemake.output.interactions,
        snakemake.output.groups,
        config=dict(snakemake.params.attention),
        seed=snakemake.params.seed,
        threads=snakemake.threads,
    )
