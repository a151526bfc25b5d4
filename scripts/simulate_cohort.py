"""Rule simulate_cohort: write a simulated heterogeneous cohort."""

from fcsnet.logs import rule_logging
from fcsnet.simulate import simulate_files

with rule_logging(snakemake):
    simulate_files(
        dict(snakemake.params.simulation),
        snakemake.params.seed,
        snakemake.output.genotypes,
        snakemake.output.phenotypes,
        snakemake.output.truth,
        snakemake.output.case_only,
    )
