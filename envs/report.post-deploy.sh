#!/usr/bin/env bash
# Install the fcsnet package into this conda environment after Snakemake has
# created it (--sdm conda). The environment file pins the dependencies, so
# pip installs fcsnet alone; the editable install follows the repository's
# code without rebuilding the environment. workflow/rules/common.smk sets
# FCSNET_REPOSITORY to the repository that contains the running workflow.
set -euo pipefail
python -m pip install --no-deps --editable "${FCSNET_REPOSITORY:?FCSNET_REPOSITORY is not set; run the workflow through workflow/Snakefile}"
