"""Rule report_done: list the report's figures and tables once all are written."""

import pandas as pd

from fcsnet.logs import rule_logging
from fcsnet.store import write_table

with rule_logging(snakemake) as logger:
    # One path per line; write_table replaces the file atomically.
    listing = pd.DataFrame({"path": [str(path) for path in snakemake.input]})
    write_table(listing, snakemake.output.done)
    logger.info("%d report files written", len(listing))
