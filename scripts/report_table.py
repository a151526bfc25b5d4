"""Rules report_table_*: a result table as a sortable HTML page for the report."""

from fcsnet.logs import rule_logging
from fcsnet.plots.files import table_page

with rule_logging(snakemake):
    table_page(
        snakemake.input.table,
        snakemake.output.page,
        snakemake.params.title,
        snakemake.params.description,
    )
