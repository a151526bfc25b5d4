"""Rule plot_network: the co-selection network coloured by community."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import network_figure

with rule_logging(snakemake):
    network_figure(
        snakemake.input.edges,
        snakemake.input.communities,
        snakemake.input.nodes,
        snakemake.output.figure,
        snakemake.config["report"],
        seed=snakemake.config["seed"],
    )
