"""Rule ga_batch: one batch of independently seeded GA runs at one size limit."""

from pathlib import Path

from fcsnet.ga.runs import run_batch_files
from fcsnet.logs import rule_logging

with rule_logging(snakemake):
    run_batch_files(
        Path(snakemake.input.dosages).parent,
        snakemake.input.split,
        snakemake.output.selections,
        snakemake.output.generations,
        size_limit=int(snakemake.wildcards.size_limit),
        batch=int(snakemake.wildcards.batch),
        seed=snakemake.params.seed,
        ga_params=dict(snakemake.params.ga),
        variant_scores_path=snakemake.input.get("variant_scores"),
        threads=snakemake.threads,
    )
