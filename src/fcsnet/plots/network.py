"""The co-selection network with communities in colour and edge weight as width."""

from __future__ import annotations

import networkx as nx
import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

from fcsnet.plots.common import (
    UNASSIGNED_COLOUR,
    community_colour,
    empty_figure,
    new_figure,
    require_columns,
)

MAX_LABELLED_NODES = 40


def plot_coselection_network(
    edges: pd.DataFrame,
    communities: pd.DataFrame,
    nodes: pd.DataFrame | None = None,
    seed: int = 0,
) -> Figure:
    """Draw the co-selection network.

    Nodes are coloured by community (grey: in no community) and sized by
    selection frequency where ``nodes`` is given; edge width is proportional
    to the edge weight. Node names are drawn for networks of up to
    :data:`MAX_LABELLED_NODES` nodes, otherwise for community members only.
    Isolated nodes (no significant edge) are left out.

    Parameters
    ----------
    edges : pandas.DataFrame
        ``network/edges.tsv``: ``variant_a, variant_b, weight`` (then p and q values).
    communities : pandas.DataFrame
        ``communities/communities.tsv``: ``variant_id, community, stability``.
    nodes : pandas.DataFrame, optional
        ``network/nodes.tsv``: ``variant_id, selection_frequency``.
    seed : int
        Seed of the force-directed layout, so that the same tables give the same drawing.
    """
    require_columns(edges, ["variant_a", "variant_b", "weight"], "network/edges.tsv")
    require_columns(communities, ["variant_id", "community"], "communities/communities.tsv")
    if edges.empty:
        return empty_figure(
            "The co-selection network has no edges: no pair was co-selected more often than chance."
        )

    graph = nx.Graph()
    for row in edges.itertuples(index=False):
        graph.add_edge(str(row.variant_a), str(row.variant_b), weight=float(row.weight))
    membership = dict(
        zip(
            communities["variant_id"].astype(str), communities["community"].astype(int), strict=True
        )
    )
    frequency = {}
    if nodes is not None and "selection_frequency" in nodes.columns:
        frequency = dict(
            zip(
                nodes["variant_id"].astype(str),
                nodes["selection_frequency"].astype(float),
                strict=True,
            )
        )

    # Weight pulls strongly linked nodes together; k spreads the layout so labels have room.
    positions = nx.spring_layout(
        graph, weight="weight", seed=seed, k=2.0 / np.sqrt(graph.number_of_nodes())
    )
    size = max(6.0, min(14.0, 2.0 + 0.25 * graph.number_of_nodes()))
    figure = new_figure(size + 2, size)
    axes = figure.add_subplot()
    axes.set_axis_off()

    weights = np.array([graph.edges[edge]["weight"] for edge in graph.edges])
    widths = 0.5 + 5.5 * (weights - weights.min()) / (np.ptp(weights) or 1.0)
    nx.draw_networkx_edges(
        graph, positions, ax=axes, width=widths, edge_color="#555555", alpha=0.45
    )

    node_list = list(graph.nodes)
    colours = [
        community_colour(membership[n]) if n in membership else UNASSIGNED_COLOUR for n in node_list
    ]
    top_frequency = max(frequency.values(), default=0.0) or 1.0
    sizes = [80 + 420 * frequency.get(n, 0.0) / top_frequency for n in node_list]
    nx.draw_networkx_nodes(
        graph,
        positions,
        nodelist=node_list,
        node_color=colours,
        node_size=sizes,
        edgecolors="black",
        linewidths=0.5,
        ax=axes,
    )

    labelled = (
        node_list
        if len(node_list) <= MAX_LABELLED_NODES
        else [n for n in node_list if n in membership]
    )
    label_positions = {n: (positions[n][0], positions[n][1] + 0.045) for n in labelled}
    nx.draw_networkx_labels(
        graph,
        label_positions,
        labels={n: n for n in labelled},
        font_size=7,
        ax=axes,
        verticalalignment="bottom",
        bbox={"boxstyle": "round,pad=0.1", "facecolor": "white", "edgecolor": "none", "alpha": 0.7},
    )

    handles = [
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            markerfacecolor=community_colour(c),
            markeredgecolor="black",
            label=f"community {c} ({sum(1 for v in membership.values() if v == c)} variants)",
        )
        for c in sorted(set(membership.values()))
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markersize=8,
            markerfacecolor=UNASSIGNED_COLOUR,
            markeredgecolor="black",
            label="in no community",
        )
    )
    handles += [
        Line2D([], [], color="#555555", linewidth=width, label=f"edge weight {value:.3g}")
        for width, value in ((0.5, weights.min()), (6.0, weights.max()))
    ]
    axes.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False
    )
    axes.set_title(
        f"Co-selection network: {graph.number_of_nodes()} variants, {graph.number_of_edges()} edges\n"
        "node size: selection frequency; edge width: co-selection weight"
    )
    axes.margins(0.08)
    return figure
