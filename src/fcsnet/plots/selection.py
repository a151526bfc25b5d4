"""Variant selection frequency along the genome (Manhattan-style)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from fcsnet.plots.common import community_colour, empty_figure, new_figure, require_columns
from fcsnet.plots.labels import spread_positions

CHROMOSOME_COLOURS = ("#3182bd", "#9ecae1")


def plot_selection_manhattan(
    nodes: pd.DataFrame,
    variants: pd.DataFrame,
    communities: pd.DataFrame | None = None,
    n_labels: int = 12,
) -> Figure:
    """Draw how often the GA selected each variant, along the genome.

    Variants are placed by chromosome and position where the QC'd variant
    table has positions, otherwise in table order. Variants in a community
    are drawn in the community's colour; the ``n_labels`` most often selected
    variants are named, with labels spread so that they do not overlap.

    Parameters
    ----------
    nodes : pandas.DataFrame
        ``network/nodes.tsv``: ``variant_id, n_selections, selection_frequency``
        for every variant selected often enough to be a network node.
    variants : pandas.DataFrame
        ``qc/variants.tsv``: ``variant_id, chrom, pos`` of every QC'd variant;
        variants not in ``nodes`` are drawn at frequency 0.
    communities : pandas.DataFrame, optional
        ``communities/communities.tsv``: ``variant_id, community``.
    """
    require_columns(nodes, ["variant_id", "selection_frequency"], "network/nodes.tsv")
    require_columns(variants, ["variant_id", "chrom", "pos"], "qc/variants.tsv")
    if variants.empty:
        return empty_figure("No variants passed QC.")
    table = variants[["variant_id", "chrom", "pos"]].copy()
    table["variant_id"] = table["variant_id"].astype(str)
    frequency = nodes.assign(variant_id=nodes["variant_id"].astype(str)).set_index("variant_id")[
        "selection_frequency"
    ]
    table["frequency"] = table["variant_id"].map(frequency).fillna(0.0).astype(float)
    table["community"] = 0
    if communities is not None and not communities.empty:
        community = communities.assign(variant_id=communities["variant_id"].astype(str)).set_index(
            "variant_id"
        )["community"]
        table["community"] = table["variant_id"].map(community).fillna(0).astype(int)

    has_positions = bool((pd.to_numeric(table["pos"], errors="coerce").fillna(0) > 0).any())
    table, ticks = _genome_axis(table, has_positions)

    figure = new_figure(11, 4.5)
    axes = figure.add_subplot()
    colour_index = table["chrom_index"] % 2
    background = table["community"] == 0
    axes.scatter(
        table.loc[background, "x"],
        table.loc[background, "frequency"],
        s=10,
        c=[CHROMOSOME_COLOURS[i] for i in colour_index[background]],
        linewidths=0,
    )
    for community, members in table[~background].groupby("community"):
        axes.scatter(
            members["x"],
            members["frequency"],
            s=28,
            color=community_colour(community),
            edgecolors="black",
            linewidths=0.4,
            label=f"community {community}",
            zorder=3,
        )

    top = table[table["frequency"] > 0].nlargest(n_labels, "frequency")
    _label_points(axes, top, table["x"].min(), table["x"].max())

    if has_positions:
        axes.set_xticks(ticks["x"], ticks["chrom"], fontsize=8)
        axes.set_xlabel("chromosome")
    else:
        axes.set_xlabel("variant (QC table order; the input has no positions)")
    axes.set_ylabel("selection frequency (fraction of GA subsets)")
    axes.set_ylim(0, max(0.05, table["frequency"].max()) * 1.35)
    axes.grid(axis="y", alpha=0.3)
    if (~background).any():
        axes.legend(loc="upper right", fontsize=8, ncol=2)
    axes.set_title("How often the GA selected each variant")
    return figure


def _genome_axis(table: pd.DataFrame, has_positions: bool) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Add cumulative x coordinates and return the chromosome tick table."""
    if not has_positions:
        table = table.assign(x=np.arange(len(table)), chrom_index=0)
        return table, pd.DataFrame(columns=["x", "chrom"])
    table = table.assign(pos=pd.to_numeric(table["pos"], errors="coerce").fillna(0))
    chromosomes = sorted(table["chrom"].astype(str).unique(), key=_chromosome_key)
    order = {name: index for index, name in enumerate(chromosomes)}
    table = table.assign(chrom_index=table["chrom"].astype(str).map(order))
    table = table.sort_values(["chrom_index", "pos"]).reset_index(drop=True)
    span = table.groupby("chrom_index")["pos"].max()
    gap = max(1.0, float(span.max()) * 0.02)
    offsets = (span + gap).cumsum().shift(fill_value=0)
    table["x"] = table["pos"] + table["chrom_index"].map(offsets)
    ticks = (
        table.groupby("chrom_index")
        .agg(x=("x", "median"), chrom=("chrom", "first"))
        .reset_index(drop=True)
    )
    return table, ticks


def _chromosome_key(name: str) -> tuple[int, str]:
    stripped = name.removeprefix("chr")
    return (int(stripped), "") if stripped.isdigit() else (10_000, stripped)


def _label_points(axes, points: pd.DataFrame, x_low: float, x_high: float) -> None:
    """Name ``points`` above the data with leader lines, spread along x to avoid overlaps."""
    if points.empty:
        return
    width = max(x_high - x_low, 1.0)
    # A rotated label at font size 7 is about 0.12 inch wide; 1.6 % of the
    # 10-inch axis leaves a small gap between neighbours.
    positions = spread_positions(points["x"].to_numpy(float), width * 0.016, x_low, x_high)
    label_height = points["frequency"].max() * 1.08
    for (_, point), label_x in zip(points.iterrows(), positions, strict=True):
        axes.annotate(
            point["variant_id"],
            xy=(point["x"], point["frequency"]),
            xytext=(label_x, label_height),
            fontsize=7,
            rotation=90,
            ha="center",
            va="bottom",
            arrowprops={"arrowstyle": "-", "color": "#777777", "linewidth": 0.5},
        )
