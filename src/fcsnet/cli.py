"""Command-line interface: ``fcsnet <command>``.

Commands:

``simulate``
    Write a simulated heterogeneous cohort (bgzipped VCF, phenotype sheet,
    truth table, case-only VCF) into a directory. Every option is a key of
    ``workflow/schemas/simulation.schema.yaml`` with the same default.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from fcsnet.errors import ConfigError, InputError
from fcsnet.logs import configure_logging

logger = logging.getLogger("fcsnet.cli")

_TYPES = {"integer": int, "number": float}


def _add_simulate(subcommands) -> None:
    from fcsnet.config import load_schema

    parser = subcommands.add_parser(
        "simulate",
        help="write a simulated heterogeneous case/control cohort",
        description=(
            "Simulate K subgroups of cases, each caused by its own group of interacting "
            "variants with no marginal effect, among noise variants. Writes genotypes.vcf.gz, "
            "phenotypes.tsv, truth.tsv and case_only.vcf.gz into OUT_DIR."
        ),
    )
    parser.add_argument(
        "--out-dir", required=True, type=Path, help="output directory (created if absent)"
    )
    parser.add_argument("--seed", type=int, default=1, help="random seed (default: 1; 0 is valid)")
    schema = load_schema("simulation")
    for key, spec in schema["properties"].items():
        parser.add_argument(
            f"--{key.replace('_', '-')}",
            dest=key,
            type=_TYPES[spec["type"]],
            default=spec["default"],
            help=f"{spec['description'].strip()} (default: {spec['default']})",
        )
    parser.set_defaults(handler=_run_simulate, schema_keys=list(schema["properties"]))


def _run_simulate(arguments: argparse.Namespace) -> None:
    from fcsnet.simulate import simulate_files

    out_dir = arguments.out_dir
    params = {key: getattr(arguments, key) for key in arguments.schema_keys}
    simulate_files(
        params,
        arguments.seed,
        out_dir / "genotypes.vcf.gz",
        out_dir / "phenotypes.tsv",
        out_dir / "truth.tsv",
        out_dir / "case_only.vcf.gz",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fcsnet", description="Feature co-selection networks for genetic heterogeneity."
    )
    parser.add_argument(
        "--log-file", type=Path, help="write the log here instead of standard error"
    )
    subcommands = parser.add_subparsers(dest="command", required=True)
    _add_simulate(subcommands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line; return the exit status (2 for invalid input or config)."""
    arguments = build_parser().parse_args(argv)
    configure_logging(arguments.log_file)
    try:
        arguments.handler(arguments)
    except (ConfigError, InputError) as error:
        logger.error("%s", error)
        if arguments.log_file is not None:
            print(f"fcsnet {arguments.command}: error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
