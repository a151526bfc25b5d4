"""Rule report_done: list the report's figures and tables once all are written."""

from pathlib import Path

from fcsnet.logs import rule_logging

with rule_logging(snakemake) as logger:
    listing = "".join(f"{path}\n" for path in snakemake.input)
    Path(snakemake.output.done).write_text(listing)
    logger.info("%d report files written", len(snakemake.input))
