"""Heatmaps of the attention model's variant-variant interaction scores."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fcsnet.plots.common import (
    community_colour,
    empty_figure,
    new_figure,
    panel_grid,
    require_columns,
)

MAX_VARIANTS_PER_COMMUNITY = 25
MAX_ANNOTATED_VARIANTS = 8
"""Heatmaps of at most this many variants print each score in its cell."""


def plot_interaction_heatmaps(
    interactions: pd.DataFrame, max_variants: int = MAX_VARIANTS_PER_COMMUNITY
) -> Figure:
    """Draw one symmetric heatmap of interaction scores per community.

    Communities with more than ``max_variants`` variants show only the
    variants with the largest summed score, so that names stay readable.
    Small heatmaps print each score in its cell.
    Pairs marked with a dot have p < 0.05.

    Parameters
    ----------
    interactions : pandas.DataFrame
        ``interactions/interactions.tsv``: ``community, variant_a, variant_b, score, p_value``.
    """
    require_columns(
        interactions,
        ["community", "variant_a", "variant_b", "score"],
        "interactions/interactions.tsv",
    )
    if interactions.empty:
        return empty_figure("No interactions were ranked (no community with two or more variants).")
    communities = sorted(interactions["community"].unique())
    n_rows, n_columns = panel_grid(len(communities), max_columns=2)
    largest = max(
        _community_size(interactions[interactions["community"] == c], max_variants)
        for c in communities
    )
    side = max(3.8, 0.32 * largest + 2.2)
    figure = new_figure(max(6.5, side * n_columns + 0.8), side * n_rows + 0.4)
    panels = figure.subplots(n_rows, n_columns, squeeze=False)
    for axes, community in zip(panels.flat, communities, strict=False):
        table = interactions[interactions["community"] == community]
        names, matrix, significant = _square(table, max_variants)
        low, high = np.nanmin(matrix), np.nanmax(matrix)
        if low == high:  # one pair, or equal scores: start the colour scale at 0
            low, high = min(0.0, low), max(high, 1e-12)
        image = axes.imshow(matrix, cmap="magma_r", vmin=low, vmax=high)
        axes.set_xticks(range(len(names)), names, rotation=90, fontsize=7)
        axes.set_yticks(range(len(names)), names, fontsize=7)
        if len(names) <= MAX_ANNOTATED_VARIANTS:
            middle = (low + high) / 2
            for i, j in zip(*np.nonzero(np.isfinite(matrix)), strict=True):
                colour = "white" if matrix[i, j] > middle else "black"
                axes.text(
                    j, i, f"{matrix[i, j]:.3g}", ha="center", va="center", fontsize=7, color=colour
                )
        rows, columns = np.nonzero(significant)
        # In the cell's upper-left corner, clear of the printed score.
        axes.scatter(columns - 0.3, rows - 0.3, s=8, color="#1f77b4", marker="o")
        panel_note = (
            f"top {len(names)} of {_n_variants(table)} variants"
            if len(names) < _n_variants(table)
            else f"{len(names)} variants"
        )
        axes.set_title(
            f"community {community} ({panel_note})", color=community_colour(int(community))
        )
        figure.colorbar(image, ax=axes, shrink=0.75, label="interaction score")
    for axes in list(panels.flat)[len(communities) :]:
        axes.set_axis_off()
    figure.suptitle("Interaction scores inside each community (dot: p < 0.05)")
    return figure


def _n_variants(table: pd.DataFrame) -> int:
    return len(set(table["variant_a"].astype(str)) | set(table["variant_b"].astype(str)))


def _community_size(table: pd.DataFrame, max_variants: int) -> int:
    return min(_n_variants(table), max_variants)


def _square(table: pd.DataFrame, max_variants: int) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Return variant names, the symmetric score matrix (NaN diagonal) and the p < 0.05 mask."""
    a = table["variant_a"].astype(str)
    b = table["variant_b"].astype(str)
    scores = table["score"].astype(float)
    total = pd.concat(
        [pd.Series(scores.to_numpy(), index=a), pd.Series(scores.to_numpy(), index=b)]
    )
    total = total.groupby(level=0).sum().sort_values(ascending=False)
    names = sorted(total.index[:max_variants])
    index = {name: position for position, name in enumerate(names)}
    matrix = np.full((len(names), len(names)), np.nan)
    significant = np.zeros_like(matrix, dtype=bool)
    p_values = (
        table["p_value"].astype(float).to_numpy()
        if "p_value" in table.columns
        else np.ones(len(table))
    )
    for first, second, score, p_value in zip(a, b, scores, p_values, strict=True):
        if first in index and second in index:
            i, j = index[first], index[second]
            matrix[i, j] = matrix[j, i] = score
            significant[i, j] = significant[j, i] = p_value < 0.05
    return names, matrix, significant
