"""Figures and tables of the fcsnet report.

One module per figure family. Every ``plot_*`` function takes the tables of
the workflow's output contract as pandas DataFrames and returns a
:class:`matplotlib.figure.Figure`; :func:`save_figure` writes it. Figures are
built on :class:`~matplotlib.figure.Figure` directly (Agg canvas), never
through ``pyplot``, so they need no display and keep no global state.
"""

from fcsnet.plots.common import save_figure
from fcsnet.plots.convergence import plot_ga_convergence
from fcsnet.plots.crs import plot_crs_distributions, plot_crs_roc
from fcsnet.plots.interactions import plot_interaction_heatmaps
from fcsnet.plots.network import plot_coselection_network
from fcsnet.plots.qc import plot_qc_counts
from fcsnet.plots.selection import plot_selection_manhattan
from fcsnet.plots.subtypes import plot_subtype_profiles
from fcsnet.plots.tables import write_sortable_table

__all__ = [
    "plot_coselection_network",
    "plot_crs_distributions",
    "plot_crs_roc",
    "plot_ga_convergence",
    "plot_interaction_heatmaps",
    "plot_qc_counts",
    "plot_selection_manhattan",
    "plot_subtype_profiles",
    "save_figure",
    "write_sortable_table",
]
