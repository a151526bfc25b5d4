"""Rule plot_ga_convergence: best and mean fitness and diversity per GA generation."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import convergence_figure

with rule_logging(snakemake):
    convergence_figure(
        snakemake.input.generations, snakemake.output.figure, snakemake.config["report"]
    )
