"""Rule plot_qc: bar chart of the variants and samples each QC filter removed."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import qc_figure

with rule_logging(snakemake):
    qc_figure(snakemake.input.summary, snakemake.output.figure, snakemake.config["report"])
