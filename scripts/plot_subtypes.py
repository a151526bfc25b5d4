"""Rule plot_subtypes: heatmap of the mean community risk score per case subtype."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import subtype_figure

with rule_logging(snakemake):
    subtype_figure(snakemake.input.profiles, snakemake.output.figure, snakemake.config["report"])
