"""Rule plot_selection_frequency: Manhattan-style plot of GA selection frequency."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import selection_figure

with rule_logging(snakemake):
    selection_figure(
        snakemake.input.nodes,
        snakemake.input.variants,
        snakemake.input.communities,
        snakemake.output.figure,
        snakemake.config["report"],
    )
