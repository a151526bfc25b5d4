"""fcsnet: feature co-selection networks for genetic heterogeneity.

The package holds the logic of the fcsnet Snakemake workflow: genotype
ingestion and quality control, repeated genetic-algorithm feature selection,
the co-selection network and its communities, community risk scores, case
subtypes and a batched attention classifier for interaction detection.
"""

__version__ = "0.1.0"
