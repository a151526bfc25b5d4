"""Rule plot_interactions: interaction score heatmap of each community."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import interaction_figure

with rule_logging(snakemake):
    interaction_figure(
        snakemake.input.interactions, snakemake.output.figure, snakemake.config["report"]
    )
