"""Logging set-up shared by the command-line interface and the rule scripts."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

from fcsnet.errors import ConfigError, InputError

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def configure_logging(log_path: str | Path | None = None, level: int = logging.INFO) -> None:
    """Send fcsnet's log records to ``log_path`` (or standard error when None)."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    if log_path is None:
        handler: logging.Handler = logging.StreamHandler(sys.stderr)
    else:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(log_path, mode="w")
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root.addHandler(handler)
    root.setLevel(level)
    logging.captureWarnings(True)


@contextlib.contextmanager
def rule_logging(snakemake) -> Iterator[logging.Logger]:
    """Log a rule script to its first log file and record any failure there.

    A failure is logged with the rule name and its input files, so that the
    log of a failed job names what failed on which input. An input or config
    error (:class:`~fcsnet.errors.InputError`, :class:`~fcsnet.errors.ConfigError`)
    is a message for the user: it is also written to standard error, and the
    script exits with status 1 without a Python traceback. Any other
    exception is re-raised with its traceback.
    """
    log_path = snakemake.log[0] if len(snakemake.log) else None
    configure_logging(log_path)
    logger = logging.getLogger(f"fcsnet.rule.{snakemake.rule}")
    inputs = ", ".join(str(path) for path in snakemake.input)
    logger.info("rule %s started; input: %s", snakemake.rule, inputs or "(none)")
    try:
        yield logger
    except (InputError, ConfigError) as error:
        logger.error(
            "rule %s failed on input %s: %s: %s",
            snakemake.rule,
            inputs or "(none)",
            type(error).__name__,
            error,
        )
        print(f"Error in rule {snakemake.rule}: {error}", file=sys.stderr)
        raise SystemExit(1) from None
    except Exception as error:
        logger.error(
            "rule %s failed on input %s: %s: %s",
            snakemake.rule,
            inputs or "(none)",
            type(error).__name__,
            error,
            exc_info=not isinstance(error, ValueError),
        )
        raise
    logger.info("rule %s finished", snakemake.rule)
