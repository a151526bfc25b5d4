"""File-level entry points of the report rules: read the stage tables, write figures.

Each function reads the tables of the workflow's output contract from the
given paths and writes one figure (PNG) or one sortable HTML table. The
``options`` argument is the ``report`` config section.
"""

from __future__ import annotations

import logging

from fcsnet.plots.common import save_figure
from fcsnet.plots.convergence import plot_ga_convergence
from fcsnet.plots.crs import plot_crs_distributions, plot_crs_roc
from fcsnet.plots.interactions import plot_interaction_heatmaps
from fcsnet.plots.network import plot_coselection_network
from fcsnet.plots.qc import plot_qc_counts
from fcsnet.plots.selection import plot_selection_manhattan
from fcsnet.plots.subtypes import plot_subtype_profiles
from fcsnet.plots.tables import write_sortable_table
from fcsnet.store import read_table

logger = logging.getLogger(__name__)


def _save(figure, path, options) -> None:
    save_figure(figure, path, dpi=options.get("dpi", 150))
    logger.info("wrote %s", path)


def qc_figure(summary_path, output_path, options) -> None:
    _save(plot_qc_counts(read_table(summary_path)), output_path, options)


def convergence_figure(generations_path, output_path, options) -> None:
    generations = read_table(generations_path)
    logger.info(
        "GA convergence: %d runs over size limits %s",
        generations["run"].nunique() if "run" in generations else 0,
        sorted(generations["size_limit"].unique()) if "size_limit" in generations else [],
    )
    _save(plot_ga_convergence(generations), output_path, options)


def selection_figure(nodes_path, variants_path, communities_path, output_path, options) -> None:
    figure = plot_selection_manhattan(
        read_table(nodes_path),
        read_table(variants_path),
        read_table(communities_path),
        n_labels=options.get("n_labelled_variants", 12),
    )
    _save(figure, output_path, options)


def network_figure(edges_path, communities_path, nodes_path, output_path, options, seed) -> None:
    figure = plot_coselection_network(
        read_table(edges_path), read_table(communities_path), read_table(nodes_path), seed=seed
    )
    _save(figure, output_path, options)


def crs_figures(crs_path, distributions_path, roc_path, options) -> None:
    scores = read_table(crs_path)
    _save(plot_crs_distributions(scores), distributions_path, options)
    _save(plot_crs_roc(scores), roc_path, options)


def subtype_figure(profiles_path, output_path, options) -> None:
    _save(plot_subtype_profiles(read_table(profiles_path)), output_path, options)


def interaction_figure(interactions_path, output_path, options) -> None:
    figure = plot_interaction_heatmaps(
        read_table(interactions_path), max_variants=options.get("max_heatmap_variants", 25)
    )
    _save(figure, output_path, options)


def table_page(table_path, output_path, title, description="") -> None:
    write_sortable_table(read_table(table_path), output_path, title, description)
    logger.info("wrote %s", output_path)
