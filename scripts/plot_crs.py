"""Rule plot_crs: community risk score distributions and ROC curves."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import crs_figures

with rule_logging(snakemake):
    crs_figures(
        snakemake.input.crs,
        snakemake.output.distributions,
        snakemake.output.roc,
        snakemake.config["report"],
    )
