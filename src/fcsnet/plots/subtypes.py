"""Subtype profiles: mean community risk score of the cases in each subtype."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fcsnet.plots.common import empty_figure, new_figure, require_columns
from fcsnet.plots.crs import crs_columns


def plot_subtype_profiles(profiles: pd.DataFrame) -> Figure:
    """Draw the subtype profiles as a heatmap (subtypes x communities).

    Each cell shows the mean CRS of the subtype's cases in that community,
    printed in the cell; rows are labelled with the subtype's case count.

    Parameters
    ----------
    profiles : pandas.DataFrame
        ``subtypes/profiles.tsv``: ``subtype, n_cases`` and one ``crs_<community>``
        column per community.
    """
    require_columns(profiles, ["subtype"], "subtypes/profiles.tsv")
    columns = crs_columns(profiles)
    if profiles.empty or not columns:
        return empty_figure("No subtype profiles: the cohort has no communities or no cases.")
    values = profiles[columns].to_numpy(float)
    figure = new_figure(max(5.5, 1.1 * len(columns) + 3.0), max(3.5, 0.6 * len(profiles) + 2.0))
    axes = figure.add_subplot()
    image = axes.imshow(values, cmap="viridis", aspect="auto")
    row_labels = [
        f"subtype {row.subtype}"
        + (f" (n={int(row.n_cases)})" if "n_cases" in profiles.columns else "")
        for row in profiles.itertuples(index=False)
    ]
    axes.set_yticks(range(len(profiles)), row_labels)
    axes.set_xticks(
        range(len(columns)),
        [f"community {c.removeprefix('crs_')}" for c in columns],
        rotation=30,
        ha="right",
    )
    threshold = np.nanmean(values) if np.isfinite(values).any() else 0.0
    for row in range(values.shape[0]):
        for column in range(values.shape[1]):
            value = values[row, column]
            axes.text(
                column,
                row,
                f"{value:.2f}",
                ha="center",
                va="center",
                fontsize=8,
                color="black" if value > threshold else "white",
            )
    figure.colorbar(image, ax=axes, label="mean CRS of the subtype's cases")
    axes.set_xlabel("community")
    axes.set_ylabel("case subtype")
    axes.set_title("Subtype profiles")
    return figure
